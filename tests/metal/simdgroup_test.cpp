// SIMD-group and quad-group functions, against host references: reductions, scans, shuffles,
// ballots, with group sizes that are not multiples of 32, divergent branches, early returns and
// partial threadgroups; and kernels in the shapes tuned libraries use (RMS norm, soft-max,
// matrix-vector product, scan, bitonic step, compaction, an 8x8 simdgroup_matrix GEMM).
#include "metal_test_support.hpp"
#include "../kernels/member_call_kernels.hpp"
#include "../kernels/changed_parameter_kernels.hpp"
#include "../kernels/class_member_kernels.hpp"
#include "../kernels/uniform_choice_kernels.hpp"
#include "../kernels/simd_loop_kernels.hpp"
#include "../kernels/simd_shape_kernels.hpp"
#include "../kernels/block_mma_kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

using metal_test::device;

namespace {

const char* const simd_source = R"(
#include <metal_stdlib>
using namespace metal;

// Per thread: [sum, min, max, prefix-exclusive sum, prefix-inclusive product-ish, shuffle-down 1,
// xor 1, broadcast lane 3, active lanes, lane, quad sum, quad shuffle xor 1].
kernel void everything(device const int *in [[buffer(0)]], device int *out [[buffer(1)]],
                       uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]],
                       uint q [[thread_index_in_quadgroup]]) {
    int v = in[i];
    device int *o = out + i * 12;
    o[0] = simd_sum(v);
    o[1] = simd_min(v);
    o[2] = simd_max(v);
    o[3] = simd_prefix_exclusive_sum(v);
    o[4] = simd_prefix_inclusive_sum(v);
    o[5] = simd_shuffle_down(v, 1u);
    o[6] = simd_shuffle_xor(v, 1u);
    o[7] = simd_broadcast(v, 3u);
    o[8] = int(uint(uint64_t(simd_active_threads_mask())));
    o[9] = int(lane) * 100 + int(q);
    o[10] = quad_sum(v);
    o[11] = quad_shuffle_xor(v, 1u);
}

// Lanes in the two arms of a branch meet separately; lanes that returned do not take part.
kernel void divergent(device const int *in [[buffer(0)]], device int *out [[buffer(1)]],
                      uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    if (lane % 5 == 4) return;
    int v = in[i];
    if (lane % 2 == 0) out[i] = simd_sum(v);
    else out[i] = -simd_sum(v * 10);
}

kernel void vectors_and_types(device const float4 *in [[buffer(0)]], device float4 *sums [[buffer(1)]],
                              device uint *bits [[buffer(2)]], device half *hs [[buffer(3)]],
                              uint i [[thread_position_in_grid]]) {
    sums[i] = simd_sum(in[i]);
    bits[i] = simd_or(1u << (i % 32)) ^ simd_and(~0u) ^ simd_xor(i);
    hs[i] = simd_max(half(in[i].x));
    bool p = in[i].y > 0.0f;
    bits[i + 64] = uint(uint64_t(simd_ballot(p))) + (simd_all(p) ? 1000000u : 0u) + (simd_any(p) ? 2000000u : 0u) +
                   (simd_is_first() ? 4000000u : 0u);
}

// RMS norm of each row: simd_sum, then one threadgroup step across SIMD groups.
kernel void rms_norm(device const float *x [[buffer(0)]], device float *y [[buffer(1)]], constant uint &n [[buffer(2)]],
                     uint row [[threadgroup_position_in_grid]], uint t [[thread_position_in_threadgroup]],
                     uint size [[threads_per_threadgroup]], uint sg [[simdgroup_index_in_threadgroup]],
                     uint lane [[thread_index_in_simdgroup]], uint groups [[simdgroups_per_threadgroup]]) {
    threadgroup float partial[32];
    device const float *r = x + row * n;
    float s = 0.0f;
    for (uint k = t; k < n; k += size) s += r[k] * r[k];
    s = simd_sum(s);
    if (lane == 0) partial[sg] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float total = 0.0f;
    for (uint g = 0; g < groups; ++g) total += partial[g];
    const float scale = 1.0f / sqrt(total / float(n) + 1e-6f);
    for (uint k = t; k < n; k += size) y[row * n + k] = r[k] * scale;
}

// Row soft-max with simd_max and simd_sum (one SIMD group per row).
kernel void soft_max(device const float *x [[buffer(0)]], device float *y [[buffer(1)]], constant uint &n [[buffer(2)]],
                     uint row [[threadgroup_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    device const float *r = x + row * n;
    float m = -INFINITY;
    for (uint k = lane; k < n; k += 32) m = max(m, r[k]);
    m = simd_max(m);
    float s = 0.0f;
    for (uint k = lane; k < n; k += 32) s += exp(r[k] - m);
    s = simd_sum(s);
    for (uint k = lane; k < n; k += 32) y[row * n + k] = exp(r[k] - m) / s;
}

// y = A x, one SIMD group per row.
kernel void mat_vec(device const float *a [[buffer(0)]], device const float *x [[buffer(1)]], device float *y [[buffer(2)]],
                    constant uint &cols [[buffer(3)]], uint row [[threadgroup_position_in_grid]],
                    uint lane [[thread_index_in_simdgroup]]) {
    float s = 0.0f;
    for (uint k = lane; k < cols; k += 32) s += a[row * cols + k] * x[k];
    s = simd_sum(s);
    if (simd_is_first()) y[row] = s;
}

// Exclusive scan of a threadgroup of 128 with simd_prefix_exclusive_sum and one step over groups.
kernel void scan(device const uint *in [[buffer(0)]], device uint *out [[buffer(1)]], uint i [[thread_position_in_grid]],
                 uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
    threadgroup uint totals[4];
    uint v = in[i];
    uint within = simd_prefix_exclusive_sum(v);
    if (lane == 31) totals[sg] = within + v;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint before = 0;
    for (uint g = 0; g < sg; ++g) before += totals[g];
    out[i] = before + within;
}

// One bitonic merge step inside a SIMD group with simd_shuffle_xor.
kernel void bitonic_step(device float *data [[buffer(0)]], constant uint &j [[buffer(1)]], constant uint &k [[buffer(2)]],
                         uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    float mine = data[i];
    float other = simd_shuffle_xor(mine, ushort(j));
    bool ascending = (lane & k) == 0;
    bool lower = (lane & j) == 0;
    data[i] = (lower == ascending) ? min(mine, other) : max(mine, other);
}

// Stream compaction: keep the positive values, in order, with simd_ballot and popcount.
kernel void compact(device const int *in [[buffer(0)]], device int *out [[buffer(1)]], device atomic_uint *count [[buffer(2)]],
                    uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
    int v = in[i];
    bool keep = v > 0;
    uint64_t bits = uint64_t(simd_ballot(keep));
    uint below = popcount(uint(bits & ((1ul << lane) - 1ul)));
    uint base = 0;
    if (simd_is_first()) base = atomic_fetch_add_explicit(count, popcount(uint(bits)), memory_order_relaxed);
    base = simd_broadcast_first(base);
    if (keep) out[base + below] = v;
}

// C = A B for 16x16 matrices, one SIMD group per 8x8 tile of C, as MLX and ggml tile them.
kernel void gemm8(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *c [[buffer(2)]],
                  uint2 tile [[threadgroup_position_in_grid]]) {
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    for (uint k = 0; k < 16; k += 8) {
        simdgroup_float8x8 ma, mb;
        simdgroup_load(ma, a, 16, ulong2(k, tile.y * 8));
        simdgroup_load(mb, b, 16, ulong2(tile.x * 8, k));
        simdgroup_multiply_accumulate(acc, ma, mb, acc);
    }
    simdgroup_store(acc, c, 16, ulong2(tile.x * 8, tile.y * 8));
}

// The same, each lane storing its own two elements read through a const matrix (MLX's and candle's
// attention kernels call thread_elements() on const and constant matrices), in Apple's lane layout.
kernel void gemm8_elements(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *c [[buffer(2)]],
                           uint2 tile [[threadgroup_position_in_grid]], ushort lane [[thread_index_in_simdgroup]]) {
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    for (uint k = 0; k < 16; k += 8) {
        simdgroup_float8x8 ma, mb;
        simdgroup_load(ma, a, 16, ulong2(k, tile.y * 8));
        simdgroup_load(mb, b, 16, ulong2(tile.x * 8, k));
        simdgroup_multiply_accumulate(acc, ma, mb, acc);
    }
    const thread simdgroup_float8x8 &done = acc;
    const float2 pair = done.thread_elements();
    const uint q = lane / 4, row = (q & 4) + (lane / 2) % 4, col = (q & 2) * 2 + (lane % 2) * 2;
    c[(tile.y * 8 + row) * 16 + tile.x * 8 + col] = pair.x;
    c[(tile.y * 8 + row) * 16 + tile.x * 8 + col + 1] = pair.y;
}

// An epilogue the way MLX's and candle's GEMMs write one: each lane changes its own two elements in
// place through `thread auto&`, reads them back through `thread const auto&`, and stores them.
kernel void gemm8_epilogue(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *c [[buffer(2)]],
                           uint2 tile [[threadgroup_position_in_grid]], ushort lane [[thread_index_in_simdgroup]]) {
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    for (uint k = 0; k < 16; k += 8) {
        simdgroup_float8x8 ma, mb;
        simdgroup_load(ma, a, 16, ulong2(k, tile.y * 8));
        simdgroup_load(mb, b, 16, ulong2(tile.x * 8, k));
        simdgroup_multiply_accumulate(acc, ma, mb, acc);
    }
    thread auto& accum = acc.thread_elements();
    accum[0] = accum[0] * 2.0f + 1.0f;
    accum *= 0.5f;
    thread const auto& done = acc.thread_elements();
    const uint q = lane / 4, row = (q & 4) + (lane / 2) % 4, col = (q & 2) * 2 + (lane % 2) * 2;
    c[(tile.y * 8 + row) * 16 + tile.x * 8 + col] = done[0];
    c[(tile.y * 8 + row) * 16 + tile.x * 8 + col + 1] = done[1];
}
)";

// (A library of its own: a library that declares its own `simd_shuffle_down` keeps every kernel that
// calls that name on fibers, since which of the two a call means depends on types.)
const char* const overload_source = R"(
#include <metal_stdlib>
using namespace metal;

// An arg-max with a shuffle overload of the library's own for its own type (candle's reductions):
// that overload is chosen, and it shuffles the members with Metal's.
struct indexed_f { uint i; float val; };
METAL_FUNC indexed_f simd_shuffle_down(indexed_f iv, ushort delta) {
    return indexed_f{simd_shuffle_down(iv.i, delta), simd_shuffle_down(iv.val, delta)};
}
kernel void arg_max(device const float *in [[buffer(0)]], device uint *out [[buffer(1)]],
                    uint lane [[thread_index_in_simdgroup]], uint group [[threadgroup_position_in_grid]]) {
    indexed_f best{lane, in[group * 32 + lane]};
    for (uint offset = 16; offset > 0; offset /= 2) {
        indexed_f other = simd_shuffle_down(best, offset);
        if (other.val > best.val) best = other;
    }
    if (lane == 0) out[group] = best.i;
}
)";

// ggml's shape: kernel templates that call a function template `mv_impl<T, NR0>(...)`, which sums NR0
// rows per SIMD group in a per-thread array and calls `reduce_rows<NR0>(...)` (simd_sum, threadgroup
// step, barrier); softmetal inlines both into the kernel split at its meetings.
const char* const template_source = R"(
#include <metal_stdlib>
using namespace metal;
template <short NR0>
void reduce_rows(device float *y, float sums[NR0], uint r0, uint rows, ushort lane, ushort sg, ushort nsg, threadgroup float *stage) {
    for (short r = 0; r < NR0; ++r) {
        sums[r] = simd_sum(sums[r]);
        if (lane == 0) stage[r * 8 + sg] = sums[r];
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (short r = 0; r < NR0; ++r) {
        if (sg == 0 && lane == 0 && r0 + r < rows) {
            float total = 0.0f;
            for (ushort g = 0; g < nsg; ++g) total += stage[r * 8 + g];
            y[r0 + r] = total;
        }
    }
}
template <typename T, short NR0>
void mv_impl(device const T *a, device const float *x, device float *y, uint cols, uint rows, threadgroup float *stage,
             uint group, ushort lane, ushort sg, ushort nsg) {
    const uint r0 = group * NR0;
    float sums[NR0] = {0.f};
    for (uint c = sg * 32 + lane; c < cols; c += nsg * 32)
        for (short r = 0; r < NR0; ++r)
            if (r0 + r < rows) sums[r] += float(a[(r0 + r) * cols + c]) * x[c];
    reduce_rows<NR0>(y, sums, r0, rows, lane, sg, nsg, stage);
}
template <typename T>
kernel void mv_rows(device const T *a [[buffer(0)]], device const float *x [[buffer(1)]], device float *y [[buffer(2)]],
                    constant uint &cols [[buffer(3)]], constant uint &rows [[buffer(4)]], uint group [[threadgroup_position_in_grid]],
                    ushort lane [[thread_index_in_simdgroup]], ushort sg [[simdgroup_index_in_threadgroup]],
                    ushort nsg [[simdgroups_per_threadgroup]]) {
    threadgroup float stage[4 * 8];
    mv_impl<T, 4>(a, x, y, cols, rows, stage, group, lane, sg, nsg);
}
template [[host_name("mv_rows_f32")]] kernel void mv_rows<float>(device const float *, device const float *, device float *,
    constant uint &, constant uint &, uint, ushort, ushort, ushort);
template [[host_name("mv_rows_f16")]] kernel void mv_rows<half>(device const half *, device const float *, device float *,
    constant uint &, constant uint &, uint, ushort, ushort, ushort);
)";

const pymetal::library& library() {
    static const pymetal::library lib = device().compile(simd_source);
    return lib;
}
const pymetal::library& overload_library() {
    static const pymetal::library lib = device().compile(overload_source);
    return lib;
}

std::vector<int> values(std::size_t n) {
    std::vector<int> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = int((i * 37 + 11) % 23) - 9;
    return v;
}

}  // namespace

TEST_CASE("SIMD reductions, scans, shuffles and quad functions over groups that are not multiples of 32",
          "[metal][simdgroup]") {
    // Threadgroups of 48 (a full SIMD group and a half one), a grid of 100: the last group has 4 threads.
    const std::uint32_t n = 100, group = 48;
    const auto in = values(n);
    auto out = device().new_buffer<int>(n * 12);
    library().kernel("everything").dispatch_threads({device().new_buffer(in), out}, {n}, {group});
    const auto got = out.copy_out<int>();
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t group_start = i / group * group, group_end = std::min(n, group_start + group);
        const std::uint32_t first = group_start + (i - group_start) / 32 * 32, last = std::min(group_end, first + 32);
        const std::uint32_t lane = i - first, quad = first + (lane & ~3u);
        int sum = 0, lo = in[first], hi = in[first], before = 0;
        for (std::uint32_t k = first; k < last; ++k) sum += in[k], lo = std::min(lo, in[k]), hi = std::max(hi, in[k]);
        for (std::uint32_t k = first; k < i; ++k) before += in[k];
        int quad_sum = 0;
        for (std::uint32_t k = quad; k < std::min(last, quad + 4); ++k) quad_sum += in[k];
        const std::uint32_t mask = (last - first) == 32 ? 0xffffffffu : (1u << (last - first)) - 1u;
        const int* o = &got[i * 12];
        INFO("thread " << i << " lane " << lane);
        REQUIRE(o[0] == sum);
        CHECK(o[1] == lo);
        CHECK(o[2] == hi);
        CHECK(o[3] == before);
        CHECK(o[4] == before + in[i]);
        CHECK(o[5] == (i + 1 < last ? in[i + 1] : in[i]));
        CHECK(o[6] == ((first + (lane ^ 1u)) < last ? in[first + (lane ^ 1u)] : in[i]));
        CHECK(o[7] == (first + 3 < last ? in[first + 3] : in[i]));
        CHECK(std::uint32_t(o[8]) == mask);
        CHECK(o[9] == int(lane) * 100 + int(i - group_start) % 4);
        CHECK(o[10] == quad_sum);
        CHECK(o[11] == ((quad + ((lane ^ 1u) & 3u)) < last ? in[quad + ((lane ^ 1u) & 3u)] : in[i]));
    }
}

TEST_CASE("lanes in divergent branches meet separately and lanes that returned do not count", "[metal][simdgroup]") {
    const std::uint32_t n = 64;
    const auto in = values(n);
    auto out = device().new_buffer(std::vector<int>(n, 12345));
    library().kernel("divergent").dispatch_threads({device().new_buffer(in), out}, {n}, {64});
    const auto got = out.copy_out<int>();
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t lane = i % 32, first = i - lane;
        if (lane % 5 == 4) {
            CHECK(got[i] == 12345);
            continue;
        }
        int even = 0, odd = 0;
        for (std::uint32_t l = 0; l < 32; ++l) {
            if (l % 5 == 4) continue;
            (l % 2 == 0 ? even : odd) += in[first + l];
        }
        CHECK(got[i] == (lane % 2 == 0 ? even : -10 * odd));
    }
}

TEST_CASE("SIMD functions take vectors, unsigned bit operations, half and booleans", "[metal][simdgroup]") {
    const std::uint32_t n = 64;
    std::vector<float> in(n * 4);
    for (std::size_t k = 0; k < in.size(); ++k) in[k] = float(int(k % 13) - 6) * 0.5f;
    auto sums = device().new_buffer<float>(n * 4);
    auto bits = device().new_buffer<std::uint32_t>(2 * n);
    auto hs = device().new_buffer<std::uint16_t>(n);
    library().kernel("vectors_and_types").dispatch_threads({device().new_buffer(in), sums, bits, hs}, {n}, {32});
    const auto s = sums.copy_out<float>();
    const auto b = bits.copy_out<std::uint32_t>();
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t first = i / 32 * 32;
        for (int c = 0; c < 4; ++c) {
            float want = 0;
            for (std::uint32_t l = first; l < first + 32; ++l) want += in[l * 4 + c];
            CHECK(s[i * 4 + c] == want);
        }
        std::uint32_t x = 0, ballot = 0;
        bool all = true, any = false;
        for (std::uint32_t l = first; l < first + 32; ++l) {
            x ^= l;
            const bool p = in[l * 4 + 1] > 0.0f;
            ballot |= std::uint32_t(p) << (l - first);
            all = all && p;
            any = any || p;
        }
        CHECK(b[i] == (0xffffffffu ^ 0xffffffffu ^ x));
        CHECK(b[i + 64] == ballot + (all ? 1000000u : 0u) + (any ? 2000000u : 0u) + (i == first ? 4000000u : 0u));
    }
}

TEST_CASE("an RMS norm written with simd_sum and one threadgroup step", "[metal][simdgroup]") {
    const std::uint32_t rows = 5, n = 300;
    std::vector<float> x(rows * n);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = std::sin(0.01f * float(k)) * 3.0f;
    auto y = device().new_buffer<float>(rows * n);
    library().kernel("rms_norm").run({device().new_buffer(x), y, pymetal::value(n)}, {rows, 1, 1}, {96, 1, 1});
    const auto got = y.copy_out<float>();
    for (std::uint32_t r = 0; r < rows; ++r) {
        double ss = 0;
        for (std::uint32_t k = 0; k < n; ++k) ss += double(x[r * n + k]) * x[r * n + k];
        const double scale = 1.0 / std::sqrt(ss / n + 1e-6);
        for (std::uint32_t k = 0; k < n; ++k) REQUIRE(got[r * n + k] == Approx(x[r * n + k] * scale).epsilon(1e-4));
    }
}

TEST_CASE("a row soft-max with simd_max and simd_sum", "[metal][simdgroup]") {
    const std::uint32_t rows = 4, n = 77;
    std::vector<float> x(rows * n);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = std::cos(0.3f * float(k)) * 4.0f;
    auto y = device().new_buffer<float>(rows * n);
    library().kernel("soft_max").run({device().new_buffer(x), y, pymetal::value(n)}, {rows, 1, 1}, {32, 1, 1});
    const auto got = y.copy_out<float>();
    for (std::uint32_t r = 0; r < rows; ++r) {
        const float m = *std::max_element(x.begin() + r * n, x.begin() + (r + 1) * n);
        double s = 0;
        for (std::uint32_t k = 0; k < n; ++k) s += std::exp(double(x[r * n + k]) - m);
        for (std::uint32_t k = 0; k < n; ++k) REQUIRE(got[r * n + k] == Approx(std::exp(double(x[r * n + k]) - m) / s).epsilon(1e-4));
    }
}

TEST_CASE("a matrix-vector product with simd_sum per row", "[metal][simdgroup]") {
    const std::uint32_t rows = 9, cols = 70;
    std::vector<float> a(rows * cols), x(cols);
    for (std::size_t k = 0; k < a.size(); ++k) a[k] = float(int(k % 7) - 3);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = float(k % 5) * 0.25f;
    auto y = device().new_buffer<float>(rows);
    library().kernel("mat_vec").run({device().new_buffer(a), device().new_buffer(x), y, pymetal::value(cols)}, {rows, 1, 1},
                                    {32, 1, 1});
    const auto got = y.copy_out<float>();
    for (std::uint32_t r = 0; r < rows; ++r) {
        float want = 0;
        for (std::uint32_t k = 0; k < cols; ++k) want += a[r * cols + k] * x[k];
        CHECK(got[r] == Approx(want));
    }
}

TEST_CASE("a matrix-vector product through function templates that call simd_sum and barriers (ggml's shape)", "[metal][simdgroup]") {
    static const pymetal::library lib = device().compile(template_source);
    const std::uint32_t rows = 10, cols = 150; // the last group has 2 of its 4 rows
    std::vector<float> a(rows * cols), x(cols);
    for (std::size_t k = 0; k < a.size(); ++k) a[k] = float(int(k % 7) - 3);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = float(k % 5) * 0.25f;
    std::vector<std::uint16_t> a16(a.size()); // small integers, exact in half
    for (std::size_t k = 0; k < a.size(); ++k) {
        const int v = int(a[k]);
        const unsigned m = unsigned(v < 0 ? -v : v);
        std::uint16_t h = 0;
        if (m) {
            int e = 0;
            while ((1u << (e + 1)) <= m) ++e;
            h = std::uint16_t(((e + 15) << 10) | (((m << 10) >> e) & 0x3ff));
        }
        a16[k] = std::uint16_t((v < 0 ? 0x8000 : 0) | h);
    }
    for (const char* name : {"mv_rows_f32", "mv_rows_f16"}) {
        for (std::uint32_t threads : {64u, 96u}) {
            INFO(name << ", threadgroups of " << threads);
            auto y = device().new_buffer<float>(rows);
            auto ab = std::string(name) == "mv_rows_f16" ? device().new_buffer(a16) : device().new_buffer(a);
            lib.kernel(name).run({ab, device().new_buffer(x), y, pymetal::value(cols), pymetal::value(rows)}, {(rows + 3) / 4, 1, 1},
                                 {threads, 1, 1});
            const auto got = y.copy_out<float>();
            for (std::uint32_t r = 0; r < rows; ++r) {
                float want = 0;
                for (std::uint32_t k = 0; k < cols; ++k) want += a[r * cols + k] * x[k];
                CHECK(got[r] == Approx(want));
            }
        }
    }
}

TEST_CASE("an exclusive scan with simd_prefix_exclusive_sum", "[metal][simdgroup]") {
    const std::uint32_t n = 256;
    std::vector<std::uint32_t> in(n);
    for (std::uint32_t k = 0; k < n; ++k) in[k] = (k * 7) % 11;
    auto out = device().new_buffer<std::uint32_t>(n);
    library().kernel("scan").run({device().new_buffer(in), out}, {2, 1, 1}, {128, 1, 1});
    const auto got = out.copy_out<std::uint32_t>();
    for (std::uint32_t g = 0; g < 2; ++g) {
        std::uint32_t running = 0;
        for (std::uint32_t k = g * 128; k < (g + 1) * 128; ++k) {
            REQUIRE(got[k] == running);
            running += in[k];
        }
    }
}

TEST_CASE("bitonic sorting steps with simd_shuffle_xor sort each SIMD group", "[metal][simdgroup]") {
    std::vector<float> data(64);
    for (std::size_t k = 0; k < data.size(); ++k) data[k] = float((k * 29) % 64);
    auto buffer = device().new_buffer(data);
    const auto step = library().kernel("bitonic_step");
    for (std::uint32_t k = 2; k <= 32; k *= 2)
        for (std::uint32_t j = k / 2; j > 0; j /= 2) step.dispatch_threads({buffer, pymetal::value(j), pymetal::value(k)}, {64}, {32});
    const auto got = buffer.copy_out<float>();
    for (std::size_t g = 0; g < 2; ++g) {
        std::vector<float> want(data.begin() + g * 32, data.begin() + (g + 1) * 32);
        std::sort(want.begin(), want.end());
        CHECK(std::vector<float>(got.begin() + g * 32, got.begin() + (g + 1) * 32) == want);
    }
}

TEST_CASE("stream compaction with simd_ballot keeps each SIMD group's values in order", "[metal][simdgroup]") {
    const std::uint32_t n = 32;  // one SIMD group: the order of its kept values is fixed
    const auto in = values(n);
    auto out = device().new_buffer(std::vector<int>(n, 0));
    auto count = device().new_buffer(std::vector<std::uint32_t>{0});
    library().kernel("compact").dispatch_threads({device().new_buffer(in), out, count}, {n}, {32});
    std::vector<int> want;
    for (int v : in)
        if (v > 0) want.push_back(v);
    REQUIRE(count.read<std::uint32_t>(0) == want.size());
    const auto got = out.copy_out<int>();
    CHECK(std::vector<int>(got.begin(), got.begin() + long(want.size())) == want);
}

TEST_CASE("an 8x8 simdgroup_matrix GEMM", "[metal][simdgroup]") {
    std::vector<float> a(256), b(256);
    for (std::size_t k = 0; k < 256; ++k) a[k] = float(int(k % 9) - 4), b[k] = float(int(k % 5) - 2) * 0.5f;
    for (const char* name : {"gemm8", "gemm8_elements", "gemm8_epilogue"}) {
        INFO(name);
        auto c = device().new_buffer(std::vector<float>(256, -1.0f));
        library().kernel(name).run({device().new_buffer(a), device().new_buffer(b), c}, {2, 2, 1}, {32, 1, 1});
        const auto got = c.copy_out<float>();
        const bool epilogue = std::string(name) == "gemm8_epilogue";
        for (std::uint32_t i = 0; i < 16; ++i)
            for (std::uint32_t j = 0; j < 16; ++j) {
                float want = 0;
                for (std::uint32_t k = 0; k < 16; ++k) want += a[i * 16 + k] * b[k * 16 + j];
                // The epilogue: the first of each lane's pair (even columns) 2x + 1, then both halved.
                if (epilogue) want = (j % 2 == 0 ? want * 2.0f + 1.0f : want) * 0.5f;
                REQUIRE(got[i * 16 + j] == want);
            }
    }
}

TEST_CASE("a library's own shuffle overload for its own type is the one chosen", "[metal][simdgroup]") {
    std::vector<float> in(128);
    for (std::size_t k = 0; k < in.size(); ++k) in[k] = float((k * 7919) % 1000);
    auto out = device().new_buffer<std::uint32_t>(4);
    overload_library().kernel("arg_max").run({device().new_buffer(in), out}, {4, 1, 1}, {32, 1, 1});
    const auto got = out.copy_out<std::uint32_t>();
    for (std::size_t g = 0; g < 4; ++g) {
        std::size_t best = 0;
        for (std::size_t l = 1; l < 32; ++l)
            if (in[g * 32 + l] > in[g * 32 + best]) best = l;
        CHECK(got[g] == best);
    }
}

namespace {

using metal_test::barrier_mode;

// Each lane fills its own two elements of A and B through thread_elements() (MLX's steel fragments),
// the SIMD group multiplies, each lane reads its two of C back.
const char* const fragments_source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void gemm8_fragments(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *c [[buffer(2)]],
                            uint2 tile [[threadgroup_position_in_grid]], ushort lane [[thread_index_in_simdgroup]]) {
    const uint q = lane / 4;
    const uint row = (q & 4) + (lane / 2) % 4;
    const uint col = (q & 2) * 2 + (lane % 2) * 2;
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    simdgroup_float8x8 ma;
    simdgroup_float8x8 mb;
    for (uint k = 0; k < 16; k += 8) {
        ma.thread_elements() = float2(a[(tile.y * 8 + row) * 16 + k + col], a[(tile.y * 8 + row) * 16 + k + col + 1]);
        mb.thread_elements() = float2(b[(k + row) * 16 + tile.x * 8 + col], b[(k + row) * 16 + tile.x * 8 + col + 1]);
        simdgroup_multiply_accumulate(acc, ma, mb, acc);
    }
    acc.thread_elements() *= 2.0f;
    simdgroup_store(acc, c, 16, ulong2(tile.x * 8, tile.y * 8));
}
)";

}  // namespace

TEST_CASE("fragments written through thread_elements() are what a product and a store see, split and on fibers",
          "[metal][simdgroup]") {
    std::vector<float> a(256), b(256);
    for (std::size_t k = 0; k < 256; ++k) a[k] = float(int(k % 9) - 4), b[k] = float(int(k % 5) - 2) * 0.5f;
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        INFO((mode ? mode : "regions"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(fragments_source);
        auto c = device().new_buffer(std::vector<float>(256, -1.0f));
        lib.kernel("gemm8_fragments").run({device().new_buffer(a), device().new_buffer(b), c}, {2, 2, 1}, {32, 1, 1});
        const auto got = c.copy_out<float>();
        for (std::uint32_t i = 0; i < 16; ++i)
            for (std::uint32_t j = 0; j < 16; ++j) {
                float want = 0;
                for (std::uint32_t k = 0; k < 16; ++k) want += a[i * 16 + k] * b[k * 16 + j];
                INFO(i << ", " << j);
                REQUIRE(got[i * 16 + j] == want * 2.0f);
            }
    }
}

// MLX's and candle's steel GEMM shape (tests/kernels/block_mma_kernels.hpp): an object whose
// simdgroup_matrix members its member functions fill through thread_elements(), multiply and store.
TEST_CASE("objects holding simdgroup_matrix members (the steel GEMM's shapes) give the host's product split and on fibers", "[metal][simdgroup]") {
    using namespace block_mma_kernels;
    const std::vector<float> want = reference();
    auto operand = [](const std::vector<float>& v, bool half_precision) {
        if (!half_precision) return device().new_buffer(v);
        std::vector<std::uint16_t> h(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) h[i] = half_of(v[i]);
        return device().new_buffer(h);
    };
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        INFO((mode ? mode : "regions"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(source);
        for (const tiling& t : kernels()) {
            INFO(t.name);
            auto d = operand(std::vector<float>(M * N, -1.0f), t.half_precision);
            lib.kernel(t.name).run({operand(a_values(), t.half_precision), operand(b_values(), t.half_precision), d,
                                    device().new_buffer(std::vector<std::int32_t>{std::int32_t(K)}),
                                    device().new_buffer(std::vector<std::int32_t>{std::int32_t(N)})},
                                   {N / t.bn, M / t.bm, 1}, {t.threads, 1, 1});
            std::vector<float> got;
            if (t.half_precision)
                for (std::uint16_t h : d.copy_out<std::uint16_t>()) got.push_back(float_of(h));
            else
                got = d.copy_out<float>();
            CHECK(got == want);
        }
        for (const tiling& t : edge_kernels()) {
            INFO(t.name);
            const edge_params p{std::int32_t(EM), std::int32_t(EN), std::int32_t(EK), alpha};
            auto d = operand(std::vector<float>(EM * EN, -1.0f), t.half_precision);
            lib.kernel(t.name).run({operand(edge_a(), t.half_precision), operand(edge_b(), t.half_precision),
                                    operand(edge_c(), t.half_precision), d, pymetal::value(p)},
                                   {(EN + t.bn - 1) / t.bn, (EM + t.bm - 1) / t.bm, 1}, {t.threads, 1, 1});
            std::vector<float> got;
            if (t.half_precision)
                for (std::uint16_t h : d.copy_out<std::uint16_t>()) got.push_back(float_of(h));
            else
                got = d.copy_out<float>();
            CHECK(got == edge_reference(t.bm, t.bn));
        }
        const edge_params p{std::int32_t(EM), std::int32_t(EN), std::int32_t(EK), alpha};
        auto d = device().new_buffer(std::vector<float>(EM * EN, -1.0f));
        lib.kernel("class_run_gemm_f32")
            .run({device().new_buffer(edge_a()), device().new_buffer(edge_b()), device().new_buffer(edge_c()), d, pymetal::value(p)},
                 {(EN + 31) / 32, (EM + 31) / 32 + 1, 1}, {128, 1, 1});
        CHECK(d.copy_out<float>() == class_run_reference());
    }
}

namespace {

// ggml's sum shape: each SIMD group sums with simd_sum, lane 0 of each stages its sum, and after a
// barrier only the first SIMD group (`if (sgitg == 0)`: a condition that differs between threads)
// sums the staged values with simd_sum again; `if (np == 0) return;` leaves early for the group.
const char* const group_sum_source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void group_sum(device const float* src [[buffer(0)]], device float* dst [[buffer(1)]], constant uint& np [[buffer(2)]],
                      uint3 tgpig [[threadgroup_position_in_grid]], ushort3 tpitg [[thread_position_in_threadgroup]],
                      ushort sgitg [[simdgroup_index_in_threadgroup]], ushort tiisg [[thread_index_in_simdgroup]],
                      ushort3 ntg [[threads_per_threadgroup]]) {
    threadgroup float shmem[32];
    if (np == 0) return;
    const uint nsg = (ntg.x + 31) / 32;
    float sumf = 0;
    for (uint i0 = tpitg.x; i0 < np; i0 += ntg.x) sumf += src[tgpig.x * np + i0];
    sumf = simd_sum(sumf);
    if (tiisg == 0) shmem[sgitg] = sumf;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float total = 0;
    if (sgitg == 0) {
        float v = 0;
        if (tpitg.x < nsg) v = shmem[tpitg.x];
        total = simd_sum(v);
        if (tpitg.x == 0) dst[tgpig.x] = total;
    }
}
)";

}  // namespace

TEST_CASE("a sum whose second simd_sum runs in the first SIMD group only, split and on fibers", "[metal][simdgroup]") {
    const std::uint32_t rows = 3, np = 1000;
    std::vector<float> src(rows * np);
    for (std::size_t i = 0; i < src.size(); ++i) src[i] = float(int(i % 13) - 6) * 0.25f;
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        // 96 threads: three full SIMD groups; 50: one of 32 and a partial one of 18.
        for (const std::uint32_t tg : {96u, 50u}) {
            INFO((mode ? mode : "regions") << ", " << tg << " threads per group");
            barrier_mode scope(mode);
            const pymetal::library lib = device().compile(group_sum_source);
            auto dst = device().new_buffer(std::vector<float>(rows, -1.0f));
            lib.kernel("group_sum").run({device().new_buffer(src), dst, device().new_buffer(std::vector<std::uint32_t>{np})}, {rows, 1, 1},
                                        {tg, 1, 1});
            const auto got = dst.copy_out<float>();
            for (std::uint32_t r = 0; r < rows; ++r) {
                double want = 0;
                for (std::uint32_t i = 0; i < np; ++i) want += src[r * np + i];
                INFO("row " << r);
                CHECK(got[r] == Approx(want).margin(1e-3));
            }
        }
    }
}

namespace {

// Helper calls the split inlines, in the shapes candle and MLX write them: a reduction helper that
// takes its operation as a function pointer (candle's `reduce<T>(..., fn)`), an operator struct reached
// as `Op::simd_op(v)` through a template parameter, a helper in a namespace, a helper that returns
// early for the lanes past the row (which then take no part in its SIMD-group calls), and a SIMD-group
// call inside another's arguments.
const char* const helper_calls_source = R"(
#include <metal_stdlib>
using namespace metal;
template <typename T> struct Max {
    static METAL_FUNC T simd_op(T a) { return simd_max(a); }
};
namespace rows {
template <typename Op, typename T> METAL_FUNC T lane_reduce(T v) { return Op::simd_op(v); }
}
METAL_FUNC float add_op(float x, float y) { return x + y; }
template <typename T>
METAL_FUNC void block_fold(device const T *src, threadgroup T *shared, uint n, uint tid, uint width, T (*fn)(T, T)) {
    T acc = T(0);
    for (uint i = tid; i < n; i += width) acc = fn(acc, src[i]);
    shared[tid] = acc;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint s = width / 2; s > 0; s >>= 1) {
        if (tid < s) shared[tid] = fn(shared[tid], shared[tid + s]);
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
}
METAL_FUNC float live_sum(float v, uint lane, uint live) {
    if (lane >= live) return 0.0f;
    return simd_sum(v);
}
kernel void helper_calls(device const float *src [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                         uint tid [[thread_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                         uint width [[threads_per_threadgroup]]) {
    threadgroup float shared[64];
    block_fold<float>(src, shared, n, tid, width, add_op);
    const float v = src[tid % n];
    out[tid * 4] = shared[0];
    out[tid * 4 + 1] = rows::lane_reduce<Max<float>>(v);
    out[tid * 4 + 2] = live_sum(v, lane, 20);
    out[tid * 4 + 3] = simd_sum(simd_broadcast(v, 5));
}
)";

}  // namespace

TEST_CASE("helpers reached through function pointers, template parameters, namespaces and early returns meet as on Metal, split and on fibers",
          "[metal][simdgroup]") {
    const std::uint32_t n = 150, width = 64; // two full SIMD groups
    std::vector<float> src(n);
    for (std::size_t i = 0; i < n; ++i) src[i] = float(int(i % 9) - 3);
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        INFO((mode ? mode : "regions"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(helper_calls_source);
        auto out = device().new_buffer(std::vector<float>(width * 4, -1.0f));
        lib.kernel("helper_calls").run({device().new_buffer(src), out, device().new_buffer(std::vector<std::uint32_t>{n})}, {1, 1, 1},
                                       {width, 1, 1});
        const auto got = out.copy_out<float>();
        const float total = std::accumulate(src.begin(), src.end(), 0.0f);
        for (std::uint32_t t = 0; t < width; ++t) {
            INFO("thread " << t);
            const std::uint32_t s0 = t / 32 * 32, lane = t % 32;
            float hi = -1e30f, live = 0.0f;
            for (std::uint32_t i = s0; i < s0 + 32; ++i) {
                hi = std::max(hi, src[i % n]);
                if (i % 32 < 20) live += src[i % n];
            }
            CHECK(got[t * 4] == total);
            CHECK(got[t * 4 + 1] == hi);
            CHECK(got[t * 4 + 2] == (lane >= 20 ? 0.0f : live));
            CHECK(got[t * 4 + 3] == src[(s0 + 5) % n] * 32.0f);
        }
    }
}

namespace {

// MLX's row reduction: the operator is a local object whose member function calls the SIMD-group
// function (`Op op; total = op.simd_reduce(total);`, reading nothing of the object), once per SIMD
// group, then again over the groups' partial results after a barrier; the operator chosen by a
// helper's template parameter, the rows given by the threadgroup's position.
const char* const object_reduce_source = R"(
#include <metal_stdlib>
using namespace metal;
template <typename U> struct Sum {
    static constexpr U init() { return U(0); }
    METAL_FUNC U simd_reduce(U v) { return simd_sum(v); }
    METAL_FUNC U operator()(U a, U b) { return a + b; }
};
template <typename U> struct Max {
    static constexpr U init() { return U(-1000000); }
    METAL_FUNC U simd_reduce(U v) { return simd_max(v); }
    METAL_FUNC U operator()(U a, U b) { return a > b ? a : b; }
};
template <typename Op, typename T>
METAL_FUNC T row_reduce(device const T *row, uint n, threadgroup T *partial, uint lid, uint lsize, uint lane, uint group, uint groups) {
    Op op;
    T total = Op::init();
    for (uint i = lid; i < n; i += lsize) total = op(total, row[i]);
    total = op.simd_reduce(total);
    if (lane == 0) partial[group] = total;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    total = lid < groups ? partial[lid] : Op::init();
    total = op.simd_reduce(total);
    return total;
}
kernel void row_sum(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                    uint row [[threadgroup_position_in_grid]], uint lid [[thread_index_in_threadgroup]],
                    uint lsize [[threads_per_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                    uint group [[simdgroup_index_in_threadgroup]], uint groups [[simdgroups_per_threadgroup]]) {
    threadgroup float partial[32];
    const float total = row_reduce<Sum<float>>(in + row * n, n, partial, lid, lsize, lane, group, groups);
    if (lid == 0) out[row] = total;
}
kernel void row_max(device const int *in [[buffer(0)]], device int *out [[buffer(1)]], constant uint &n [[buffer(2)]],
                    uint row [[threadgroup_position_in_grid]], uint lid [[thread_index_in_threadgroup]],
                    uint lsize [[threads_per_threadgroup]], uint lane [[thread_index_in_simdgroup]],
                    uint group [[simdgroup_index_in_threadgroup]], uint groups [[simdgroups_per_threadgroup]]) {
    threadgroup int partial[32];
    const int total = row_reduce<Max<int>>(in + row * n, n, partial, lid, lsize, lane, group, groups);
    if (lid == 0) out[row] = total;
}
)";

}  // namespace

TEST_CASE("a row reduction through an operator object's member function (MLX's op.simd_reduce) matches the host, split and on fibers",
          "[metal][simdgroup]") {
    const std::uint32_t rows = 3, n = 1000, width = 96; // three SIMD groups per row
    std::vector<float> fin(rows * n);
    std::vector<std::int32_t> iin(rows * n);
    for (std::size_t i = 0; i < fin.size(); ++i) {
        fin[i] = float(int(i % 17) - 8);
        iin[i] = int((i * 7919) % 100003) - 50000;
    }
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        INFO((mode ? mode : "regions"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(object_reduce_source);
        auto fout = device().new_buffer(std::vector<float>(rows, -1.0f));
        auto iout = device().new_buffer(std::vector<std::int32_t>(rows, -1));
        const auto count = device().new_buffer(std::vector<std::uint32_t>{n});
        lib.kernel("row_sum").run({device().new_buffer(fin), fout, count}, {rows, 1, 1}, {width, 1, 1});
        lib.kernel("row_max").run({device().new_buffer(iin), iout, count}, {rows, 1, 1}, {width, 1, 1});
        const auto fgot = fout.copy_out<float>();
        const auto igot = iout.copy_out<std::int32_t>();
        for (std::uint32_t r = 0; r < rows; ++r) {
            INFO("row " << r);
            float sum = 0.0f;
            std::int32_t hi = -1000000;
            for (std::uint32_t i = 0; i < n; ++i) sum += fin[r * n + i], hi = std::max(hi, iin[r * n + i]);
            CHECK(fgot[r] == sum);
            CHECK(igot[r] == hi);
        }
    }
}

TEST_CASE("member calls on objects that read their object's state (split), or on a name hidden by a reference (fibers), meet their SIMD group",
          "[metal][simdgroup]") {
    const std::uint32_t n = 40; // SIMD groups of 32 and 8
    std::vector<float> in(n);
    for (std::uint32_t i = 0; i < n; ++i) in[i] = float((i * 5) % 11);
    const pymetal::library lib = device().compile(kernel_sources::member_calls);
    for (const char* name : {"reads_member", "reads_this", "hidden"}) {
        INFO(name);
        auto out = device().new_buffer(std::vector<float>(n, -1.0f));
        lib.kernel(name).dispatch_threads({device().new_buffer(in), out}, {n, 1, 1}, {n, 1, 1});
        const auto got = out.copy_out<float>();
        const std::string kernel = name;
        for (std::uint32_t t = 0; t < n; ++t) {
            INFO("thread " << t);
            float s = 0.0f, hi = -1e30f;
            for (std::uint32_t i = t / 32 * 32; i < std::min(t / 32 * 32 + 32, n); ++i) s += in[i], hi = std::max(hi, in[i]);
            CHECK(got[t] == (kernel == "reads_member" ? 3.0f * s : kernel == "reads_this" ? 1.0f + s : hi));
        }
    }
}

// A kernel template that meets only through its instantiation's argument: the body names
// `Op::simd_op` (or calls `step`), which is nobody's meeting until `k<SumOp>` (or `k<sum_step>`) binds it. The kernel must still meet its
// SIMD group (it ran each thread alone, simd_sum returning the thread's own value), also when its
// per-thread loop would otherwise make it a candidate for SIMD lanes.
const char* const template_argument_meeting_source = R"(
#include <metal_stdlib>
using namespace metal;
struct SumOp { static float simd_op(float v) { return simd_sum(v); } };
template <typename Op>
kernel void through_argument(device float *out [[buffer(0)]], uint tid [[thread_position_in_grid]]) {
    float v = float(tid);
    for (uint i = 0; i < tid % 3; ++i) v += 1.0f;
    out[tid] = Op::simd_op(v);
}
template [[host_name("through_sum")]] kernel void through_argument<SumOp>(device float *, uint);
void sum_step(device float *out, float v, uint tid) { out[tid] = simd_sum(v); }
typedef decltype(sum_step) step_t;
template <step_t step>
kernel void through_function(device float *out [[buffer(0)]], uint tid [[thread_position_in_grid]]) {
    float v = float(tid);
    for (uint i = 0; i < tid % 3; ++i) v += 1.0f;
    step(out, v, tid);
}
template [[host_name("through_step")]] kernel void through_function<sum_step>(device float *, uint);
)";

TEST_CASE("a kernel template meeting through its instantiation's type or function argument meets its SIMD group",
          "[metal][simdgroup]") {
    const std::uint32_t n = 80; // SIMD groups of 32, 32 and 16 lanes
    for (const char* mode : {(const char*)nullptr, "fibers"})
    for (const char* kernel : {"through_sum", "through_step"}) {
        INFO((mode ? mode : "regions") << " " << kernel);
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(template_argument_meeting_source);
        auto out = device().new_buffer(std::vector<float>(n, -1.0f));
        lib.kernel(kernel).dispatch_threads({out}, {n, 1, 1}, {n, 1, 1});
        const auto got = out.copy_out<float>();
        for (std::uint32_t t = 0; t < n; ++t) {
            INFO("thread " << t);
            float sum = 0.0f;
            for (std::uint32_t i = t / 32 * 32; i < std::min(t / 32 * 32 + 32, n); ++i) sum += float(i + i % 3);
            CHECK(got[t] == sum);
        }
    }
}

// Loops whose condition is a SIMD-group result (tests/kernels/simd_loop_kernels.hpp): the split tests the
// condition once per iteration with the lanes still in the loop; fibers meet at the call. Both must give
// the host reference's results, with partial threadgroups and lanes that returned or left early.
TEST_CASE("loops on a SIMD-group condition give the host reference's results split and on fibers", "[metal][simdgroup]") {
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(simd_loop_kernels::source);
        for (const char* name : simd_loop_kernels::kernel_names)
            for (const simd_loop_kernels::shape& d : simd_loop_kernels::shapes()) {
                INFO((mode ? mode : "regions") << ", " << name << ", grid " << d.grid << ", threadgroup " << d.tg << ", n " << d.n);
                const simd_loop_kernels::run_case c = simd_loop_kernels::case_for(name, d);
                std::vector<pymetal::buffer> buffers;
                for (const auto& b : c.buffers) buffers.push_back(device().new_buffer(b));
                lib.kernel(name).dispatch_threads({buffers[0], buffers[1], buffers[2], buffers[3], buffers[4]}, {d.grid, 1, 1}, {d.tg, 1, 1});
                CHECK(buffers[2].copy_out<unsigned char>() == c.want.at(2));
                CHECK(buffers[3].copy_out<unsigned char>() == c.want.at(3));
            }
    }
}

// Each thread moves its buffer pointers to its own elements before meeting (MLX's RMS norm): one
// thread's `x += ...` must not move another's, split or on fibers (tests/kernels/changed_parameter_kernels.hpp).
TEST_CASE("a kernel whose threads move their buffer pointers before meeting matches the host, split and on fibers", "[metal][simdgroup]") {
    using namespace changed_parameter_kernels;
    const std::vector<float> x = row_scale_input();
    const std::vector<double> want = row_scale_reference(x);
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        INFO((mode ? mode : "regions"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(row_scale_source);
        auto out = device().new_buffer(std::vector<float>(x.size(), -1.0f));
        lib.kernel("row_scale")
            .run({device().new_buffer(x), out, pymetal::value(row_length), pymetal::threadgroup_memory(16)}, {rows, 1, 1}, {threads, 1, 1})
            .wait();
        const auto got = out.copy_out<float>();
        for (std::size_t i = 0; i < want.size(); ++i) {
            INFO("element " << i);
            CHECK(std::fabs(got[i] - want[i]) <= 1e-4 * (1 + std::fabs(want[i])));
        }
    }
}

// Kernels written as classes (tests/kernels/class_member_kernels.hpp: MLX's sort and GEMV shapes, a
// SIMD-group reducer reached through a member alias): the split inlines their static member functions;
// both it and fibers must give the host's results.
TEST_CASE("kernels written as class templates give the host's results split and on fibers", "[metal][simdgroup][classes]") {
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        INFO((mode ? mode : "regions"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(class_member_kernels::source);
        {  // a merge sort of 3 rows of 100 (32 threads of 4 values each)
            const std::uint32_t rows = 3, n = 100;
            std::vector<float> in(rows * n);
            for (std::size_t i = 0; i < in.size(); ++i) in[i] = float(int((i * 37 + 11) % 101) - 50);
            auto out = device().new_buffer(std::vector<float>(rows * n, -99.0f));
            lib.kernel("sort_rows_float").run({device().new_buffer(in), out, device().new_buffer(std::vector<std::int32_t>{std::int32_t(n)})},
                                              {rows, 1, 1}, {32, 1, 1});
            std::vector<float> want = in;
            for (std::uint32_t r = 0; r < rows; ++r) std::sort(want.begin() + r * n, want.begin() + (r + 1) * n);
            CHECK(out.copy_out<float>() == want);
        }
        for (std::uint32_t tg : {45u, 80u}) {  // SIMD groups of 32 and 13 or 16, a partial last threadgroup
            const std::uint32_t count = 2 * tg + 17;
            INFO("group_totals, threadgroup " << tg);
            std::vector<float> in(count);
            for (std::uint32_t t = 0; t < count; ++t) in[t] = float(int(t * 5 % 11) - 5);
            auto out = device().new_buffer(std::vector<float>(count, -1.0f));
            lib.kernel("group_totals").dispatch_threads({device().new_buffer(in), out}, {count, 1, 1}, {tg, 1, 1});
            const auto got = out.copy_out<float>();
            for (std::uint32_t t = 0; t < count; ++t) {
                const std::uint32_t g0 = t / tg * tg, g1 = std::min(g0 + tg, count);
                float total = 0.0f;
                for (std::uint32_t u = g0; u < g1; ++u) total += (u - g0) % 32 % 3 == 1 ? in[u] * 2.0f : in[u] + 1.0f;
                INFO("thread " << t);
                CHECK(got[t] == total);
            }
        }
        {  // 13 rows of 300, 4 rows a threadgroup, one threadgroup past the rows
            const int rows = 13, cols = 300;
            const class_member_kernels::mat_vec_case c = class_member_kernels::mat_vec_inputs(rows, cols);
            auto out = device().new_buffer(std::vector<float>(rows, -99.0f));
            lib.kernel("mat_vec_4x4").run({device().new_buffer(c.mat), device().new_buffer(c.vec), out,
                                           device().new_buffer(std::vector<std::int32_t>{rows}),
                                           device().new_buffer(std::vector<std::int32_t>{cols})},
                                          {5, 1, 1}, {64, 1, 1});
            CHECK(out.copy_out<float>() == c.want);
        }
    }
}

// Barriers and SIMD-group calls in arms chosen alike for the whole group (tests/kernels/uniform_choice_kernels.hpp):
// `if constexpr` (the split takes the arm once for the group, each template instantiation its own) and a
// switch on a call's value (evaluated once per thread); fibers meet at the calls.
// Both must give the host reference's results, with partial threadgroups and lanes that returned early.
TEST_CASE("SIMD-group calls and barriers under if constexpr and a switch on a call give the host reference's results split and on fibers", "[metal][simdgroup]") {
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(uniform_choice_kernels::source);
        for (const char* name : uniform_choice_kernels::kernel_names)
            for (const uniform_choice_kernels::shape& d : uniform_choice_kernels::shapes()) {
                INFO((mode ? mode : "regions") << ", " << name << ", grid " << d.grid << ", threadgroup " << d.tg << ", n " << d.n);
                const uniform_choice_kernels::run_case c = uniform_choice_kernels::case_for(name, d);
                std::vector<pymetal::buffer> buffers;
                for (const auto& b : c.buffers) buffers.push_back(device().new_buffer(b));
                lib.kernel(name).dispatch_threads({buffers[0], buffers[1], buffers[2], buffers[3], buffers[4]}, {d.grid, 1, 1}, {d.tg, 1, 1});
                CHECK(buffers[2].copy_out<unsigned char>() == c.want.at(2));
                CHECK(buffers[3].copy_out<unsigned char>() == c.want.at(3));
                if (c.want.count(1)) CHECK(buffers[1].copy_out<unsigned char>() == c.want.at(1));
            }
    }
}

// Candle's and MLX's shapes (tests/kernels/simd_shape_kernels.hpp): a switch whose value is a call or
// increments a variable (evaluated once, each label meeting only its own lanes), loop hints written as
// `_Pragma` between barriers, a kernel that meets nobody with a parameter named `simd_lane_id`, and a
// loop mixing simdgroup_matrix products with the lanes' statements on their elements. Split and on
// fibers, each must give the host reference's results, with partial threadgroups, SIMD groups of fewer
// than 32 lanes and lanes that returned early.
TEST_CASE("candle's and MLX's switch, loop-hint, parameter-name and matrix-loop shapes give the host reference's results split and on fibers", "[metal][simdgroup]") {
    for (const char* mode : {(const char*)nullptr, "fibers"}) {
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(simd_shape_kernels::source);
        for (const char* name : simd_shape_kernels::kernel_names)
            for (const simd_shape_kernels::shape& d : simd_shape_kernels::shapes_for(name)) {
                INFO((mode ? mode : "regions") << ", " << name << ", grid " << d.grid << ", threadgroup " << d.tg << ", n " << d.n);
                const simd_shape_kernels::run_case c = simd_shape_kernels::case_for(name, d);
                std::vector<pymetal::buffer> buffers;
                for (const auto& b : c.buffers) buffers.push_back(device().new_buffer(b));
                lib.kernel(name).dispatch_threads({buffers[0], buffers[1], buffers[2], buffers[3], buffers[4]}, {d.grid, 1, 1}, {d.tg, 1, 1});
                CHECK(buffers[2].copy_out<unsigned char>() == c.want.at(2));
                CHECK(buffers[3].copy_out<unsigned char>() == c.want.at(3));
                if (c.want.count(1)) CHECK(buffers[1].copy_out<unsigned char>() == c.want.at(1));
            }
    }
}
