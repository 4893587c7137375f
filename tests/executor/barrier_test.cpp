// Kernels with threadgroup_barrier(): every thread of a group on a fiber, barriers waiting for the
// live threads of the group only.
#include "catch.hpp"
#include "hand_written_kernels.hpp"

#include <atomic>
#include <cstring>
#include <numeric>
#include <vector>

using namespace executor_test;

namespace {

std::uint32_t local_index(const sm_group* group, sm_size3 local) {
    return (local.z * group->size.y + local.y) * group->size.x + local.x;
}
std::uint64_t group_index(const sm_group* group) {
    const sm_size3 groups = group->launch->threadgroups_per_grid;
    return (std::uint64_t(group->position.z) * groups.y + group->position.y) * groups.x + group->position.x;
}

// buffer 0: uint32 input, one per thread; buffer 1: uint64 output, one per group. The threadgroup array
// is declared in the kernel body (static threadgroup memory), as `threadgroup uint partial[N]` would be.
void tree_reduce(const sm_group* group, sm_size3 local) {
    const std::uint32_t n = static_cast<std::uint32_t>(volume(group->size));
    const std::uint32_t tid = local_index(group, local);
    auto* input = static_cast<const std::uint32_t*>(group->launch->buffers[0]);
    auto* output = static_cast<std::uint64_t*>(group->launch->buffers[1]);
    auto* partial = static_cast<std::uint64_t*>(group->static_threadgroup_memory);
    partial[tid] = input[group_index(group) * n + tid];
    barrier();
    for (std::uint32_t stride = n / 2; stride > 0; stride /= 2) {
        if (tid < stride) partial[tid] += partial[tid + stride];
        barrier();
    }
    if (tid == 0) output[group_index(group)] = partial[0];
}

void check_reduction(unsigned workers, sm_size3 group_size, std::uint32_t groups) {
    const std::uint32_t n = static_cast<std::uint32_t>(volume(group_size));
    const sm_kernel_info kernel = barrier_kernel("tree_reduce", tree_reduce, n * sizeof(std::uint64_t));
    std::vector<std::uint32_t> input(std::size_t(n) * groups);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<std::uint32_t>((i * 2654435761u) >> 7);
    std::vector<std::uint64_t> output(groups, ~0ull);

    softmetal::dispatch_work work = dispatch_groups(kernel, sm_size3{groups, 1, 1}, group_size);
    work.launch.buffers[0] = input.data();
    work.launch.buffers[1] = output.data();
    softmetal::executor pool(workers);
    pool.run(work);

    std::uint64_t total = 0, expected_total = 0;
    for (std::uint32_t g = 0; g < groups; ++g) {
        const std::uint64_t expected = std::accumulate(input.begin() + std::size_t(g) * n, input.begin() + std::size_t(g + 1) * n, std::uint64_t(0));
        CHECK(output[g] == expected);
        total += output[g];
        expected_total += expected;
    }
    CHECK(total == expected_total);
}

// Each of `rounds` iterations: publish my value, barrier, take my right neighbour's, barrier. After
// k rounds thread t holds the initial value of thread (t + k) mod n. buffer 0: uint32 rounds.
void rotate(const sm_group* group, sm_size3 local) {
    const std::uint32_t n = static_cast<std::uint32_t>(volume(group->size));
    const std::uint32_t tid = local_index(group, local);
    const std::uint32_t rounds = *static_cast<const std::uint32_t*>(group->launch->buffers[0]);
    auto* output = static_cast<std::uint32_t*>(group->launch->buffers[1]);
    auto* slots = static_cast<std::uint32_t*>(group->threadgroup_memory[0]);
    std::uint32_t value = tid * 7 + 1;
    for (std::uint32_t k = 0; k < rounds; ++k) {
        slots[tid] = value;
        barrier();
        value = slots[(tid + 1) % n];
        barrier();
    }
    // Rows of the nominal group size, so a partial edge group does not overlap the one before it.
    output[group_index(group) * volume(group->launch->threads_per_threadgroup) + tid] = value;
}

// Thread t does t % 5 rounds of barriers and returns; the rest keep using barriers. Odd threads return
// at once. The survivors still synchronise correctly: each round, every live thread adds 1 to a shared
// counter, then after the barrier checks it saw exactly the live count.
void early_return(const sm_group* group, sm_size3 local) {
    const std::uint32_t n = static_cast<std::uint32_t>(volume(group->size));
    const std::uint32_t tid = local_index(group, local);
    auto* errors = static_cast<std::uint32_t*>(group->launch->buffers[0]);
    auto* counter = static_cast<std::uint32_t*>(group->static_threadgroup_memory);
    if (tid % 2 == 1) return;
    const std::uint32_t my_rounds = tid % 5 == 0 ? 8 : tid % 5;  // threads 0, 10, 20... run all 8 rounds
    for (std::uint32_t k = 0; k < my_rounds; ++k) {
        if (tid == 0) counter[0] = 0;
        barrier();
        counter[0] += 1;  // fibers of one group never run at the same time
        barrier();
        // Even threads alive in round k: those with k < their round count.
        std::uint32_t live = 0;
        for (std::uint32_t t = 0; t < n; t += 2) live += k < (t % 5 == 0 ? 8 : t % 5);
        if (counter[0] != live) __atomic_fetch_add(errors, 1, __ATOMIC_RELAXED);
        barrier();
    }
}

// Uses a good part of a 64 KiB fiber stack, with a barrier while the frame is live.
__attribute__((noinline)) std::uint64_t deep(std::uint32_t depth, std::uint32_t seed) {
    volatile std::uint8_t frame[2048];
    for (std::uint32_t i = 0; i < sizeof frame; ++i) frame[i] = static_cast<std::uint8_t>(seed + i);
    std::uint64_t sum = 0;
    if (depth > 0) {
        sum = deep(depth - 1, seed * 31 + 1);
    } else {
        barrier();
    }
    for (std::uint32_t i = 0; i < sizeof frame; i += 64) sum += frame[i];
    return sum;
}
void deep_stack(const sm_group* group, sm_size3 local) {
    auto* output = static_cast<std::uint64_t*>(group->launch->buffers[0]);
    const std::uint32_t tid = local_index(group, local);
    output[group_index(group) * volume(group->size) + tid] = deep(12, tid);  // ~26 KiB of frames
}

}  // namespace

TEST_CASE("256-wide tree reduction with barriers matches the host sum", "[executor][barrier]") {
    for (unsigned workers : {1u, 2u, 4u}) {
        INFO("workers " << workers);
        check_reduction(workers, sm_size3{256, 1, 1}, 64);
    }
}

TEST_CASE("1024-thread groups with barriers", "[executor][barrier]") {
    check_reduction(1, sm_size3{1024, 1, 1}, 3);
    check_reduction(3, sm_size3{16, 8, 8}, 9);
}

TEST_CASE("several barriers in loops", "[executor][barrier]") {
    for (unsigned workers : {1u, 4u}) {
        const std::uint32_t n = 96, groups = 10, rounds = 13;
        sm_kernel_info kernel = barrier_kernel("rotate", rotate);
        kernel.threadgroup_bindings_used = 1;
        std::vector<std::uint32_t> output(n * groups, 0);
        softmetal::dispatch_work work = dispatch_groups(kernel, sm_size3{groups, 1, 1}, sm_size3{n, 1, 1});
        std::uint32_t rounds_arg = rounds;
        work.launch.buffers[0] = &rounds_arg;
        work.launch.buffers[1] = output.data();
        work.threadgroup_memory_lengths[0] = n * sizeof(std::uint32_t);
        softmetal::executor pool(workers);
        pool.run(work);
        std::uint32_t wrong = 0;
        for (std::uint32_t g = 0; g < groups; ++g)
            for (std::uint32_t t = 0; t < n; ++t) wrong += output[g * n + t] != ((t + rounds) % n) * 7 + 1;
        CHECK(wrong == 0);
    }
}

TEST_CASE("threads that return early do not block the barriers of the others", "[executor][barrier]") {
    for (unsigned workers : {1u, 3u}) {
        const sm_kernel_info kernel = barrier_kernel("early_return", early_return, 16);
        std::uint32_t errors = 0;
        softmetal::dispatch_work work = dispatch_groups(kernel, sm_size3{7, 2, 1}, sm_size3{50, 1, 1});
        work.launch.buffers[0] = &errors;
        softmetal::executor pool(workers);
        pool.run(work);
        CHECK(errors == 0);
    }
}

TEST_CASE("partial edge groups with barriers", "[executor][barrier]") {
    // A 1000-thread grid in groups of 256: the last group has 232 threads, and its barriers wait for
    // those 232 only.
    const sm_kernel_info kernel = barrier_kernel("rotate", rotate);
    std::uint32_t rounds = 3;
    std::vector<std::uint32_t> output(1024, 0);
    softmetal::dispatch_work work = dispatch_threads(kernel, sm_size3{1000, 1, 1}, sm_size3{256, 1, 1});
    work.launch.buffers[0] = &rounds;
    work.launch.buffers[1] = output.data();
    work.threadgroup_memory_lengths[0] = 256 * sizeof(std::uint32_t);
    softmetal::executor pool(2);
    pool.run(work);
    std::uint32_t wrong = 0;
    for (std::uint32_t g = 0; g < 4; ++g) {
        const std::uint32_t n = g < 3 ? 256 : 232;
        for (std::uint32_t t = 0; t < n; ++t) wrong += output[g * 256 + t] != ((t + rounds) % n) * 7 + 1;
    }
    CHECK(wrong == 0);
}

TEST_CASE("a deep-ish stack in a fiber works", "[executor][barrier]") {
    const std::uint32_t n = 64, groups = 4;
    const sm_kernel_info kernel = barrier_kernel("deep_stack", deep_stack);
    std::vector<std::uint64_t> output(n * groups, 0);
    softmetal::dispatch_work work = dispatch_groups(kernel, sm_size3{groups, 1, 1}, sm_size3{n, 1, 1});
    work.launch.buffers[0] = output.data();
    softmetal::executor pool(2);
    pool.run(work);
    for (std::uint32_t g = 0; g < groups; ++g)
        for (std::uint32_t t = 0; t < n; ++t) CHECK(output[g * n + t] == output[t]);
    CHECK(output[0] != 0);
}

TEST_CASE("a barrier in a one-thread group is a no-op", "[executor][barrier]") {
    static std::atomic<int> after{0};
    after = 0;
    const sm_kernel_info fibered = barrier_kernel("single", [](const sm_group*, sm_size3) {
        barrier();
        barrier();
        after.fetch_add(1);
    });
    sm_kernel_info grouped = plain_kernel("single_group", [](const sm_group*) {
        barrier();
        after.fetch_add(1);
    }, nullptr);
    softmetal::executor pool(2);
    pool.run(dispatch_groups(fibered, sm_size3{5, 1, 1}, sm_size3{1, 1, 1}));
    pool.run(dispatch_groups(grouped, sm_size3{1, 1, 1}, sm_size3{1, 1, 1}));
    CHECK(after.load() == 6);
}

TEST_CASE("fiber stacks are reused across groups and dispatches", "[executor][barrier]") {
    // Thousands of barrier groups on one worker: without pooling this would map (and leak) a stack per
    // thread; with it, the process keeps running in bounded memory.
    const sm_kernel_info kernel = barrier_kernel("tree_reduce", tree_reduce, 32 * sizeof(std::uint64_t));
    std::vector<std::uint32_t> input(32 * 4000, 1);
    std::vector<std::uint64_t> output(4000, 0);
    softmetal::dispatch_work work = dispatch_groups(kernel, sm_size3{4000, 1, 1}, sm_size3{32, 1, 1});
    work.launch.buffers[0] = input.data();
    work.launch.buffers[1] = output.data();
    softmetal::executor pool(1);
    for (int repeat = 0; repeat < 3; ++repeat) pool.run(work);
    std::uint32_t wrong = 0;
    for (std::uint64_t v : output) wrong += v != 32;
    CHECK(wrong == 0);
}
