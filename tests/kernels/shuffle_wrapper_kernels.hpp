// Kernels that shuffle through the source's own overloads of simd_shuffle_down, written the way MLX's
// arg_reduce.metal and its utils.h / bf16.h write them: 64-bit integers through `metal::simd_shuffle_down`
// of their bits as uint2, bool through a 32-bit integer, bfloat through Metal's builtin
// `__metal_simd_shuffle_down` in `namespace metal`, and an index-value pair member by member. Each
// overload moves the whole value of the lane Metal's shuffle names, so the split meets through them as
// through Metal's own (msl_translator's shuffle_wrappers): tests/compiler/shuffle_wrapper_tests.cpp.
#pragma once

namespace shuffle_wrapper_kernels {

inline constexpr const char *source = R"(
#include <metal_stdlib>
using namespace metal;

inline uint64_t simd_shuffle_down(uint64_t data, uint16_t delta) {
    return as_type<uint64_t>(metal::simd_shuffle_down(as_type<uint2>(data), delta));
}
inline int64_t simd_shuffle_down(int64_t data, uint16_t delta) {
    return as_type<int64_t>(metal::simd_shuffle_down(as_type<uint2>(data), delta));
}
inline bool simd_shuffle_down(bool data, uint16_t delta) {
    return simd_shuffle_down(static_cast<uint32_t>(data), delta);
}
namespace metal {
METAL_FUNC bfloat simd_shuffle_down(bfloat data, ushort delta) {
    return as_type<bfloat>(__metal_simd_shuffle_down(as_type<uint16_t>(data), delta));
}
} // namespace metal

template <typename U> struct IndexValPair {
    uint32_t index;
    U val;
};
template <typename U> IndexValPair<U> simd_shuffle_down(IndexValPair<U> data, uint16_t delta) {
    return IndexValPair<U>{simd_shuffle_down(data.index, delta), simd_shuffle_down(data.val, delta)};
}

inline size_t row_offset(uint row, uint cols) { return size_t(row) * cols; }

// Each row's first index of its largest value: a SIMD-group step, one threadgroup step through group 0.
// (Its output's place is an `auto` variable living across the barrier, as MLX's `out_idx` is.)
kernel void row_argmax(device const float *in [[buffer(0)]], device uint *out [[buffer(1)]], constant uint &cols [[buffer(2)]],
                       uint gid [[threadgroup_position_in_grid]], uint lid [[thread_position_in_threadgroup]],
                       uint lsize [[threads_per_threadgroup]], uint simd_size [[threads_per_simdgroup]],
                       uint simd_lane_id [[thread_index_in_simdgroup]], uint simd_group_id [[simdgroup_index_in_threadgroup]]) {
    auto in_at = row_offset(gid, cols);
    auto out_at = row_offset(gid, 1u);
    threadgroup IndexValPair<float> local_data[32];
    IndexValPair<float> best{0, -INFINITY};
    for (uint c = lid; c < cols; c += lsize) {
        const float v = in[in_at + c];
        if (v > best.val) {
            best.val = v;
            best.index = c;
        }
    }
    for (uint offset = simd_size / 2; offset > 0; offset /= 2) {
        IndexValPair<float> neighbor = simd_shuffle_down(best, offset);
        if (neighbor.val > best.val || (neighbor.val == best.val && neighbor.index < best.index)) best = neighbor;
    }
    if (simd_lane_id == 0) local_data[simd_group_id] = best;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (simd_group_id != 0) return;
    const uint simd_groups = (lsize + simd_size - 1) / simd_size;
    if (simd_lane_id < simd_groups) best = local_data[simd_lane_id];
    for (uint offset = simd_size / 2; offset > 0; offset /= 2) {
        IndexValPair<float> neighbor = simd_shuffle_down(best, offset);
        if (neighbor.val > best.val || (neighbor.val == best.val && neighbor.index < best.index)) best = neighbor;
    }
    if (lid == 0) out[out_at] = best.index;
}

// Per SIMD group of 32: the largest 64-bit value, whether any value passes a threshold, and a bfloat sum.
kernel void simd_max_i64(device const int64_t *in [[buffer(0)]], device int64_t *out [[buffer(1)]],
                         uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    int64_t v = in[i];
    for (ushort offset = 16; offset > 0; offset /= 2) v = max(v, simd_shuffle_down(v, offset));
    if (lane == 0) out[i / 32] = v;
}
// The same through a helper called in a loop without braces.
template <typename T> METAL_FUNC T max_with_lane_below(T v, ushort offset) { return max(v, simd_shuffle_down(v, offset)); }
kernel void simd_max_i64_helper(device const int64_t *in [[buffer(0)]], device int64_t *out [[buffer(1)]],
                                uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    int64_t v = in[i];
    for (ushort offset = 16; offset > 0; offset /= 2) v = max_with_lane_below(v, offset);
    if (lane == 0) out[i / 32] = v;
}
kernel void simd_any_above(device const float *in [[buffer(0)]], device uint *out [[buffer(1)]], constant float &threshold [[buffer(2)]],
                           uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    bool hit = in[i] > threshold;
    for (ushort offset = 16; offset > 0; offset /= 2) hit = simd_shuffle_down(hit, offset) || hit;
    if (lane == 0) out[i / 32] = hit ? 1u : 0u;
}
kernel void simd_sum_bfloat(device const float *in [[buffer(0)]], device float *out [[buffer(1)]],
                            uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    bfloat v = bfloat(in[i]);
    for (ushort offset = 16; offset > 0; offset /= 2) v = bfloat(float(v) + float(simd_shuffle_down(v, offset)));
    if (lane == 0) out[i / 32] = float(v);
}
)";

} // namespace shuffle_wrapper_kernels
