// Kernel sources that two test binaries compile: the compiler tests check how they are translated, the
// Metal tests run them through the header.
#pragma once

namespace kernel_sources {

// Member calls that read their object's data or `this` (the split inlines them, reading the object's
// members through it), and one whose object's name is hidden by a reference of another type (the split
// does not take it: it stays on fibers and must meet there).
inline constexpr const char *member_calls = R"(
#include <metal_stdlib>
using namespace metal;
struct Scaled {
    float scale;
    METAL_FUNC float simd_reduce(float v) { return scale * simd_sum(v); }
};
struct Offset {
    float base;
    METAL_FUNC float reduce_this(float v) { return this->base + simd_sum(v); }
};
struct SumR { METAL_FUNC float pick(float v) { return simd_sum(v); } };
struct MaxR { METAL_FUNC float pick(float v) { return simd_max(v); } };
kernel void reads_member(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    Scaled s = {3.0f};
    out[gid] = s.simd_reduce(in[gid]);
}
kernel void reads_this(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    Offset o = {1.0f};
    out[gid] = o.reduce_this(in[gid]);
}
kernel void hidden(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    SumR op;
    {
        MaxR m;
        thread MaxR &op = m;
        out[gid] = op.pick(in[gid]);
    }
}
)";
;

} // namespace kernel_sources
