// Kernels whose barriers and SIMD-group calls sit in arms chosen alike for the whole group, `if constexpr`
// and a switch on the value of a call (candle's `switch (max_shared_mem<T>(block_dim))`), with their inputs
// and host references: the compiler tests check that they split and match (tests/compiler/split_uniform_choice_tests.cpp),
// the Metal tests run them split and on fibers (tests/metal/simdgroup_test.cpp). The condition is a
// constant, the same for the whole group, so the split takes the arm once for the group; in a template
// kernel each instantiation takes its own arm (a block reduction's `if (BLOCKSIZE >= 64)` step, as
// candle writes it, spelled `if constexpr`). The references follow Metal's semantics: a SIMD group is 32
// threads of a threadgroup in index order, and only its active lanes (not returned, in the arm) take part.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "simd_dispatch_case.hpp"

namespace uniform_choice_kernels {

using simd_dispatch::bytes_of;
using simd_dispatch::run_case;
using simd_dispatch::shape;
using simd_dispatch::simd_groups;

inline constexpr const char *source = R"(
#include <metal_stdlib>
using namespace metal;
// SIMD-group calls in the arms of an `if constexpr` chain, lanes returning before it, and a divergent
// if inside one arm (its two calls are different meetings).
template <uint MODE>
kernel void cx_reduce(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                      device uint *count [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    const float v = in[gid];
    if (cap[gid] == 0) return;
    float r = -1.0f;
    uint t = 7u;
    if constexpr (MODE == 0) {
        r = simd_sum(v);
        t = uint(simd_sum(1.0f));
    } else if constexpr (MODE == 1) {
        r = simd_max(v);
        if (uint(v) % 2 == 0) {
            t = uint(simd_sum(1.0f));
        } else {
            t = 1000u + uint(simd_sum(1.0f));
        }
    } else {
        r = v;
    }
    out[gid] = r;
    count[gid] = t;
}
template [[host_name("cx_reduce_sum")]] kernel void cx_reduce<0>(device const float *, device const uint *, device float *, device uint *,
                                                                 constant uint &, uint);
template [[host_name("cx_reduce_max")]] kernel void cx_reduce<1>(device const float *, device const uint *, device float *, device uint *,
                                                                 constant uint &, uint);
template [[host_name("cx_reduce_none")]] kernel void cx_reduce<2>(device const float *, device const uint *, device float *, device uint *,
                                                                  constant uint &, uint);

// A block reduction: with BLOCK >= 64 the group's values are folded into its first 32 threads through
// threadgroup memory (barriers in the constexpr arm), then the first SIMD group sums them.
template <uint BLOCK>
kernel void cx_fold(device const float *in [[buffer(0)]], device float *out [[buffer(2)]], device uint *block [[buffer(3)]],
                    constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]], uint tid [[thread_index_in_threadgroup]],
                    uint group [[threadgroup_position_in_grid]], uint size [[threads_per_threadgroup]], uint grid [[threads_per_grid]]) {
    threadgroup float shared[128];
    const uint present = min(size, grid - group * size);
    float value = gid < n ? in[gid] : 0.0f;
    if constexpr (BLOCK >= 64) {
        shared[tid] = value;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (tid < 32) {
            for (uint k = tid + 32; k < present; k += 32) value += shared[k];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid < 32) value = simd_sum(value);
    out[gid] = value;
    block[gid] = BLOCK;
}
template [[host_name("cx_fold_64")]] kernel void cx_fold<64>(device const float *, device float *, device uint *, constant uint &, uint, uint,
                                                             uint, uint, uint);
template [[host_name("cx_fold_32")]] kernel void cx_fold<32>(device const float *, device float *, device uint *, constant uint &, uint, uint,
                                                             uint, uint, uint);

// Not a template: a local constant chooses the arm, the barriers in the else arm.
kernel void cx_fold_local(device const float *in [[buffer(0)]], device float *out [[buffer(2)]], device uint *block [[buffer(3)]],
                          constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]], uint tid [[thread_index_in_threadgroup]],
                          uint group [[threadgroup_position_in_grid]], uint size [[threads_per_threadgroup]], uint grid [[threads_per_grid]]) {
    constexpr uint WIDE = 64;
    threadgroup float shared[128];
    const uint present = min(size, grid - group * size);
    float value = gid < n ? in[gid] : 0.0f;
    if constexpr (WIDE < 64) {
        value = -5.0f;
    } else {
        shared[tid] = value;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (tid < 32) {
            for (uint k = tid + 32; k < present; k += 32) value += shared[k];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid < 32) value = simd_sum(value);
    out[gid] = value;
    block[gid] = WIDE;
}

// A switch on a helper's value: the helper counts its calls in buffer 1 (a switch evaluates its value
// once, so each thread adds one); two labels' blocks declare threadgroup arrays of one name, each
// with barriers (the group's first value read back after one: `width` 32 + 100 * it).
uint fold_width(device uint *calls, uint gid, uint size) {
    calls[gid] += 1u;
    return size >= 64 ? 64u : size >= 32 ? 32u : 1u;
}
kernel void sw_fold(device const float *in [[buffer(0)]], device uint *calls [[buffer(1)]], device float *out [[buffer(2)]],
                    device uint *block [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                    uint tid [[thread_index_in_threadgroup]], uint size [[threads_per_threadgroup]]) {
    float value = gid < n ? in[gid] : 0.0f;
    uint width = 0;
    switch (fold_width(calls, gid, size)) {
    case 64: {
        threadgroup float shared[128];
        shared[tid] = value;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (tid < 32) {
            for (uint k = tid + 32; k < size; k += 32) value += shared[k];
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        width = 64;
        break;
    }
    case 32: {
        threadgroup float shared[64]; // (another block's variable of the same name)
        shared[tid] = value;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        width = 32 + 100 * uint(shared[0]);
        break;
    }
    default:
        width = 1;
        break;
    }
    if (tid < 32) value = simd_sum(value);
    out[gid] = value;
    block[gid] = width;
}

// The labels written by a macro used with a semicolon, as candle writes `reduce_case(...);`: each
// label's block is followed by an empty statement. Both labels fold (their arrays of one name).
#define FOLD_CASE(N)                                                                   \
    case N: {                                                                          \
        threadgroup float shared[N * 2];                                               \
        shared[tid] = value;                                                           \
        threadgroup_barrier(mem_flags::mem_threadgroup);                               \
        if (tid < 32) {                                                                \
            for (uint k = tid + 32; k < size; k += 32) value += shared[k];             \
        }                                                                              \
        threadgroup_barrier(mem_flags::mem_threadgroup);                               \
        width = N;                                                                     \
        break;                                                                         \
    }
// (The kernel itself is written by a macro, as candle's are: a threadgroup array declared by a macro
// used inside a kernel body written out is not moved to the group's memory.)
#define MACRO_FOLD_KERNEL(NAME)                                                                                                         \
    kernel void NAME(device const float *in [[buffer(0)]], device uint *calls [[buffer(1)]], device float *out [[buffer(2)]],          \
                     device uint *block [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],             \
                     uint tid [[thread_index_in_threadgroup]], uint size [[threads_per_threadgroup]]) {                                  \
        float value = gid < n ? in[gid] : 0.0f;                                                                                       \
        uint width = 0;                                                                                                               \
        switch (fold_width(calls, gid, size)) {                                                                                       \
            FOLD_CASE(64);                                                                                                            \
            FOLD_CASE(32);                                                                                                            \
        default:                                                                                                                      \
            width = 1;                                                                                                                \
            break;                                                                                                                    \
        }                                                                                                                             \
        if (tid < 32) value = simd_sum(value);                                                                                        \
        out[gid] = value;                                                                                                             \
        block[gid] = width;                                                                                                           \
    }
MACRO_FOLD_KERNEL(sw_macro_fold)
)";

inline constexpr const char *kernel_names[] = {"cx_reduce_sum", "cx_reduce_max", "cx_reduce_none", "cx_fold_64",
                                               "cx_fold_32",    "cx_fold_local", "sw_fold",        "sw_macro_fold"};

// Threadgroups of 80 (SIMD groups of 32, 32 and 16 lanes; the last group of 40), 64, 45 and 20; threads at n
// and past it return first (cx_reduce) or add nothing (cx_fold).
inline const std::vector<shape> &shapes() {
    static const std::vector<shape> s = {{200, 80, 190}, {150, 64, 150}, {45, 45, 40}, {50, 20, 47}};
    return s;
}

// The kernel's buffers for one dispatch (outputs at 2 and 3 start as -1 and 7777) and what the host wants in them.
inline run_case case_for(const std::string &kernel, const shape &d) {
    std::vector<float> in(d.grid);
    std::vector<uint32_t> cap(d.grid);
    for (uint32_t i = 0; i < d.grid; ++i) {
        in[i] = float((i * 7 + 3) % 13); // small integers: sums exact in any order
        cap[i] = i % 7 == 2 ? 0u : 1u;    // lanes that return before the meetings
    }
    std::vector<float> out(d.grid, -1.0f);
    std::vector<uint32_t> t(d.grid, 7777u);
    if (kernel.compare(0, 9, "cx_reduce") == 0) {
        for (const auto &g : simd_groups(d)) {
            std::vector<uint32_t> active, even, odd;
            for (uint32_t i = g.first; i < g.second && i < d.n; ++i)
                if (cap[i] != 0) {
                    active.push_back(i);
                    (uint32_t(in[i]) % 2 == 0 ? even : odd).push_back(i);
                }
            float sum = 0.0f, max = -1.0f;
            for (uint32_t i : active) sum += in[i], max = std::max(max, in[i]);
            for (uint32_t i : active) {
                if (kernel == "cx_reduce_sum") out[i] = sum, t[i] = uint32_t(active.size());
                else if (kernel == "cx_reduce_max") out[i] = max, t[i] = uint32_t(uint32_t(in[i]) % 2 == 0 ? even.size() : 1000u + odd.size());
                else out[i] = in[i], t[i] = 7u;
            }
        }
    } else { // cx_fold_*, sw_fold: the first 32 threads of each group end with the group's sum (folded first when wide)
        for (uint32_t g0 = 0; g0 < d.grid; g0 += d.tg) {
            const uint32_t g1 = std::min(g0 + d.tg, d.grid);
            // (sw_fold: by the group's own size, which is the rest of the grid in a partial group)
            const bool by_size = kernel == "sw_fold" || kernel == "sw_macro_fold";
            const uint32_t width = by_size ? (g1 - g0 >= 64 ? 64u : g1 - g0 >= 32 ? 32u : 1u) : kernel == "cx_fold_32" ? 32u : 64u;
            const bool wide = kernel == "sw_macro_fold" ? width != 1 : width == 64;
            auto own = [&](uint32_t i) { return i < d.n ? in[i] : 0.0f; };
            float sum = 0.0f;
            for (uint32_t i = g0; i < g1 && i < g0 + 32; ++i) {
                float v = own(i);
                if (wide)
                    for (uint32_t k = i + 32; k < g1; k += 32) v += own(k);
                sum += v;
            }
            for (uint32_t i = g0; i < g1; ++i) {
                out[i] = i < g0 + 32 ? sum : own(i);
                t[i] = kernel == "sw_fold" && width == 32 ? 32u + 100u * uint32_t(own(g0)) : width;
            }
        }
    }
    run_case c;
    c.buffers = {bytes_of(in), bytes_of(cap), bytes_of(std::vector<float>(d.grid, -1.0f)), bytes_of(std::vector<uint32_t>(d.grid, 7777u)),
                 bytes_of(std::vector<uint32_t>{d.n})};
    if (kernel == "sw_fold" || kernel == "sw_macro_fold") { // one call of the switch's helper per thread
        std::vector<uint32_t> calls(cap);
        for (uint32_t &v : calls) ++v;
        c.want[1] = bytes_of(calls);
    }
    c.want[2] = bytes_of(out);
    c.want[3] = bytes_of(t);
    return c;
}

} // namespace uniform_choice_kernels
