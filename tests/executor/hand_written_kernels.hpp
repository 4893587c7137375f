// Helpers for tests that write kernels by hand against kernel_abi.h, the way the compiler's generated
// trampolines do: a sm_kernel_info table, and the runtime API handed to a "module" at load time.
#pragma once

#include "kernel_abi.h"
#include "executor/executor.hpp"

#include <cstdint>

namespace executor_test {

// The runtime services, as a loaded module would keep them after softmetal_module_kernels().
inline const sm_runtime_api*& runtime() {
    static const sm_runtime_api* api = softmetal::executor::shared().runtime_api();
    return api;
}
inline void barrier() { runtime()->threadgroup_barrier(); }

inline sm_kernel_info plain_kernel(const char* name, sm_group_fn group_fn, sm_thread_fn thread_fn) {
    sm_kernel_info info{};
    info.name = name;
    info.run_group = group_fn;
    info.run_thread = thread_fn;
    return info;
}

inline sm_kernel_info barrier_kernel(const char* name, sm_thread_fn thread_fn, std::uint64_t static_threadgroup_bytes = 0) {
    sm_kernel_info info{};
    info.name = name;
    info.run_thread = thread_fn;
    info.uses_barriers = 1;
    info.static_threadgroup_memory_length = static_threadgroup_bytes;
    return info;
}

// dispatchThreads(grid, group): threadgroups_per_grid rounded up, so edge groups may be partial.
inline softmetal::dispatch_work dispatch_threads(const sm_kernel_info& kernel, sm_size3 grid, sm_size3 group) {
    softmetal::dispatch_work work;
    work.kernel = &kernel;
    work.launch.threads_per_grid = grid;
    work.launch.threads_per_threadgroup = group;
    work.launch.threadgroups_per_grid = sm_size3{(grid.x + group.x - 1) / group.x, (grid.y + group.y - 1) / group.y,
                                                 (grid.z + group.z - 1) / group.z};
    return work;
}

// dispatchThreadgroups(groups, group): every group full.
inline softmetal::dispatch_work dispatch_groups(const sm_kernel_info& kernel, sm_size3 groups, sm_size3 group) {
    return dispatch_threads(kernel, sm_size3{groups.x * group.x, groups.y * group.y, groups.z * group.z}, group);
}

inline std::uint64_t volume(sm_size3 s) { return std::uint64_t(s.x) * s.y * s.z; }

}  // namespace executor_test
