// Kernels written as classes (MLX's sort and steel shapes, tests/kernels/class_member_kernels.hpp): a
// static member function of a class template called through an alias, reading the class's member
// aliases and static constants, calling a nested class's meeting function through a member alias and
// its class's other static functions. The split inlines them (compiler/barrier_regions.cpp,
// helper_inliner::class_member_declarations); each kernel must split, match the host, and give the same
// result on fibers. (This runner makes every thread a SIMD group of one on fibers, so the SIMD-group
// kernel's comparison with fibers is in tests/metal/simdgroup_test.cpp, through the executor.)
#include "catch.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../kernels/class_member_kernels.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

bool fibers(const sm_kernel_info *k) { return k->uses_barriers == 1 && k->run_group == nullptr && k->run_thread != nullptr; }

std::shared_ptr<const softmetal::kernel_module> compile_classes() { return softmetal_test::compiled_module(class_member_kernels::source); }

// Rows of `n` values sorted by a threadgroup each, against std::sort.
template <typename T> void check_sorts(const sm_kernel_info *k, uint32_t threads, uint32_t per_thread) {
    const uint32_t rows = 3;
    for (uint32_t n : {threads * per_thread, threads * per_thread - 5, 7u, 1u}) {
        INFO("n " << n);
        std::vector<T> in(rows * n);
        for (size_t i = 0; i < in.size(); ++i) in[i] = T(int((i * 37 + 11) % 101) - 50);
        std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<T>(rows * n, T(-99))),
                                                     softmetal_test::bytes(std::vector<int32_t>{int32_t(n)})};
        softmetal_test::run_on_buffers(k, b, {rows * threads, 1, 1}, {threads, 1, 1});
        std::vector<T> want = in;
        for (uint32_t r = 0; r < rows; ++r) std::sort(want.begin() + r * n, want.begin() + (r + 1) * n);
        CHECK(softmetal_test::values<T>(b[1]) == want);
    }
}

} // namespace

TEST_CASE("a merge sort written as class templates called through aliases splits and sorts as the host does",
          "[compiler][regions][classes]") {
    const auto module = compile_classes();
    const sm_kernel_info *f = module->find("sort_rows_float");
    const sm_kernel_info *i = module->find("sort_rows_int");
    REQUIRE(f);
    REQUIRE(i);
    REQUIRE(softmetal_test::is_split(f));
    REQUIRE(softmetal_test::is_split(i));
    check_sorts<float>(f, 32, 4);
    check_sorts<int32_t>(i, 64, 2);
}

TEST_CASE("a class template after macro uses without ';', with a '>>'-closed default and a member named like a kernel, splits and sorts",
          "[compiler][regions][classes]") {
    const auto module = compile_classes();
    const sm_kernel_info *k = module->find("padded_sort_rows_float");
    REQUIRE(k);
    REQUIRE(softmetal_test::is_split(k));
    check_sorts<float>(k, 32, 4);
}

TEST_CASE("a class whose alias names a type with SIMD-group position attributes on its constructor splits and matches the host",
          "[compiler][regions][classes]") {
    const auto module = compile_classes();
    const sm_kernel_info *k = module->find("rotate_groups_96");
    REQUIRE(k);
    REQUIRE(softmetal_test::is_split(k));
    const uint32_t groups = 3, threads = 96;
    std::vector<float> in(groups * threads);
    for (size_t i = 0; i < in.size(); ++i) in[i] = float(i * 7 % 23) - 11.0f;
    std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<float>(in.size(), -99.0f))};
    softmetal_test::run_on_buffers(k, b, {groups * threads, 1, 1}, {threads, 1, 1});
    std::vector<float> want(in.size());
    for (uint32_t g = 0; g < groups; ++g)
        for (uint32_t t = 0; t < threads; ++t) want[g * threads + t] = in[g * threads + (t + 1) % threads];
    CHECK(softmetal_test::values<float>(b[1]) == want);
}

TEST_CASE("the merge sort written as class templates sorts as the host does on fibers too", "[compiler][regions][classes]") {
    softmetal_test::scoped_environment mode("SOFTMETAL_BARRIER_MODE", "fibers");
    const auto module = compile_classes();
    const sm_kernel_info *f = module->find("sort_rows_float");
    const sm_kernel_info *i = module->find("sort_rows_int");
    REQUIRE(f);
    REQUIRE(i);
    REQUIRE(fibers(f));
    REQUIRE(fibers(i));
    check_sorts<float>(f, 32, 4);
    check_sorts<int32_t>(i, 64, 2);
}

TEST_CASE("a threadgroup total through a class's member alias to a SIMD-group reducer splits and matches the host",
          "[compiler][regions][classes][simdgroup]") {
    const auto module = compile_classes();
    const sm_kernel_info *k = module->find("group_totals");
    REQUIRE(k);
    REQUIRE(softmetal_test::is_split(k));
    // Threadgroups of 45 (SIMD groups of 32 and 13), 64 and 80, and a partial last threadgroup.
    for (uint32_t tg : {45u, 64u, 80u}) {
        const uint32_t count = 2 * tg + 17;
        INFO("threadgroup " << tg << ", grid " << count);
        std::vector<float> in(count);
        for (uint32_t t = 0; t < count; ++t) in[t] = float(int(t * 5 % 11) - 5);
        std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<float>(count, -1.0f))};
        softmetal_test::run_on_buffers(k, b, {count, 1, 1}, {tg, 1, 1});
        const std::vector<float> out = softmetal_test::values<float>(b[1]);
        for (uint32_t t = 0; t < count; ++t) {
            const uint32_t g0 = t / tg * tg, g1 = std::min(g0 + tg, count);
            float total = 0.0f;
            for (uint32_t u = g0; u < g1; ++u) total += (u - g0) % 32 % 3 == 1 ? in[u] * 2.0f : in[u] + 1.0f;
            INFO("thread " << t);
            CHECK(out[t] == total);
        }
    }
}

TEST_CASE("a matrix-vector product written as MLX's GEMV class (member templates, pragma loops, an early return) splits and matches the host",
          "[compiler][regions][classes][simdgroup]") {
    const auto module = compile_classes();
    for (const auto &variant : {std::make_pair("mat_vec_4x4", 4), std::make_pair("mat_vec_3x1", 3)}) {
        const sm_kernel_info *k = module->find(variant.first);
        REQUIRE(k);
        REQUIRE(softmetal_test::is_split(k));
        for (int rows : {1, 7, 13})
            for (int cols : {5, 64, 300}) {
                INFO(variant.first << ", " << rows << " x " << cols);
                const class_member_kernels::mat_vec_case c = class_member_kernels::mat_vec_inputs(rows, cols);
                std::vector<std::vector<unsigned char>> b = {
                    softmetal_test::bytes(c.mat), softmetal_test::bytes(c.vec), softmetal_test::bytes(std::vector<float>(rows, -99.0f)),
                    softmetal_test::bytes(std::vector<int32_t>{rows}), softmetal_test::bytes(std::vector<int32_t>{cols})};
                // One threadgroup more than the rows need: it returns before the barrier.
                const uint32_t groups = uint32_t((rows + variant.second - 1) / variant.second) + 1;
                softmetal_test::run_on_buffers(k, b, {groups * 64, 1, 1}, {64, 1, 1});
                CHECK(softmetal_test::values<float>(b[2]) == c.want);
            }
    }
}

TEST_CASE("a static member function that calls another of its class that meets splits and matches the host",
          "[compiler][regions][classes]") {
    // The other member, called by its bare name, is inlined through the class (helper_inliner::self_qualifier;
    // before, the kernel kept fibers: 'the helper function 'reversed' ... cannot be inlined').
    const std::string src = R"(
#include <metal_stdlib>
using namespace metal;
template <typename T> struct Staged {
    static METAL_FUNC void stage(threadgroup T *s, T v, uint lid) {
        s[lid] = v;
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    static METAL_FUNC T reversed(threadgroup T *s, T v, uint lid, uint n) {
        stage(s, v, lid);
        return s[n - 1 - lid];
    }
};
kernel void reverse_staged(device const float *in [[buffer(0)]], device float *out [[buffer(1)]], uint gid [[thread_position_in_grid]],
                           uint lid [[thread_position_in_threadgroup]], uint n [[threads_per_threadgroup]]) {
    threadgroup float s[64];
    out[gid] = Staged<float>::reversed(s, in[gid], lid, n);
}
)";
    softmetal_test::use_default_test_cache();
    const softmetal::compile_result r = softmetal::compile_library(src, {}, softmetal_test::test_runtime());
    INFO(r.log);
    REQUIRE(r.module);
    const sm_kernel_info *k = r.module->find("reverse_staged");
    REQUIRE(k);
    CHECK(softmetal_test::is_split(k));
    std::vector<float> in(128);
    for (size_t i = 0; i < in.size(); ++i) in[i] = float(i);
    std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<float>(128, -1.0f))};
    softmetal_test::run_on_buffers(k, b, {128, 1, 1}, {64, 1, 1});
    const std::vector<float> out = softmetal_test::values<float>(b[1]);
    for (uint32_t t = 0; t < 128; ++t) CHECK(out[t] == in[t / 64 * 64 + 63 - t % 64]);
}
