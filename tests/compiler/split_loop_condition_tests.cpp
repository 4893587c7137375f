// Loops whose condition is a SIMD-group result (`while (simd_any(x > limit))`, `for (...; simd_all(c); ...)`,
// `do { ... } while (simd_all(c));`) and loops left by `if (simd_all(done)) break;`: the split tests the
// condition as a meeting of its own in each iteration, with only the lanes still in the loop taking part
// (compiler/barrier_regions.cpp, helper_inliner::loop_header_meeting). Each kernel must split and match
// the host reference (tests/kernels/simd_loop_kernels.hpp), with threadgroups that are not multiples of
// 32, partial threadgroups, lanes that returned before the loop and lanes that left it early. (This
// runner makes every thread a SIMD group of one on fibers, so the comparison with fibers is in
// tests/metal/simdgroup_test.cpp, through the executor.) Headers the split does not take keep fibers.
#include "catch.hpp"

#include <string>
#include <vector>

#include "../kernels/simd_loop_kernels.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

bool fibers(const sm_kernel_info *k) { return k->uses_barriers == 1 && k->run_group == nullptr && k->run_thread != nullptr; }

// Compiles the loop kernels, checks that `name` split, and runs it over every shape against the reference.
void check_split_matches_reference(const char *name) {
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(simd_loop_kernels::source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find(name);
    REQUIRE(k);
    REQUIRE(softmetal_test::is_split(k));
    for (const simd_loop_kernels::shape &d : simd_loop_kernels::shapes()) {
        INFO("grid " << d.grid << ", threadgroup " << d.tg << ", n " << d.n);
        simd_loop_kernels::run_case c = simd_loop_kernels::case_for(name, d);
        softmetal_test::run_on_buffers(k, c.buffers, {d.grid, 1, 1}, {d.tg, 1, 1});
        CHECK(softmetal_test::values<float>(c.buffers[2]) == softmetal_test::values<float>(c.want[2]));
        CHECK(softmetal_test::values<uint32_t>(c.buffers[3]) == softmetal_test::values<uint32_t>(c.want[3]));
    }
}

} // namespace

TEST_CASE("a while loop on simd_any runs until no lane still in it needs another iteration, split", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("halve_while_any");
}

TEST_CASE("a SIMD-group call in the body of a loop on simd_any meets only the lanes still in it, split", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("count_while_any");
}

TEST_CASE("a for loop on simd_all tests its condition after the increment, also after a continue, split", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("sum_for_all");
}

TEST_CASE("a do-while loop on simd_all runs its body first and tests only the lanes still in it, split", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("double_do_all");
}

TEST_CASE("a loop with a uniform header left by 'if (simd_all(done)) break;' leaves it per SIMD group, split",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("steps_until_all");
}

TEST_CASE("a SIMD-group call in a loop header that the split cannot test in the body keeps fibers, with a remark",
          "[compiler][regions][simdgroup]") {
    // Under `&&` (only the lanes whose left side holds would meet), in a for loop's increment, and in a
    // do loop whose body has a continue of its own (which would skip a test at the body's end).
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void guarded_any(device float *x [[buffer(0)]], device const uint *cap [[buffer(1)]], uint gid [[thread_position_in_grid]]) {
    uint t = 0;
    while (t < cap[gid] && simd_any(x[gid] > 1.0f)) {
        x[gid] *= 0.5f;
        ++t;
    }
}
kernel void counted_by_sum(device float *x [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    for (uint i = 0; i < 100; i += uint(simd_sum(1.0f))) {
        x[gid] += 1.0f;
    }
}
kernel void do_continue(device float *x [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    do {
        x[gid] *= 0.5f;
        if (x[gid] < 0.25f) continue;
        x[gid] -= 0.125f;
    } while (simd_any(x[gid] > 1.0f));
}
)";
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const std::string remarks = softmetal_test::remarks_of(src);
    INFO(remarks);
    for (const char *name : {"guarded_any", "counted_by_sum", "do_continue"}) {
        INFO(name);
        const sm_kernel_info *k = r.module->find(name);
        REQUIRE(k);
        CHECK(fibers(k));
        CHECK(remarks.find(std::string("kernel '") + name + "' runs on fibers: a SIMD-group call or barrier in a loop's header that the split does "
                                                            "not move into its body") != std::string::npos);
    }
}
