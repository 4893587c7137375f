// Kernels whose loops run a different number of times per thread run a threadgroup's threads as SIMD
// lanes (compiler/lane_loops.hpp): which kernels take that form (SOFTMETAL_REMARKS=1 says so, or says
// why not), that they match the host reference with it and without it (SOFTMETAL_LANES=0), and that
// a lane form clang refuses falls back to the plain thread loop.
#include "catch.hpp"

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
