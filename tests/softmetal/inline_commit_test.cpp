// Which command buffers commit runs itself (SOFTMETAL_INLINE_COMMIT, command_buffer.cpp): by default only
// those whose kernels the translator proved short (straight_line_tokens), over a small grid; never a
// kernel that may run long, so commit still returns at once for a kernel that waits for the host, as on
// a GPU. CTest runs this file with the variable unset, "0" and "1024"; each case checks what the mode
// of its process promises.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

constexpr const char* spin_kernel_source = R"(#include <metal_stdlib>
using namespace metal;
// Runs until the host sets flag[0]: a kernel whose length nothing in the command buffer tells.
kernel void wait_for_host(device atomic_uint* flag [[buffer(0)]], device uint* out [[buffer(1)]]) {
    while (atomic_load_explicit(flag, memory_order_relaxed) == 0u) {}
    out[0] = 1u;
}
)";

constexpr const char* fill_kernel_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void fill(device uint* out [[buffer(0)]], uint id [[thread_position_in_grid]]) { out[id] = id * 3u + 1u; }
)";

}  // namespace

TEST_CASE("commit runs a command buffer of a short kernel itself unless SOFTMETAL_INLINE_COMMIT is 0") {
    autorelease_pool pool;
    object queue = new_queue();
    object append = pipeline_for(append_kernel_source, "append");
    object log = new_buffer(4096);
    let_queue_go_idle(queue.get());
    int run_at_commit = 0, completed_at_return = 0;
    for (std::uint32_t i = 0; i < 20; ++i) {
        autorelease_pool inner;
        object cb = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
        encode_append(cb.get(), append.get(), log.get(), i + 1);
        msg_send<void()>(cb.get(), "commit");
        const bool completed = status_of(cb.get()) == status_completed;
        msg_send<void()>(cb.get(), "waitUntilCompleted");
        REQUIRE(status_of(cb.get()) == status_completed);
        if (ran_at_commit(cb.get())) {
            ++run_at_commit;
            completed_at_return += completed;
        }
    }
    const std::uint32_t* out = contents<std::uint32_t>(log.get());
    REQUIRE(out[0] == 20);
    for (std::uint32_t i = 0; i < 20; ++i) CHECK(out[1 + i] == i + 1);
    if (inline_commit_mode() == inline_commit::never) {
        CHECK(run_at_commit == 0);
    } else {
        // The queue is idle before each commit (the previous command buffer was waited for): most of
        // them run at commit, and each of those has completed when commit returns.
        CHECK(run_at_commit > 10);
        CHECK(completed_at_return == run_at_commit);
    }
}

TEST_CASE("commit returns before a kernel with a loop has run, unless a thread count forces it") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(spin_kernel_source, "wait_for_host");
    object flag = new_buffer(4);
    object out = new_buffer(4);
    let_queue_go_idle(queue.get());
    const bool forced = inline_commit_mode() == inline_commit::threads;
    // Forced: commit may run it to the end, so the flag is set before (it would wait for the watchdog).
    __atomic_store_n(contents<std::uint32_t>(flag.get()), forced ? 1u : 0u, __ATOMIC_RELAXED);
    object cb = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    id encoder = msg_send<id()>(cb.get(), "computeCommandEncoder");
    set_pipeline(encoder, pipeline.get());
    set_buffer(encoder, flag.get(), 0, 0);
    set_buffer(encoder, out.get(), 0, 1);
    dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    msg_send<void()>(encoder, "endEncoding");
    msg_send<void()>(cb.get(), "commit");
    if (!forced) {
        // Commit returned while the kernel waits for the host: it is still running, on the queue's lane.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        CHECK(status_of(cb.get()) != status_completed);
        CHECK(__atomic_load_n(contents<std::uint32_t>(out.get()), __ATOMIC_RELAXED) == 0u);
        __atomic_store_n(contents<std::uint32_t>(flag.get()), 1u, __ATOMIC_RELAXED);
    }
    msg_send<void()>(cb.get(), "waitUntilCompleted");
    REQUIRE(status_of(cb.get()) == status_completed);
    CHECK(contents<std::uint32_t>(out.get())[0] == 1u);
    CHECK(ran_at_commit(cb.get()) == forced);
}

TEST_CASE("a short kernel over a grid too large to run at commit goes to the queue's lane") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(fill_kernel_source, "fill");
    constexpr std::uint32_t n = 1u << 18;  // past 1,024 threads and past 2^16 tokens of work
    object out = new_buffer(n * sizeof(std::uint32_t));
    let_queue_go_idle(queue.get());
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threads(encoder, {n, 1, 1}, {256, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    CHECK_FALSE(ran_at_commit(cb.get()));
    const std::uint32_t* result = contents<std::uint32_t>(out.get());
    bool right = true;
    for (std::uint32_t i = 0; i < n; ++i) right = right && result[i] == i * 3u + 1u;
    CHECK(right);
}

TEST_CASE("a command buffer run at commit moves through every status and calls its handlers off the committing thread") {
    autorelease_pool pool;
    object queue = new_queue();
    object append = pipeline_for(append_kernel_source, "append");
    object log = new_buffer(64);
    let_queue_go_idle(queue.get());
    std::atomic<int> order{0};
    std::atomic<int> scheduled_at{0}, completed_at{0};
    std::atomic<bool> off_thread{true};
    std::atomic<ns_uinteger> status_in_completed{0};
    const std::thread::id me = std::this_thread::get_id();
    block<void(id)> on_scheduled([&](id) {
        off_thread = off_thread && std::this_thread::get_id() != me;
        scheduled_at = ++order;
    });
    block<void(id)> on_completed([&](id cb) {
        off_thread = off_thread && std::this_thread::get_id() != me;
        status_in_completed = status_of(cb);
        completed_at = ++order;
    });
    object cb = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    CHECK(status_of(cb.get()) == status_not_enqueued);  // (an enqueue now would hand it to the lane)
    encode_append(cb.get(), append.get(), log.get(), 5);
    msg_send<void(id)>(cb.get(), "addScheduledHandler:", on_scheduled.get());
    msg_send<void(id)>(cb.get(), "addCompletedHandler:", on_completed.get());
    // Another thread waits for the command buffer before it is committed.
    std::atomic<bool> waiter_saw_completed{false};
    std::thread waiter([&] {
        autorelease_pool thread_pool;
        while (status_of(cb.get()) < status_committed) std::this_thread::yield();
        msg_send<void()>(cb.get(), "waitUntilCompleted");
        waiter_saw_completed = status_of(cb.get()) == status_completed && completed_at.load() == 2;
    });
    msg_send<void()>(cb.get(), "commit");
    // A handler added after commit is dropped, as Metal's validation layer refuses it.
    std::atomic<int> late_calls{0};
    block<void(id)> late([&](id) { ++late_calls; });
    msg_send<void(id)>(cb.get(), "addCompletedHandler:", late.get());
    msg_send<void()>(cb.get(), "waitUntilCompleted");
    waiter.join();
    CHECK(status_of(cb.get()) == status_completed);
    CHECK(scheduled_at.load() == 1);
    CHECK(completed_at.load() == 2);
    CHECK(status_in_completed.load() == status_completed);
    CHECK(off_thread.load());
    CHECK(waiter_saw_completed.load());
    CHECK(late_calls.load() == 0);
    CHECK(ran_at_commit(cb.get()) == (inline_commit_mode() != inline_commit::never));
    CHECK(contents<std::uint32_t>(log.get())[1] == 5);
}
