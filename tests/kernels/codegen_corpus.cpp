// Kernels for softmetal's code generation of thread loops (issue 13, perf-codegen): `constant T &`
// arguments read once per threadgroup into a private copy (kernel_entry.h), 32-bit index arithmetic that
// must keep Metal's wrap-around when the thread loop is vectorized, and the prelude's own fast-math
// exp/exp2/sin/cos (target_cpu.h) against libm's where precision is asked for. Each is checked against
// a host reference.
#include "kernel_corpus.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace corpus {
namespace {

std::string mismatch(size_t i, double got, double want, const char *what = "") {
    char buf[200];
    std::snprintf(buf, sizeof buf, "element %zu%s: got %.9g, want %.9g", i, what, got, want);
    return buf;
}

// Error of `got` in units in the last place of the float nearest `want`.
double ulps(float got, double want) {
    const float w = float(want);
    if (w == 0.0f) return got == 0.0f ? 0.0 : std::fabs(got) / std::numeric_limits<float>::denorm_min();
    const double ulp = std::ldexp(1.0, std::ilogb(w) - 23);
    return std::fabs(double(got) - want) / ulp;
}

// The fast-math functions over wide ranges: exp from underflow to overflow, sin/cos far from 0.
std::vector<float> math_inputs() {
    std::vector<float> x;
    for (int i = 0; i <= 2000; ++i) x.push_back(-110.0f + 205.0f * float(i) / 2000.0f); // exp: 0 ... +inf
    for (int i = 0; i <= 2000; ++i) x.push_back(-30000.0f + 60000.0f * float(i) / 2000.0f);
    for (int k = 1; k <= 64; ++k) x.push_back(float(k * 3.14159265358979323846 / 2)); // near multiples of pi/2
    x.push_back(0.0f);
    x.push_back(1e-20f);
    for (float far : {1e8f, -3.5e9f, 1e12f, -3e30f}) x.push_back(far); // sin/cos: only within [-1, 1]
    while (x.size() % 64 != 0) x.push_back(0.5f);
    return x;
}

const char *const math_source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void math(const device float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    const float v = x[i];
    out[7 * i + 0] = exp(v);
    out[7 * i + 1] = exp2(v * 1.4f);
    out[7 * i + 2] = sin(v);
    out[7 * i + 3] = cos(v);
    out[7 * i + 4] = fast::exp(v * 0.5f);
    out[7 * i + 5] = precise::sin(v);
    out[7 * i + 6] = precise::exp(v * 0.5f);
}
)";

// Floats spread over [0, top] by bit pattern (so every binade gets its share: 1e-30 as densely as
// 1e6), both signs, then [-1, 1] densely (sinpi/cospi), then the special values: zeros, denormals, the
// smallest normal, far arguments, the largest float, infinities and NaN.
std::vector<float> wide_trig_inputs(float top) {
    std::vector<float> x;
    uint32_t last;
    std::memcpy(&last, &top, 4);
    for (uint32_t bits = 0; bits <= last; bits += 2039) {
        float v;
        std::memcpy(&v, &bits, 4);
        x.push_back(v);
        x.push_back(-v);
    }
    for (int i = -4000; i <= 4000; ++i) x.push_back(float(i) / 4000.0f);
    const float inf = std::numeric_limits<float>::infinity();
    for (float v : {0.0f, -0.0f, 1e-45f, -1e-45f, 1e-40f, -3e-39f, 1.17549435e-38f, 3.14159274f, -3.14159274f, 1.57079637f,
                    1e8f, -3.5e9f, 1e20f, 3.40282347e38f, -3.40282347e38f, inf, -inf, std::numeric_limits<float>::quiet_NaN()})
        x.push_back(v);
    while (x.size() % 256 != 0) x.push_back(0.25f);
    return x;
}

const char *const trig_source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void trig(const device float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    const float v = x[i];
    out[8 * i + 0] = sin(v);
    out[8 * i + 1] = cos(v);
    out[8 * i + 2] = fast::sin(v);
    out[8 * i + 3] = fast::cos(v);
    out[8 * i + 4] = sinpi(v);
    out[8 * i + 5] = cospi(v);
    out[8 * i + 6] = precise::sin(v);
    out[8 * i + 7] = precise::cos(v);
}
)";

} // namespace

std::vector<kernel_case> codegen_cases() {
    std::vector<kernel_case> cases;
    // The benchmark's 5-point stencil: `constant uint &` sizes read in a condition only some threads
    // take, 2-D, grid edges, partial edge threadgroups. Multiples of 1/8 keep every sum exact. In 16x8
    // groups, and in 32x4 ones, whose whole groups take run_group's copy for rows SM_GROUP_ROW wide
    // (kernel_entry.h) and whose partial ones (6 threads wide, 1 high) the loop of any width.
    auto stencil = [&](const std::string &name, uint32_t w, uint32_t h, size3 group) {
        std::vector<float> in(w * h);
        for (size_t i = 0; i < in.size(); ++i) in[i] = float(int(i * 7 % 23) - 11) * 0.125f;
        kernel_case c;
        c.name = name;
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void stencil(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                    constant uint& h [[buffer(3)]], uint2 gid [[thread_position_in_grid]]) {
    const uint x = gid.x, y = gid.y, i = y * w + x;
    if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
        out[i] = in[i];
        return;
    }
    out[i] = 0.5f * in[i] + 0.125f * (in[i - 1] + in[i + 1] + in[i - w] + in[i + w]);
}
)";
        c.function = "stencil";
        c.bindings = {buffer_of(0, in), zeros<float>(1, w * h), bytes_of(2, w), bytes_of(3, h)};
        c.grid = s3(w, h);
        c.threadgroup = group;
        c.check = [=](const results &r) {
            std::vector<float> want(w * h);
            for (uint32_t y = 0; y < h; ++y)
                for (uint32_t x = 0; x < w; ++x) {
                    const uint32_t i = y * w + x;
                    want[i] = (x == 0 || y == 0 || x == w - 1 || y == h - 1)
                                  ? in[i]
                                  : 0.5f * in[i] + 0.125f * (in[i - 1] + in[i + 1] + in[i - w] + in[i + w]);
                }
            return compare_exact(r.get<float>(1), want);
        };
        cases.push_back(c);
    };
    stencil("codegen_stencil_constant_sizes_grid_edges_partial_groups", 37, 23, s3(16, 8));
    stencil("codegen_stencil_rows_32_wide_grid_edges_partial_groups", 70, 21, s3(32, 4));
    // `y * w` wraps in 32 bits (w = 2^32 - 64): Metal's uint arithmetic gives base - 64 y + x, inside
    // the buffer. Index arithmetic widened to 64 bits without a check would read far past it.
    {
        const uint32_t n = 40, rows = 13, w = 0xFFFFFFC0u, base = 64 * rows;
        std::vector<float> in(base + 64);
        for (size_t i = 0; i < in.size(); ++i) in[i] = float(int(i % 97) - 40);
        kernel_case c;
        c.name = "codegen_index_wrapping_in_32_bits_keeps_metal_result";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void wrapped(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                    constant uint& base [[buffer(3)]], constant uint& n [[buffer(4)]], uint2 gid [[thread_position_in_grid]]) {
    const uint i = base + gid.y * w + gid.x;
    out[gid.y * n + gid.x] = in[i] + 2.0f * in[i + 1];
}
)";
        c.function = "wrapped";
        c.bindings = {buffer_of(0, in), zeros<float>(1, n * rows), bytes_of(2, w), bytes_of(3, base), bytes_of(4, n)};
        c.grid = s3(n, rows);
        c.threadgroup = s3(32, 2);
        c.check = [=](const results &r) {
            std::vector<float> want(n * rows);
            for (uint32_t y = 0; y < rows; ++y)
                for (uint32_t x = 0; x < n; ++x) {
                    const uint32_t i = base + y * w + x; // uint32_t: wraps as in Metal
                    want[y * n + x] = in[i] + 2.0f * in[i + 1];
                }
            return compare_exact(r.get<float>(1), want);
        };
        cases.push_back(c);
    }
    // A small constant struct (copied once per group), a constant table bigger than the copy limit
    // (read in place), a constant float4, and a constant read only by the threads of one branch.
    {
        struct params {
            float scale;
            uint32_t pick;
            float offset;
            uint32_t limit;
        };
        const params p{0.5f, 3, 2.0f, 50};
        std::vector<float> table(100);
        for (size_t i = 0; i < table.size(); ++i) table[i] = float(i) * 0.25f;
        const float shift[4] = {1.0f, -2.0f, 4.0f, -8.0f};
        const uint32_t n = 100;
        kernel_case c;
        c.name = "codegen_constant_struct_table_and_vector_arguments";
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
struct params { float scale; uint pick; float offset; uint limit; };
struct table { float v[100]; };
kernel void consts(constant params& p [[buffer(0)]], constant table& t [[buffer(1)]], constant float4& shift [[buffer(2)]],
                   device float* out [[buffer(3)]], uint i [[thread_position_in_grid]]) {
    float v = t.v[i] * p.scale + shift[i % 4];
    if (i % p.pick == 0) v += p.offset;
    if (i > p.limit) v = -v;
    out[i] = v;
}
)";
        c.function = "consts";
        binding shift_binding;
        shift_binding.kind = binding_kind::bytes;
        shift_binding.index = 2;
        shift_binding.data.resize(sizeof shift);
        std::memcpy(shift_binding.data.data(), shift, sizeof shift);
        c.bindings = {bytes_of(0, p), buffer_of(1, table), shift_binding, zeros<float>(3, n)};
        c.grid = s3(n);
        c.threadgroup = s3(32);
        c.check = [=](const results &r) {
            std::vector<float> want(n);
            for (uint32_t i = 0; i < n; ++i) {
                float v = table[i] * p.scale + shift[i % 4];
                if (i % p.pick == 0) v += p.offset;
                if (i > p.limit) v = -v;
                want[i] = v;
            }
            return compare_exact(r.get<float>(3), want);
        };
        cases.push_back(c);
    }
    // Fast math: the prelude's exp/exp2 within 2 ulp (0 past underflow, +inf past overflow), sin/cos
    // within 2^-21 absolute for |x| <= 30000; precise:: in the same library keeps 4 ulp.
    {
        const std::vector<float> x = math_inputs();
        kernel_case c;
        c.name = "codegen_fast_math_exp_sin_cos_accuracy";
        c.source = math_source;
        c.function = "math";
        c.bindings = {buffer_of(0, x), zeros<float>(1, 7 * x.size())};
        c.grid = s3(uint32_t(x.size()));
        c.threadgroup = s3(64);
        c.check = [=](const results &r) {
            const std::vector<float> got = r.get<float>(1);
            if (got.size() < 7 * x.size()) return std::string("buffer too short");
            for (size_t i = 0; i < x.size(); ++i) {
                const double v = x[i];
                const double e[2] = {std::exp(v), std::exp2(double(float(v * 1.4f)))};
                for (int j = 0; j < 2; ++j) {
                    const float g = got[7 * i + j];
                    const bool ok = e[j] > 3.4028234663852886e38 ? std::isinf(g) && g > 0
                                    : e[j] < 1.1754943508222875e-38 ? g >= 0.0f && g <= 1.2e-38f
                                                                    : ulps(g, e[j]) <= 2.0;
                    if (!ok) return mismatch(i, g, e[j], j == 0 ? " (exp)" : " (exp2)");
                }
                const double sc[2] = {std::sin(v), std::cos(v)};
                for (int j = 0; j < 2; ++j) {
                    const float g = got[7 * i + 2 + j];
                    if (std::fabs(v) <= 30000.0 ? !(std::fabs(g - sc[j]) <= 0x1p-21) : !(std::fabs(g) <= 1.0f))
                        return mismatch(i, g, sc[j], j ? " (cos)" : " (sin)");
                }
                const double half = std::exp(double(float(v * 0.5f)));
                if (half < 3.4e38 && half > 1.2e-38 && ulps(got[7 * i + 4], half) > 2.0) return mismatch(i, got[7 * i + 4], half, " (fast::exp)");
                // precise:: in the same library: libm's (or glibc's vector math), within Metal's precise bound of 4 ulp.
                if (ulps(got[7 * i + 5], std::sin(v)) > 4.0) return mismatch(i, got[7 * i + 5], std::sin(v), " (precise::sin)");
                if (half < 3.4e38 && half > 1.2e-38 && ulps(got[7 * i + 6], half) > 4.0) return mismatch(i, got[7 * i + 6], half, " (precise::exp)");
            }
            return std::string();
        };
        cases.push_back(c);
    }
    // Fast math's sin and cos (metal:: and fast::, the prelude's sin_halfturns) over the whole float range
    // against double precision: Metal promises 2^-13 absolute on [-pi, pi] and nothing beyond; the
    // prelude holds 2^-22.5 up to |x| = 1e5, 2^-21 up to 1e6, Metal's 2^-13 up to 1e7, and [-1, 1] for
    // every finite x. sinpi/cospi (x * pi, rounded, then the same) within 2^-21 on [-1, 1]. Zeros give
    // sin 0 (either sign: fast math) and cos 1; denormals, which fast math may flush, give sin 0 or x.
    {
        const std::vector<float> x = wide_trig_inputs(3.0e7f);
        kernel_case c;
        c.name = "codegen_fast_math_sin_cos_bounds_over_the_float_range";
        c.source = trig_source;
        c.function = "trig";
        c.bindings = {buffer_of(0, x), zeros<float>(1, 8 * x.size())};
        c.grid = s3(uint32_t(x.size()));
        c.threadgroup = s3(256);
        c.check = [=](const results &r) {
            const std::vector<float> got = r.get<float>(1);
            if (got.size() < 8 * x.size()) return std::string("buffer too short");
            for (size_t i = 0; i < x.size(); ++i) {
                const double v = x[i], a = std::fabs(v);
                if (!std::isfinite(v)) continue; // fast math: no infinities or NaN (Metal: undefined)
                const double want[2] = {std::sin(v), std::cos(v)};
                const double bound = a <= 1e5 ? std::exp2(-22.5) : a <= 1e6 ? 0x1p-21 : a <= 1e7 ? 0x1p-13 : 2.0;
                for (int j = 0; j < 4; ++j) {
                    const float g = got[8 * i + j];
                    const double w = want[j % 2];
                    const char *what = j == 0 ? " (sin)" : j == 1 ? " (cos)" : j == 2 ? " (fast::sin)" : " (fast::cos)";
                    if (!(std::fabs(g) <= 1.0f)) return mismatch(i, g, w, what);
                    if (v != 0.0 && a < 1.17549435e-38) { // a denormal: flushed to 0 or kept
                        if (j % 2 == 0 ? !(g == 0.0f || g == x[i]) : !(std::fabs(g - 1.0) <= 0x1p-23)) return mismatch(i, g, w, what);
                    } else if (!(std::fabs(g - w) <= bound)) {
                        return mismatch(i, g, w, what);
                    }
                }
                if (v == 0.0 && (got[8 * i] != 0.0f || got[8 * i + 2] != 0.0f)) return mismatch(i, got[8 * i], 0.0, " (sin of zero)");
                if (a <= 1.0) {
                    const double pw[2] = {std::sin(3.14159265358979323846 * v), std::cos(3.14159265358979323846 * v)};
                    for (int j = 0; j < 2; ++j)
                        if (!(std::fabs(got[8 * i + 4 + j] - pw[j]) <= 0x1p-21))
                            return mismatch(i, got[8 * i + 4 + j], pw[j], j ? " (cospi)" : " (sinpi)");
                }
            }
            return std::string();
        };
        cases.push_back(c);
    }
    // precise::sin and precise::cos in a fast-math library: Metal's precise bound of 4 ulp over the whole
    // float range (far arguments included, where the fast ones only stay in [-1, 1]), -0 kept by sin,
    // denormals returned by sin as they are, NaN for infinities and NaN.
    {
        const std::vector<float> x = wide_trig_inputs(3.40282347e38f);
        kernel_case c;
        c.name = "codegen_precise_sin_cos_within_4_ulp_over_the_float_range";
        c.source = trig_source;
        c.function = "trig";
        c.bindings = {buffer_of(0, x), zeros<float>(1, 8 * x.size())};
        c.grid = s3(uint32_t(x.size()));
        c.threadgroup = s3(256);
        c.check = [=](const results &r) {
            const std::vector<float> got = r.get<float>(1);
            if (got.size() < 8 * x.size()) return std::string("buffer too short");
            for (size_t i = 0; i < x.size(); ++i) {
                const double v = x[i];
                const float s = got[8 * i + 6], k = got[8 * i + 7];
                if (!std::isfinite(v)) {
                    if (!std::isnan(s) || !std::isnan(k)) return mismatch(i, std::isnan(s) ? k : s, std::nan(""), " (precise:: of inf or NaN)");
                    continue;
                }
                if (ulps(s, std::sin(v)) > 4.0) return mismatch(i, s, std::sin(v), " (precise::sin)");
                if (ulps(k, std::cos(v)) > 4.0) return mismatch(i, k, std::cos(v), " (precise::cos)");
                if (v == 0.0 && std::signbit(s) != std::signbit(x[i])) return mismatch(i, s, v, " (precise::sin of a signed zero)");
            }
            return std::string();
        };
        cases.push_back(c);
    }
    // Without fast math, exp, sin and cos are libm's (or glibc's vector math): within Metal's precise
    // bound of 4 ulp even where the fast ones are not held to it (sin of 10^9 and more, beyond the fast
    // argument reduction's range).
    {
        std::vector<float> x = {1e9f, -3.5e9f, 1e12f, 1e6f, 123456.78f, 3.14159274f, -6.28318548f, 10.5f, -20.25f, 80.0f, -80.0f};
        while (x.size() % 64 != 0) x.push_back(float(x.size()) * 0.37f);
        kernel_case c;
        c.name = "codegen_precise_math_without_fast_math_is_libm";
        c.fast_math = false;
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void math(const device float* x [[buffer(0)]], device float* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[3 * i + 0] = sin(x[i]);
    out[3 * i + 1] = cos(x[i]);
    out[3 * i + 2] = exp(x[i] * 0.5f);
}
)";
        c.function = "math";
        c.bindings = {buffer_of(0, x), zeros<float>(1, 3 * x.size())};
        c.grid = s3(uint32_t(x.size()));
        c.threadgroup = s3(64);
        c.check = [=](const results &r) {
            const std::vector<float> got = r.get<float>(1);
            if (got.size() < 3 * x.size()) return std::string("buffer too short");
            for (size_t i = 0; i < x.size(); ++i) {
                const double v = x[i];
                const double want[3] = {std::sin(v), std::cos(v), std::exp(double(float(v * 0.5f)))};
                for (int j = 0; j < 3; ++j)
                    if (ulps(got[3 * i + j], want[j]) > 4.0) return mismatch(i, got[3 * i + j], want[j], j == 0 ? " (sin)" : j == 1 ? " (cos)" : " (exp)");
            }
            return std::string();
        };
        cases.push_back(c);
    }
    // Device atomics in a counted loop whose bound is an argument, which LLVM's outer-loop vectorizer
    // takes (the thread loop around it asks for vectorization): it widened the loop and dropped the
    // atomics (every count 0) until kernels reaching atomic_* lost that request (kernel_entry.h,
    // run_group's Atomics). Groups 16 and 32 wide, so a vectorized width is whole; a partial edge group.
    for (const uint32_t width : {16u, 32u}) {
        const uint32_t w = 200, h = 3, reps = 5;
        kernel_case c;
        c.name = "codegen_atomics_in_a_counted_loop_" + std::to_string(width);
        c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void tally(device atomic_uint* counts [[buffer(0)]], device uint* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                  constant uint& reps [[buffer(3)]], uint2 gid [[thread_position_in_grid]]) {
    uint s = 0;
    for (uint k = 0; k < reps; ++k) {
        atomic_fetch_add_explicit(&counts[(gid.x + k) % 8u], 1u + gid.y, memory_order_relaxed);
        s += k * gid.x;
    }
    out[gid.y * w + gid.x] = s;
}
)";
        c.function = "tally";
        c.bindings = {zeros<uint32_t>(0, 8), zeros<uint32_t>(1, w * h), bytes_of(2, w), bytes_of(3, reps)};
        c.grid = s3(w, h);
        c.threadgroup = s3(width, 2);
        c.check = [=](const results &r) {
            std::vector<uint32_t> counts(8), out(w * h);
            for (uint32_t y = 0; y < h; ++y)
                for (uint32_t x = 0; x < w; ++x)
                    for (uint32_t k = 0; k < reps; ++k) {
                        counts[(x + k) % 8] += 1 + y;
                        out[y * w + x] += k * x;
                    }
            const std::string e = compare_exact(r.get<uint32_t>(0), counts);
            return e.empty() ? compare_exact(r.get<uint32_t>(1), out) : "counts: " + e;
        };
        cases.push_back(c);
    }
    return cases;
}

} // namespace corpus
