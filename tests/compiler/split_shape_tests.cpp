// Kernel shapes of candle's that met other threads in ways the split did not take
// (tests/kernels/simd_shape_kernels.hpp): a switch whose value is a call or increments a variable, loop
// hints written as `_Pragma(...)` (or a macro of one) before a loop between barriers, and a kernel that
// meets nobody though its instantiation names a parameter `simd_lane_id`; MLX's winograd loop
// mixing simdgroup_matrix products with the lanes' statements on their elements; and ggml's flash
// attention's loop over blocks, left by a break and skipping by a continue on values read from memory,
// and its helper whose parameter a loop's variable hides; ggml's kernel_mul_mv_id, whose template argument is
// a function template given the function that meets. Each must split (or, meeting
// nobody, run without fibers) and match the host reference, with threadgroups that are not multiples
// of 32, partial threadgroups and lanes that returned early. (This runner makes every thread a SIMD
// group of one on fibers, so the comparison with fibers is in tests/metal/simdgroup_test.cpp.) A switch
// whose value calls a SIMD-group function keeps fibers, with a remark.
#include "catch.hpp"

#include <string>
#include <vector>

#include "../kernels/simd_shape_kernels.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

bool fibers(const sm_kernel_info *k) { return k->uses_barriers == 1 && k->run_group == nullptr && k->run_thread != nullptr; }

const sm_kernel_info *compiled(const char *name, softmetal::compile_result &r) {
    softmetal_test::use_default_test_cache();
    r = softmetal::compile_library(simd_shape_kernels::source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find(name);
    REQUIRE(k);
    return k;
}

// Runs `k` over every shape against the reference.
void check_matches_reference(const char *name, const sm_kernel_info *k) {
    for (const simd_shape_kernels::shape &d : simd_shape_kernels::shapes_for(name)) {
        INFO(name << ": grid " << d.grid << ", threadgroup " << d.tg << ", n " << d.n);
        simd_shape_kernels::run_case c = simd_shape_kernels::case_for(name, d);
        softmetal_test::run_on_buffers(k, c.buffers, {d.grid, 1, 1}, {d.tg, 1, 1});
        CHECK(softmetal_test::values<float>(c.buffers[2]) == softmetal_test::values<float>(c.want[2]));
        CHECK(softmetal_test::values<uint32_t>(c.buffers[3]) == softmetal_test::values<uint32_t>(c.want[3]));
    }
}

void check_split_matches_reference(const char *name) {
    softmetal::compile_result r;
    const sm_kernel_info *k = compiled(name, r);
    REQUIRE(softmetal_test::is_split(k));
    check_matches_reference(name, k);
}

} // namespace

TEST_CASE("a switch whose value is a call of the group's values splits, each label's threadgroup array and barriers its own",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("switch_call_group");
}

TEST_CASE("a switch whose value is a per-lane call with an increment is evaluated once, each label meeting its own lanes, split",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("switch_call_lane");
}

TEST_CASE("loop hints written as _Pragma or a macro of one before loops between barriers split", "[compiler][regions]") {
    check_split_matches_reference("tiled_pragma");
}

TEST_CASE("a loop mixing simdgroup_matrix products with statements on the lanes' elements splits", "[compiler][regions][simdgroup]") {
    check_split_matches_reference("matrix_loop");
}

TEST_CASE("a loop starting at the SIMD group's index around matrix statements splits, each SIMD group its own trip count",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("matrix_simd_loop");
}

TEST_CASE("a loop left by a break and skipping by a continue on values read from memory, around matrix statements and barriers, splits",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("matrix_jump_loop");
}

TEST_CASE("a matrix whose type is a template parameter, made by make_filled_simdgroup_matrix<T, 8> in a loop around barriers, splits",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("alias_matrix");
}

TEST_CASE("a helper whose parameter lives across meetings and is hidden by a loop's variable around meetings is inlined and splits",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("hidden_parameter");
}

TEST_CASE("a kernel whose template argument is a function template given a meeting function splits per instantiation",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("work_id_lanes");
    check_split_matches_reference("work_id_groups");
    CHECK(softmetal_test::remarks_of(simd_shape_kernels::source).find("kernel 'work_id' runs on fibers") == std::string::npos);
}

// (Its results on fibers: tests/metal/simdgroup_test.cpp, through kernel_names.)
TEST_CASE("a kernel that passes its function template argument on to another template keeps fibers", "[compiler][regions][simdgroup]") {
    softmetal::compile_result r;
    CHECK(fibers(compiled("work_passed_on_groups", r)));
}

TEST_CASE("matrix statements under an if on a type trait's value split, each instantiation taking its arm",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("trait_matrix_f32");
    check_split_matches_reference("trait_matrix_i32");
}

TEST_CASE("a scalar operand the compiler repairs in code the split copies splits, the repair applied to the split source too",
          "[compiler][regions][simdgroup]") {
    check_split_matches_reference("loose_scalar_h4");
    CHECK(softmetal_test::remarks_of(simd_shape_kernels::source).find("did not build") == std::string::npos);
}

TEST_CASE("a kernel meeting nobody whose instantiation names a parameter simd_lane_id runs without fibers", "[compiler][regions][simdgroup]") {
    softmetal::compile_result r;
    const sm_kernel_info *k = compiled("lane_named_f32", r);
    CHECK(k->uses_barriers == 0);
    CHECK(softmetal_test::remarks_of(simd_shape_kernels::source).find("kernel 'lane_named' runs on fibers") == std::string::npos);
    check_matches_reference("lane_named_f32", k);
}

TEST_CASE("a switch whose value calls a SIMD-group function keeps fibers, with a remark", "[compiler][regions][simdgroup]") {
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void switch_on_sum(device float *x [[buffer(0)]], uint gid [[thread_position_in_grid]]) {
    switch (uint(simd_sum(x[gid])) % 2u) {
        case 0: x[gid] = simd_max(x[gid]); break;
        default: x[gid] = -x[gid];
    }
}
)";
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find("switch_on_sum");
    REQUIRE(k);
    CHECK(fibers(k));
    CHECK(softmetal_test::remarks_of(src).find("kernel 'switch_on_sum' runs on fibers: a SIMD-group call or barrier in a switch that is no if-chain "
                                               "(a label that falls through into the next, a break inside its statements, a value that assigns, "
                                               "meets other threads or whose type the split cannot name") != std::string::npos);
}

TEST_CASE("matrix statements under a per-thread branch keep fibers, with a remark", "[compiler][regions][simdgroup]") {
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
kernel void matrix_in_branch(device float *x [[buffer(0)]], uint lane [[thread_index_in_simdgroup]]) {
    simdgroup_matrix<float, 8, 8> a;
    a.thread_elements()[0] = x[lane];
    a.thread_elements()[1] = x[lane + 32];
    if (x[lane] > 0.0f) {
        simdgroup_barrier(mem_flags::mem_none);
        a = a * a;
    }
    x[lane] = a.thread_elements()[0];
}
)";
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const std::string remarks = softmetal_test::remarks_of(src);
    INFO(remarks);
    const sm_kernel_info *k = r.module->find("matrix_in_branch");
    REQUIRE(k);
    CHECK(fibers(k));
    CHECK(remarks.find("kernel 'matrix_in_branch' runs on fibers: a simdgroup_matrix statement under an 'if' whose condition may differ "
                       "between the group's threads") != std::string::npos);
}
