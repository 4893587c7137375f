// A kernel that moves its own buffer pointers to the thread's elements (`x += gid * n + lid * 2;`, the
// way MLX's RMS norm and soft-max reach their row), then meets its SIMD group and threadgroup, with its
// input and host reference: the compiler tests check it splits and matches
// (tests/compiler/changed_parameter_tests.cpp), the Metal tests run it split and on fibers
// (tests/metal/simdgroup_test.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace changed_parameter_kernels {

// Rows of n floats, one threadgroup per row: out = x * (the row's sum of squares). Each thread takes
// two elements (the last thread of an odd row one).
inline constexpr const char *row_scale_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void row_scale(const device float* x [[buffer(0)]], device float* out [[buffer(1)]], constant uint& n [[buffer(2)]],
                      threadgroup float* sums [[threadgroup(0)]],
                      uint gid [[threadgroup_position_in_grid]], uint lid [[thread_position_in_threadgroup]],
                      uint lane [[thread_index_in_simdgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                      uint groups [[simdgroups_per_threadgroup]]) {
    x += gid * n + lid * 2;
    out += gid * n + lid * 2;
    float acc = 0;
    for (uint i = 0; i < 2; i++)
        if (lid * 2 + i < n) acc += x[i] * x[i];
    acc = simd_sum(acc);
    if (lane == 0) sums[sg] = acc;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float total = 0;
    for (uint s = 0; s < groups; s++) total += sums[s];
    for (uint i = 0; i < 2; i++)
        if (lid * 2 + i < n) out[i] = x[i] * total;
}
)";

// 89 floats a row: 45 threads a group, SIMD groups of 32 and 13.
constexpr std::uint32_t rows = 3, row_length = 89, threads = 45;

inline std::vector<float> row_scale_input() {
    std::vector<float> x(rows * row_length);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(int(i * 7 % 23) - 11) / 8.0f;
    return x;
}

inline std::vector<double> row_scale_reference(const std::vector<float> &x) {
    std::vector<double> out(x.size());
    for (std::uint32_t row = 0; row < rows; ++row) {
        double total = 0;
        for (std::uint32_t i = 0; i < row_length; ++i) total += double(x[row * row_length + i]) * x[row * row_length + i];
        for (std::uint32_t i = 0; i < row_length; ++i) out[row * row_length + i] = x[row * row_length + i] * total;
    }
    return out;
}

} // namespace changed_parameter_kernels
