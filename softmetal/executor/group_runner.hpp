// Runs a range of a dispatch's threadgroups on the calling OS thread, with that thread's own
// threadgroup memory arenas and fiber stacks (kept per thread, reused across groups and dispatches).
// This is where the choice between the plain run_group loop, a direct run_thread call and fibers is made.
#pragma once

#include "executor/executor.hpp"
#include "executor/fault_containment.hpp"
#include "executor/run_control.hpp"

#include <cstdint>

namespace softmetal::detail {

// One dispatch as the workers see it: the work, where faults and stops are recorded, and the kernel
// module's code (what the fault handler recognises as kernel code).
struct guarded_dispatch {
    const dispatch_work& work;
    run_control& control;
    code_range code;
};

// Runs the groups with linear indices [begin, end) of the dispatch (in group_order's order), until
// the control says stop. A contained fault in a group is recorded in the control (with the faulting
// thread's position: a group run as one loop is replayed thread by thread to find it) and ends the
// range; the worker is left ready for the next dispatch.
void run_groups(const guarded_dispatch& dispatch, std::uint64_t begin, std::uint64_t end);

// Whether groups of this kernel run on fibers (when they have more than one thread).
bool runs_on_fibers(const sm_kernel_info& kernel);

// threadgroup_barrier() reached by code not running on a fiber: a no-op in a one-thread group, else a
// translator bug (uses_barriers wrong), asserted in debug builds and reported once otherwise.
void barrier_outside_fibers();

// sm_runtime_api::bounds_violation: a kernel built with shader validation found an access outside its
// bounds. Ends the dispatch like a fault (fault_kind::out_of_bounds); outside a kernel, aborts.
void bounds_violation_hook(const sm_bounds_violation* violation);

// The group the calling worker thread is running (null outside kernels): sm_runtime_api::current_group.
const sm_group* current_group_hook();

}  // namespace softmetal::detail
