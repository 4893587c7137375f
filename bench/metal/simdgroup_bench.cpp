// SIMD-group functions against the threadgroup-memory way of writing the same kernel, side by side in
// one run: a row sum with simd_sum plus one threadgroup step vs a 256-wide tree with barriers, and an
// 8x8 simdgroup_matrix GEMM vs a 16x16 threadgroup-tiled one. Every result is checked on the host.
#include <pymetal/metal.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

const char* const source = R"(
#include <metal_stdlib>
using namespace metal;

kernel void row_sum_simd(device const float *x [[buffer(0)]], device float *sums [[buffer(1)]], constant uint &n [[buffer(2)]],
                         uint row [[threadgroup_position_in_grid]], uint t [[thread_position_in_threadgroup]],
                         uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
    threadgroup float partial[8];
    float s = 0.0f;
    for (uint k = t; k < n; k += 256) s += x[row * n + k];
    s = simd_sum(s);
    if (lane == 0) partial[sg] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (t == 0) {
        float total = 0.0f;
        for (uint g = 0; g < 8; ++g) total += partial[g];
        sums[row] = total;
    }
}

// The same with the reduction in a helper (llama.cpp's and MLX's shape), which the split inlines.
void block_sum(float s, threadgroup float *partial, device float *out, uint t, uint sg, uint lane) {
    s = simd_sum(s);
    if (lane == 0) partial[sg] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (t == 0) {
        float total = 0.0f;
        for (uint g = 0; g < 8; ++g) total += partial[g];
        *out = total;
    }
}
kernel void row_sum_helper(device const float *x [[buffer(0)]], device float *sums [[buffer(1)]], constant uint &n [[buffer(2)]],
                           uint row [[threadgroup_position_in_grid]], uint t [[thread_position_in_threadgroup]],
                           uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
    threadgroup float partial[8];
    float s = 0.0f;
    for (uint k = t; k < n; k += 256) s += x[row * n + k];
    block_sum(s, partial, sums + row, t, sg, lane);
}

// The same with the reduction in a function template (ggml's `helper<NR0>(...)` shape): inlined too,
// its template arguments one explicit and one deduced.
template <uint NG, typename T> void block_sum_t(T s, threadgroup T *partial, device T *out, uint t, uint sg, uint lane) {
    s = simd_sum(s);
    if (lane == 0) partial[sg] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (t == 0) {
        T total = 0;
        for (uint g = 0; g < NG; ++g) total += partial[g];
        *out = total;
    }
}
kernel void row_sum_template(device const float *x [[buffer(0)]], device float *sums [[buffer(1)]], constant uint &n [[buffer(2)]],
                             uint row [[threadgroup_position_in_grid]], uint t [[thread_position_in_threadgroup]],
                             uint sg [[simdgroup_index_in_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
    threadgroup float partial[8];
    float s = 0.0f;
    for (uint k = t; k < n; k += 256) s += x[row * n + k];
    block_sum_t<8>(s, partial, sums + row, t, sg, lane);
}

kernel void row_sum_tree(device const float *x [[buffer(0)]], device float *sums [[buffer(1)]], constant uint &n [[buffer(2)]],
                         uint row [[threadgroup_position_in_grid]], uint t [[thread_position_in_threadgroup]]) {
    threadgroup float scratch[256];
    float s = 0.0f;
    for (uint k = t; k < n; k += 256) s += x[row * n + k];
    scratch[t] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint stride = 128; stride > 0; stride >>= 1) {
        if (t < stride) scratch[t] += scratch[t + stride];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (t == 0) sums[row] = scratch[0];
}

// One SIMD group per 8x8 tile of C.
kernel void gemm_simdgroup(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *c [[buffer(2)]],
                           constant uint &n [[buffer(3)]], uint2 tile [[threadgroup_position_in_grid]]) {
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    for (uint k = 0; k < n; k += 8) {
        simdgroup_float8x8 ma, mb;
        simdgroup_load(ma, a, n, ulong2(k, tile.y * 8));
        simdgroup_load(mb, b, n, ulong2(tile.x * 8, k));
        simdgroup_multiply_accumulate(acc, ma, mb, acc);
    }
    simdgroup_store(acc, c, n, ulong2(tile.x * 8, tile.y * 8));
}

// The same, each lane filling its two elements of A and B through thread_elements() and reading its
// two of C back (MLX's steel fragments), in Apple's lane layout.
kernel void gemm_elements(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *c [[buffer(2)]],
                          constant uint &n [[buffer(3)]], uint2 tile [[threadgroup_position_in_grid]],
                          ushort lane [[thread_index_in_simdgroup]]) {
    const uint q = lane / 4;
    const uint row = tile.y * 8 + (q & 4) + (lane / 2) % 4;
    const uint col = (q & 2) * 2 + (lane % 2) * 2;
    simdgroup_float8x8 acc = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    simdgroup_float8x8 ma;
    simdgroup_float8x8 mb;
    for (uint k = 0; k < n; k += 8) {
        ma.thread_elements() = *(device const float2 *)(a + row * n + k + col);
        mb.thread_elements() = *(device const float2 *)(b + (k + row % 8) * n + tile.x * 8 + col);
        simdgroup_multiply_accumulate(acc, ma, mb, acc);
    }
    *(device float2 *)(c + row * n + tile.x * 8 + col) = acc.thread_elements();
}

kernel void gemm_tiled(device const float *a [[buffer(0)]], device const float *b [[buffer(1)]], device float *c [[buffer(2)]],
                       constant uint &n [[buffer(3)]], uint2 g [[thread_position_in_grid]], uint2 l [[thread_position_in_threadgroup]]) {
    threadgroup float ta[16][16];
    threadgroup float tb[16][16];
    float s = 0.0f;
    for (uint k = 0; k < n; k += 16) {
        ta[l.y][l.x] = a[g.y * n + k + l.x];
        tb[l.y][l.x] = b[(k + l.y) * n + g.x];
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint i = 0; i < 16; ++i) s += ta[l.y][i] * tb[i][l.x];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    c[g.y * n + g.x] = s;
}
)";

template <class F> double seconds_of(F f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The best time of each of two versions, their runs alternating after one untimed run of each: each
// run takes a few milliseconds, and whichever went first would otherwise pay for the warm-up (and
// take the machine's load of that moment).
template <class A, class B> void best_seconds(int runs, A a, B b, double& best_a, double& best_b) {
    a();
    b();
    best_a = best_b = 1e30;
    for (int r = 0; r < runs; ++r) {
        best_a = std::min(best_a, seconds_of(a));
        best_b = std::min(best_b, seconds_of(b));
    }
}

}  // namespace

int main() {
    auto device = pymetal::device::system_default();
    auto lib = device.compile(source);
    bool ok = true;

    // Row sums: 2048 rows of 1024 floats, 256 threads per row.
    const std::uint32_t rows = 2048, n = 1024;
    std::vector<float> x(std::size_t(rows) * n);
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = float(int(k % 17) - 8) * 0.125f;
    auto xb = device.new_buffer(x);
    auto sums = device.new_buffer<float>(rows);
    auto sums_tree = device.new_buffer<float>(rows);
    double seconds[2];
    auto sums_helper = device.new_buffer<float>(rows);
    double helper_seconds[2];
    auto simd = lib.kernel("row_sum_simd"), tree = lib.kernel("row_sum_tree"), helper = lib.kernel("row_sum_helper");
    auto sums_template = device.new_buffer<float>(rows);
    double template_seconds[2];
    auto templated = lib.kernel("row_sum_template");
    best_seconds(
        20, [&] { simd.run({xb, sums, pymetal::value(n)}, {rows, 1, 1}, {256, 1, 1}); },
        [&] { tree.run({xb, sums_tree, pymetal::value(n)}, {rows, 1, 1}, {256, 1, 1}); }, seconds[0], seconds[1]);
    best_seconds(
        20, [&] { helper.run({xb, sums_helper, pymetal::value(n)}, {rows, 1, 1}, {256, 1, 1}); },
        [&] { simd.run({xb, sums, pymetal::value(n)}, {rows, 1, 1}, {256, 1, 1}); }, helper_seconds[0], helper_seconds[1]);
    best_seconds(
        20, [&] { templated.run({xb, sums_template, pymetal::value(n)}, {rows, 1, 1}, {256, 1, 1}); },
        [&] { simd.run({xb, sums, pymetal::value(n)}, {rows, 1, 1}, {256, 1, 1}); }, template_seconds[0], template_seconds[1]);
    for (auto* out : {&sums, &sums_tree, &sums_helper, &sums_template}) {
        const auto got = out->copy_out<float>();
        for (std::uint32_t r = 0; r < rows; ++r) {
            float want = 0;
            for (std::uint32_t c = 0; c < n; ++c) want += x[std::size_t(r) * n + c];
            if (std::fabs(got[r] - want) > 1e-3f * std::max(1.0f, std::fabs(want))) ok = false;
        }
    }
    const double bytes = double(x.size()) * sizeof(float);
    std::printf("row sum, %u x %u floats, 256 threads per row\n", rows, n);
    std::printf("  simd_sum + threadgroup step   %8.2f GB/s\n", bytes / seconds[0] / 1e9);
    std::printf("  threadgroup tree (barriers)   %8.2f GB/s\n", bytes / seconds[1] / 1e9);
    std::printf("  simd vs tree: %.2fx\n", seconds[1] / seconds[0]);
    std::printf("  simd_sum in a helper          %8.2f GB/s  (helper vs in the kernel: %.2fx)\n", bytes / helper_seconds[0] / 1e9,
                helper_seconds[1] / helper_seconds[0]);
    std::printf("  simd_sum in a template helper %8.2f GB/s  (template vs in the kernel: %.2fx)\n", bytes / template_seconds[0] / 1e9,
                template_seconds[1] / template_seconds[0]);

    // GEMM, 256 x 256.
    const std::uint32_t m = 256;
    std::vector<float> a(m * m), b(m * m);
    for (std::size_t k = 0; k < a.size(); ++k) a[k] = float(int(k % 7) - 3), b[k] = float(int(k % 5) - 2) * 0.5f;
    auto ab = device.new_buffer(a), bb = device.new_buffer(b);
    auto cb = device.new_buffer<float>(m * m), cb_tiled = device.new_buffer<float>(m * m);
    double gemm[2];
    auto gemm_simdgroup = lib.kernel("gemm_simdgroup"), gemm_tiled = lib.kernel("gemm_tiled");
    best_seconds(
        10, [&] { gemm_simdgroup.run({ab, bb, cb, pymetal::value(m)}, {m / 8, m / 8, 1}, {32, 1, 1}); },
        [&] { gemm_tiled.run({ab, bb, cb_tiled, pymetal::value(m)}, {m / 16, m / 16, 1}, {16, 16, 1}); }, gemm[0], gemm[1]);
    auto check_gemm = [&](const pymetal::buffer& out) {
        const auto got = out.copy_out<float>();
        for (std::uint32_t i = 0; i < m; i += 37)
            for (std::uint32_t j = 0; j < m; j += 13) {
                float want = 0;
                for (std::uint32_t k = 0; k < m; ++k) want += a[i * m + k] * b[k * m + j];
                if (got[i * m + j] != want) ok = false;
            }
    };
    auto cb_elements = device.new_buffer<float>(m * m);
    double elements[2];
    auto gemm_elements = lib.kernel("gemm_elements");
    best_seconds(
        10, [&] { gemm_elements.run({ab, bb, cb_elements, pymetal::value(m)}, {m / 8, m / 8, 1}, {32, 1, 1}); },
        [&] { gemm_simdgroup.run({ab, bb, cb, pymetal::value(m)}, {m / 8, m / 8, 1}, {32, 1, 1}); }, elements[0], elements[1]);
    check_gemm(cb);
    check_gemm(cb_tiled);
    check_gemm(cb_elements);
    const double flops = 2.0 * m * m * m;
    std::printf("GEMM %u x %u\n", m, m);
    std::printf("  simdgroup_matrix 8x8 tiles    %8.2f GFLOP/s\n", flops / gemm[0] / 1e9);
    std::printf("  16x16 threadgroup tiles       %8.2f GFLOP/s\n", flops / gemm[1] / 1e9);
    std::printf("  simdgroup_matrix vs tiles: %.2fx\n", gemm[1] / gemm[0]);
    std::printf("  thread_elements() fragments   %8.2f GFLOP/s  (fragments vs simdgroup_load: %.2fx)\n", flops / elements[0] / 1e9,
                elements[1] / elements[0]);
    // No PoCL sub_group_reduce_add version beside these: Debian 12's PoCL (3.1, OpenCL C 1.2) lists no
    // cl_khr_subgroups for the CPU device, CL_DEVICE_MAX_NUM_SUB_GROUPS is 0, and a kernel calling
    // sub_group_reduce_add fails to build ("use of undeclared identifier") with -cl-std=CL2.0 or CL3.0 too.
    std::printf("results %s\n", ok ? "checked: correct" : "WRONG");
    return ok ? 0 : 1;
}
