#include "executor/group_runner.hpp"

#include "executor/fiber_group.hpp"
#include "executor/fiber_stack_pool.hpp"
#include "executor/threadgroup_arenas.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdio>

namespace softmetal::detail {
namespace {

// Everything a thread needs to run groups. Thread-local because a group may run on any pool thread or
// on the thread that called run(); destroyed (stacks unmapped) when that thread ends.
struct worker_context {
    threadgroup_arenas arenas;
    fiber_stack_pool stacks;
    fiber_group_scheduler fibers{stacks};

    static worker_context& of_this_thread() {
        thread_local worker_context context;
        return context;
    }
};

// The group this thread is running without fibers (run_group, or run_thread of a one-thread group),
// so that a barrier reached there can tell a harmless one-thread barrier from a translator bug.
thread_local const sm_group* group_without_fibers = nullptr;
// The group this worker runs now (fibers or not): kernels ask for it to find their threadgroup variables.
thread_local const sm_group* group_running = nullptr;

std::uint32_t clipped_size(std::uint32_t nominal, std::uint32_t grid, std::uint32_t position) {
    // 64-bit: position * nominal may exceed 32 bits on the last group of a large grid.
    const std::uint64_t start = std::uint64_t(position) * nominal;
    if (start >= grid) return 0;  // only with an inconsistent launch (threads_per_grid too small)
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(nominal, grid - start));
}

}  // namespace

bool runs_on_fibers(const sm_kernel_info& kernel) {
    // A kernel without run_group can only run thread by thread; fibers keep that safe even if it
    // contains a barrier that its table does not admit to.
    return kernel.uses_barriers != 0 || kernel.run_group == nullptr;
}

void run_groups(const dispatch_work& work, std::uint64_t begin, std::uint64_t end) {
    if (begin >= end) return;
    const sm_kernel_info& kernel = *work.kernel;
    const sm_launch& launch = work.launch;
    worker_context& context = worker_context::of_this_thread();

    // One sm_group for the whole range: the arenas stay the same, only position and size change.
    sm_group group{};
    group.launch = &launch;
    context.arenas.bind(group, kernel.static_threadgroup_memory_length, work.threadgroup_memory_lengths);

    const sm_size3 groups = launch.threadgroups_per_grid;
    const sm_size3 nominal = launch.threads_per_threadgroup;
    const std::uint64_t plane = std::uint64_t(groups.x) * groups.y;
    sm_size3 position{static_cast<std::uint32_t>(begin % groups.x), static_cast<std::uint32_t>((begin / groups.x) % groups.y),
                      static_cast<std::uint32_t>(begin / plane)};
    const bool fibers = runs_on_fibers(kernel);
    const sm_group* outer = group_without_fibers;
    const sm_group* outer_running = group_running;
    group_running = &group;

    for (std::uint64_t index = begin; index < end; ++index) {
        group.position = position;
        group.size = sm_size3{clipped_size(nominal.x, launch.threads_per_grid.x, position.x),
                              clipped_size(nominal.y, launch.threads_per_grid.y, position.y),
                              clipped_size(nominal.z, launch.threads_per_grid.z, position.z)};
        const std::uint64_t threads = std::uint64_t(group.size.x) * group.size.y * group.size.z;
        if (threads == 0) {
            // Nothing to run.
        } else if (!fibers) {
            group_without_fibers = &group;
            kernel.run_group(&group);
        } else if (threads == 1) {
            group_without_fibers = &group;  // a barrier with nobody to wait for is a no-op
            kernel.run_thread(&group, sm_size3{0, 0, 0});
        } else {
            group_without_fibers = nullptr;
            context.fibers.run(kernel.run_thread, group);
        }
        if (++position.x == groups.x) {
            position.x = 0;
            if (++position.y == groups.y) position.y = 0, ++position.z;
        }
    }
    group_without_fibers = outer;
    group_running = outer_running;
}

const sm_group* current_group_hook() {
    return group_running;
}

void barrier_outside_fibers() {
    const sm_group* group = group_without_fibers;
    if (group && std::uint64_t(group->size.x) * group->size.y * group->size.z <= 1) return;
    // A barrier in a kernel whose table says it has none (or called outside any kernel): the translator
    // got uses_barriers wrong. Nothing can be waited for here; say so once rather than corrupt anything.
    assert(!"threadgroup_barrier() called from a kernel that does not run on fibers");
    static std::atomic<bool> reported{false};
    if (!reported.exchange(true)) {
        std::fprintf(stderr, "softmetal: threadgroup_barrier() reached by a kernel run without fibers "
                             "(uses_barriers is 0 in its kernel table); the barrier is ignored\n");
    }
}

}  // namespace softmetal::detail
