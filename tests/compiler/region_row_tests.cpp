// Second copies of thread loops for rows of a constant width (prelude target_cpu.h says why):
// - regions of barrier kernels, rows of SM_THREAD_ROW threads (compiler/barrier_regions.cpp): which
//   regions get the copy (the translated source says so), and that kernels run with groups of that
//   width and of others, split, match the host with and without the lane forms (SOFTMETAL_LANES=0)
//   and on fibers;
// - kernels without barriers, rows of SM_GROUP_ROW threads (run_group, kernel_entry.h): which kernels
//   get the copy. That they run right with it: the corpus' constant_width_rows_* cases.
#include "catch.hpp"

#include <cstdlib>
#include <string>

#include "compiler/compiler.hpp"
#include "compiler/msl_preprocessor.hpp"
#include "compiler/msl_translator.hpp"
#include "direct_runner.hpp"
#include "kernel_corpus.hpp"
#include "test_environment.hpp"

namespace {

using softmetal_test::scoped_environment;

bool split(const sm_kernel_info *k) { return k && k->uses_barriers == 0 && k->run_group != nullptr; }

size_t count(const std::string &text, const std::string &what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

std::string translated(const std::string &src) {
    softmetal::detail::preprocessed_msl pre;
    pre.prepared = src;
    pre.text = "# 1 \"program_source\"\n" + src;
    const softmetal::detail::translation tr = softmetal::detail::translate_msl(pre, {}, {});
    INFO(tr.log);
    REQUIRE(tr.ok);
    return tr.cpp;
}

const std::string constant_rows = "for (unsigned sm_x = 0; sm_x < SM_THREAD_ROW; ++sm_x) {";
const std::string any_rows = "for (unsigned sm_x = 0; sm_x < sm_size.x; ++sm_x, ++sm_t) {";

} // namespace

TEST_CASE("each region of up to 400 tokens gets a copy of its thread loop for rows SM_THREAD_ROW wide", "[compiler][regions][rows]") {
    // Four regions (before the loop, the loads, the k loop, the store), each with both loops and the
    // test between them.
    std::string src = corpus::region_row_cases().front().source;  // TILE is a macro of the case: 16
    for (size_t at = src.find("TILE"); at != std::string::npos; at = src.find("TILE", at)) src.replace(at, 4, "16");
    const std::string cpp = translated(src);
    CHECK(count(cpp, "if (sm_rows && sm_size.x == SM_THREAD_ROW) {") == 4);
    CHECK(count(cpp, "constexpr bool sm_rows = ::sm::entry::multi_dimensional<") == 1);
    CHECK(count(cpp, constant_rows) == 4);
    CHECK(count(cpp, any_rows) == 4);
}

TEST_CASE("a region of more than 400 tokens keeps one thread loop", "[compiler][regions][rows]") {
    // The region after the barrier: 50 statements of 13 tokens each; the one before it is small.
    std::string body;
    for (int i = 0; i < 50; ++i) body += "    s += part[(lid + " + std::to_string(i) + "u) % 16u] * 3u;\n";
    const std::string cpp = translated(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device uint* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup uint part[16];
    part[lid] = lid;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    uint s = 0;
)" + body + R"(
    out[lid] = s;
}
)");
    CHECK(count(cpp, constant_rows) == 1);
    CHECK(count(cpp, any_rows) == 2);
}

TEST_CASE("a kernel without barriers of up to 400 tokens asks run_group for its copy for rows SM_GROUP_ROW wide", "[compiler][rows]") {
    // The copy is the entry's last template argument; a kernel that reaches atomics gets none (its loop
    // is not vectorized).
    const std::string small = R"(
#include <metal_stdlib>
using namespace metal;
kernel void scale(device float* out [[buffer(0)]], constant uint& w [[buffer(1)]], uint2 gid [[thread_position_in_grid]]) {
    out[gid.y * w + gid.x] *= 2.0f;
}
kernel void count(device atomic_uint* n [[buffer(0)]], uint2 gid [[thread_position_in_grid]]) {
    if (gid.x == gid.y) atomic_fetch_add_explicit(n, 1u, memory_order_relaxed);
}
)";
    const std::string cpp = translated(small);
    CHECK(count(cpp, ", &::scale, false, false, true>(\"scale\"") == 1);
    CHECK(count(cpp, ", &::count, false, true>(\"count\"") == 1);

    // 50 statements of 13 tokens each.
    std::string body;
    for (int i = 0; i < 50; ++i) body += "    s += in[(gid.x + " + std::to_string(i) + "u) % 16u] * 3u;\n";
    const std::string large = translated(R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(device uint* out [[buffer(0)]], const device uint* in [[buffer(1)]], uint2 gid [[thread_position_in_grid]]) {
    uint s = 0;
)" + body + R"(
    out[gid.y * 16u + gid.x] = s;
}
)");
    CHECK(count(large, ", &::k, false>(\"k\"") == 1);
}

TEST_CASE("barrier kernels with rows SM_THREAD_ROW wide and other widths stay split and match the host", "[compiler][regions][rows]") {
    softmetal_test::use_default_test_cache();
    for (const auto &c : corpus::region_row_cases()) {
        DYNAMIC_SECTION(c.name) {
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
            CHECK(split(runner.kernel));
        }
    }
}

TEST_CASE("the barrier kernels run with rows of several widths match the host with SOFTMETAL_LANES=0", "[compiler][regions][rows]") {
    softmetal_test::use_default_test_cache();
    scoped_environment off("SOFTMETAL_LANES", "0");
    for (const auto &c : corpus::region_row_cases()) {
        DYNAMIC_SECTION(c.name) {
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
            CHECK(split(runner.kernel));
        }
    }
}

TEST_CASE("the barrier kernels run with rows of several widths match the host on fibers", "[compiler][regions][rows]") {
    softmetal_test::use_default_test_cache();
    scoped_environment fibers("SOFTMETAL_BARRIER_MODE", "fibers");
    for (const auto &c : corpus::region_row_cases()) {
        DYNAMIC_SECTION(c.name) {
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
            REQUIRE(runner.kernel);
            CHECK(runner.kernel->uses_barriers == 1);
        }
    }
}
