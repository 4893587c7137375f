// Kernels that change their own parameters (`x += gid * n + lid * 4;`, the way MLX's row kernels move
// their buffer pointers to the thread's row): every thread of Metal gets its own arguments, so one
// thread's change must never reach another. The split function (regions) and the lane function run a
// whole group with one set of parameters, so such a parameter gets a copy per thread. Each kernel is
// checked against the host, split (or as lanes) and without; a changed position, whole or a component, is
// each thread's own copy in the split too.
#include "catch.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "../kernels/changed_parameter_kernels.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

using softmetal_test::scoped_environment;

corpus::kernel_case row_scale_case() {
    using namespace changed_parameter_kernels;
    const std::vector<float> x = row_scale_input();
    const std::vector<double> want = row_scale_reference(x);
    corpus::kernel_case c;
    c.name = "row_scale";
    c.source = row_scale_source;
    c.function = "row_scale";
    c.bindings = {corpus::buffer_of(0, x), corpus::zeros<float>(1, x.size()), corpus::bytes_of(2, row_length),
                  corpus::threadgroup_memory(0, 16)};
    c.dispatch = corpus::dispatch_kind::threadgroups;
    c.grid = corpus::s3(rows);
    c.threadgroup = corpus::s3(threads);
    c.expects_barriers = true;
    c.check = [=](const corpus::results &r) {
        const std::vector<float> got = r.get<float>(1);
        for (size_t i = 0; i < want.size(); ++i)
            if (std::fabs(got[i] - want[i]) > 1e-4 * (1 + std::fabs(want[i])))
                return "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(want[i]);
        return std::string();
    };
    return c;
}

// Threads run as SIMD lanes (no barrier): a loop of per-thread length over the thread's own four
// elements, reached by moving `x`; `out` moved too and written through `*out`. 100 threads in groups
// of 32: the last group partial.
const char *const lane_sum_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void lane_sum(const device float* x [[buffer(0)]], device float* out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    x += gid * 4;
    float s = 0;
    for (uint i = 0; i < gid % 4 + 1; i++) s += x[i];
    out += gid;
    *out = s;
}
kernel void lane_sum4(const device float* x [[buffer(0)]], device float* out [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    x += gid * 4;
    float4 acc = 0;
    for (int i = 0; i < 4; i++) acc += float4(x[i], 1, 2, 3);
    out++;
    out[gid] = acc.x;
}
// A reference parameter changed is memory written, not a copy: one thread adds into `total`.
kernel void lane_total(const device float* x [[buffer(0)]], device float& total [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    for (uint i = 0; i < gid + 4; i++) total += x[i];
}
)";

corpus::kernel_case lane_sum_case(const std::string &function) {
    constexpr uint32_t n = 100;
    std::vector<float> x(n * 4);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(i % 13);
    corpus::kernel_case c;
    c.name = function;
    c.source = lane_sum_source;
    c.function = function;
    c.bindings = {corpus::buffer_of(0, x), corpus::zeros<float>(1, n + 1)};
    c.grid = corpus::s3(n);
    c.threadgroup = corpus::s3(32);
    const bool all_four = function == "lane_sum4";
    c.check = [=](const corpus::results &r) {
        const std::vector<float> got = r.get<float>(1);
        for (uint32_t g = 0; g < n; ++g) {
            float want = 0;
            for (uint32_t i = 0; i < (all_four ? 4 : g % 4 + 1); ++i) want += x[g * 4 + i];
            const float at = got[all_four ? g + 1 : g]; // (lane_sum4 writes one element further on)
            if (at != want) return "thread " + std::to_string(g) + ": got " + std::to_string(at) + ", want " + std::to_string(want);
        }
        return std::string();
    };
    return c;
}

// A changed position: the split gives each thread its own copy, set to its position before the first region.
const char *const rotated_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void rotated(device uint* out [[buffer(0)]], threadgroup uint* t [[threadgroup(0)]],
                    uint lid [[thread_position_in_threadgroup]], uint gid [[thread_position_in_grid]]) {
    t[lid] = gid;
    lid = (lid + 1) % 32;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid] = t[lid];
}
)";

// The same through a component of the positions (ggml's kernel_mul_mv_id sets `tgpig.z = 0;`): a vector
// position's component changed, and the threadgroup's position.
const char *const rotated_component_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void rotated(device uint* out [[buffer(0)]], threadgroup uint* t [[threadgroup(0)]],
                    uint2 lid [[thread_position_in_threadgroup]], uint2 gid [[thread_position_in_grid]],
                    uint3 group [[threadgroup_position_in_grid]]) {
    t[lid.x] = gid.x;
    lid.x = (lid.x + 1) % 32;
    group.x = 0;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[gid.x] = t[lid.x] + group.x;
}
)";

corpus::kernel_case rotated_case(const char *source = rotated_source) {
    corpus::kernel_case c;
    c.name = "rotated";
    c.source = source;
    c.function = "rotated";
    c.bindings = {corpus::zeros<uint32_t>(0, 64), corpus::threadgroup_memory(0, 32 * 4)};
    c.grid = corpus::s3(64);
    c.threadgroup = corpus::s3(32);
    c.expects_barriers = true;
    c.check = [](const corpus::results &r) {
        const std::vector<uint32_t> got = r.get<uint32_t>(0);
        for (uint32_t g = 0; g < 64; ++g) {
            const uint32_t want = g / 32 * 32 + (g % 32 + 1) % 32;
            if (got[g] != want) return "thread " + std::to_string(g) + ": got " + std::to_string(got[g]) + ", want " + std::to_string(want);
        }
        return std::string();
    };
    return c;
}

} // namespace

// (On fibers, with SIMD groups of 32, the same kernel runs in tests/metal/simdgroup_test.cpp: this
// runner makes every thread a SIMD group of one.)
TEST_CASE("a split kernel whose threads move their buffer pointers matches the host", "[compiler][regions][parameters]") {
    softmetal_test::use_default_test_cache();
    softmetal_test::direct_runner runner;
    CHECK(runner.run(row_scale_case()) == "");
    REQUIRE(runner.kernel);
    CHECK(softmetal_test::is_split(runner.kernel));
}

TEST_CASE("kernels whose threads move their buffer pointers still run as SIMD lanes", "[compiler][lanes][parameters]") {
    softmetal_test::use_default_test_cache();
    const std::string log = softmetal_test::remarks_of(lane_sum_source);
    CHECK(log.find("remark: kernel 'lane_sum': threads run as SIMD lanes") != std::string::npos);
    CHECK(log.find("remark: kernel 'lane_sum4': threads run as SIMD lanes") != std::string::npos);
    CHECK(log.find("remark: kernel 'lane_total': threads run as SIMD lanes") != std::string::npos);
}

TEST_CASE("a reference parameter a lane kernel adds into is written to memory, not to a copy", "[compiler][lanes][parameters]") {
    softmetal_test::use_default_test_cache();
    const std::vector<float> x = {1.5f, 2.0f, 4.0f, 8.25f, 100.0f};
    corpus::kernel_case c;
    c.name = "lane_total";
    c.source = lane_sum_source;
    c.function = "lane_total";
    c.bindings = {corpus::buffer_of(0, x), corpus::buffer_of(1, std::vector<float>{0.5f})};
    c.grid = corpus::s3(1);
    c.threadgroup = corpus::s3(1);
    c.check = [](const corpus::results &r) {
        const float got = r.get<float>(1)[0];
        return got == 0.5f + 1.5f + 2.0f + 4.0f + 8.25f ? std::string() : "total: got " + std::to_string(got) + ", want 16.25";
    };
    for (const char *lanes : {"1", "0"}) {
        DYNAMIC_SECTION("SOFTMETAL_LANES=" << lanes) {
            scoped_environment mode("SOFTMETAL_LANES", lanes);
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
        }
    }
}

TEST_CASE("kernels run as SIMD lanes whose threads move their buffer pointers match the host", "[compiler][lanes][parameters]") {
    softmetal_test::use_default_test_cache();
    for (const char *lanes : {"1", "0"})
        for (const char *function : {"lane_sum", "lane_sum4"}) {
            DYNAMIC_SECTION(function << " with SOFTMETAL_LANES=" << lanes) {
                scoped_environment mode("SOFTMETAL_LANES", lanes);
                softmetal_test::direct_runner runner;
                CHECK(runner.run(lane_sum_case(function)) == "");
            }
        }
}

TEST_CASE("a kernel that changes a position parameter across a barrier splits, each thread's position its own, and matches the host",
          "[compiler][regions][parameters]") {
    softmetal_test::use_default_test_cache();
    for (const char *source : {rotated_source, rotated_component_source}) {
        softmetal_test::direct_runner runner;
        CHECK(runner.run(rotated_case(source)) == "");
        REQUIRE(runner.kernel);
        CHECK(softmetal_test::is_split(runner.kernel));
    }
}
