// Kernel shapes from real libraries that met other threads in ways the split did not take (issue 8),
// written here in those shapes, with their inputs and host references: a switch whose value is a call
// or changes a variable (candle's `switch (max_shared_mem<T>(block_dim))` around its reductions and
// soft-max), a loop hint written as `_Pragma(...)` or as a macro of one before a loop between barriers
// (candle's gather_mm `STEEL_PRAGMA_UNROLL`), and a kernel that meets nobody whose explicit instantiation
// names a parameter like a SIMD-group function (candle's `uint simd_lane_id [[thread_index_in_simdgroup]]`).
// The compiler tests check that they split and match (tests/compiler/split_shape_tests.cpp); the Metal
// tests run them through the split and on fibers (tests/metal/simdgroup_test.cpp). The references follow
// Metal's semantics: a SIMD group is 32 threads of a threadgroup in index order, and only its active
// lanes (not returned, in the same arm) take part in a call.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "simd_dispatch_case.hpp"

namespace simd_shape_kernels {

using simd_dispatch::bytes_of;
using simd_dispatch::run_case;
using simd_dispatch::shape;
using simd_dispatch::simd_groups;

// (The delimiter: `_Pragma("...(full)")` holds `)"`.)
inline constexpr const char *source = R"msl(
#include <metal_stdlib>
using namespace metal;
#define ROW_UNROLL _Pragma("clang loop unroll(full)")
inline uint size_class(uint count) { return count > 160u ? 2u : count > 100u ? 1u : 0u; }
inline uint pick(uint x) { return (x * 7u) % 3u; }
// The switch's value is a call of the group's own values: each label holds its own threadgroup
// array, a SIMD-group call and a barrier (candle's reduce and softmax cases).
kernel void switch_call_group(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                              device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                              uint tid [[thread_index_in_threadgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                              uint lane [[thread_index_in_simdgroup]]) {
    const float v = gid < n ? in[gid] : 0.0f;
    switch (size_class(n)) {
        case 2: {
            threadgroup float part[4];
            if (tid == 0) part[0] = part[1] = part[2] = part[3] = 0.0f;
            threadgroup_barrier(mem_flags::mem_threadgroup);
            const float s = simd_sum(v);
            if (lane == 0) part[sg] = s;
            threadgroup_barrier(mem_flags::mem_threadgroup);
            out[gid] = part[0] + part[1] + part[2] + part[3];
            trips[gid] = 2;
            break;
        }
        case 1: {
            threadgroup float top[4];
            if (tid == 0) top[0] = top[1] = top[2] = top[3] = -1000.0f;
            threadgroup_barrier(mem_flags::mem_threadgroup);
            const float m = simd_max(v);
            if (lane == 0) top[sg] = m;
            threadgroup_barrier(mem_flags::mem_threadgroup);
            out[gid] = max(max(top[0], top[1]), max(top[2], top[3]));
            trips[gid] = 1;
            break;
        }
        default:
            out[gid] = simd_prefix_exclusive_sum(v);
            trips[gid] = 0;
    }
}
// The value differs between lanes, reads memory and increments a variable (evaluated once): each
// label's calls meet only the lanes that take it; lanes past n returned before.
kernel void switch_call_lane(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                             device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    const float v = in[gid];
    uint k = cap[gid] % 2u;
    uint seen = 0;
    switch (pick(gid + k++)) {
        case 0: out[gid] = simd_sum(v); seen = 10; break;
        case 1: { out[gid] = simd_max(v) + 100.0f; seen = 20; break; }
        default: out[gid] = simd_min(v) - 100.0f; seen = 30;
    }
    trips[gid] = seen + k;
}
// A tile staged between barriers, with loops under loop hints written as C++ between them.
kernel void tiled_pragma(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                         device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                         uint tid [[thread_index_in_threadgroup]]) {
    threadgroup float tile[16];
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    uint rounds = 0;
    for (uint base = 0; base < n; base += 16) {
        if (tid < 16) tile[tid] = base + tid < n ? in[base + tid] : 0.0f;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        ROW_UNROLL
        for (uint j = 0; j < 4; ++j) {
            acc[j] += tile[(tid + j) % 16] * float(j + 1);
        }
        _Pragma("clang loop unroll(full)")
        for (uint j = 0; j < 2; ++j) acc[j] -= tile[(tid * 3 + j) % 16];
        ++rounds;
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    out[gid] = acc[0] + acc[1] + acc[2] + acc[3];
    trips[gid] = rounds;
}
// MLX's winograd transforms: a loop between barriers whose body fills a matrix's elements lane by
// lane, multiplies whole matrices with operators, and reads the product's elements back.
kernel void matrix_loop(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                        device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                        uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
    const short q = lane / 4;
    const short sm = (q & 4) + (lane / 2) % 4;
    const short sn = (q & 2) * 2 + (lane % 2) * 2;
    simdgroup_matrix<float, 8, 8> G;
    G.thread_elements()[0] = float((sm * 2 + sn) % 5) - 2.0f;
    G.thread_elements()[1] = float((sm * 2 + sn + 1) % 5) - 2.0f;
    simdgroup_matrix<float, 8, 8> Gt;
    Gt.thread_elements()[0] = float((sn * 2 + sm) % 5) - 2.0f;
    Gt.thread_elements()[1] = float(((sn + 1) * 2 + sm) % 5) - 2.0f;
    threadgroup float stage[4][64];
    float acc0 = 0.0f;
    float acc1 = 0.0f;
    for (uint base = 0; base < 4; ++base) {
        threadgroup_barrier(mem_flags::mem_threadgroup);
        stage[sg][lane] = in[(gid * 3 + base * 7) % n];
        stage[sg][lane + 32] = in[(gid * 5 + base) % n];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (int c = 0; c < 2; ++c) {
            simdgroup_matrix<float, 8, 8> g;
            g.thread_elements()[0] = stage[sg][(sm * 8 + sn + c * 5) % 64];
            g.thread_elements()[1] = stage[sg][(sm * 8 + sn + 1 + c * 5) % 64];
            simdgroup_matrix<float, 8, 8> g_out = (G * g) * Gt;
            acc0 += g_out.thread_elements()[0];
            acc1 += g_out.thread_elements()[1];
        }
    }
    out[gid] = acc0;
    trips[gid] = uint(int(acc1) + 1000000);
}
// MLX's winograd input and output transforms: a loop whose header starts at the SIMD group's index
// and is bounded by template parameters (`for (c = simd_group_id; c < BC; c += N_SIMD_GROUPS)`), so
// each SIMD group has its own trip count but all its lanes the same, around matrix statements.
template <int BC, int STEP = 2>
[[kernel]] void matrix_simd_loop_t(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                                   device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                                   uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
    const short q = lane / 4;
    const short sm = (q & 4) + (lane / 2) % 4;
    const short sn = (q & 2) * 2 + (lane % 2) * 2;
    simdgroup_matrix<float, 8, 8> G;
    G.thread_elements()[0] = float((sm * 2 + sn) % 5) - 2.0f;
    G.thread_elements()[1] = float((sm * 2 + sn + 1) % 5) - 2.0f;
    threadgroup float stage[4][64];
    stage[sg][lane] = in[(gid * 3) % n];
    stage[sg][lane + 32] = in[(gid * 5 + 1) % n];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float acc0 = 0.0f;
    float acc1 = 0.0f;
    for (uint c = sg; c < BC; c += STEP) {
        simdgroup_matrix<float, 8, 8> g;
        g.thread_elements()[0] = stage[sg][(sm * 8 + sn + c * 5) % 64];
        g.thread_elements()[1] = stage[sg][(sm * 8 + sn + 1 + c * 5) % 64];
        simdgroup_matrix<float, 8, 8> g_out = (G * g) * G;
        acc0 += g_out.thread_elements()[0] * float(c + 1);
        acc1 += g_out.thread_elements()[1];
    }
    out[gid] = acc0;
    trips[gid] = uint(int(acc1) + 1000000);
}
template [[host_name("matrix_simd_loop")]] [[kernel]] void matrix_simd_loop_t<5>(
    device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
    device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
    uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]);
// ggml's flash attention's loop over key blocks: `for (int ic0 = 0; ; ++ic0)`, left by a `break` on a
// bound read from memory and skipping blocks by a `continue` on a mask read from memory, around
// barriers and matrix statements. Both conditions are the threadgroup's (Metal requires it: the lanes
// reach the barrier and the matrix functions together), which the split cannot see: a loop threads may
// leave at different iterations, whose matrix statements run for the SIMD groups still in it. As there,
// the matrix statements sit eight loops and branches deep (`if (is_same<...>::value)`, loops over
// tiles, `if (DK % 16 != 0)`).
template <typename T, int W>
kernel void matrix_jump_loop_t(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                               device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                               uint group [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]],
                               uint lane [[thread_index_in_simdgroup]]) {
    const short q = lane / 4;
    const short sm = (q & 4) + (lane / 2) % 4;
    const short sn = (q & 2) * 2 + (lane % 2) * 2;
    threadgroup float tile[64];
    simdgroup_matrix<float, 8, 8> acc = make_filled_simdgroup_matrix<float, 8>(0.0f);
    uint done = 0;
    for (uint blk = 0; ; ++blk) {
        const uint at = blk * 3;
        if (at >= cap[group] + 4) {
            break;
        }
        if (cap[(group + blk) % n] % 3 == 0) {
            continue;
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (tid < 64) tile[tid] = in[(at + tid) % n];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        if (is_same<T, float>::value) {
            for (short cc = 0; cc < 2; ++cc) {
                if (W % 16 != 0) {
                    for (short i = 0; i < 1; ++i) {
                        if (W > 4) {
                            for (short k = 0; k < 1; ++k) {
                                if (W < 64) {
                                    simdgroup_barrier(mem_flags::mem_none);
                                    simdgroup_matrix<float, 8, 8> t;
                                    simdgroup_load(t, tile + 64 * (i + k), 8);
                                    simdgroup_multiply_accumulate(acc, t, t, acc);
                                }
                            }
                        }
                    }
                }
            }
        }
        ++done;
    }
    out[gid] = acc.thread_elements()[0] + 100000.0f * float(done);
    trips[gid] = uint(int(acc.thread_elements()[1]) + 1000000);
}
template [[host_name("matrix_jump_loop")]] [[kernel]] void matrix_jump_loop_t<float, 8>(
    device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
    device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
    uint group [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]);
// ggml's flash attention: matrix statements under `if (is_same<A, B>::value)`, a constant, so the
// same in every lane: the arm runs once per SIMD group like the statements around it.
template <typename T>
[[kernel]] void trait_matrix(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                             device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                             uint lane [[thread_index_in_simdgroup]]) {
    const short q = lane / 4;
    const short sm = (q & 4) + (lane / 2) % 4;
    const short sn = (q & 2) * 2 + (lane % 2) * 2;
    const uint first = gid - lane;
    simdgroup_matrix<float, 8, 8> a;
    a.thread_elements()[0] = in[(first + sm * 8 + sn) % n];
    a.thread_elements()[1] = in[(first + sm * 8 + sn + 1) % n];
    simdgroup_matrix<float, 8, 8> r;
    if (is_same<T, float>::value) {
        simdgroup_barrier(mem_flags::mem_none);
        simdgroup_multiply(r, a, a);
    } else {
        simdgroup_barrier(mem_flags::mem_none);
        r = a + a;
    }
    out[gid] = r.thread_elements()[0];
    trips[gid] = uint(int(r.thread_elements()[1]) + 1000000);
}
template [[host_name("trait_matrix_f32")]] [[kernel]] void trait_matrix<float>(
    device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
    device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
    uint lane [[thread_index_in_simdgroup]]);
template [[host_name("trait_matrix_i32")]] [[kernel]] void trait_matrix<int>(
    device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
    device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
    uint lane [[thread_index_in_simdgroup]]);
// ggml's soft_max_4 on half4 masks: `slope * h` is a float scalar meeting a half4 (MSL converts the
// scalar; clang refuses until the compiler's operand repair wraps it), in code the split copies on both
// sides of a meeting, with `slope` living across it.
template <typename T>
kernel void loose_scalar(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                         device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]]) {
    if (gid >= n) return;
    const T h = T(in[gid]);
    float slope = float(cap[gid] % 3);
    const float4 x = (float4)((gid % 2 ? slope * h : 0.0f));
    const float s = simd_sum(x.x + x.y);
    const float4 y = (float4)((gid % 2 ? 0.0f : slope * h));
    out[gid] = s + y.z;
    trips[gid] = 7;
}
typedef decltype(loose_scalar<half4>) loose_scalar_t;
template [[host_name("loose_scalar_h4")]] kernel loose_scalar_t loose_scalar<half4>;
// ggml's flash attention's Q*K^T tiles: a matrix whose type is the kernel's template parameter
// (`qk8x8_t mqk = make_filled_simdgroup_matrix<qk_t, 8>((qk_t) 0.0f);`, a comma in the initialiser's
// template arguments), declared in a loop around barriers, in a helper template.
template <typename qk_t, typename qk8x8_t, short C>
float alias_tiles(device const float *in, threadgroup float *tile, uint tid, uint n, uint group) {
    float acc = 0.0f;
    for (short cc = 0; cc < 2; ++cc) {
        qk8x8_t mqk = make_filled_simdgroup_matrix<qk_t, 8>((qk_t) 0.0f);
        for (short ii = 0; ii < C; ii += 4) {
            threadgroup_barrier(mem_flags::mem_threadgroup);
            if (tid < 64) tile[tid] = in[(group * 7 + tid + ii + cc) % n];
            threadgroup_barrier(mem_flags::mem_threadgroup);
            simdgroup_matrix<qk_t, 8, 8> t;
            simdgroup_load(t, tile, 8);
            simdgroup_multiply_accumulate(mqk, t, t, mqk);
        }
        threadgroup_barrier(mem_flags::mem_threadgroup);
        simdgroup_store(mqk, tile, 8);
        threadgroup_barrier(mem_flags::mem_threadgroup);
        acc += tile[(tid * 5) % 64];
    }
    return acc;
}
template <typename qk_t, typename qk8x8_t>
kernel void alias_matrix_t(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                           device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                           uint group [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]]) {
    threadgroup float tile[64];
    out[gid] = alias_tiles<qk_t, qk8x8_t, 8>(in, tile, tid, n, group);
    trips[gid] = tid;
}
template [[host_name("alias_matrix")]] [[kernel]] void alias_matrix_t<float, simdgroup_float8x8>(
    device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
    device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
    uint group [[threadgroup_position_in_grid]], uint tid [[thread_index_in_threadgroup]]);
// ggml's flash attention's helper: its parameter `k` (the K cache) lives across meetings and is hidden
// by a loop's variable `for (short k = 0; ...)` around meetings inside it.
template <typename T>
float hidden_sum(device const T *k, uint lane, uint n) {
    float acc = float(k[lane % n]);
    for (short k = 0; k < 3; ++k) {
        acc += simd_sum(float(k + 1) * acc);
    }
    return acc + simd_sum(float(k[(lane + 1) % n]));
}
kernel void hidden_parameter(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                             device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                             uint lane [[thread_index_in_simdgroup]]) {
    out[gid] = hidden_sum(in, lane, n);
    trips[gid] = lane;
}
// ggml's kernel_mul_mv_id: the work is the kernel's template argument, a function template (`by_work`,
// ggml's `mmv_fn`) given a function; two overloads of it, told apart by the parameter count of the
// function their own parameter takes (a typedef of a function type), call it with its arguments; one
// function sums its SIMD group, the other adds the SIMD group before it through threadgroup memory.
typedef void (lanes_fn_t)(device const float *in, device float *out, device uint *trips, uint n, uint gid, uint lane);
typedef void (groups_fn_t)(device const float *in, device float *out, device uint *trips, uint n, threadgroup float *shared, uint gid,
                           uint lane, uint sg);
template <typename T>
void sum_lanes(device const float *in, device float *out, device uint *trips, uint n, uint gid, uint lane) {
    const float s = simd_sum(gid < n ? float(T(in[gid])) : 0.0f);
    out[gid] = s;
    trips[gid] = lane;
}
template <typename T, short R>
void sum_groups(device const float *in, device float *out, device uint *trips, uint n, threadgroup float *shared, uint gid, uint lane,
                uint sg) {
    const float s = simd_sum(gid < n ? float(T(in[gid])) * R : 0.0f);
    if (lane == 0) shared[sg] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid] = s + (sg > 0 ? shared[sg - 1] : 0.0f);
    trips[gid] = sg * 100 + lane;
}
template <lanes_fn_t work>
void by_work(device const float *in, device float *out, device uint *trips, uint n, threadgroup float *shared, uint gid, uint lane,
             uint sg) {
    work(in, out, trips, n, gid, lane);
}
template <groups_fn_t work>
void by_work(device const float *in, device float *out, device uint *trips, uint n, threadgroup float *shared, uint gid, uint lane,
             uint sg) {
    work(in, out, trips, n, shared, gid, lane, sg);
}
typedef decltype(by_work<sum_lanes<float>>) by_work_t;
template <by_work_t disp_fn>
kernel void work_id(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                    device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                    uint lane [[thread_index_in_simdgroup]], uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float shared[8];
    const uint count = n;
    disp_fn(in, out, trips, count, shared, gid, lane, sg);
}
// The same work passed on as another template's argument: the split cannot see where it is called.
template <by_work_t fn>
void forward_work(device const float *in, device float *out, device uint *trips, uint n, threadgroup float *shared, uint gid, uint lane,
                  uint sg) {
    fn(in, out, trips, n, shared, gid, lane, sg);
}
template <by_work_t disp_fn>
kernel void work_passed_on(device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
                           device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                           uint lane [[thread_index_in_simdgroup]], uint sg [[simdgroup_index_in_threadgroup]]) {
    threadgroup float shared[8];
    forward_work<disp_fn>(in, out, trips, n, shared, gid, lane, sg);
}
template [[host_name("work_passed_on_groups")]] kernel decltype(work_passed_on<by_work<sum_groups<half, 3>>>) work_passed_on<by_work<sum_groups<half, 3>>>;
typedef decltype(work_id<by_work<sum_lanes<float>>>) work_id_t;
template [[host_name("work_id_lanes")]] kernel work_id_t work_id<by_work<sum_lanes<float>>>;
template [[host_name("work_id_groups")]] kernel work_id_t work_id<by_work<sum_groups<half, 3>>>;
// Meets nobody: its parameters are named like SIMD-group functions, which its instantiation repeats.
template <typename T>
[[kernel]] void lane_named(device const T *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device T *out [[buffer(2)]],
                           device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
                           uint simd_lane_id [[thread_index_in_simdgroup]], uint simd_group_id [[simdgroup_index_in_threadgroup]]) {
    if (gid >= n) return;
    out[gid] = in[gid] * T(2);
    trips[gid] = simd_group_id * 100 + simd_lane_id;
}
template [[host_name("lane_named_f32")]] [[kernel]] void lane_named<float>(
    device const float *in [[buffer(0)]], device const uint *cap [[buffer(1)]], device float *out [[buffer(2)]],
    device uint *trips [[buffer(3)]], constant uint &n [[buffer(4)]], uint gid [[thread_position_in_grid]],
    uint simd_lane_id [[thread_index_in_simdgroup]], uint simd_group_id [[simdgroup_index_in_threadgroup]]);
)msl";

// The kernels that meet other threads (each must split, but work_passed_on_groups, which keeps fibers);
// lane_named_f32 meets nobody.
inline constexpr const char *kernel_names[] = {"switch_call_group", "switch_call_lane", "tiled_pragma", "matrix_loop", "matrix_simd_loop", "matrix_jump_loop", "trait_matrix_f32", "trait_matrix_i32", "loose_scalar_h4", "hidden_parameter", "alias_matrix", "work_id_lanes", "work_id_groups", "work_passed_on_groups", "lane_named_f32"};

// Threadgroups of 80 (SIMD groups of 32, 32 and 16 lanes; the last threadgroup partial), 64 and 45
// (32 and 13); n picks switch_call_group's label: 190 -> 2, 150 -> 1, 40 -> default.
inline const std::vector<shape> &shapes() {
    static const std::vector<shape> s = {{200, 80, 190}, {150, 64, 150}, {45, 45, 40}};
    return s;
}

// For the matrix kernels, whole SIMD groups only (a matrix's elements are its 32 lanes'): threadgroups of 96
// (the last one partial, 64 threads) and 64.
inline const std::vector<shape> &shapes_for(const std::string &kernel) {
    static const std::vector<shape> whole = {{160, 96, 150}, {128, 64, 128}, {64, 64, 50}};
    return kernel == "matrix_loop" || kernel == "matrix_simd_loop" || kernel == "matrix_jump_loop" || kernel == "alias_matrix" ||
                   kernel.compare(0, 12, "trait_matrix") == 0
               ? whole
               : shapes();
}

// The kernel's buffers for one dispatch (outputs at 2 and 3 start as -1 and 7777) and what the host wants in them.
inline run_case case_for(const std::string &kernel, const shape &d) {
    std::vector<float> in(d.grid);
    std::vector<uint32_t> cap(d.grid);
    for (uint32_t i = 0; i < d.grid; ++i) {
        in[i] = float((i * 7 + 3) % 13) - 4.0f; // small integers: sums exact in any order
        cap[i] = (i * 5 + 1) % 7;
    }
    std::vector<float> x(d.grid, -1.0f);
    std::vector<uint32_t> t(d.grid, 7777u);
    const uint32_t label = d.n > 160 ? 2 : d.n > 100 ? 1 : 0;
    if (kernel == "switch_call_group") {
        auto v = [&](uint32_t i) { return i < d.n ? in[i] : 0.0f; };
        for (uint32_t g = 0; g < d.grid; g += d.tg) {
            const uint32_t end = std::min(g + d.tg, d.grid);
            if (label == 2 || label == 1) {
                float total = 0.0f, top = -1000.0f;
                for (uint32_t s = g; s < end; s += 32) {
                    float sum = 0.0f, m = -std::numeric_limits<float>::infinity();
                    for (uint32_t i = s; i < std::min(s + 32, end); ++i) sum += v(i), m = std::max(m, v(i));
                    total += sum;
                    top = std::max(top, m);
                }
                for (uint32_t i = g; i < end; ++i) x[i] = label == 2 ? total : top, t[i] = label;
            } else {
                for (uint32_t s = g; s < end; s += 32) {
                    float prefix = 0.0f;
                    for (uint32_t i = s; i < std::min(s + 32, end); ++i) x[i] = prefix, prefix += v(i), t[i] = 0;
                }
            }
        }
    } else if (kernel == "switch_call_lane") {
        for (const auto &g : simd_groups(d)) {
            auto label_of = [&](uint32_t i) { return ((i + cap[i] % 2) * 7u) % 3u; };
            float sum = 0.0f, top = -std::numeric_limits<float>::infinity(), low = std::numeric_limits<float>::infinity();
            for (uint32_t i = g.first; i < g.second && i < d.n; ++i) {
                if (label_of(i) == 0) sum += in[i];
                else if (label_of(i) == 1) top = std::max(top, in[i]);
                else low = std::min(low, in[i]);
            }
            for (uint32_t i = g.first; i < g.second && i < d.n; ++i) {
                const uint32_t l = label_of(i);
                x[i] = l == 0 ? sum : l == 1 ? top + 100.0f : low - 100.0f;
                t[i] = (l == 0 ? 10u : l == 1 ? 20u : 30u) + cap[i] % 2 + 1;
            }
        }
    } else if (kernel == "tiled_pragma") {
        for (uint32_t g = 0; g < d.grid; g += d.tg)
            for (uint32_t i = g; i < std::min(g + d.tg, d.grid); ++i) {
                const uint32_t tid = i - g;
                float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                uint32_t rounds = 0;
                for (uint32_t base = 0; base < d.n; base += 16) {
                    float tile[16];
                    for (uint32_t k = 0; k < 16; ++k) tile[k] = base + k < d.n ? in[base + k] : 0.0f;
                    for (uint32_t j = 0; j < 4; ++j) acc[j] += tile[(tid + j) % 16] * float(j + 1);
                    for (uint32_t j = 0; j < 2; ++j) acc[j] -= tile[(tid * 3 + j) % 16];
                    ++rounds;
                }
                x[i] = acc[0] + acc[1] + acc[2] + acc[3];
                t[i] = rounds;
            }
    } else if (kernel == "matrix_loop") {
        auto element_of = [](uint32_t lane, uint32_t &row, uint32_t &col) {
            const uint32_t q = lane / 4;
            row = (q & 4) + (lane / 2) % 4;
            col = (q & 2) * 2 + (lane % 2) * 2;
        };
        float G[8][8], Gt[8][8];
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c) G[r][c] = float((r * 2 + c) % 5) - 2.0f, Gt[r][c] = float((c * 2 + r) % 5) - 2.0f;
        auto product = [](const float (&a)[8][8], const float (&b)[8][8], float (&d)[8][8]) {
            for (int r = 0; r < 8; ++r)
                for (int c = 0; c < 8; ++c) {
                    float s = 0.0f;
                    for (int k = 0; k < 8; ++k) s += a[r][k] * b[k][c];
                    d[r][c] = s;
                }
        };
        for (const auto &g : simd_groups(d)) {
            std::vector<float> acc0(32, 0.0f), acc1(32, 0.0f);
            for (uint32_t base = 0; base < 4; ++base) {
                float stage[64];
                for (uint32_t l = 0; l < 32; ++l) {
                    const uint32_t gid = g.first + l;
                    stage[l] = in[(gid * 3 + base * 7) % d.n];
                    stage[l + 32] = in[(gid * 5 + base) % d.n];
                }
                for (uint32_t c = 0; c < 2; ++c) {
                    float m[8][8], left[8][8], result[8][8];
                    for (uint32_t r = 0; r < 8; ++r)
                        for (uint32_t k = 0; k < 8; ++k) m[r][k] = stage[(r * 8 + k + c * 5) % 64];
                    product(G, m, left);
                    product(left, Gt, result);
                    for (uint32_t l = 0; l < 32; ++l) {
                        uint32_t row = 0, col = 0;
                        element_of(l, row, col);
                        acc0[l] += result[row][col];
                        acc1[l] += result[row][col + 1];
                    }
                }
            }
            for (uint32_t l = 0; l < 32; ++l) x[g.first + l] = acc0[l], t[g.first + l] = uint32_t(int32_t(acc1[l]) + 1000000);
        }
    } else if (kernel == "matrix_jump_loop") {
        for (uint32_t g0 = 0; g0 < d.grid; g0 += d.tg) {
            const uint32_t group = g0 / d.tg;
            float acc[8][8] = {};
            uint32_t done = 0;
            for (uint32_t blk = 0;; ++blk) {
                const uint32_t at = blk * 3;
                if (at >= cap[group] + 4) break;
                if (cap[(group + blk) % d.n] % 3 == 0) continue;
                float t[8][8];
                for (uint32_t r = 0; r < 8; ++r)
                    for (uint32_t c = 0; c < 8; ++c) t[r][c] = in[(at + r * 8 + c) % d.n];
                for (int r = 0; r < 8; ++r)
                    for (int c = 0; c < 8; ++c) {
                        float sum = 0.0f;
                        for (int j = 0; j < 8; ++j) sum += t[r][j] * t[j][c];
                        acc[r][c] += 2.0f * sum; // (the kernel's two trips over `cc`)
                    }
                ++done;
            }
            for (uint32_t i = g0; i < std::min(g0 + d.tg, d.grid); ++i) {
                const uint32_t lane = (i - g0) % 32, q = lane / 4;
                const uint32_t sm = (q & 4) + (lane / 2) % 4, sn = (q & 2) * 2 + (lane % 2) * 2;
                x[i] = acc[sm][sn] + 100000.0f * float(done);
                t[i] = uint32_t(int32_t(acc[sm][sn + 1]) + 1000000);
            }
        }
    } else if (kernel == "matrix_simd_loop") {
        float G[8][8];
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c) G[r][c] = float((r * 2 + c) % 5) - 2.0f;
        for (const auto &g : simd_groups(d)) {
            const uint32_t sgi = (g.first % d.tg) / 32;
            float stage[64];
            for (uint32_t l = 0; l < 32; ++l) stage[l] = in[((g.first + l) * 3) % d.n], stage[l + 32] = in[((g.first + l) * 5 + 1) % d.n];
            std::vector<float> acc0(32, 0.0f), acc1(32, 0.0f);
            for (uint32_t c = sgi; c < 5; c += 2) {
                float m[8][8], left[8][8], result[8][8];
                for (uint32_t r = 0; r < 8; ++r)
                    for (uint32_t k = 0; k < 8; ++k) m[r][k] = stage[(r * 8 + k + c * 5) % 64];
                for (int r = 0; r < 8; ++r)
                    for (int k = 0; k < 8; ++k) {
                        float sum = 0.0f;
                        for (int j = 0; j < 8; ++j) sum += G[r][j] * m[j][k];
                        left[r][k] = sum;
                    }
                for (int r = 0; r < 8; ++r)
                    for (int k = 0; k < 8; ++k) {
                        float sum = 0.0f;
                        for (int j = 0; j < 8; ++j) sum += left[r][j] * G[j][k];
                        result[r][k] = sum;
                    }
                for (uint32_t l = 0; l < 32; ++l) {
                    const uint32_t qq = l / 4, row = (qq & 4) + (l / 2) % 4, col = (qq & 2) * 2 + (l % 2) * 2;
                    acc0[l] += result[row][col] * float(c + 1);
                    acc1[l] += result[row][col + 1];
                }
            }
            for (uint32_t l = 0; l < 32; ++l) x[g.first + l] = acc0[l], t[g.first + l] = uint32_t(int32_t(acc1[l]) + 1000000);
        }
    } else if (kernel == "trait_matrix_f32" || kernel == "trait_matrix_i32") {
        for (const auto &g : simd_groups(d)) {
            float a[8][8], r[8][8];
            for (uint32_t row = 0; row < 8; ++row)
                for (uint32_t col = 0; col < 8; ++col) a[row][col] = in[(g.first + row * 8 + col) % d.n];
            for (uint32_t row = 0; row < 8; ++row)
                for (uint32_t col = 0; col < 8; ++col) {
                    float s = 0.0f;
                    for (uint32_t k = 0; k < 8; ++k) s += a[row][k] * a[k][col];
                    r[row][col] = kernel == "trait_matrix_f32" ? s : a[row][col] + a[row][col];
                }
            for (uint32_t l = 0; l < 32; ++l) {
                const uint32_t qq = l / 4, row = (qq & 4) + (l / 2) % 4, col = (qq & 2) * 2 + (l % 2) * 2;
                x[g.first + l] = r[row][col];
                t[g.first + l] = uint32_t(int32_t(r[row][col + 1]) + 1000000);
            }
        }
    } else if (kernel == "loose_scalar_h4") {
        for (const auto &g : simd_groups(d)) {
            float s = 0.0f;
            for (uint32_t i = g.first; i < g.second && i < d.n; ++i) s += i % 2 ? 2.0f * float(cap[i] % 3) * in[i] : 0.0f;
            for (uint32_t i = g.first; i < g.second && i < d.n; ++i) x[i] = s + (i % 2 ? 0.0f : float(cap[i] % 3) * in[i]), t[i] = 7;
        }
    } else if (kernel == "alias_matrix") {
        for (uint32_t g0 = 0; g0 < d.grid; g0 += d.tg) {
            const uint32_t group = g0 / d.tg;
            std::vector<float> acc(d.tg, 0.0f);
            for (uint32_t cc = 0; cc < 2; ++cc) {
                float m[8][8] = {};
                for (uint32_t ii = 0; ii < 8; ii += 4) {
                    float tile[8][8];
                    for (uint32_t r = 0; r < 8; ++r)
                        for (uint32_t c = 0; c < 8; ++c) tile[r][c] = in[(group * 7 + r * 8 + c + ii + cc) % d.n];
                    for (int r = 0; r < 8; ++r)
                        for (int c = 0; c < 8; ++c)
                            for (int j = 0; j < 8; ++j) m[r][c] += tile[r][j] * tile[j][c];
                }
                for (uint32_t t = 0; t < d.tg; ++t) acc[t] += m[(t * 5) % 64 / 8][(t * 5) % 8];
            }
            for (uint32_t i = g0; i < std::min(g0 + d.tg, d.grid); ++i) x[i] = acc[i - g0], t[i] = i - g0;
        }
    } else if (kernel == "hidden_parameter") {
        for (const auto &g : simd_groups(d)) {
            std::vector<float> acc;
            for (uint32_t i = g.first; i < g.second; ++i) acc.push_back(in[(i - g.first) % d.n]);
            for (int k = 0; k < 3; ++k) {
                float sum = 0.0f;
                for (float a : acc) sum += float(k + 1) * a;
                for (float &a : acc) a += sum;
            }
            float tail = 0.0f;
            for (uint32_t i = g.first; i < g.second; ++i) tail += in[(i - g.first + 1) % d.n];
            for (uint32_t i = g.first; i < g.second; ++i) x[i] = acc[i - g.first] + tail, t[i] = i - g.first;
        }
    } else if (kernel == "work_id_lanes" || kernel == "work_id_groups" || kernel == "work_passed_on_groups") {
        const bool groups = kernel != "work_id_lanes";
        float before = 0.0f; // the sum of the SIMD group before, in the same threadgroup
        for (const auto &g : simd_groups(d)) {
            const bool first = (g.first % d.tg) == 0;
            float sum = 0.0f;
            for (uint32_t i = g.first; i < g.second; ++i) sum += i < d.n ? in[i] * (groups ? 3.0f : 1.0f) : 0.0f;
            for (uint32_t i = g.first; i < g.second; ++i) {
                const uint32_t lane = (i - g.first), sg = (i % d.tg) / 32;
                x[i] = sum + (groups && !first ? before : 0.0f);
                t[i] = groups ? sg * 100 + lane : lane;
            }
            before = sum;
        }
    } else { // lane_named_f32
        for (uint32_t g = 0; g < d.grid; g += d.tg)
            for (uint32_t i = g; i < std::min(g + d.tg, d.grid) && i < d.n; ++i) x[i] = in[i] * 2.0f, t[i] = (i - g) / 32 * 100 + (i - g) % 32;
    }
    run_case c;
    c.buffers = {bytes_of(in), bytes_of(cap), bytes_of(std::vector<float>(d.grid, -1.0f)), bytes_of(std::vector<uint32_t>(d.grid, 7777u)),
                 bytes_of(std::vector<uint32_t>{d.n})};
    c.want[2] = bytes_of(x);
    c.want[3] = bytes_of(t);
    return c;
}

} // namespace simd_shape_kernels
