// Several threads (one per command queue) calling run() on the same executor at once.
#include "catch.hpp"
#include "hand_written_kernels.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace executor_test;

namespace {

// buffer 0: uint32 out[grid], each thread writes its global index + buffer 1's salt.
void write_index(const sm_group* group) {
    const sm_launch& launch = *group->launch;
    auto* out = static_cast<std::uint32_t*>(launch.buffers[0]);
    const std::uint32_t salt = *static_cast<const std::uint32_t*>(launch.buffers[1]);
    for (std::uint32_t x = 0; x < group->size.x; ++x) {
        const std::uint32_t global = group->position.x * launch.threads_per_threadgroup.x + x;
        out[global] = global + salt;
    }
}

// Barrier version: thread t writes t's index, barrier, reads the neighbour's and stores that.
void neighbour_index(const sm_group* group, sm_size3 local) {
    const sm_launch& launch = *group->launch;
    auto* out = static_cast<std::uint32_t*>(launch.buffers[0]);
    const std::uint32_t salt = *static_cast<const std::uint32_t*>(launch.buffers[1]);
    auto* shared = static_cast<std::uint32_t*>(group->static_threadgroup_memory);
    const std::uint32_t base = group->position.x * launch.threads_per_threadgroup.x;
    shared[local.x] = base + local.x + salt;
    barrier();
    out[base + local.x] = shared[(local.x + 1) % group->size.x];
    barrier();
}

}  // namespace

TEST_CASE("concurrent run() from 4 threads", "[executor][concurrency]") {
    const sm_kernel_info plain = plain_kernel("write_index", write_index, nullptr);
    const sm_kernel_info fibered = barrier_kernel("neighbour_index", neighbour_index, 64 * sizeof(std::uint32_t));
    for (unsigned workers : {1u, 3u, 8u}) {
        softmetal::executor pool(workers);
        std::atomic<std::uint32_t> wrong{0};
        std::vector<std::thread> callers;
        for (std::uint32_t caller = 0; caller < 4; ++caller) {
            callers.emplace_back([&, caller] {
                const std::uint32_t n = 64 * 50;
                std::vector<std::uint32_t> out(n);
                for (std::uint32_t iteration = 0; iteration < 30; ++iteration) {
                    std::uint32_t salt = caller * 1000 + iteration;
                    const bool use_fibers = (iteration + caller) % 3 == 0;
                    // Tiny dispatches too, which take the caller-only path.
                    const std::uint32_t groups = iteration % 5 == 0 ? 1 : 50;
                    softmetal::dispatch_work work = dispatch_groups(use_fibers ? fibered : plain, sm_size3{groups, 1, 1}, sm_size3{64, 1, 1});
                    work.launch.buffers[0] = out.data();
                    work.launch.buffers[1] = &salt;
                    pool.run(work);
                    for (std::uint32_t i = 0; i < groups * 64; ++i) {
                        const std::uint32_t source = use_fibers ? (i / 64) * 64 + (i % 64 + 1) % 64 : i;
                        if (out[i] != source + salt) wrong++;
                    }
                }
            });
        }
        for (std::thread& thread : callers) thread.join();
        CHECK(wrong.load() == 0);
    }
}
