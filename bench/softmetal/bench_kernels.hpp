// The benchmark's kernels, written twice: MSL for softmetal and OpenCL C for PoCL, doing the same work.
#pragma once

namespace bench {

inline constexpr const char* msl_source = R"(
#include <metal_stdlib>
using namespace metal;

kernel void empty_kernel(device float* unused [[buffer(0)]]) {}

kernel void add(device float* out [[buffer(1)]],
                const device float2* in [[buffer(0)]],
                uint id [[thread_position_in_grid]]) {
    out[id] = in[id].x + in[id].y;
}

kernel void reduce256(const device float* in [[buffer(0)]],
                      device float* partial [[buffer(1)]],
                      uint gid [[thread_position_in_grid]],
                      uint lid [[thread_position_in_threadgroup]],
                      uint group [[threadgroup_position_in_grid]]) {
    threadgroup float scratch[256];
    scratch[lid] = in[gid];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint stride = 128; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] += scratch[lid + stride];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (lid == 0) partial[group] = scratch[0];
}
)";

inline constexpr const char* opencl_source = R"(
__kernel void empty_kernel(__global float* unused) {}

__kernel void add(__global const float2* in, __global float* out) {
    size_t id = get_global_id(0);
    out[id] = in[id].x + in[id].y;
}

__kernel void reduce256(__global const float* in, __global float* partial) {
    __local float scratch[256];
    size_t lid = get_local_id(0);
    scratch[lid] = in[get_global_id(0)];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = 128; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) partial[get_group_id(0)] = scratch[0];
}
)";

}  // namespace bench
