// softmetal's executor: runs every threadgroup of a compiled kernel's dispatch on a pool of threads.
//
// Public API (namespace softmetal), everything callers (the object model) need:
//
//   struct dispatch_work { const sm_kernel_info* kernel; sm_launch launch;
//                          uint64_t threadgroup_memory_lengths[SM_MAX_THREADGROUP_BINDINGS];
//                          run_control* control; };              // see run_control.hpp
//   optional<kernel_fault> executor::run(const dispatch_work&); // the contained fault, if any
//   class executor {
//       static executor& shared();                 // the process-wide pool
//       explicit executor(unsigned workers);       // a pool of its own (tests, benchmarks)
//       optional<kernel_fault> run(const dispatch_work&);  // every threadgroup; returns when all are done
//       const sm_runtime_api* runtime_api();       // give to softmetal_module_kernels() at load time
//       unsigned worker_count() const;
//   };
//   class serial_lane { void submit(std::function<void()>); ~serial_lane(); }  // see serial_lane.hpp
//
// How a dispatch runs (so that callers know what they may rely on, and nothing more):
// - Every threadgroup of launch.threadgroups_per_grid runs exactly once. sm_group.position is its index,
//   sm_group.size its real thread count: launch.threads_per_threadgroup clipped at the edge of
//   launch.threads_per_grid (partial edge groups of dispatchThreads).
// - Groups are spread over the calling thread and the pool's threads; order and placement are
//   unspecified. A dispatch with one group runs entirely on the calling thread, with no wake-up.
// - Kernels without barriers, or whose barriers the compiler split into loops over the group's threads
//   (uses_barriers == 0 and run_group set) run as run_group(&group), once per group. Others run
//   run_thread once per thread: each thread of a group on its own fiber of one worker, where the
//   runtime's threadgroup_barrier() waits for every thread of the group that has not returned. (A
//   one-thread group needs no fiber.) Fibers are the fallback for barriers in control flow the
//   compiler does not split; callers need not know which path a kernel takes.
// - Threadgroup memory (kernel->static_threadgroup_memory_length bytes, and threadgroup_memory_lengths[n]
//   bytes for each [[threadgroup(n)]] slot; 0 gives nullptr) is private to the group, 64-byte aligned,
//   and undefined at group start, as in Metal.
// - Kernels must not throw; fiber stacks are 64 KiB (SOFTMETAL_FIBER_STACK to change) with a guard page.
// - A kernel that faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, stack overflow) or that the watchdog stops
//   does not end the process: run() stops handing out groups and returns the fault (see
//   fault_containment.hpp for what is contained). Buffers the kernel wrote are then undefined.
// - A barrier reached in a group run as one loop (run_group of a kernel whose table admits no barrier)
//   ends the dispatch the same way (fault_kind::unseen_barrier), and from then on that kernel runs on
//   fibers: better an error once than silently wrong results.
// - A kernel built with shader validation that finds an access out of bounds ends the dispatch the same
//   way (fault_kind::out_of_bounds, with what it found in kernel_fault::bounds).
// - No validation happens here: the caller checks bindings and sizes before calling run().
#pragma once

#include "kernel_abi.h"
#include "executor/run_control.hpp"
#include "executor/serial_lane.hpp"

#include <cstdint>
#include <memory>
#include <optional>

namespace softmetal {

// Where a kernel's module lies in memory: [begin, end) of its executable segments.
struct kernel_code {
    std::uintptr_t begin = 0, end = 0;
};

// One dispatchThreads / dispatchThreadgroups of a compute command encoder.
struct dispatch_work {
    const sm_kernel_info* kernel = nullptr;
    sm_launch launch{};  // buffers, lengths, threads_per_grid, threads_per_threadgroup, threadgroups_per_grid
    std::uint64_t threadgroup_memory_lengths[SM_MAX_THREADGROUP_BINDINGS] = {};  // setThreadgroupMemoryLength:atIndex:
    // Shared by the dispatches of one command buffer and its watchdog; null: run() uses one of its own.
    run_control* control = nullptr;
    // The kernel module's code, from kernel_code() (once per pipeline, not per dispatch: the lookup walks
    // the loaded objects); empty: run() looks it up.
    kernel_code code{};
};

// The executable code of the loaded object that holds `kernel`: what the fault handler accepts as kernel code.
kernel_code kernel_code_of(const sm_kernel_info& kernel);

namespace detail {
class thread_pool;
}

class executor {
public:
    // The process-wide executor. Its size is SOFTMETAL_THREADS if set to a positive number, else
    // std::thread::hardware_concurrency(). Created on first use and never destroyed (see executor.cpp).
    static executor& shared();

    // `workers` threads run groups of one dispatch: the caller of run() and workers - 1 pool threads
    // (0 counts as 1: then run() does everything on its caller).
    explicit executor(unsigned workers);
    // Joins the pool's threads; no run() may be in progress.
    ~executor();
    executor(const executor&) = delete;
    executor& operator=(const executor&) = delete;

    // Runs every threadgroup of `work` and returns when all are done. Thread-safe: several threads (one
    // per command queue) may call run() at once; their groups share the pool. `work` must stay valid
    // until run() returns. Must not be called from inside a kernel. Returns the fault recorded in the
    // dispatch's control (this dispatch's, or an earlier one's when the control is shared); a control
    // already stopped runs nothing.
    std::optional<kernel_fault> run(const dispatch_work& work);

    // The services compiled modules call back into (threadgroup_barrier, ...). The same for every
    // executor and valid for the whole process.
    const sm_runtime_api* runtime_api();

    // Threads that may run groups of one dispatch, the caller included.
    unsigned worker_count() const { return workers_; }

private:
    unsigned workers_;
    std::unique_ptr<detail::thread_pool> pool_;
};

}  // namespace softmetal
