// A queue's order when commit runs a small command buffer itself (its queue idle) and when it hands it
// to the queue's lane: whichever runs it, a command buffer never starts before an earlier one of its
// queue has finished, each runs once, and its handlers run off the committing thread. (CTest runs this
// suite with SOFTMETAL_INLINE_COMMIT=1024: commit runs a small command buffer itself when it may.)
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

// Each command buffer takes the next ticket (1, 2, ...) and writes it into its own slot. Not atomically,
// and with a few microseconds of volatile stores between the read and the write: two command buffers of
// one queue that ran at once would take the same ticket, and lose some of each other's stores.
constexpr std::uint32_t ticket_spin = 50000;
constexpr const char* ticket_kernel_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void take_ticket(device uint* counter [[buffer(0)]], device uint* tickets [[buffer(1)]],
                        constant uint& slot [[buffer(2)]], uint id [[thread_position_in_grid]]) {
    const uint ticket = counter[0] + 1u;
    volatile device uint* busy = counter + 1;
    for (uint i = 0; i < 50000u; ++i) *busy = *busy + 1u;
    tickets[slot] = ticket;
    counter[0] = ticket;
}
)";

}  // namespace

TEST_CASE("a small command buffer committed behind one that waits for an event runs after it") {
    autorelease_pool pool;
    object queue = new_queue();
    object append = pipeline_for(append_kernel_source, "append");
    object log = new_buffer(64);
    object event = object::adopt(msg_send<id()>(device(), "newSharedEvent"));
    object waiting = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    msg_send<void(id, std::uint64_t)>(waiting.get(), "encodeWaitForEvent:value:", event.get(), 1);
    encode_append(waiting.get(), append.get(), log.get(), 1);
    msg_send<void()>(waiting.get(), "commit");
    // One dispatch of one thread: what commit would run itself on an idle queue. This queue is not idle.
    object small = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    encode_append(small.get(), append.get(), log.get(), 2);
    msg_send<void()>(small.get(), "commit");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // give the wrong order a chance
    CHECK(status_of(small.get()) != status_completed);
    CHECK(contents<std::uint32_t>(log.get())[0] == 0);
    msg_send<void(std::uint64_t)>(event.get(), "setSignaledValue:", 1);
    msg_send<void()>(small.get(), "waitUntilCompleted");
    REQUIRE(status_of(waiting.get()) == status_completed);
    REQUIRE(status_of(small.get()) == status_completed);
    const std::uint32_t* out = contents<std::uint32_t>(log.get());
    CHECK(out[0] == 2);
    CHECK(out[1] == 1);
    CHECK(out[2] == 2);
}

TEST_CASE("two threads committing to one queue: each one's command buffers run once and in its commit order") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(ticket_kernel_source, "take_ticket");
    constexpr std::uint32_t per_thread = 400;
    object counter = new_buffer(2 * sizeof(std::uint32_t));
    object tickets = new_buffer(2 * per_thread * sizeof(std::uint32_t));
    std::memset(contents<std::uint32_t>(tickets.get()), 0, 2 * per_thread * sizeof(std::uint32_t));
    contents<std::uint32_t>(counter.get())[0] = contents<std::uint32_t>(counter.get())[1] = 0;
    auto drive = [&](std::uint32_t first_slot) {
        autorelease_pool thread_pool;
        object last;
        for (std::uint32_t i = 0; i < per_thread; ++i) {
            autorelease_pool round;
            id cb = msg_send<id()>(queue.get(), "commandBuffer");
            id encoder = msg_send<id()>(cb, "computeCommandEncoder");
            set_pipeline(encoder, pipeline.get());
            set_buffer(encoder, counter.get(), 0, 0);
            set_buffer(encoder, tickets.get(), 0, 1);
            const std::uint32_t slot = first_slot + i;
            msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &slot, 4, 2);
            dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
            msg_send<void()>(encoder, "endEncoding");
            msg_send<void()>(cb, "commit");
            if (i + 1 == per_thread) last = object::retain(cb);
        }
        msg_send<void()>(last.get(), "waitUntilCompleted");
    };
    std::thread other(drive, per_thread);
    drive(0);
    other.join();
    const std::uint32_t* t = contents<std::uint32_t>(tickets.get());
    CHECK(contents<std::uint32_t>(counter.get())[0] == 2 * per_thread);
    CHECK(contents<std::uint32_t>(counter.get())[1] == 2 * per_thread * ticket_spin);
    std::set<std::uint32_t> seen(t, t + 2 * per_thread);
    CHECK(seen.size() == 2 * per_thread);  // every ticket once: no command buffer ran twice or not at all
    CHECK(seen.count(0) == 0);
    for (std::uint32_t thread = 0; thread < 2; ++thread) {
        const std::uint32_t* mine = t + thread * per_thread;
        std::uint32_t out_of_order = 0;
        for (std::uint32_t i = 1; i < per_thread; ++i) out_of_order += mine[i] <= mine[i - 1];
        CHECK(out_of_order == 0);
    }
}

TEST_CASE("the handlers of a small command buffer committed to an idle queue run off the committing thread") {
    autorelease_pool pool;
    object queue = new_queue();
    object append = pipeline_for(append_kernel_source, "append");
    object log = new_buffer(64);
    std::atomic<bool> scheduled_ran{false}, completed_ran{false}, scheduled_here{false}, completed_here{false};
    const std::thread::id me = std::this_thread::get_id();
    block<void(id)> on_scheduled([&](id) {
        scheduled_here = std::this_thread::get_id() == me;
        scheduled_ran = true;
    });
    block<void(id)> on_completed([&](id) {
        completed_here = std::this_thread::get_id() == me;
        // Scheduled handlers run before completed ones.
        completed_ran = scheduled_ran.load();
    });
    object cb = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    encode_append(cb.get(), append.get(), log.get(), 7);
    msg_send<void(id)>(cb.get(), "addScheduledHandler:", on_scheduled.get());
    msg_send<void(id)>(cb.get(), "addCompletedHandler:", on_completed.get());
    msg_send<void()>(cb.get(), "commit");
    msg_send<void()>(cb.get(), "waitUntilCompleted");  // returns once the completed handler has run
    CHECK(status_of(cb.get()) == status_completed);
    CHECK(scheduled_ran.load());
    CHECK(completed_ran.load());
    CHECK_FALSE(scheduled_here.load());
    CHECK_FALSE(completed_here.load());
    CHECK(contents<std::uint32_t>(log.get())[1] == 7);
}
