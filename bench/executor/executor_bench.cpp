// Micro-benchmarks for softmetal's executor. Figures are printed, one per line; compare them only
// between runs on the same machine.
#include "executor/executor.hpp"

#include <boost/context/fiber.hpp>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <numeric>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
namespace ctx = boost::context;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

const sm_runtime_api* runtime = nullptr;

// 1. Two Boost.Context fibers over fcontext, one stack reused (as the executor's pool does):
//    a ping-pong of resumes. Each resume is one switch.
void bench_raw_switch() {
    const std::size_t size = 64 * 1024;
    void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct no_free {
        void deallocate(ctx::stack_context&) noexcept {}
    };
    const long switches = 20'000'000;
    double best = 1e9;
    for (int repeat = 0; repeat < 5; ++repeat) {
        ctx::stack_context stack;
        stack.sp = static_cast<char*>(memory) + size;
        stack.size = size;
        ctx::fiber other(std::allocator_arg, ctx::preallocated(stack.sp, stack.size, stack), no_free{}, [&](ctx::fiber&& back) {
            for (long i = 0; i < switches / 2; ++i) back = std::move(back).resume();
            return std::move(back);
        });
        const auto start = clock_type::now();
        for (long i = 0; i < switches / 2; ++i) other = std::move(other).resume();
        const double elapsed = seconds_since(start);
        other = std::move(other).resume();  // let it return
        best = std::min(best, elapsed * 1e9 / switches);
    }
    munmap(memory, size);
    std::printf("boost fiber switch (fcontext, one direction): %.1f ns\n", best);
}

// 2. Barrier cost inside the executor: one worker, groups of `width` threads doing `barriers` barriers.
void spin_barriers(const sm_group* group, sm_size3) {
    const std::uint32_t barriers = *static_cast<const std::uint32_t*>(group->launch->buffers[0]);
    for (std::uint32_t i = 0; i < barriers; ++i) runtime->threadgroup_barrier();
}
void bench_barrier(softmetal::executor& pool, std::uint32_t width, std::uint32_t barriers, std::uint32_t groups) {
    sm_kernel_info kernel{};
    kernel.name = "spin_barriers";
    kernel.run_thread = spin_barriers;
    kernel.uses_barriers = 1;
    softmetal::dispatch_work work;
    work.kernel = &kernel;
    work.launch.buffers[0] = &barriers;
    work.launch.threads_per_threadgroup = {width, 1, 1};
    work.launch.threadgroups_per_grid = {groups, 1, 1};
    work.launch.threads_per_grid = {width * groups, 1, 1};
    pool.run(work);  // warm the stack pool
    double best = 1e9;
    for (int repeat = 0; repeat < 5; ++repeat) {
        const auto start = clock_type::now();
        pool.run(work);
        best = std::min(best, seconds_since(start));
    }
    const double per_thread_barrier = best * 1e9 / (double(width) * groups * barriers);
    const double per_thread_overhead = best * 1e9 / (double(width) * groups);
    std::printf("executor, %u worker(s), groups of %u threads x %u barriers: %.1f ns per thread per barrier (%.0f ns per thread in all)\n",
                pool.worker_count(), width, barriers, per_thread_barrier, per_thread_overhead);
}

// 3. Empty dispatch: one group of one thread, a kernel that does nothing.
void nothing(const sm_group*) {}
void nothing_thread(const sm_group*, sm_size3) {}

softmetal::dispatch_work empty_work(const sm_kernel_info& kernel) {
    softmetal::dispatch_work work;
    work.kernel = &kernel;
    work.launch.threads_per_grid = work.launch.threads_per_threadgroup = work.launch.threadgroups_per_grid = {1, 1, 1};
    return work;
}

void bench_empty_run(softmetal::executor& pool) {
    const sm_kernel_info kernel{"nothing", nothing, nothing_thread, 0, 0, 0, {}, 0, 0};
    const softmetal::dispatch_work work = empty_work(kernel);
    const int iterations = 1'000'000;
    const auto start = clock_type::now();
    for (int i = 0; i < iterations; ++i) pool.run(work);
    std::printf("empty run() on the calling thread: %.1f ns\n", seconds_since(start) * 1e9 / iterations);
}

// 4. What a command buffer with one empty dispatch costs: submit to the queue's lane, run there, signal
//    completion to the committing thread, which waits (waitUntilCompleted).
void bench_lane_round_trip(softmetal::executor& pool) {
    const sm_kernel_info kernel{"nothing", nothing, nothing_thread, 0, 0, 0, {}, 0, 0};
    const softmetal::dispatch_work work = empty_work(kernel);
    softmetal::serial_lane lane;
    std::mutex mutex;
    std::condition_variable done_cv;
    const int iterations = 20000;
    std::vector<double> samples;
    samples.reserve(iterations);
    for (int i = 0; i < iterations; ++i) {
        bool done = false;
        const auto start = clock_type::now();
        lane.submit([&] {
            pool.run(work);
            std::lock_guard<std::mutex> lock(mutex);
            done = true;
            done_cv.notify_one();
        });
        std::unique_lock<std::mutex> lock(mutex);
        done_cv.wait(lock, [&] { return done; });
        samples.push_back(seconds_since(start) * 1e6);
    }
    std::sort(samples.begin(), samples.end());
    const double mean = std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
    std::printf("empty dispatch via serial_lane, submit -> run -> signal waiter: median %.1f us, p90 %.1f us, p99 %.1f us, mean %.1f us\n",
                samples[samples.size() / 2], samples[samples.size() * 9 / 10], samples[samples.size() * 99 / 100], mean);
}

// 5. 256-wide tree reduction of floats with barriers (DESIGN.md: PoCL about 0.9 GB/s).
void tree_reduce(const sm_group* group, sm_size3 local) {
    const std::uint32_t tid = local.x, n = group->size.x;
    auto* input = static_cast<const float*>(group->launch->buffers[0]);
    auto* output = static_cast<float*>(group->launch->buffers[1]);
    auto* partial = static_cast<float*>(group->static_threadgroup_memory);
    partial[tid] = input[std::size_t(group->position.x) * n + tid];
    runtime->threadgroup_barrier();
    for (std::uint32_t stride = n / 2; stride > 0; stride /= 2) {
        if (tid < stride) partial[tid] += partial[tid + stride];
        runtime->threadgroup_barrier();
    }
    if (tid == 0) output[group->position.x] = partial[0];
}
void bench_reduction(softmetal::executor& pool) {
    const std::uint32_t width = 256, groups = 16384;  // 16 MiB of floats
    std::vector<float> input(std::size_t(width) * groups, 1.0f), output(groups);
    sm_kernel_info kernel{};
    kernel.name = "tree_reduce";
    kernel.run_thread = tree_reduce;
    kernel.uses_barriers = 1;
    kernel.static_threadgroup_memory_length = width * sizeof(float);
    softmetal::dispatch_work work;
    work.kernel = &kernel;
    work.launch.buffers[0] = input.data();
    work.launch.buffers[1] = output.data();
    work.launch.threads_per_threadgroup = {width, 1, 1};
    work.launch.threadgroups_per_grid = {groups, 1, 1};
    work.launch.threads_per_grid = {width * groups, 1, 1};
    pool.run(work);
    double best = 1e9;
    for (int repeat = 0; repeat < 3; ++repeat) {
        const auto start = clock_type::now();
        pool.run(work);
        best = std::min(best, seconds_since(start));
    }
    std::printf("256-wide tree reduction, %u workers: %.3f GB/s (%s)\n", pool.worker_count(), input.size() * sizeof(float) / best / 1e9,
                output[0] == 256.0f ? "correct" : "WRONG");
}

}  // namespace

int main() {
    softmetal::executor& pool = softmetal::executor::shared();
    runtime = pool.runtime_api();
    std::printf("workers: %u\n", pool.worker_count());
    bench_raw_switch();
    softmetal::executor one(1);
    bench_barrier(one, 256, 64, 64);
    bench_barrier(one, 1024, 16, 16);
    bench_barrier(one, 32, 256, 256);
    bench_empty_run(pool);
    bench_lane_round_trip(pool);
    bench_reduction(pool);
    return 0;
}
