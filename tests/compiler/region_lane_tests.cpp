// Barrier kernels whose regions hold loops of per-thread length run those loops in step as SIMD lanes
// (compiler/barrier_regions.cpp, stmt_kind::lanes): which loops take that form (SOFTMETAL_REMARKS=1
// says so), that the kernels stay split (no fibers) and match the host reference with the lane form,
// without it (SOFTMETAL_LANES=0) and on fibers, and which loops keep the plain form.
#include "catch.hpp"

#include <cstdlib>
#include <string>

#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

using softmetal_test::scoped_environment;

using softmetal_test::remarks_of;

std::string region_lanes_remark(const std::string &kernel) {
    return "remark: kernel '" + kernel + "': threads of a barrier region run as SIMD lanes through the loop at line ";
}

bool split(const sm_kernel_info *k) { return k && k->uses_barriers == 0 && k->run_group != nullptr; }

const char *block_stride_source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void k(const device uint* in [[buffer(0)]], device uint* out [[buffer(1)]], constant uint& n [[buffer(2)]],
              uint lid [[thread_position_in_threadgroup]]) {
    threadgroup uint part[32];
    uint s = 0;
    %LOOP%
    part[lid] = s;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (lid == 0) {
        uint t = 0;
        for (uint j = 0; j < 32u; ++j) t += part[j];
        out[0] = t;
    }
}
)";

std::string with_loop(const std::string &loop) {
    std::string s = block_stride_source;
    s.replace(s.find("%LOOP%"), 6, loop);
    return s;
}

} // namespace

TEST_CASE("loops of per-thread length in barrier regions run as SIMD lanes, stay split and match the host", "[compiler][lanes][regions]") {
    softmetal_test::use_default_test_cache();
    for (const auto &c : corpus::region_lane_cases()) {
        DYNAMIC_SECTION(c.name) {
            const std::string log = remarks_of(c.source);
            CHECK(log.find(region_lanes_remark(c.function)) != std::string::npos);
            // In the kernels whose other regions vectorize too, every loop over the group's threads
            // was vectorized (one that is not says "threads of this region: run one at a time"); the
            // others have atomics or a 2-D threadgroup store, which LLVM does not vectorize. The tile
            // with a halo vectorizes since the split function is inlined into run_group_regions
            // (kernel_entry.h: before, its `constant uint &` loads stayed in the loops).
            if (c.name == "region_lanes_row_sum_then_scale" || c.name == "region_lanes_break_and_continue" ||
                c.name == "region_lanes_softmax_rows" || c.name == "region_lanes_tile_with_halo")
                CHECK(log.find("remark: kernel '" + c.function + "': threads of this region: run one at a time") == std::string::npos);
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
            CHECK(split(runner.kernel));
        }
    }
}

TEST_CASE("a lanes loop's thread loops are vectorized one vector deep, so a row of 16 threads takes the vector loop", "[compiler][lanes][regions]") {
    // Interleaved (the cost model gave the tile staging's gathers 2 x 16 lanes, its flag loop 4 x 64),
    // the vector loop needs more threads than a 16x16 group's row has, and every row ran the scalar
    // remainder (target_cpu.h, SM_LANES_THREAD_LOOP). The blur's other thread loops are not
    // interleaved by the cost model either, so no loop of the kernel may say otherwise.
    softmetal_test::use_default_test_cache();
    for (const auto &c : corpus::region_lane_cases()) {
        if (c.name != "region_lanes_tile_with_halo") continue;
        const std::string log = remarks_of(c.source);
        CHECK(log.find("vectorized loop (vectorization width: 16, interleaved count: 1)") != std::string::npos);
        for (const char *deeper : {"interleaved count: 2)", "interleaved count: 3)", "interleaved count: 4)", "interleaved count: 8)"})
            CHECK(log.find(deeper) == std::string::npos);
    }
}

TEST_CASE("the same barrier kernels match the host with SOFTMETAL_LANES=0, and say nothing of lanes", "[compiler][lanes][regions]") {
    softmetal_test::use_default_test_cache();
    scoped_environment off("SOFTMETAL_LANES", "0");
    for (const auto &c : corpus::region_lane_cases()) {
        DYNAMIC_SECTION(c.name) {
            CHECK(remarks_of(c.source).find(region_lanes_remark(c.function)) == std::string::npos);
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
            CHECK(split(runner.kernel));
        }
    }
}

TEST_CASE("the same barrier kernels match the host on fibers", "[compiler][lanes][regions]") {
    softmetal_test::use_default_test_cache();
    scoped_environment fibers("SOFTMETAL_BARRIER_MODE", "fibers");
    for (const auto &c : corpus::region_lane_cases()) {
        DYNAMIC_SECTION(c.name) {
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
            REQUIRE(runner.kernel);
            CHECK(runner.kernel->uses_barriers == 1);
        }
    }
}

TEST_CASE("block-stride loops the lane form cannot recompute keep the plain region loop and match the host", "[compiler][lanes][regions]") {
    softmetal_test::use_default_test_cache();
    const uint32_t n = 150;
    std::vector<uint32_t> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = i * 7u + 1u;
    struct shape {
        const char *name, *loop;
    };
    // A step the body changes, a start made by a call, a loop variable the body changes, a loop
    // inside the loop, a step of one: each sums every element once, as `for (c = lid; c < n; c += 32) s += in[c]`.
    const shape shapes[] = {
        {"step changed in the body", "uint step = 32u;\n    for (uint c = lid; c < n; c += step) { s += in[c]; step = 32u; }"},
        {"start from a call", "for (uint c = min(lid, 1000u); c < n; c += 32u) s += in[c];"},
        {"loop variable changed in the body", "for (uint c = lid; c < n; c += 16u) { s += in[c]; c += 16u; }"},
        {"a loop inside", "for (uint c = lid; c < n; c += 32u) for (uint j = 0; j < 1u; ++j) s += in[c + j];"},
        {"a step of one (each thread's own contiguous range)", "for (uint c = lid * 5u; c < lid * 5u + 5u && c < n; ++c) s += in[c];"},
    };
    uint32_t want = 0;
    for (uint32_t i = 0; i < n; ++i) want += in[i];
    for (const shape &sh : shapes) {
        DYNAMIC_SECTION(sh.name) {
            corpus::kernel_case c;
            c.name = sh.name;
            c.source = with_loop(sh.loop);
            c.function = "k";
            c.bindings = {corpus::buffer_of(0, in), corpus::zeros<uint32_t>(1, 1), corpus::bytes_of(2, n)};
            c.dispatch = corpus::dispatch_kind::threadgroups;
            c.grid = corpus::size3{1, 1, 1};
            c.threadgroup = corpus::size3{32, 1, 1};
            c.expects_barriers = true;
            c.check = [=](const corpus::results &r) {
                const uint32_t got = r.get<uint32_t>(1)[0];
                return got == want ? std::string() : "got " + std::to_string(got) + ", want " + std::to_string(want);
            };
            CHECK(remarks_of(c.source).find(region_lanes_remark("k")) == std::string::npos);
            softmetal_test::direct_runner runner;
            CHECK(runner.run(c) == "");
            CHECK(split(runner.kernel));
        }
    }
}

TEST_CASE("a variable that would live across a lanes loop without a per-thread copy keeps the kernel split without lanes",
          "[compiler][lanes][regions]") {
    softmetal_test::use_default_test_cache();
    const uint32_t n = 100;
    std::vector<uint32_t> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = i + 1u;
    corpus::kernel_case c;
    c.name = "auto_across_lanes";
    // `auto a = ...` used after the loop: as a lanes statement the loop would be a region of its own
    // and `a` would need a per-thread copy, which an `auto` whose initialiser names a variable of the
    // body declared `auto` too cannot have (its type is spelled where the copies are made, before that
    // variable, and `b` has no type to read); the split takes the kernel whole.
    c.source = with_loop("auto b = s;\n    auto a = b + lid * 2u;\n    for (uint c = lid; c < n; c += 32u) s += in[c];\n    s += a;");
    c.function = "k";
    c.bindings = {corpus::buffer_of(0, in), corpus::zeros<uint32_t>(1, 1), corpus::bytes_of(2, n)};
    c.dispatch = corpus::dispatch_kind::threadgroups;
    c.grid = corpus::size3{1, 1, 1};
    c.threadgroup = corpus::size3{32, 1, 1};
    c.expects_barriers = true;
    uint32_t want = 0;
    for (uint32_t i = 0; i < n; ++i) want += in[i];
    for (uint32_t lid = 0; lid < 32; ++lid) want += lid * 2u;
    c.check = [=](const corpus::results &r) {
        const uint32_t got = r.get<uint32_t>(1)[0];
        return got == want ? std::string() : "got " + std::to_string(got) + ", want " + std::to_string(want);
    };
    CHECK(remarks_of(c.source).find(region_lanes_remark("k")) == std::string::npos);
    softmetal_test::direct_runner runner;
    CHECK(runner.run(c) == "");
    CHECK(split(runner.kernel));
}
