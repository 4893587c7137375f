// The source's own overloads of simd_shuffle_down, written as MLX writes them
// (tests/kernels/shuffle_wrapper_kernels.hpp): kernels that shuffle through them split, and match the host.
#include "catch.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../kernels/shuffle_wrapper_kernels.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

std::shared_ptr<const softmetal::kernel_module> compile_wrappers() { return softmetal_test::compiled_module(shuffle_wrapper_kernels::source); }

const sm_kernel_info *split_kernel(const std::shared_ptr<const softmetal::kernel_module> &module, const char *name) {
    INFO(name);
    const sm_kernel_info *k = module->find(name);
    REQUIRE(k);
    CHECK(softmetal_test::is_split(k));
    return k;
}

} // namespace

TEST_CASE("an arg-max through an index-value pair's own shuffle, written as MLX's, splits and matches the host",
          "[compiler][regions][simdgroup][shuffle_wrappers]") {
    const auto module = compile_wrappers();
    const sm_kernel_info *k = split_kernel(module, "row_argmax");
    const uint32_t rows = 3;
    for (uint32_t threads : {256u, 96u, 32u}) { // (96: three SIMD groups, fewer than the 32 slots of the second step)
        const uint32_t cols = 1000;
        std::vector<float> in(size_t(rows) * cols);
        for (size_t i = 0; i < in.size(); ++i) in[i] = float(int((i * 53 + threads) % 89)); // (ties: the first index wins)
        std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<uint32_t>(rows, 77777u)),
                                                     softmetal_test::bytes(std::vector<uint32_t>{cols})};
        softmetal_test::run_on_buffers(k, b, {rows * threads, 1, 1}, {threads, 1, 1});
        const std::vector<uint32_t> got = softmetal_test::values<uint32_t>(b[1]);
        for (uint32_t r = 0; r < rows; ++r) {
            INFO("threads " << threads << ", row " << r);
            const auto first = in.begin() + size_t(r) * cols;
            CHECK(got[r] == uint32_t(std::max_element(first, first + cols) - first));
        }
    }
}

TEST_CASE("64-bit, bool and bfloat values shuffled through the source's own overloads split and match the host",
          "[compiler][regions][simdgroup][shuffle_wrappers]") {
    const auto module = compile_wrappers();
    const uint32_t groups = 4, n = groups * 32;
    {
        std::vector<int64_t> in(n);
        for (uint32_t i = 0; i < n; ++i) in[i] = (int64_t(i * 7919 % 113) - 56) * (int64_t(1) << 36) + i; // (beyond 32 bits)
        for (const char *name : {"simd_max_i64", "simd_max_i64_helper"}) {
            std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<int64_t>(groups, 0))};
            softmetal_test::run_on_buffers(split_kernel(module, name), b, {n, 1, 1}, {64, 1, 1});
            const std::vector<int64_t> got = softmetal_test::values<int64_t>(b[1]);
            for (uint32_t g = 0; g < groups; ++g) {
                INFO(name << ", group " << g);
                CHECK(got[g] == *std::max_element(in.begin() + g * 32, in.begin() + g * 32 + 32));
            }
        }
    }
    {
        std::vector<float> in(n, 0.0f);
        in[5] = 2.0f;  // group 0: one lane above
        in[95] = 3.0f; // group 2: the last lane above
        const float threshold = 1.0f;
        std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<uint32_t>(groups, 9u)),
                                                     softmetal_test::bytes(std::vector<float>{threshold})};
        softmetal_test::run_on_buffers(split_kernel(module, "simd_any_above"), b, {n, 1, 1}, {128, 1, 1});
        CHECK(softmetal_test::values<uint32_t>(b[1]) == std::vector<uint32_t>{1u, 0u, 1u, 0u});
    }
    {
        std::vector<float> in(n);
        for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 5) % 8); // (sums of 32 of them are whole numbers a bfloat holds)
        std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<float>(groups, -1.0f))};
        softmetal_test::run_on_buffers(split_kernel(module, "simd_sum_bfloat"), b, {n, 1, 1}, {32, 1, 1});
        const std::vector<float> got = softmetal_test::values<float>(b[1]);
        for (uint32_t g = 0; g < groups; ++g) {
            float want = 0;
            for (uint32_t l = 0; l < 32; ++l) want += in[g * 32 + l];
            INFO("group " << g);
            CHECK(got[g] == want);
        }
    }
}
