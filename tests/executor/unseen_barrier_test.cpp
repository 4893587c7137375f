// A kernel whose table says it has no barrier (so its groups run as one loop, run_group) but that
// reaches threadgroup_barrier() anyway, as a call through a function pointer the compiler could not see
// would: the dispatch ends with an error instead of silently wrong results, and the kernel then runs on
// fibers, where the barrier works. No signal is involved, so Catch2's own handlers do not matter here.
#include "catch.hpp"
#include "hand_written_kernels.hpp"

#include <cstdint>
#include <vector>

using namespace executor_test;

namespace {

// Each thread writes its index, waits for the group, then reads its mirror's: out[i] = group's reverse.
void mirror_thread(const sm_group* group, sm_size3 local) {
    auto* shared = static_cast<std::uint32_t*>(group->static_threadgroup_memory);
    auto* out = static_cast<std::uint32_t*>(group->launch->buffers[0]);
    const std::uint32_t n = group->size.x;
    shared[local.x] = local.x;
    barrier();
    out[group->position.x * group->launch->threads_per_threadgroup.x + local.x] = shared[n - 1 - local.x];
}

// The loop the compiler would have generated had it not seen the barrier: thread after thread.
void mirror_group(const sm_group* group) {
    for (std::uint32_t x = 0; x < group->size.x; ++x) mirror_thread(group, sm_size3{x, 0, 0});
}

}  // namespace

TEST_CASE("a barrier reached in a group run as one loop ends the dispatch; the kernel then runs on fibers",
          "[executor][barrier]") {
    sm_kernel_info kernel = plain_kernel("mirror", mirror_group, mirror_thread);
    kernel.static_threadgroup_memory_length = 64 * sizeof(std::uint32_t);
    std::vector<std::uint32_t> out(256, 0);
    softmetal::dispatch_work work = dispatch_groups(kernel, sm_size3{4, 1, 1}, sm_size3{64, 1, 1});
    work.launch.buffers[0] = out.data();
    softmetal::executor pool(2);

    const std::optional<softmetal::kernel_fault> fault = pool.run(work);
    REQUIRE(fault.has_value());
    CHECK(fault->kind == softmetal::fault_kind::unseen_barrier);

    CHECK_FALSE(pool.run(work).has_value());
    bool right = true;
    for (std::uint32_t i = 0; i < 256; ++i) right = right && out[i] == 63 - i % 64;
    CHECK(right);
}
