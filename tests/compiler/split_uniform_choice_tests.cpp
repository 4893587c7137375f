// Barriers and SIMD-group calls in arms chosen alike for the whole group (tests/kernels/uniform_choice_kernels.hpp):
// `if constexpr`, whose condition is a constant, the group's by definition, so the split takes the arm
// once for the group (compiler/barrier_regions.cpp, splitter::branch_statement) and, in a template kernel,
// each instantiation its own; and a switch on a call's value, which the inliner evaluates once per thread
// into a variable before the if-chain it makes of the switch (helper_inliner::switch_value). Each kernel must split and match the host reference, with threadgroups that are not
// multiples of 32, partial threadgroups and lanes that returned before the meetings. (This runner makes
// every thread a SIMD group of one on fibers, so the comparison with fibers is in
// tests/metal/simdgroup_test.cpp, through the executor.)
#include "catch.hpp"

#include <string>
#include <vector>

#include "../kernels/uniform_choice_kernels.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

// Compiles the kernels, checks that `name` split, and runs it over every shape against the reference.
void check_split_matches_reference(const char *name) {
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(uniform_choice_kernels::source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find(name);
    REQUIRE(k);
    INFO(softmetal_test::remarks_of(uniform_choice_kernels::source));
    REQUIRE(softmetal_test::is_split(k));
    for (const uniform_choice_kernels::shape &d : uniform_choice_kernels::shapes()) {
        INFO("grid " << d.grid << ", threadgroup " << d.tg << ", n " << d.n);
        uniform_choice_kernels::run_case c = uniform_choice_kernels::case_for(name, d);
        softmetal_test::run_on_buffers(k, c.buffers, {d.grid, 1, 1}, {d.tg, 1, 1});
        CHECK(softmetal_test::values<float>(c.buffers[2]) == softmetal_test::values<float>(c.want[2]));
        CHECK(softmetal_test::values<uint32_t>(c.buffers[3]) == softmetal_test::values<uint32_t>(c.want[3]));
        if (c.want.count(1)) CHECK(softmetal_test::values<uint32_t>(c.buffers[1]) == softmetal_test::values<uint32_t>(c.want[1]));
    }
}

} // namespace

TEST_CASE("SIMD-group calls in the taken arm of an if constexpr chain meet the active lanes, split", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("cx_reduce_sum");
}

TEST_CASE("a divergent if inside an if constexpr arm makes its two calls different meetings, split", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("cx_reduce_max");
}

TEST_CASE("an instantiation whose if constexpr arm meets nobody still splits and leaves values as they are",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("cx_reduce_none");
}

TEST_CASE("barriers in an if constexpr arm a template instantiation takes run for the whole group, split", "[compiler][regions]") {
    check_split_matches_reference("cx_fold_64");
}

TEST_CASE("an instantiation that does not take the if constexpr arm with barriers skips them, split", "[compiler][regions]") {
    check_split_matches_reference("cx_fold_32");
}

TEST_CASE("barriers in the else arm of an if constexpr on a local constant of a plain kernel, split", "[compiler][regions]") {
    check_split_matches_reference("cx_fold_local");
}

TEST_CASE("a switch on the value of a call splits as an if-chain, the call made once per thread", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("sw_fold");
}

TEST_CASE("a switch whose labels a macro writes with a semicolon after each block splits as an if-chain", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("sw_macro_fold");
}

TEST_CASE("a switch on a call whose label's helper cannot be inlined keeps fibers, with the switch remark", "[compiler][regions][simdgroup]") {
    // The chain is begun, and the label's first helper inlined, before its second fails (a return inside
    // its loop): the inlining fails whole, leaving no half a chain for the splitter to read (before, the
    // splitter read one and said "unbalanced brackets", candle's softmax kernels).
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
uint pick(uint size) { return size >= 32 ? 1u : 0u; }
float largest(float v) { return simd_max(v); }
float first_positive(device const float *x) {
    for (uint i = 0; i < 4; ++i) {
        if (x[i] > 0.0f) return simd_sum(x[i]);
    }
    return 0.0f;
}
kernel void by_label(device float *x [[buffer(0)]], uint gid [[thread_position_in_grid]], uint size [[threads_per_threadgroup]]) {
    switch (pick(size)) {
    case 1: {
        const float m = largest(x[gid]);
        const float v = first_positive(x);
        x[gid] = v + m;
        break;
    }
    default:
        break;
    }
}
)";
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const std::string remarks = softmetal_test::remarks_of(src);
    INFO(remarks);
    const sm_kernel_info *k = r.module->find("by_label");
    REQUIRE(k);
    CHECK_FALSE(softmetal_test::is_split(k));
    CHECK(remarks.find("kernel 'by_label' runs on fibers: a SIMD-group call or barrier in a switch that is no if-chain") != std::string::npos);
    CHECK(remarks.find("unbalanced") == std::string::npos);
}

TEST_CASE("a switch whose value meets other threads keeps fibers, with a remark", "[compiler][regions][simdgroup]") {
    // The value would be a meeting of its own before the chain; the inliner does not move it there.
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
float total(float v) { return simd_sum(v); }
kernel void by_sum(device float *x [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    switch (uint(simd_sum(x[gid]))) {
    case 0:
        x[gid] = simd_max(x[gid]);
        break;
    default:
        break;
    }
}
kernel void by_helper(device float *x [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    switch (uint(total(x[gid]))) {
    case 0:
        x[gid] = simd_max(x[gid]);
        break;
    default:
        break;
    }
}
)";
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const std::string remarks = softmetal_test::remarks_of(src);
    INFO(remarks);
    for (const char *name : {"by_sum", "by_helper"}) {
        INFO(name);
        const sm_kernel_info *k = r.module->find(name);
        REQUIRE(k);
        CHECK_FALSE(softmetal_test::is_split(k));
        CHECK(remarks.find(std::string("kernel '") + name + "' runs on fibers: a SIMD-group call or barrier in a switch that is no if-chain") !=
              std::string::npos);
    }
}
