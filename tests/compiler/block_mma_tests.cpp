// MLX's and candle's steel GEMM shape (tests/kernels/block_mma_kernels.hpp): an object whose data
// members are simdgroup_matrix arrays, filled through thread_elements() and multiplied by its member
// functions, living across the kernel's barriers. It must split (its matrices held apart from the
// object, one copy per SIMD group) and match the host reference, in float and in half. (This runner
// makes every thread a SIMD group of one on fibers, so the comparison with fibers is in
// tests/metal/simdgroup_test.cpp.)
#include "catch.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../kernels/block_mma_kernels.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

template <class T> std::vector<unsigned char> bytes_of(const std::vector<T> &v) {
    std::vector<unsigned char> b(v.size() * sizeof(T));
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

// The operand as the kernel's element type.
std::vector<unsigned char> operand(const std::vector<float> &v, bool half_precision) {
    if (!half_precision) return bytes_of(v);
    std::vector<uint16_t> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = block_mma_kernels::half_of(v[i]);
    return bytes_of(h);
}

std::vector<float> result(const std::vector<unsigned char> &b, bool half_precision) {
    if (!half_precision) return softmetal_test::values<float>(b);
    std::vector<float> out;
    for (uint16_t h : softmetal_test::values<uint16_t>(b)) out.push_back(block_mma_kernels::float_of(h));
    return out;
}

} // namespace

TEST_CASE("an object holding simdgroup_matrix members, multiplied and stored by its member functions across barriers, splits",
          "[compiler][regions][simdgroup]") {
    using namespace block_mma_kernels;
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const std::vector<float> want = reference();
    for (const tiling &t : kernels()) {
        INFO(t.name);
        const sm_kernel_info *k = r.module->find(t.name);
        REQUIRE(k);
        CHECK(softmetal_test::is_split(k));
        std::vector<std::vector<unsigned char>> buffers = {operand(a_values(), t.half_precision), operand(b_values(), t.half_precision),
                                                          operand(std::vector<float>(M * N, -1.0f), t.half_precision),
                                                          bytes_of(std::vector<int32_t>{int32_t(K)}), bytes_of(std::vector<int32_t>{int32_t(N)})};
        softmetal_test::run_on_buffers(k, buffers, {N / t.bn * t.threads, M / t.bm, 1}, {t.threads, 1, 1});
        CHECK(result(buffers[2], t.half_precision) == want);
    }
}

TEST_CASE("the steel kernel's shape (member aliases, a static member template taking the objects by reference, "
          "edge tiles, an overloaded epilogue, a returned store) splits and matches the host",
          "[compiler][regions][simdgroup]") {
    using namespace block_mma_kernels;
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    for (const tiling &t : edge_kernels()) {
        INFO(t.name);
        const sm_kernel_info *k = r.module->find(t.name);
        REQUIRE(k);
        CHECK(softmetal_test::is_split(k));
        const edge_params p{int32_t(EM), int32_t(EN), int32_t(EK), alpha};
        std::vector<std::vector<unsigned char>> buffers = {operand(edge_a(), t.half_precision), operand(edge_b(), t.half_precision),
                                                          operand(edge_c(), t.half_precision),
                                                          operand(std::vector<float>(EM * EN, -1.0f), t.half_precision),
                                                          bytes_of(std::vector<edge_params>{p})};
        const uint32_t groups_x = (EN + t.bn - 1) / t.bn, groups_y = (EM + t.bm - 1) / t.bm;
        softmetal_test::run_on_buffers(k, buffers, {groups_x * t.threads, groups_y, 1}, {t.threads, 1, 1});
        CHECK(result(buffers[3], t.half_precision) == edge_reference(t.bm, t.bn));
    }
}

TEST_CASE("the steel attention's shape (a static member leaving early, looping on the group's values and calling its own class's "
          "meeting member template) splits and matches the host",
          "[compiler][regions][simdgroup]") {
    using namespace block_mma_kernels;
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(source, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find("class_run_gemm_f32");
    REQUIRE(k);
    CHECK(softmetal_test::is_split(k));
    const edge_params p{int32_t(EM), int32_t(EN), int32_t(EK), alpha};
    std::vector<std::vector<unsigned char>> buffers = {bytes_of(edge_a()), bytes_of(edge_b()), bytes_of(edge_c()),
                                                      bytes_of(std::vector<float>(EM * EN, -1.0f)), bytes_of(std::vector<edge_params>{p})};
    // (One row of threadgroups past the work: they return before meeting.)
    softmetal_test::run_on_buffers(k, buffers, {(EN + 31) / 32 * 128, (EM + 31) / 32 + 1, 1}, {128, 1, 1});
    CHECK(softmetal_test::values<float>(buffers[3]) == class_run_reference());
}

TEST_CASE("an object whose constructor sets a simdgroup_matrix member keeps the fiber path", "[compiler][regions][simdgroup]") {
    // The matrices held apart from the object are set from its first lane's copy once per SIMD group;
    // a constructor writing one could give each lane's copy another value, so it is not taken.
    const char *src = R"(
#include <metal_stdlib>
using namespace metal;
struct Filled {
    simdgroup_matrix<float, 8, 8> m;
    short lane;
    METAL_FUNC Filled(ushort l) : lane(l) { m = make_filled_simdgroup_matrix<float, 8, 8>(2.0f); }
    METAL_FUNC void store(device float *out) const { simdgroup_store(m, out, 8); }
};
kernel void ctor_fills(device float *out [[buffer(0)]], ushort lane [[thread_index_in_simdgroup]]) {
    thread Filled f(lane);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    f.store(out);
}
)";
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find("ctor_fills");
    REQUIRE(k);
    CHECK_FALSE(softmetal_test::is_split(k));
}
