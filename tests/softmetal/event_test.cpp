// Events: command buffers on different queues ordered by a shared event or an event, the host side of
// a shared event (signaledValue, listeners, waiting), and a wait that is never satisfied stalling only
// its own queue.
#include "softmetal_test_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

using namespace softmetal_test;

namespace {

void signal_event(id command_buffer, id event, std::uint64_t value) {
    msg_send<void(id, std::uint64_t)>(command_buffer, "encodeSignalEvent:value:", event, value);
}
void wait_for_event(id command_buffer, id event, std::uint64_t value) {
    msg_send<void(id, std::uint64_t)>(command_buffer, "encodeWaitForEvent:value:", event, value);
}

// Two queues: the first waits for `event` to reach 1 before appending 2; the second appends 1 and then
// signals. The log must read 1, 2 although the waiting command buffer was committed first.
void check_cross_queue_order(id event) {
    autorelease_pool pool;
    object first_queue = new_queue(), second_queue = new_queue();
    object append = pipeline_for(append_kernel_source, "append");
    object log = new_buffer(64);
    id waiting = msg_send<id()>(first_queue.get(), "commandBuffer");
    wait_for_event(waiting, event, 1);
    encode_append(waiting, append.get(), log.get(), 2);
    msg_send<void()>(waiting, "commit");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // give the wrong order a chance
    CHECK(status_of(waiting) != status_completed);
    id signalling = msg_send<id()>(second_queue.get(), "commandBuffer");
    encode_append(signalling, append.get(), log.get(), 1);
    signal_event(signalling, event, 1);
    msg_send<void()>(signalling, "commit");
    msg_send<void()>(waiting, "waitUntilCompleted");
    REQUIRE(status_of(waiting) == status_completed);
    const std::uint32_t* out = contents<std::uint32_t>(log.get());
    CHECK(out[0] == 2);
    CHECK(out[1] == 1);
    CHECK(out[2] == 2);
}

}  // namespace

TEST_CASE("a shared event orders command buffers of two queues") {
    object event = object::adopt(msg_send<id()>(device(), "newSharedEvent"));
    REQUIRE(event);
    check_cross_queue_order(event.get());
    CHECK(msg_send<std::uint64_t()>(event.get(), "signaledValue") == 1);
}

TEST_CASE("an MTLEvent orders command buffers of two queues") {
    object event = object::adopt(msg_send<id()>(device(), "newEvent"));
    REQUIRE(event);
    CHECK(msg_send<id()>(event.get(), "device") == device());
    CHECK_FALSE(responds(event.get(), "signaledValue"));
    check_cross_queue_order(event.get());
}

TEST_CASE("a wait that is not yet satisfied stalls only its own queue") {
    autorelease_pool pool;
    object event = object::adopt(msg_send<id()>(device(), "newSharedEvent"));
    object stuck_queue = new_queue(), free_queue = new_queue();
    id stuck = msg_send<id()>(stuck_queue.get(), "commandBuffer");
    wait_for_event(stuck, event.get(), 100);
    msg_send<void()>(stuck, "commit");
    for (int i = 0; i < 3; ++i) {  // the other queue keeps completing work meanwhile
        object cb = run_encoded(free_queue.get(), [](id) {});
        CHECK(status_of(cb.get()) == status_completed);
    }
    CHECK(status_of(stuck) != status_completed);
    msg_send<void(std::uint64_t)>(event.get(), "setSignaledValue:", 100);  // the host releases it
    msg_send<void()>(stuck, "waitUntilCompleted");
    CHECK(status_of(stuck) == status_completed);
}

TEST_CASE("a shared event's value is set and waited for by the host") {
    autorelease_pool pool;
    object event = object::adopt(msg_send<id()>(device(), "newSharedEvent"));
    CHECK(msg_send<std::uint64_t()>(event.get(), "signaledValue") == 0);
    msg_send<void(std::uint64_t)>(event.get(), "setSignaledValue:", 5);
    CHECK(msg_send<std::uint64_t()>(event.get(), "signaledValue") == 5);
    CHECK(msg_send<objc_bool(std::uint64_t, std::uint64_t)>(event.get(), "waitUntilSignaledValue:timeoutMS:", 5, 0) != 0);
    CHECK(msg_send<objc_bool(std::uint64_t, std::uint64_t)>(event.get(), "waitUntilSignaledValue:timeoutMS:", 6, 10) == 0);
}

TEST_CASE("a listener is notified on its own thread once the event reaches its value") {
    autorelease_pool pool;
    object event = object::adopt(msg_send<id()>(device(), "newSharedEvent"));
    object listener = object::adopt(msg_send<id()>(pymetal::class_named("MTLSharedEventListener"), "new"));
    REQUIRE(listener);
    std::mutex mutex;
    std::condition_variable done;
    std::vector<std::uint64_t> seen;
    id seen_event = nullptr;
    std::thread::id caller = std::this_thread::get_id(), notifier;
    {
        block<void(id, std::uint64_t)> notify([&](id e, std::uint64_t value) {
            std::lock_guard<std::mutex> lock(mutex);
            seen.push_back(value);
            seen_event = e;
            notifier = std::this_thread::get_id();
            done.notify_all();
        });
        msg_send<void(id, std::uint64_t, id)>(event.get(), "notifyListener:atValue:block:", listener.get(), 2, notify.get());
    }  // the event copied the block
    msg_send<void(std::uint64_t)>(event.get(), "setSignaledValue:", 1);
    object queue = new_queue();
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    signal_event(cb, event.get(), 3);
    msg_send<void()>(cb, "commit");
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE(done.wait_for(lock, std::chrono::seconds(10), [&] { return !seen.empty(); }));
    CHECK(seen == std::vector<std::uint64_t>{3});
    CHECK(seen_event == event.get());
    CHECK(notifier != caller);
    lock.unlock();
    msg_send<void()>(cb, "waitUntilCompleted");
}

TEST_CASE("a shared event signaled by a command buffer is seen by polling signaledValue without waiting for a time slice") {
    // As for status (command_buffer_test.cpp): the queue's threads share this thread's one core, where
    // the lane does not preempt this thread; signaledValue gives the core up while work is in flight.
    pinned_to_one_cpu pinned;

    autorelease_pool pool;
    object queue = new_queue();  // its lanes start here, on this core
    object event = object::adopt(msg_send<id()>(device(), "newSharedEvent"));
    constexpr std::uint64_t count = 21;
    std::vector<double> seconds;
    for (std::uint64_t value = 1; value <= count; ++value) {
        autorelease_pool iteration;
        const auto start = std::chrono::steady_clock::now();
        id cb = msg_send<id()>(queue.get(), "commandBuffer");
        msg_send<void(id, std::uint64_t)>(cb, "encodeSignalEvent:value:", event.get(), value);
        msg_send<void()>(cb, "commit");
        while (msg_send<std::uint64_t()>(event.get(), "signaledValue") < value) {
        }
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        msg_send<void()>(cb, "waitUntilCompleted");
    }
    CHECK(msg_send<std::uint64_t()>(event.get(), "signaledValue") == count);
    std::sort(seconds.begin(), seconds.end());
    CHECK(seconds[count / 2] < 0.002);  // a time slice is 4 ms or more; a round trip takes microseconds
}
