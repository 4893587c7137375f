// Kernels shaped to exercise softmetal's vectorized thread loops (issue 13): the thread loop marked
// parallel, vectorized as an outer loop around the kernel's own loops, vector math calls. Each one has a
// feature that vectorization must keep right: partial edge threadgroups, divergent branches, early
// returns, per-thread trip counts, `break`, atomics, per-thread memory carried across iterations.
#include "kernel_corpus.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace corpus {

std::vector<kernel_case> vectorization_cases() {
    std::vector<kernel_case> cases;
    // An inner loop with a uniform trip count (the VPlan outer-loop path), 2-D, with partial edge
    // groups. Small integers keep float sums exact.
    {
        const uint32_t n = 37, m = 29, k = 19;
        std::vector<float> a(m * k), b(k * n);
        for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i * 7 % 11) - 5);
        for (size_t i = 0; i < b.size(); ++i) b[i] = float(int(i * 5 % 13) - 6);
        kernel_case c;
        c.name = "vectorized_outer_loop_matmul_partial_groups";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void matmul(const device float* a [[buffer(0)]], const device float* b [[buffer(1)]], device float* out [[buffer(2)]],
                   constant uint& n [[buffer(3)]], constant uint& k [[buffer(4)]], uint2 gid [[thread_position_in_grid]]) {
    float acc = 0.0f;
    for (uint j = 0; j < k; ++j) acc += a[gid.y * k + j] * b[j * n + gid.x];
    out[gid.y * n + gid.x] = acc;
}
)";
        c.function = "matmul";
        c.bindings = {buffer_of(0, a), buffer_of(1, b), zeros<float>(2, n * m), bytes_of(3, n), bytes_of(4, k)};
        c.grid = s3(n, m);
        c.threadgroup = s3(16, 4);
        c.check = [=](const results &r) {
            std::vector<float> want(n * m);
            for (uint32_t y = 0; y < m; ++y)
                for (uint32_t x = 0; x < n; ++x) {
                    float acc = 0;
                    for (uint32_t j = 0; j < k; ++j) acc += a[y * k + j] * b[j * n + x];
                    want[y * n + x] = acc;
                }
            return compare_exact(r.get<float>(2), want);
        };
        cases.push_back(c);
    }
    // A per-thread trip count (Mandelbrot's escape loop shape) and a divergent `break`.
    {
        const uint32_t n = 300;
        kernel_case c;
        c.name = "vectorized_thread_loop_per_thread_trip_count_and_break";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void collatz(device uint* steps [[buffer(0)]], device uint* capped [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    uint x = i + 1, s = 0;
    while (x != 1) { x = (x & 1) ? 3 * x + 1 : x / 2; ++s; }
    steps[i] = s;
    uint t = 0;
    for (uint j = 0; j < 64; ++j) {
        if (j * j > i) break;
        t += j;
    }
    capped[i] = t;
}
)";
        c.function = "collatz";
        c.bindings = {zeros<uint32_t>(0, n), zeros<uint32_t>(1, n)};
        c.grid = s3(n);
        c.threadgroup = s3(64);
        c.check = [=](const results &r) {
            std::vector<uint32_t> steps(n), capped(n);
            for (uint32_t i = 0; i < n; ++i) {
                uint32_t x = i + 1, s = 0;
                while (x != 1) x = (x & 1) ? 3 * x + 1 : x / 2, ++s;
                steps[i] = s;
                uint32_t t = 0;
                for (uint32_t j = 0; j < 64; ++j) {
                    if (j * j > i) break;
                    t += j;
                }
                capped[i] = t;
            }
            std::string e = compare_exact(r.get<uint32_t>(0), steps);
            return e.empty() ? compare_exact(r.get<uint32_t>(1), capped) : e;
        };
        cases.push_back(c);
    }
    // Early returns, a divergent branch and device atomics in one vectorizable thread loop.
    {
        const uint32_t n = 1000;
        kernel_case c;
        c.name = "vectorized_thread_loop_early_return_and_atomics";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void sieve(device float* out [[buffer(0)]], device atomic_uint* kept [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    if (i % 3 == 0) return;
    float v = float(i);
    if (i % 2 == 0) v = -v; else v = v * 0.5f;
    out[i] = v;
    atomic_fetch_add_explicit(kept, 1u, memory_order_relaxed);
    atomic_fetch_max_explicit(kept + 1, i, memory_order_relaxed);
}
)";
        c.function = "sieve";
        std::vector<float> init(n, 7.0f);
        c.bindings = {buffer_of(0, init), zeros<uint32_t>(1, 2)};
        c.grid = s3(n);
        c.threadgroup = s3(128);
        c.check = [=](const results &r) {
            std::vector<float> want(n);
            uint32_t kept = 0, max = 0;
            for (uint32_t i = 0; i < n; ++i) {
                if (i % 3 == 0) {
                    want[i] = 7.0f;
                    continue;
                }
                want[i] = i % 2 == 0 ? -float(i) : float(i) * 0.5f;
                ++kept;
                max = i;
            }
            std::string e = compare_exact(r.get<float>(0), want);
            return e.empty() ? compare_exact(r.get<uint32_t>(1), {kept, max}) : e;
        };
        cases.push_back(c);
    }
    // A thread's own element read and written on every iteration of its inner loop: a dependence
    // through memory within one thread, which the outer-loop vectorizer must keep.
    {
        const uint32_t n = 200;
        kernel_case c;
        c.name = "vectorized_outer_loop_per_thread_memory_recurrence";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void recur(device uint* data [[buffer(0)]], constant uint& rounds [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    for (uint r = 0; r < rounds; ++r) data[i] = data[i] * 3u + r;
}
)";
        c.function = "recur";
        std::vector<uint32_t> init(n);
        for (uint32_t i = 0; i < n; ++i) init[i] = i;
        const uint32_t rounds = 9;
        c.bindings = {buffer_of(0, init), bytes_of(1, rounds)};
        c.grid = s3(n);
        c.threadgroup = s3(48);
        c.check = [=](const results &r) {
            std::vector<uint32_t> want = init;
            for (auto &v : want)
                for (uint32_t k = 0; k < rounds; ++k) v = v * 3u + k;
            return compare_exact(r.get<uint32_t>(0), want);
        };
        cases.push_back(c);
    }
    // Math functions in a vectorized thread loop (libmvec's vector variants under fast math).
    {
        const uint32_t n = 777;
        kernel_case c;
        c.name = "vectorized_thread_loop_vector_math";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void math(const device float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    const float v = x[i];
    out[4 * i + 0] = exp(v);
    out[4 * i + 1] = sin(v);
    out[4 * i + 2] = cos(v) + log(v + 4.0f);
    out[4 * i + 3] = pow(v + 4.0f, 1.5f);
}
)";
        c.function = "math";
        std::vector<float> x(n);
        for (uint32_t i = 0; i < n; ++i) x[i] = -3.0f + 6.0f * float(i) / float(n);
        c.bindings = {buffer_of(0, x), zeros<float>(1, 4 * n)};
        c.grid = s3(n);
        c.threadgroup = s3(64);
        c.check = [=](const results &r) {
            std::vector<float> got = r.get<float>(1);
            for (uint32_t i = 0; i < n; ++i) {
                const double v = x[i];
                const double want[4] = {std::exp(v), std::sin(v), std::cos(v) + std::log(v + 4.0), std::pow(v + 4.0, 1.5)};
                for (int j = 0; j < 4; ++j)
                    if (std::fabs(got[4 * i + j] - want[j]) > 4e-6 * std::fmax(1.0, std::fabs(want[j]))) {
                        char buf[160];
                        std::snprintf(buf, sizeof buf, "x=%g function %d: got %.9g, want %.9g", v, j, double(got[4 * i + j]),
                                      want[j]);
                        return std::string(buf);
                    }
            }
            return std::string();
        };
        cases.push_back(c);
    }
    // A kernel split at barriers whose regions have inner loops (outer-loop vectorization of a region),
    // with a partial last threadgroup.
    {
        const uint32_t n = 200, cols = 13;
        std::vector<float> in(n * cols);
        for (size_t i = 0; i < in.size(); ++i) in[i] = float(int(i % 17) - 8);
        kernel_case c;
        c.name = "vectorized_regions_with_inner_loops_partial_group";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void rows(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& cols [[buffer(2)]],
                 constant uint& n [[buffer(3)]], uint i [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]],
                 uint size [[threads_per_threadgroup]]) {
    threadgroup float sums[64];
    float s = 0.0f;
    for (uint j = 0; j < cols; ++j) s += in[i * cols + j];
    sums[lid] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    float neighbour = sums[(lid + 1) % size];
    for (uint j = 0; j < cols; ++j) out[i * cols + j] = in[i * cols + j] * 2.0f + neighbour;
}
)";
        c.function = "rows";
        c.bindings = {buffer_of(0, in), zeros<float>(1, n * cols), bytes_of(2, cols), bytes_of(3, n)};
        c.grid = s3(n);
        c.threadgroup = s3(64);
        c.expects_barriers = true;
        c.check = [=](const results &r) {
            std::vector<float> want(n * cols);
            for (uint32_t g = 0; g < n; g += 64) {
                const uint32_t size = std::min<uint32_t>(64, n - g);
                for (uint32_t l = 0; l < size; ++l) {
                    const uint32_t other = g + (l + 1) % size;
                    float s = 0;
                    for (uint32_t j = 0; j < cols; ++j) s += in[other * cols + j];
                    for (uint32_t j = 0; j < cols; ++j) want[(g + l) * cols + j] = in[(g + l) * cols + j] * 2.0f + s;
                }
            }
            return compare_exact(r.get<float>(1), want);
        };
        cases.push_back(c);
    }
    // run_group's copy for rows SM_GROUP_ROW (32) wide (kernel_entry.h) with every position attribute
    // that depends on where a thread is in its group, in 3-D: 32x3x2 groups over a 75x7x3 grid (whole
    // groups, which take the copy, and partial ones in each dimension, which do not). The stencil in
    // such rows: codegen_corpus.cpp.
    {
        const uint32_t w = 75, h = 7, d = 3, gw = 32, gh = 3, gd = 2;
        const uint32_t n = w * h * d;
        kernel_case c;
        c.name = "constant_width_rows_position_attributes_3d";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void where(device uint4* a [[buffer(0)]], device uint4* b [[buffer(1)]], constant uint3& grid [[buffer(2)]],
                  uint3 gid [[thread_position_in_grid]], uint3 lid [[thread_position_in_threadgroup]],
                  uint3 group [[threadgroup_position_in_grid]], uint3 size [[threads_per_threadgroup]],
                  uint index [[thread_index_in_threadgroup]]) {
    const uint i = (gid.z * grid.y + gid.y) * grid.x + gid.x;
    a[i] = uint4(lid, index);
    b[i] = uint4(group.x * 1000000 + group.y * 1000 + group.z, size);
}
)";
        c.function = "where";
        const std::array<uint32_t, 4> grid = {w, h, d, 0};  // a uint3 takes 16 bytes
        c.bindings = {zeros<uint32_t>(0, n * 4), zeros<uint32_t>(1, n * 4), bytes_of(2, grid)};
        c.grid = s3(w, h, d);
        c.threadgroup = s3(gw, gh, gd);
        c.check = [=](const results &r) {
            std::vector<uint32_t> want_a(n * 4), want_b(n * 4);
            for (uint32_t z = 0; z < d; ++z)
                for (uint32_t y = 0; y < h; ++y)
                    for (uint32_t x = 0; x < w; ++x) {
                        const uint32_t i = (z * h + y) * w + x;
                        const uint32_t sx = std::min(gw, w - x / gw * gw), sy = std::min(gh, h - y / gh * gh),
                                       sz = std::min(gd, d - z / gd * gd);
                        const uint32_t lx = x % gw, ly = y % gh, lz = z % gd;
                        const uint32_t a[4] = {lx, ly, lz, (lz * sy + ly) * sx + lx};
                        const uint32_t b[4] = {x / gw * 1000000 + y / gh * 1000 + z / gd, sx, sy, sz};
                        std::copy(a, a + 4, want_a.begin() + i * 4);
                        std::copy(b, b + 4, want_b.begin() + i * 4);
                    }
            const std::string first = compare_exact(r.get<uint32_t>(0), want_a);
            return first.empty() ? compare_exact(r.get<uint32_t>(1), want_b) : "thread positions: " + first;
        };
        cases.push_back(c);
    }
    return cases;
}

} // namespace corpus
