// Kernels for the library-file tests: built by `pymetal-msl build` at build time, loaded without a compiler.
#include <metal_stdlib>
using namespace metal;

kernel void scale_add(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                      constant float& factor [[buffer(2)]], uint i [[thread_position_in_grid]]) {
    out[i] = in[i] * factor + 1.0f;
}

// A threadgroup sum with barriers: threadgroup memory and the barrier path survive the file too.
kernel void group_sum(device const uint* in [[buffer(0)]], device uint* sums [[buffer(1)]],
                      uint lid [[thread_position_in_threadgroup]], uint gid [[threadgroup_position_in_grid]],
                      uint i [[thread_position_in_grid]]) {
    threadgroup uint partial[64];
    partial[lid] = in[i];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint stride = 32; stride > 0; stride /= 2) {
        if (lid < stride) partial[lid] += partial[lid + stride];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (lid == 0) sums[gid] = partial[0];
}
