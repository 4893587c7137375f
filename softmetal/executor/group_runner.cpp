#include "executor/group_runner.hpp"

#include "executor/fiber_group.hpp"
#include "executor/fiber_stack_pool.hpp"
#include "executor/group_order.hpp"
#include "executor/sanitizer_fiber.hpp"
#include "executor/threadgroup_arenas.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_set>

namespace softmetal::detail {
namespace {

// Everything a thread needs to run groups. Thread-local because a group may run on any pool thread or
// on the thread that called run(); destroyed (stacks unmapped) when that thread ends.
struct worker_context {
    guarded_thread guarded;  // first: the fibers' teardown below may still run with it in place
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

// Kernels whose run_group reached a barrier (see barrier_outside_fibers): from then on they run on
// fibers. Never destroyed; a pointer left over from an unloaded module only costs its successor at the
// same address the fiber path, never correctness.
struct fiber_only_kernels {
    std::atomic<bool> any{false};  // the common case reads this and nothing else
    std::mutex mutex;
    std::unordered_set<const sm_kernel_info*> kernels;
};
fiber_only_kernels& forced_to_fibers() {
    static fiber_only_kernels* const instance = new fiber_only_kernels;
    return *instance;
}

bool forced_onto_fibers(const sm_kernel_info& kernel) {
    fiber_only_kernels& forced = forced_to_fibers();
    if (!forced.any.load(std::memory_order_acquire)) return false;
    std::lock_guard<std::mutex> lock(forced.mutex);
    return forced.kernels.count(&kernel) != 0;
}

// The kernel running on this thread, for barrier_outside_fibers.
thread_local const sm_kernel_info* kernel_running = nullptr;

}  // namespace

bool runs_on_fibers(const sm_kernel_info& kernel) {
    // A kernel without run_group can only run thread by thread; fibers keep that safe even if it
    // contains a barrier that its table does not admit to.
    return kernel.uses_barriers != 0 || kernel.run_group == nullptr || forced_onto_fibers(kernel);
}

namespace {

sm_size3 group_size_at(const sm_launch& launch, sm_size3 position) {
    const sm_size3 nominal = launch.threads_per_threadgroup;
    return sm_size3{clipped_size(nominal.x, launch.threads_per_grid.x, position.x),
                    clipped_size(nominal.y, launch.threads_per_grid.y, position.y),
                    clipped_size(nominal.z, launch.threads_per_grid.z, position.z)};
}

// group_size_at for every group of a range, without its arithmetic for the groups wholly inside the
// grid: run_range asks once per group, and an element-wise dispatch of 16 M threads in groups of 256 has
// 65,536 of them, each only ~250 cycles of kernel work with AVX-512 (exp(x)*sin(x)+sqrt(abs(x))). The
// out-of-line group_size_at there cost about a tenth of that (its sm_size3 went back through the
// stack, two 4-byte stores read as one 8-byte load: a store-forwarding stall per group).
class group_sizes {
public:
    explicit group_sizes(const sm_launch& launch)
        : launch_(launch),
          nominal_(launch.threads_per_threadgroup),
          whole_{whole_groups(launch.threads_per_grid.x, nominal_.x), whole_groups(launch.threads_per_grid.y, nominal_.y),
                 whole_groups(launch.threads_per_grid.z, nominal_.z)} {}
    sm_size3 at(sm_size3 position) const {
        if (position.x < whole_.x && position.y < whole_.y && position.z < whole_.z) return nominal_;
        return group_size_at(launch_, position);
    }

private:
    // Groups of `nominal` threads that fit whole in `grid` (0 for an empty nominal size: every group
    // then takes group_size_at's path).
    static std::uint32_t whole_groups(std::uint32_t grid, std::uint32_t nominal) { return nominal == 0 ? 0 : grid / nominal; }

    const sm_launch& launch_;
    sm_size3 nominal_;
    sm_size3 whole_;
};

// Runs one group: the plain loop, a direct call for a one-thread group, or fibers.
void run_group(worker_context& context, const sm_kernel_info& kernel, sm_group& group, bool fibers) {
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
}

// The guarded part of run_groups: everything here may be left by siglongjmp from the fault handler,
// so it keeps nothing that run_groups needs afterwards in its own frame.
__attribute__((noinline)) void run_range(worker_context& context, const guarded_dispatch& dispatch, std::uint64_t begin,
                                         std::uint64_t end) {
    const sm_kernel_info& kernel = *dispatch.work.kernel;
    const sm_launch& launch = dispatch.work.launch;
    kernel_guard& guard = context.guarded.guard;

    // One sm_group for the whole range: the arenas stay the same, only position and size change.
    sm_group group{};
    group.launch = &launch;
    context.arenas.bind(group, kernel.static_threadgroup_memory_length, dispatch.work.threadgroup_memory_lengths);

    bool dynamic_threadgroup_memory = false;
    if (group_order::may_band(launch.threadgroups_per_grid))
        for (const std::uint64_t length : dispatch.work.threadgroup_memory_lengths) dynamic_threadgroup_memory |= length != 0;
    const group_order order(kernel, dynamic_threadgroup_memory, launch.threadgroups_per_grid);
    sm_size3 position = order.position_of(begin);
    const bool fibers = runs_on_fibers(kernel);
    group_running = &group;  // run_groups puts the caller's back, also after a fault
    kernel_running = &kernel;

    const group_sizes sizes(launch);
    for (std::uint64_t index = begin; index < end && !dispatch.control.stopped(); ++index) {
        group.position = position;
        group.size = sizes.at(position);
        guard.group = position;
        guard.single_thread_group = std::uint64_t(group.size.x) * group.size.y * group.size.z == 1;
        run_group(context, kernel, group, fibers);
        order.advance(position);
    }
}

// After a fault in a group run as one loop (which knows no thread position), runs the group again
// thread by thread on fibers, in order, until a thread faults: that one is reported. The command buffer
// has failed already, so its buffers' contents are undefined anyway, as on a GPU. A fault that does not
// come back (a race) leaves the thread unknown.
__attribute__((noinline)) void find_faulting_thread(worker_context& context, const guarded_dispatch& dispatch,
                                                    kernel_fault& fault) {
    const sm_kernel_info& kernel = *dispatch.work.kernel;
    kernel_guard& guard = context.guarded.guard;
    sm_group group{};
    group.launch = &dispatch.work.launch;
    group.position = fault.threadgroup;
    group.size = group_size_at(dispatch.work.launch, group.position);
    context.arenas.bind(group, kernel.static_threadgroup_memory_length, dispatch.work.threadgroup_memory_lengths);
    group_running = &group;
    if (sigsetjmp(guard.escape, 0) != 0) {
        asan_forget_frames_below(__builtin_frame_address(0));
        unblock_fault_signals();
        if (context.fibers.interrupted()) context.fibers.abandon_after_fault();
        if (guard.fault.kind == fault.kind && guard.fault.thread_known) {
            fault.thread = guard.fault.thread;
            fault.thread_known = true;
        }
        return;
    }
    guard.active.store(true, std::memory_order_relaxed);
    run_group(context, kernel, group, true);
    guard.active.store(false, std::memory_order_relaxed);
}

}  // namespace

void run_groups(const guarded_dispatch& dispatch, std::uint64_t begin, std::uint64_t end) {
    if (begin >= end || dispatch.control.stopped()) return;
    worker_context& context = worker_context::of_this_thread();
    kernel_guard& guard = context.guarded.guard;
    const sm_group* const outer = group_without_fibers;
    const sm_group* const outer_running = group_running;
    guard.code = dispatch.code;
    guard.control.store(&dispatch.control, std::memory_order_relaxed);

    if (sigsetjmp(guard.escape, 0) != 0) {
        // Arrived from the fault handler: the kernel's frames (and, on fibers, its group's) are gone.
        asan_forget_frames_below(__builtin_frame_address(0));
        unblock_fault_signals();
        if (context.fibers.interrupted()) context.fibers.abandon_after_fault();
        kernel_fault fault = guard.fault;
        fault.group_known = true;
        fault.threadgroup = guard.group;
        fault.threads_per_threadgroup = dispatch.work.launch.threads_per_threadgroup;
        if (!fault.thread_known && fault.kind != fault_kind::timeout && fault.kind != fault_kind::unseen_barrier)
            find_faulting_thread(context, dispatch, fault);
        guard.active.store(false, std::memory_order_relaxed);
        guard.control.store(nullptr, std::memory_order_relaxed);
        group_without_fibers = outer;
        group_running = outer_running;
        dispatch.control.record(fault);
        return;
    }
    guard.active.store(true, std::memory_order_relaxed);
    run_range(context, dispatch, begin, end);
    guard.active.store(false, std::memory_order_relaxed);
    guard.control.store(nullptr, std::memory_order_relaxed);
    group_without_fibers = outer;
    group_running = outer_running;
}

void bounds_violation_hook(const sm_bounds_violation* violation) {
    kernel_guard* guard = armed_guard_of_this_thread();
    if (!guard || !violation) {
        // Only kernel code calls this, and only while its guard is armed: anything else is a caller bug.
        std::fprintf(stderr, "softmetal: a shader validation report arrived outside a running kernel\n");
        std::abort();
    }
    kernel_fault fault;
    fault.kind = fault_kind::out_of_bounds;
    bounds_detail& b = fault.bounds;
    b.line = violation->line;
    b.column = violation->column;
    b.binding = violation->binding;
    b.space = violation->space;
    b.offset = violation->offset;
    b.access_size = violation->access_size;
    b.length = violation->length;
    if (violation->array_type) {
        // The kernel's own constant data, NUL-terminated by clang; copied bounded all the same.
        std::size_t n = 0;
        while (n + 1 < sizeof b.array_type && violation->array_type[n]) b.array_type[n] = violation->array_type[n], ++n;
    }
    b.return_address = reinterpret_cast<std::uintptr_t>(violation->return_address);
    fault.pc = b.return_address;
    fault.thread_known = fiber_group_scheduler::current_thread_position(fault.thread);
    if (!fault.thread_known && guard->single_thread_group) {
        fault.thread = sm_size3{0, 0, 0};
        fault.thread_known = true;
    }
    stop_kernel(*guard, fault);
}

const sm_group* current_group_hook() {
    return group_running;
}

void barrier_outside_fibers() {
    const sm_group* group = group_without_fibers;
    if (group && std::uint64_t(group->size.x) * group->size.y * group->size.z <= 1) return;
    // A barrier in a group run as one loop: the compiler did not see it (a call through a function
    // pointer, say), and going on would give wrong results silently. End the dispatch with an error
    // instead, and run this kernel on fibers from now on, where the barrier works.
    if (kernel_guard* guard = armed_guard_of_this_thread(); guard && group && kernel_running) {
        fiber_only_kernels& forced = forced_to_fibers();
        {
            std::lock_guard<std::mutex> lock(forced.mutex);
            forced.kernels.insert(kernel_running);
        }
        forced.any.store(true, std::memory_order_release);
        kernel_fault fault;
        fault.kind = fault_kind::unseen_barrier;
        stop_kernel(*guard, fault);
    }
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
