// Command queues, command buffers and compute command encoders running real kernels.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

constexpr const char* tg_memory_kernel = R"(#include <metal_stdlib>
using namespace metal;
kernel void reverse_in_group(device const uint* in [[buffer(0)]], device uint* out [[buffer(1)]],
                             threadgroup uint* scratch [[threadgroup(0)]],
                             uint gid [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]],
                             uint size [[threads_per_threadgroup]], uint group [[threadgroup_position_in_grid]]) {
    scratch[lid] = in[gid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid] = scratch[size - 1 - lid] + group * 1000;
}
)";

}  // namespace

TEST_CASE("the seed's add kernel computes 1 + 2 = 3 through the Objective-C API") {
    autorelease_pool pool;
    object pipeline = pipeline_for(add_kernel_source, "add");
    object queue = new_queue();
    object in = buffer_with(std::vector<float>{1.0f, 2.0f});
    object out = new_buffer(sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    CHECK(status_of(command_buffer.get()) == status_completed);
    CHECK(msg_send<id()>(command_buffer.get(), "error") == nullptr);
    CHECK(contents<float>(out.get())[0] == 3.0f);
}

TEST_CASE("dispatchThreads covers a grid with partial edge threadgroups") {
    autorelease_pool pool;
    object pipeline = pipeline_for(add_kernel_source, "add");
    object queue = new_queue();
    const std::size_t n = 1000;
    std::vector<float> input(2 * n);
    for (std::size_t i = 0; i < n; ++i) input[2 * i] = float(i), input[2 * i + 1] = 0.5f;
    object in = buffer_with(input);
    object out = new_buffer(n * sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {n, 1, 1}, {64, 1, 1});
    });
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    const float* result = contents<float>(out.get());
    bool right = true;
    for (std::size_t i = 0; i < n; ++i) right = right && result[i] == float(i) + 0.5f;
    CHECK(right);
}

TEST_CASE("setBytes: copies at once; setBuffers:offsets:withRange: and setBufferOffset:atIndex: bind with offsets") {
    autorelease_pool pool;
    object pipeline = pipeline_for(affine_kernel_source, "affine");
    object queue = new_queue();
    object in = buffer_with(std::vector<float>{100, 100, 1, 2, 3, 4});
    object out = new_buffer(8 * sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        const id buffers[2] = {in.get(), out.get()};
        const ns_uinteger offsets[2] = {0, 0};
        msg_send<void(const id*, const ns_uinteger*, ns_range)>(encoder, "setBuffers:offsets:withRange:", buffers, offsets,
                                                              ns_range{0, 2});
        msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setBufferOffset:atIndex:", 2 * sizeof(float), 0);
        msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setBufferOffset:atIndex:", 4 * sizeof(float), 1);
        float params[2] = {10.0f, 0.5f};
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", params, sizeof(params), 2);
        params[0] = -1.0f;  // the encoder copied the bytes already
        dispatch_threads(encoder, {4, 1, 1}, {4, 1, 1});
    });
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    const float* result = contents<float>(out.get());
    CHECK(result[0] == 0.0f);
    CHECK(result[4] == 10.5f);
    CHECK(result[7] == 40.5f);
}

TEST_CASE("dispatchThreadgroups with setThreadgroupMemoryLength:atIndex: and barriers") {
    autorelease_pool pool;
    object pipeline = pipeline_for(tg_memory_kernel, "reverse_in_group");
    object queue = new_queue();
    std::vector<std::uint32_t> input(128);
    for (std::uint32_t i = 0; i < 128; ++i) input[i] = i;
    object in = buffer_with(input);
    object out = new_buffer(128 * sizeof(std::uint32_t));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", 64 * sizeof(std::uint32_t), 0);
        dispatch_threadgroups(encoder, {2, 1, 1}, {64, 1, 1});
    });
    INFO((msg_send<id()>(command_buffer.get(), "error") ? error_description(msg_send<id()>(command_buffer.get(), "error")) : ""));
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    const std::uint32_t* result = contents<std::uint32_t>(out.get());
    CHECK(result[0] == 63);
    CHECK(result[63] == 0);
    CHECK(result[64] == 127 + 1000);
    CHECK(result[127] == 64 + 1000);
}

TEST_CASE("dispatches of one command buffer run in order, across encoders and barriers") {
    autorelease_pool pool;
    object pipeline = pipeline_for(append_kernel_source, "append");
    object queue = new_queue();
    object log = new_buffer(64 * sizeof(std::uint32_t));
    object command_buffer = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    for (std::uint32_t e = 0; e < 3; ++e) {
        id encoder = msg_send<id(ns_uinteger)>(command_buffer.get(), "computeCommandEncoderWithDispatchType:", 1);
        CHECK(msg_send<ns_uinteger()>(encoder, "dispatchType") == 1);
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, log.get(), 0, 0);
        for (std::uint32_t d = 0; d < 3; ++d) {
            const std::uint32_t value = e * 10 + d;
            msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &value, sizeof(value), 1);
            dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
            msg_send<void(ns_uinteger)>(encoder, "memoryBarrierWithScope:", 1);
            const id resources[1] = {log.get()};
            msg_send<void(const id*, ns_uinteger)>(encoder, "memoryBarrierWithResources:count:", resources, 1);
        }
        msg_send<void()>(encoder, "endEncoding");
    }
    msg_send<void()>(command_buffer.get(), "commit");
    msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    const std::uint32_t* result = contents<std::uint32_t>(log.get());
    CHECK(result[0] == 9);
    const std::vector<std::uint32_t> order(result + 1, result + 10);
    CHECK(order == std::vector<std::uint32_t>{0, 1, 2, 10, 11, 12, 20, 21, 22});
}

TEST_CASE("status moves NotEnqueued -> Enqueued -> Committed -> ... -> Completed, and times appear at completion") {
    autorelease_pool pool;
    object queue = new_queue();
    object command_buffer = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    CHECK(status_of(command_buffer.get()) == status_not_enqueued);
    CHECK(msg_send<double()>(command_buffer.get(), "GPUStartTime") == 0.0);
    msg_send<void()>(command_buffer.get(), "enqueue");
    CHECK(status_of(command_buffer.get()) == status_enqueued);
    msg_send<void()>(command_buffer.get(), "commit");
    CHECK(status_of(command_buffer.get()) >= status_committed);
    msg_send<void()>(command_buffer.get(), "waitUntilScheduled");
    CHECK(status_of(command_buffer.get()) >= status_scheduled);
    msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
    CHECK(status_of(command_buffer.get()) == status_completed);
    const double kernel_start = msg_send<double()>(command_buffer.get(), "kernelStartTime");
    const double kernel_end = msg_send<double()>(command_buffer.get(), "kernelEndTime");
    const double gpu_start = msg_send<double()>(command_buffer.get(), "GPUStartTime");
    const double gpu_end = msg_send<double()>(command_buffer.get(), "GPUEndTime");
    CHECK(kernel_start > 0.0);
    CHECK(kernel_start <= kernel_end);
    CHECK(kernel_end <= gpu_start);
    CHECK(gpu_start <= gpu_end);
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    CHECK(gpu_end <= double(now.tv_sec) + double(now.tv_nsec) * 1e-9);
}

TEST_CASE("addCompletedHandler: and addScheduledHandler: call their blocks once with the command buffer, then free them") {
    autorelease_pool pool;
    object queue = new_queue();
    std::atomic<int> completed_calls{0}, scheduled_calls{0};
    std::atomic<id> seen{nullptr};
    auto captured = std::make_shared<int>(0);  // lives as long as some copy of the completed block
    std::weak_ptr<int> capture_alive = captured;
    object command_buffer = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    {
        block<void(id)> completed([captured, &completed_calls, &seen](id cb) {
            completed_calls.fetch_add(1);
            seen.store(cb);
        });
        block<void(id)> scheduled([&scheduled_calls](id) { scheduled_calls.fetch_add(1); });
        msg_send<void(id)>(command_buffer.get(), "addCompletedHandler:", completed.get());
        msg_send<void(id)>(command_buffer.get(), "addScheduledHandler:", scheduled.get());
    }  // the stack blocks are gone: softmetal holds copies
    captured.reset();
    CHECK_FALSE(capture_alive.expired());  // the copy helper copied the captures
    msg_send<void()>(command_buffer.get(), "commit");
    msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
    CHECK(scheduled_calls.load() == 1);
    CHECK(completed_calls.load() == 1);
    CHECK(seen.load() == command_buffer.get());
    CHECK(capture_alive.expired());  // the dispose helper ran when softmetal released its copy
}

TEST_CASE("handlers of a command buffer released without commit are freed, not called") {
    autorelease_pool pool;
    object queue = new_queue();
    auto calls = std::make_shared<int>(0);
    std::weak_ptr<int> alive = calls;
    {
        autorelease_pool inner;
        id command_buffer = msg_send<id()>(queue.get(), "commandBuffer");
        block<void(id)> completed([calls](id) { ++*calls; });
        msg_send<void(id)>(command_buffer, "addCompletedHandler:", completed.get());
        msg_send<void()>(command_buffer, "enqueue");
    }
    CHECK(*calls == 0);
    calls.reset();
    CHECK(alive.expired());
}

TEST_CASE("command buffers of one queue complete in commit order") {
    autorelease_pool pool;
    object pipeline = pipeline_for(append_kernel_source, "append");
    object queue = new_queue();
    object log = new_buffer(256 * sizeof(std::uint32_t));
    std::mutex mutex;
    std::vector<std::uint32_t> completion_order;
    std::vector<object> command_buffers;
    std::vector<std::unique_ptr<block<void(id)>>> handlers;
    // Enqueue reserves a place: the command buffer enqueued first runs first, whatever the commit order.
    object reserved = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    msg_send<void()>(reserved.get(), "enqueue");
    for (std::uint32_t i = 0; i < 20; ++i) {
        autorelease_pool inner;
        id cb = msg_send<id()>(queue.get(), "commandBuffer");
        command_buffers.push_back(object::retain(cb));
        id encoder = msg_send<id()>(cb, "computeCommandEncoder");
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, log.get(), 0, 0);
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &i, sizeof(i), 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
        msg_send<void()>(encoder, "endEncoding");
        handlers.push_back(std::make_unique<block<void(id)>>([&mutex, &completion_order, i](id) {
            std::lock_guard<std::mutex> lock(mutex);
            completion_order.push_back(i);
        }));
        msg_send<void(id)>(cb, "addCompletedHandler:", handlers.back()->get());
        if (i == 0) {
            // The reserved (empty) one is committed after the first: it still goes first.
            CHECK(status_of(reserved.get()) == status_enqueued);
        }
        msg_send<void()>(cb, "commit");
        if (i == 0) msg_send<void()>(reserved.get(), "commit");
    }
    msg_send<void()>(command_buffers.back().get(), "waitUntilCompleted");
    for (const object& cb : command_buffers) CHECK(status_of(cb.get()) == status_completed);
    std::vector<std::uint32_t> expected;
    for (std::uint32_t i = 0; i < 20; ++i) expected.push_back(i);
    {
        std::lock_guard<std::mutex> lock(mutex);
        CHECK(completion_order == expected);
    }
    const std::uint32_t* result = contents<std::uint32_t>(log.get());
    CHECK(result[0] == 20);
    CHECK(std::vector<std::uint32_t>(result + 1, result + 21) == expected);
}

TEST_CASE("two threads drive two queues at once") {
    autorelease_pool pool;
    object pipeline = pipeline_for(add_kernel_source, "add");
    std::atomic<int> failures{0};
    auto drive = [&](float base) {
        autorelease_pool thread_pool;
        object queue = new_queue();
        for (int round = 0; round < 20; ++round) {
            autorelease_pool round_pool;
            const std::size_t n = 4096;
            std::vector<float> input(2 * n);
            for (std::size_t i = 0; i < n; ++i) input[2 * i] = base, input[2 * i + 1] = float(i + round);
            object in = buffer_with(input);
            object out = new_buffer(n * sizeof(float));
            object cb = run_encoded(queue.get(), [&](id encoder) {
                set_pipeline(encoder, pipeline.get());
                set_buffer(encoder, in.get(), 0, 0);
                set_buffer(encoder, out.get(), 0, 1);
                dispatch_threads(encoder, {n, 1, 1}, {256, 1, 1});
            });
            if (status_of(cb.get()) != status_completed) failures++;
            const float* result = contents<float>(out.get());
            for (std::size_t i = 0; i < n; ++i)
                if (result[i] != base + float(i + round)) {
                    failures++;
                    break;
                }
        }
    };
    std::thread a(drive, 1000.0f), b(drive, 2000.0f);
    a.join();
    b.join();
    CHECK(failures.load() == 0);
}

TEST_CASE("command buffers and encoders know their queue, device and label") {
    autorelease_pool pool;
    object queue = new_queue();
    msg_send<void(id)>(queue.get(), "setLabel:", ns_string("queue").get());
    CHECK(text(msg_send<id()>(queue.get(), "label")) == "queue");
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    CHECK(msg_send<id()>(cb, "commandQueue") == queue.get());
    CHECK(msg_send<id()>(cb, "device") == device());
    msg_send<void(id)>(cb, "setLabel:", ns_string("frame").get());
    CHECK(text(msg_send<id()>(cb, "label")) == "frame");
    id encoder = msg_send<id()>(cb, "computeCommandEncoder");
    CHECK(msg_send<ns_uinteger()>(encoder, "dispatchType") == 0);
    CHECK(msg_send<id()>(encoder, "device") == device());
    msg_send<void(id)>(encoder, "setLabel:", ns_string("pass").get());
    CHECK(text(msg_send<id()>(encoder, "label")) == "pass");
    msg_send<void()>(encoder, "endEncoding");
    id unretained = msg_send<id()>(queue.get(), "commandBufferWithUnretainedReferences");
    REQUIRE(unretained != nullptr);
    CHECK(msg_send<id()>(unretained, "commandQueue") == queue.get());
    CHECK(msg_send<objc_bool()>(unretained, "retainedReferences") == 0);
    CHECK(msg_send<objc_bool()>(cb, "retainedReferences") == 1);
}

TEST_CASE("an empty command buffer completes; waiting before commit returns at once") {
    autorelease_pool pool;
    object queue = new_queue();
    object cb = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    msg_send<void()>(cb.get(), "waitUntilCompleted");  // not committed: returns immediately
    CHECK(status_of(cb.get()) == status_not_enqueued);
    msg_send<void()>(cb.get(), "commit");
    msg_send<void()>(cb.get(), "waitUntilCompleted");
    CHECK(status_of(cb.get()) == status_completed);
    CHECK(msg_send<id()>(cb.get(), "computeCommandEncoder") == nullptr);  // no encoding after commit
}

TEST_CASE("commandBuffer blocks while maxCommandBufferCount command buffers are outstanding") {
    autorelease_pool pool;
    object queue = object::adopt(msg_send<id(ns_uinteger)>(device(), "newCommandQueueWithMaxCommandBufferCount:", 2));
    object first = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    object second = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    std::atomic<bool> got_third{false};
    std::thread third([&] {
        autorelease_pool thread_pool;
        id cb = msg_send<id()>(queue.get(), "commandBuffer");
        got_third.store(cb != nullptr);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK_FALSE(got_third.load());
    msg_send<void()>(first.get(), "commit");  // completing gives its slot back
    msg_send<void()>(first.get(), "waitUntilCompleted");
    third.join();
    CHECK(got_third.load());
    second = object();  // released without a commit: its slot comes back too
    object fourth = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    CHECK(fourth);
}

TEST_CASE("a thread blocked for a slot gets one freed short of the batch that wakes blocked threads") {
    // A blocked thread is woken once a batch of slots is free (a quarter of the limit: two of eight
    // here). Here only one ever comes free, the rest held by uncommitted command buffers: the blocked
    // thread must still get it, by looking again by itself.
    autorelease_pool pool;
    object queue = object::adopt(msg_send<id(ns_uinteger)>(device(), "newCommandQueueWithMaxCommandBufferCount:", 8));
    std::vector<object> held;
    for (int i = 0; i < 8; ++i) held.push_back(object::retain(msg_send<id()>(queue.get(), "commandBuffer")));
    std::atomic<bool> got_ninth{false};
    std::thread ninth([&] {
        autorelease_pool thread_pool;
        id cb = msg_send<id()>(queue.get(), "commandBuffer");
        got_ninth.store(cb != nullptr);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // long enough to be asleep, rechecking slowly
    CHECK_FALSE(got_ninth.load());
    msg_send<void()>(held[0].get(), "commit");  // completing gives one slot back; seven stay taken
    msg_send<void()>(held[0].get(), "waitUntilCompleted");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!got_ninth.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(got_ninth.load());
    held.clear();  // released without a commit: their slots come back (and would end a wait that hung)
    ninth.join();
}

TEST_CASE("a command buffer read back by polling status completes without waiting for a time slice") {
    // The queue's threads inherit this thread's affinity: all on one core, where the queue's lane is a
    // batch thread that does not preempt this one. status must give the core up while the command
    // buffer is in flight, or each poll loop waits for the end of this thread's time slice (8 ms here).
    pinned_to_one_cpu pinned;

    autorelease_pool pool;
    object queue = new_queue();  // its lanes start here, on this core
    object append = pipeline_for(append_kernel_source, "append");
    constexpr std::uint32_t count = 21;
    object log = new_buffer((count + 1) * sizeof(std::uint32_t));
    std::vector<double> seconds;
    for (std::uint32_t i = 0; i < count; ++i) {
        autorelease_pool iteration;
        const auto start = std::chrono::steady_clock::now();
        id cb = msg_send<id()>(queue.get(), "commandBuffer");
        encode_append(cb, append.get(), log.get(), i);
        msg_send<void()>(cb, "commit");
        while (status_of(cb) < status_completed) {
        }
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        REQUIRE(status_of(cb) == status_completed);
        msg_send<void()>(cb, "waitUntilCompleted");
    }
    const std::uint32_t* out = contents<std::uint32_t>(log.get());
    REQUIRE(out[0] == count);
    for (std::uint32_t i = 0; i < count; ++i) CHECK(out[1 + i] == i);
    std::sort(seconds.begin(), seconds.end());
    CHECK(seconds[count / 2] < 0.002);  // a time slice is 4 ms or more; a round trip takes microseconds
}

TEST_CASE("waitUntilScheduled and waitUntilCompleted from other threads each return at their own stage") {
    // The command buffer is held at an event wait far longer than a waiter polls before it sleeps, so
    // both waiters sleep; the lane must wake the first at Scheduled and the second only at the end.
    autorelease_pool pool;
    object queue = new_queue();
    object event = object::adopt(msg_send<id()>(device(), "newSharedEvent"));
    object held = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    msg_send<void(id, std::uint64_t)>(held.get(), "encodeWaitForEvent:value:", event.get(), 1);
    msg_send<void()>(held.get(), "commit");
    std::atomic<ns_uinteger> seen_scheduled{99}, seen_completed{99};
    std::thread scheduled_waiter([&] {
        autorelease_pool thread_pool;
        msg_send<void()>(held.get(), "waitUntilScheduled");
        seen_scheduled.store(status_of(held.get()));
    });
    std::thread completed_waiter([&] {
        autorelease_pool thread_pool;
        msg_send<void()>(held.get(), "waitUntilCompleted");
        seen_completed.store(status_of(held.get()));
    });
    scheduled_waiter.join();  // scheduled while the event wait still holds it
    CHECK(seen_scheduled.load() == status_scheduled);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(seen_completed.load() == 99);  // still waiting
    msg_send<void(std::uint64_t)>(event.get(), "setSignaledValue:", 1);
    completed_waiter.join();
    CHECK(seen_completed.load() == status_completed);
}

TEST_CASE("a loop of one-dispatch command buffers against a small maxCommandBufferCount runs every one in order") {
    // The producer runs ahead of the queue and waits for a slot on nearly every commandBuffer.
    autorelease_pool pool;
    object queue = object::adopt(msg_send<id(ns_uinteger)>(device(), "newCommandQueueWithMaxCommandBufferCount:", 3));
    object append = pipeline_for(append_kernel_source, "append");
    constexpr std::uint32_t count = 2000;
    object log = new_buffer((count + 1) * sizeof(std::uint32_t));
    object last;
    for (std::uint32_t i = 0; i < count; ++i) {
        autorelease_pool iteration;
        id cb = msg_send<id()>(queue.get(), "commandBuffer");
        REQUIRE(cb);
        encode_append(cb, append.get(), log.get(), i);
        msg_send<void()>(cb, "commit");
        if (i + 1 == count) last = object::retain(cb);
    }
    msg_send<void()>(last.get(), "waitUntilCompleted");
    REQUIRE(status_of(last.get()) == status_completed);
    const std::uint32_t* out = contents<std::uint32_t>(log.get());
    REQUIRE(out[0] == count);
    for (std::uint32_t i = 0; i < count; ++i) CHECK(out[1 + i] == i);
}

TEST_CASE("a buffer bound at index 30 alone reaches the kernel; a used index past every binding is reported") {
    autorelease_pool pool;
    object pipeline = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
kernel void far(device uint* out [[buffer(30)]], uint id [[thread_position_in_grid]]) { out[id] = id * 7 + 1; }
)", "far");
    object out = new_buffer(16 * sizeof(std::uint32_t));
    object queue = new_queue();
    object done = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 30);
        dispatch_threads(encoder, {16, 1, 1}, {16, 1, 1});
    });
    REQUIRE(status_of(done.get()) == status_completed);
    const std::uint32_t* values = contents<std::uint32_t>(out.get());
    for (std::uint32_t i = 0; i < 16; ++i) CHECK(values[i] == i * 7 + 1);

    object unbound = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 2);  // bound below the used index, not at it
        dispatch_threads(encoder, {16, 1, 1}, {16, 1, 1});
    });
    REQUIRE(status_of(unbound.get()) == status_error);
    CHECK(error_description(msg_send<id()>(unbound.get(), "error")).find("reads buffer(30) but nothing is bound at index 30") !=
          std::string::npos);
}
