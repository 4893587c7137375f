// Kernels whose loops run a different number of times per thread run a threadgroup's threads as SIMD
// lanes (compiler/lane_loops.hpp): which kernels take that form (SOFTMETAL_REMARKS=1 says so, or says
// why not), that they match the host reference with it and without it (SOFTMETAL_LANES=0), and that
// a lane form clang refuses falls back to the plain thread loop.
#include "catch.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

using softmetal_test::scoped_environment;

using softmetal_test::remarks_of;

std::string lanes_remark(const std::string &kernel) { return "remark: kernel '" + kernel + "': threads run as SIMD lanes"; }
std::string not_lanes_remark(const std::string &kernel) { return "remark: kernel '" + kernel + "': threads not run as SIMD lanes: "; }

// A one-buffer kernel `k(device uint* out [[buffer(0)]], uint i [[thread_position_in_grid]])` over
// `n` threads in groups of 32, checked against `want(i)`.
template <class F> corpus::kernel_case uint_case(const std::string &name, const std::string &body, uint32_t n, F want) {
    corpus::kernel_case c;
    c.name = name;
    c.source = "#include <metal_stdlib>\nusing namespace metal;\n"
               "kernel void k(device uint* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {\n" +
               body + "\n}\n";
    c.function = "k";
    c.bindings = {corpus::zeros<uint32_t>(0, n)};
    c.grid = corpus::size3{n, 1, 1};
    c.threadgroup = corpus::size3{32, 1, 1};
    c.check = [=](const corpus::results &r) {
        const std::vector<uint32_t> got = r.get<uint32_t>(0);
        for (uint32_t i = 0; i < n; ++i)
            if (got[i] != want(i)) return "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(want(i));
        return std::string();
    };
    return c;
}

uint32_t halvings(uint32_t x) {
    uint32_t s = 0;
    while (x > 1) x /= 2, ++s;
    return s;
}

} // namespace

TEST_CASE("kernels with loops of per-thread length run their threads as SIMD lanes and match the host", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    for (const auto &c : corpus::lane_loop_cases()) {
        DYNAMIC_SECTION(c.name) {
            const std::string log = remarks_of(c.source);
            CHECK(log.find(lanes_remark(c.function)) != std::string::npos);
            // The lane form compiled (no fall-back to the plain source, whose thread loop runs these
            // one at a time) and its lane loops were vectorized.
            CHECK(log.find("remark: kernel '" + c.function + "': threads: vectorized loop") != std::string::npos);
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
            REQUIRE(runner.kernel);
            CHECK(runner.kernel->uses_barriers == 0);
            CHECK(runner.kernel->run_group != nullptr);
        }
    }
}

TEST_CASE("the same kernels match the host with SOFTMETAL_LANES=0", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    scoped_environment off("SOFTMETAL_LANES", "0");
    for (const auto &c : corpus::lane_loop_cases()) {
        DYNAMIC_SECTION(c.name) {
            CHECK(remarks_of(c.source).find(lanes_remark(c.function)) == std::string::npos);
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
        }
    }
}

TEST_CASE("Mandelbrot-shaped corpus kernels of the vectorization corpus take the lane form too", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    bool found = false;
    for (const auto &c : corpus::vectorization_cases())
        if (c.function == "collatz") {
            found = true;
            CHECK(remarks_of(c.source).find(lanes_remark("collatz")) != std::string::npos);
        }
    CHECK(found);
}

TEST_CASE("a counted loop every thread runs alike keeps the plain thread loop, and the remark says so", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = uint_case("uniform", "uint s = 0;\nfor (uint j = 0; j < 10u; ++j) s += j * i;\nout[i] = s;", 70,
                                            [](uint32_t i) { return 45u * i; });
    const std::string log = remarks_of(c.source);
    CHECK(log.find(not_lanes_remark("k") + "the loop at line 5 runs the same number of times in every thread") != std::string::npos);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

TEST_CASE("a loop of per-thread length with a loop inside keeps the plain thread loop, and the remark says so", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c =
        uint_case("nested", "uint x = i, s = 0;\nwhile (x > 1) {\n  for (uint j = 0; j < 2u; ++j) s += j;\n  x /= 2;\n}\nout[i] = s;", 70,
                  [](uint32_t i) { return halvings(i); });
    CHECK(remarks_of(c.source).find(not_lanes_remark("k") + "the loop at line 5 has a 'for' in its body") != std::string::npos);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

TEST_CASE("a variable whose address is taken, or declared auto, across the loop keeps the plain thread loop", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    SECTION("address taken") {
        const corpus::kernel_case c = uint_case("address", "uint x = i;\nthread uint *p = &x;\nwhile (*p > 1) *p /= 2;\nout[i] = x;", 70,
                                                [](uint32_t i) { return i == 0 ? 0u : 1u; });
        CHECK(remarks_of(c.source).find(not_lanes_remark("k") + "the address of the variable 'x' is taken") != std::string::npos);
        softmetal_test::direct_runner runner;
        CHECK(runner.run(c) == "");
    }
    SECTION("auto") {
        const corpus::kernel_case c = uint_case("auto", "auto x = i;\nuint s = 0;\nwhile (x > 1) { x /= 2; ++s; }\nout[i] = s;", 70,
                                                [](uint32_t i) { return halvings(i); });
        CHECK(remarks_of(c.source).find(not_lanes_remark("k") + "the variable 'x' (line 4) lives across a loop") != std::string::npos);
        softmetal_test::direct_runner runner;
        CHECK(runner.run(c) == "");
    }
}

TEST_CASE("a kernel without loops says it has none to run as lanes", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = uint_case("none", "out[i] = i * 3u;", 40, [](uint32_t i) { return i * 3u; });
    CHECK(remarks_of(c.source).find(not_lanes_remark("k") + "no loop at the top level") != std::string::npos);
}

TEST_CASE("a lane form clang refuses (a variable type with no default constructor) falls back to the plain thread loop",
          "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    corpus::kernel_case c = uint_case("fallback", "", 90, [](uint32_t i) { return halvings(i) * 1000u + (i > 1 ? 1u : i); });
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
struct counter {
    uint value, steps;
    counter(uint v) : value(v), steps(0) {}
};
kernel void k(device uint* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    counter c = counter(i);
    while (c.value > 1) { c.value /= 2; ++c.steps; }
    out[i] = c.steps * 1000u + c.value;
}
)";
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

TEST_CASE("a template kernel with a threadgroup array and no barrier runs as lanes and matches the host", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const uint32_t n = 150;
    const int32_t scale = 3;
    corpus::kernel_case c;
    c.name = "template_threadgroup_lanes";
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
template <typename T>
kernel void scaled_steps(device T* out [[buffer(0)]], constant T& scale [[buffer(1)]], uint i [[thread_position_in_grid]],
                         uint lid [[thread_position_in_threadgroup]]) {
    threadgroup uint scratch[64];
    scratch[lid] = i;
    uint x = scratch[lid] + 1u;
    T acc = T(0);
    while (x != 1u) { x = (x & 1u) ? 3u * x + 1u : x / 2u; acc += scale; }
    out[i] = acc;
}
template [[host_name("scaled_steps_int")]] kernel void scaled_steps<int>(device int*, constant int&, uint, uint);
)";
    c.function = "scaled_steps_int";
    c.bindings = {corpus::zeros<int32_t>(0, n), corpus::bytes_of(1, scale)};
    c.grid = corpus::size3{n, 1, 1};
    c.threadgroup = corpus::size3{64, 1, 1};
    c.check = [=](const corpus::results &r) {
        const std::vector<int32_t> got = r.get<int32_t>(0);
        for (uint32_t i = 0; i < n; ++i) {
            uint32_t x = i + 1, s = 0;
            while (x != 1) x = (x & 1) ? 3 * x + 1 : x / 2, ++s;
            if (got[i] != int32_t(s) * scale)
                return "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(int32_t(s) * scale);
        }
        return std::string();
    };
    const std::string log = remarks_of(c.source);
    CHECK(log.find(lanes_remark("scaled_steps")) != std::string::npos);
    CHECK(log.find("remark: kernel 'scaled_steps': threads: vectorized loop") != std::string::npos);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

namespace {

std::string interleaved_remark(const std::string &kernel) {
    return "remark: kernel '" + kernel + "': threads run as SIMD lanes through the loop at line ";
}
const char *const interleaved_note = "(interleaved, not vectorized: vector-typed values)";

// Register blocks of a matrix product in float4 (the 4x4 SGEMM of bench_kernels, two rows per thread):
// a counted loop every thread runs alike, over vector-typed values. Small integer entries keep every
// sum exact. 13 float4 columns in groups 8 wide (a full chunk of interleaved lanes, then 5 live lanes
// and 3 past the group's edge) and 26 rows in groups of 4 (a partial group at the bottom).
corpus::kernel_case float4_blocks_case() {
    const uint32_t n = 52, n4 = n / 4, rows = n / 2;
    std::vector<float> a(n * n), b(n * n);
    for (uint32_t i = 0; i < n * n; ++i) a[i] = float((i * 7u) % 5u), b[i] = float((i * 3u + 1u) % 7u);
    corpus::kernel_case c;
    c.name = "interleaved_float4_register_blocks";
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void blocks(const device float4* a [[buffer(0)]], const device float4* b [[buffer(1)]], device float4* c [[buffer(2)]],
                   constant uint& n [[buffer(3)]], uint2 gid [[thread_position_in_grid]]) {
    const uint n4 = n / 4, row = gid.y * 2;
    float4 c0 = float4(0.0f), c1 = float4(0.0f);
    for (uint k = 0; k < n; k += 4) {
        const float4 b0 = b[(k + 0) * n4 + gid.x], b1 = b[(k + 1) * n4 + gid.x];
        const float4 b2 = b[(k + 2) * n4 + gid.x], b3 = b[(k + 3) * n4 + gid.x];
        const float4 a0 = a[(row + 0) * n4 + k / 4], a1 = a[(row + 1) * n4 + k / 4];
        c0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
        c1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    }
    c[(row + 0) * n4 + gid.x] = c0;
    c[(row + 1) * n4 + gid.x] = c1;
}
)";
    c.function = "blocks";
    c.bindings = {corpus::buffer_of(0, a), corpus::buffer_of(1, b), corpus::zeros<float>(2, n * n), corpus::bytes_of(3, n)};
    c.grid = corpus::size3{n4, rows, 1};
    c.threadgroup = corpus::size3{8, 4, 1};
    c.check = [=](const corpus::results &r) {
        const std::vector<float> got = r.get<float>(2);
        for (uint32_t i = 0; i < n; ++i)
            for (uint32_t j = 0; j < n; ++j) {
                float want = 0.0f;
                for (uint32_t k = 0; k < n; ++k) want += a[i * n + k] * b[k * n + j];
                if (got[i * n + j] != want)
                    return "C[" + std::to_string(i) + "][" + std::to_string(j) + "]: got " + std::to_string(got[i * n + j]) +
                           ", want " + std::to_string(want);
            }
        return std::string();
    };
    return c;
}

// The same form with what the lanes' flags must keep right: an early `return` before the loop (every
// fifth thread), `continue` and a branch on the thread's own data inside it, a device atomic in it,
// uint4 swizzle assignments, and 45 threads in groups of 12 (chunks of live lanes, lanes past the edge
// of each group and a partial last group).
corpus::kernel_case uint4_divergent_case() {
    const uint32_t threads = 45, n = 9;
    corpus::kernel_case c;
    c.name = "interleaved_uint4_return_continue_branch_atomic";
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void mixed(device uint4* out [[buffer(0)]], device atomic_uint* hits [[buffer(1)]], constant uint& n [[buffer(2)]],
                  uint i [[thread_position_in_grid]]) {
    if (i % 5u == 3u) {
        out[i] = uint4(7u);
        return;
    }
    uint4 acc = uint4(i, 1u, 2u, 3u);
    for (uint k = 0; k < n; ++k) {
        if (k == i % 3u) continue;
        if (((i + k) & 1u) != 0u) acc.xy += uint2(k, 2u * k);
        else acc.zw ^= uint2(k + i, k);
        atomic_fetch_add_explicit(hits, 1u, memory_order_relaxed);
    }
    out[i] = acc;
}
)";
    c.function = "mixed";
    c.bindings = {corpus::zeros<uint32_t>(0, threads * 4), corpus::zeros<uint32_t>(1, 1), corpus::bytes_of(2, n)};
    c.grid = corpus::size3{threads, 1, 1};
    c.threadgroup = corpus::size3{12, 1, 1};
    c.check = [=](const corpus::results &r) {
        const std::vector<uint32_t> got = r.get<uint32_t>(0);
        uint32_t hits = 0;
        for (uint32_t i = 0; i < threads; ++i) {
            uint32_t want[4] = {7u, 7u, 7u, 7u};
            if (i % 5u != 3u) {
                want[0] = i, want[1] = 1u, want[2] = 2u, want[3] = 3u;
                for (uint32_t k = 0; k < n; ++k) {
                    if (k == i % 3u) continue;
                    if (((i + k) & 1u) != 0u) want[0] += k, want[1] += 2u * k;
                    else want[2] ^= k + i, want[3] ^= k;
                    ++hits;
                }
            }
            for (uint32_t e = 0; e < 4; ++e)
                if (got[i * 4 + e] != want[e])
                    return "out[" + std::to_string(i) + "]." + "xyzw"[e] + ": got " + std::to_string(got[i * 4 + e]) + ", want " +
                           std::to_string(want[e]);
        }
        const uint32_t counted = r.get<uint32_t>(1)[0];
        if (counted != hits) return "hits: got " + std::to_string(counted) + ", want " + std::to_string(hits);
        return std::string();
    };
    return c;
}

} // namespace

TEST_CASE("a counted loop over float4 register blocks runs as interleaved lanes and matches the host", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = float4_blocks_case();
    const std::string log = remarks_of(c.source);
    CHECK(log.find(interleaved_remark("blocks") + "8 " + interleaved_note) != std::string::npos);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
    REQUIRE(runner.kernel);
    CHECK(runner.kernel->uses_barriers == 0);
    CHECK(runner.kernel->run_group != nullptr);
}

TEST_CASE("interleaved lanes keep an early return, continue, a divergent branch and an atomic right", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = uint4_divergent_case();
    CHECK(remarks_of(c.source).find(interleaved_remark("mixed") + "11 " + interleaved_note) != std::string::npos);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

TEST_CASE("the interleaved-lane kernels match the host with SOFTMETAL_LANES=0", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    scoped_environment off("SOFTMETAL_LANES", "0");
    for (const corpus::kernel_case &c : {float4_blocks_case(), uint4_divergent_case()}) {
        DYNAMIC_SECTION(c.name) {
            CHECK(remarks_of(c.source).find(interleaved_note) == std::string::npos);
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
        }
    }
}

TEST_CASE("a counted loop over scalars keeps the plain thread loop even beside vector types elsewhere", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    // A divergent loop beside the counted one: the vectorized lanes, not the interleaved ones.
    const corpus::kernel_case c = uint_case(
        "mixed_loops", "uint4 v = uint4(i);\nuint x = i, s = 0;\nwhile (x > 1) { x /= 2; ++s; }\nfor (uint j = 0; j < 3u; ++j) s += v.x * 0u + j;\nout[i] = s;",
        70, [](uint32_t i) { return halvings(i) + 3u; });
    const std::string log = remarks_of(c.source);
    CHECK(log.find(lanes_remark("k")) != std::string::npos);
    CHECK(log.find(interleaved_note) == std::string::npos);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

namespace {

// A plain 5x5 blur with clamp-to-edge reads and a bounds guard: once its counted loops are unrolled,
// 25 clamped taps, bigger than clang's inliner takes into run_group's thread loop by itself.
corpus::kernel_case plain_blur_case() {
    const uint32_t w = 70, h = 45, iw = w - 3;
    std::vector<float> img(w * h);
    for (uint32_t i = 0; i < img.size(); ++i) img[i] = float((i * 2654435761u) % 1000u) / 1000.0f;
    corpus::kernel_case c;
    c.name = "plain_blur";
    c.source = R"(
#include <metal_stdlib>
using namespace metal;
constant float weights[5] = {0.0625f, 0.25f, 0.375f, 0.25f, 0.0625f};
kernel void blur(const device float* in [[buffer(0)]], device float* out [[buffer(1)]], constant uint& w [[buffer(2)]],
                 constant uint& h [[buffer(3)]], uint2 gid [[thread_position_in_grid]]) {
    if (gid.x >= w || gid.y >= h) return;
    float acc = 0.0f;
    for (int dy = -2; dy <= 2; ++dy) {
        const uint y = uint(clamp(int(gid.y) + dy, 0, int(h) - 1));
        float row = 0.0f;
        for (int dx = -2; dx <= 2; ++dx) {
            const uint x = uint(clamp(int(gid.x) + dx, 0, int(w) - 1));
            row += weights[dx + 2] * in[y * w + x];
        }
        acc += weights[dy + 2] * row;
    }
    out[gid.y * w + gid.x] = acc;
}
)";
    c.function = "blur";
    // 70x45 threads in 16x16 groups: partial groups on the right and at the bottom. The kernel's image
    // is 67x45 (rows 67 apart), so the guard returns in the last 3 threads of each row of the grid (a
    // branch that differs between lanes); the rest of the output buffer stays 0.
    c.bindings = {corpus::buffer_of(0, img), corpus::zeros<float>(1, w * h), corpus::bytes_of(2, iw), corpus::bytes_of(3, h)};
    c.grid = corpus::size3{w, h, 1};
    c.threadgroup = corpus::size3{16, 16, 1};
    c.check = [=](const corpus::results &r) {
        static const double weight[5] = {1.0 / 16, 4.0 / 16, 6.0 / 16, 4.0 / 16, 1.0 / 16};
        const std::vector<float> got = r.get<float>(1);
        for (uint32_t i = 0; i < w * h; ++i) {
            const uint32_t x = i % iw, y = i / iw;
            double want = 0;
            if (y < h)
                for (int dy = 0; dy < 5; ++dy)
                    for (int dx = 0; dx < 5; ++dx) {
                        const int sy = std::min(std::max(int(y) + dy - 2, 0), int(h) - 1);
                        const int sx = std::min(std::max(int(x) + dx - 2, 0), int(iw) - 1);
                        want += weight[dy] * weight[dx] * img[uint32_t(sy) * iw + uint32_t(sx)];
                    }
            if (!(std::fabs(got[i] - want) <= 1e-5))
                return "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(want);
        }
        return std::string();
    };
    return c;
}

} // namespace

TEST_CASE("a kernel too big for clang's inliner is inlined into the thread loop all the same, vectorized, and matches the host",
          "[compiler][lanes]") {
    // As a call in run_group's loop (before kernel_entry.h's call_inlined), its threads ran one at a
    // time: "threads: run one at a time: not vectorized as an outer loop around the kernel's loops".
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = plain_blur_case();
    const std::string log = remarks_of(c.source);
    CHECK(log.find("remark: kernel 'blur': threads: vectorized loop") != std::string::npos);
    CHECK(log.find("remark: kernel 'blur': threads: run one at a time") == std::string::npos);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
    scoped_environment off("SOFTMETAL_LANES", "0");
    softmetal_test::direct_runner plain;
    CHECK(plain.run(c) == "");
}

namespace {

// Which lane width a kernel's vector math allows (lane_loops.cpp): exp, exp2, sin and cos are the
// prelude's own written-out functions under fast math, which LLVM vectorizes at 16 lanes with AVX-512
// (the wide chunks: two registers of 16, run interleaved); libm's functions (log, precise::exp, and
// exp and sin without fast math) have vector forms of 8 lanes at most (the narrow chunks: 2 x 8).
// Without AVX-512 both are two registers of 8.
std::string wide_remark() {
    return __builtin_cpu_supports("avx512f") ? "vectorized loop (vectorization width: 16, interleaved count: 2)"
                                             : "vectorized loop (vectorization width: 8, interleaved count: 2)";
}
const char *const narrow_remark = "vectorized loop (vectorization width: 8, interleaved count: 2)";

// `sum over k = n..1 of f(v * k)` with n = 1 + i % 9 per thread: a `while` loop of per-thread length
// around a math call, 203 threads in groups of 40 (a chunk of 32 lanes, then 8 live lanes and 24 past
// the group's edge; the last group of 3 takes the small chunk), checked against `want` in double.
corpus::kernel_case series_case(const std::string &name, const std::string &term, bool fast_math, double (*want)(double)) {
    const uint32_t n = 203;
    std::vector<float> x(n);
    for (uint32_t i = 0; i < n; ++i) x[i] = 0.05f + 0.9f * float(i) / float(n);
    corpus::kernel_case c;
    c.name = name;
    c.source = "#include <metal_stdlib>\nusing namespace metal;\n"
               "kernel void series(const device float* x [[buffer(0)]], device float* out [[buffer(1)]],\n"
               "                   uint i [[thread_position_in_grid]]) {\n"
               "    const float v = x[i];\n"
               "    uint n = 1u + i % 9u;\n"
               "    float acc = 0.0f;\n"
               "    while (n > 0u) {\n"
               "        const float t = v * float(n);\n"
               "        acc += " + term + ";\n"
               "        --n;\n"
               "    }\n"
               "    out[i] = acc;\n"
               "}\n";
    c.function = "series";
    c.fast_math = fast_math;
    c.bindings = {corpus::buffer_of(0, x), corpus::zeros<float>(1, n)};
    c.grid = corpus::size3{n, 1, 1};
    c.threadgroup = corpus::size3{40, 1, 1};
    c.check = [=](const corpus::results &r) {
        const std::vector<float> got = r.get<float>(1);
        for (uint32_t i = 0; i < n; ++i) {
            double sum = 0;
            for (uint32_t k = 1 + i % 9u; k > 0; --k) sum += want(double(x[i]) * k);
            if (!(std::fabs(got[i] - sum) <= 2e-5 * std::fmax(1.0, std::fabs(sum))))
                return "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(sum);
        }
        return std::string();
    };
    return c;
}

double exp_times_sin(double t) { return std::exp(t) * std::sin(t); }
double exp2_plus_cos(double t) { return std::exp2(t) + std::cos(t); }
double log_of_one_plus(double t) { return std::log(1.0 + t); }

// The compile log of `c` with SOFTMETAL_REMARKS=1 and the case's own math mode (remarks_of: the default).
std::string remarks_in_mode(const corpus::kernel_case &c) {
    scoped_environment remarks("SOFTMETAL_REMARKS", "1");
    softmetal::compile_options options;
    options.fast_math = c.fast_math;
    softmetal::compile_result r = softmetal::compile_library(c.source, options, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    return r.log;
}

// The lane form was taken with the expected width, and no loop of the kernel took the other one.
void check_lane_width(const corpus::kernel_case &c, const std::string &want, const std::string &not_want) {
    const std::string log = remarks_in_mode(c);
    INFO(log);
    CHECK(log.find(lanes_remark("series")) != std::string::npos);
    CHECK(log.find("remark: kernel 'series': threads: " + want) != std::string::npos);
    if (want != not_want) CHECK(log.find(not_want) == std::string::npos);
}

} // namespace

TEST_CASE("fast-math exp and sin in a loop of per-thread length take the wide lanes and match the host", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = series_case("lanes_fast_exp_sin", "exp(t) * sin(t)", true, exp_times_sin);
    check_lane_width(c, wide_remark(), narrow_remark);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
    scoped_environment off("SOFTMETAL_LANES", "0");
    softmetal_test::direct_runner plain;
    CHECK(plain.run(c) == "");
}

TEST_CASE("fast:: exp2 and cos take the wide lanes too and match the host", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = series_case("lanes_fast_exp2_cos", "fast::exp2(t) + metal::fast::cos(t)", true, exp2_plus_cos);
    check_lane_width(c, wide_remark(), narrow_remark);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

TEST_CASE("libm's log beside exp keeps the narrow lanes and matches the host", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = series_case("lanes_libm_log", "log(1.0f + t) + exp(t) - exp(t)", true, log_of_one_plus);
    check_lane_width(c, narrow_remark, wide_remark());
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

TEST_CASE("precise::exp keeps the narrow lanes and matches the host", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = series_case("lanes_precise_exp", "precise::exp(t) * sin(t)", true, exp_times_sin);
    check_lane_width(c, narrow_remark, wide_remark());
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
}

TEST_CASE("exp and sin without fast math are libm's and keep the narrow lanes, matching the host", "[compiler][lanes]") {
    softmetal_test::use_default_test_cache();
    const corpus::kernel_case c = series_case("lanes_libm_exp_sin", "exp(t) * sin(t)", false, exp_times_sin);
    check_lane_width(c, narrow_remark, wide_remark());
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
    scoped_environment off("SOFTMETAL_LANES", "0");
    softmetal_test::direct_runner plain;
    CHECK(plain.run(c) == "");
}
