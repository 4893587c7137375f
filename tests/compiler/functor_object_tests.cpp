// Kernels meeting other threads through functor objects and objects' member functions
// (tests/kernels/functor_object_kernels.hpp, written as candle's reductions are): the split inlines a
// functor object's call operator and a member function on its object, reading the object's data
// members (helper_inliner::functor_call, class_member_declarations), in the partial specialisation of
// its class the compiler chooses (specialisation_choice.hpp), and each kernel must match the host. A functor object the split cannot follow (passed on, or behind a reference) keeps fibers.
// (This runner makes every thread a SIMD group of one on fibers, so the comparison with fibers is in
// tests/metal/functor_object_test.cpp, through the executor.)
#include "catch.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../kernels/functor_object_kernels.hpp"
#include "compiler/compiler.hpp"
#include "direct_runner.hpp"
#include "test_environment.hpp"

namespace {

bool fibers(const sm_kernel_info *k) { return k->uses_barriers == 1 && k->run_group == nullptr && k->run_thread != nullptr; }

std::shared_ptr<const softmetal::kernel_module> compile_functors() { return softmetal_test::compiled_module(functor_object_kernels::source); }

// One threadgroup of `threads` per row of `cols` values; thread 0 writes the row's reduction.
template <typename T, typename Op>
void check_rows(const sm_kernel_info *k, uint32_t threads, uint32_t cols, Op op, T init) {
    const uint32_t rows = 5;
    std::vector<T> in(size_t(rows) * cols);
    for (size_t i = 0; i < in.size(); ++i) in[i] = T(int((i * 37 + 11) % 101) - 50);
    std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<T>(rows, T(-99))),
                                                 softmetal_test::bytes(std::vector<uint32_t>{cols})};
    softmetal_test::run_on_buffers(k, b, {rows * threads, 1, 1}, {threads, 1, 1});
    const std::vector<T> got = softmetal_test::values<T>(b[1]);
    for (uint32_t r = 0; r < rows; ++r) {
        T want = init;
        for (uint32_t c = 0; c < cols; ++c) want = op(want, in[size_t(r) * cols + c]);
        INFO("row " << r);
        CHECK(got[r] == want);
    }
}

} // namespace

TEST_CASE("a block reducer object holding a SIMD-group reducer object, written as candle's, splits and reduces rows as the host does",
          "[compiler][regions][functors][simdgroup]") {
    const auto module = compile_functors();
    for (const char *name : {"row_sum_128", "row_max_256", "row_sum_32", "row_simd_sum_256", "row_simd_max_64"}) {
        INFO(name);
        const sm_kernel_info *k = module->find(name);
        REQUIRE(k);
        CHECK(softmetal_test::is_split(k));
    }
    const auto sum = [](float a, float b) { return a + b; };
    const auto max = [](int32_t a, int32_t b) { return std::max(a, b); };
    check_rows<float>(module->find("row_sum_128"), 128, 1000, sum, 0.0f);
    check_rows<float>(module->find("row_sum_128"), 128, 77, sum, 0.0f);
    check_rows<int32_t>(module->find("row_max_256"), 256, 3000, max, INT32_MIN);
    check_rows<float>(module->find("row_sum_32"), 32, 45, sum, 0.0f);
    check_rows<float>(module->find("row_simd_sum_256"), 256, 1000, sum, 0.0f);
    check_rows<int32_t>(module->find("row_simd_max_64"), 64, 100, max, INT32_MIN);
}

TEST_CASE("an argmax through the source's own shuffle of an indexed value splits and matches the host",
          "[compiler][regions][functors][simdgroup]") {
    const auto module = compile_functors();
    const sm_kernel_info *k = module->find("row_argmax_128");
    REQUIRE(k);
    CHECK(softmetal_test::is_split(k));
    const uint32_t rows = 4, cols = 700;
    std::vector<float> in(size_t(rows) * cols);
    for (size_t i = 0; i < in.size(); ++i) in[i] = float(int((i * 53 + 5) % 97)); // (ties: the first index wins)
    std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<uint32_t>(rows, 12345u)),
                                                 softmetal_test::bytes(std::vector<uint32_t>{cols})};
    softmetal_test::run_on_buffers(k, b, {rows * 128, 1, 1}, {128, 1, 1});
    const std::vector<uint32_t> got = softmetal_test::values<uint32_t>(b[1]);
    for (uint32_t r = 0; r < rows; ++r) {
        INFO("row " << r);
        const auto first = in.begin() + size_t(r) * cols;
        CHECK(got[r] == uint32_t(std::max_element(first, first + cols) - first));
    }
}

TEST_CASE("a functor object's call and a member function reading its object's data split and meet their SIMD group",
          "[compiler][regions][functors][simdgroup]") {
    const auto module = compile_functors();
    const sm_kernel_info *k = module->find("lane_objects");
    REQUIRE(k);
    REQUIRE(softmetal_test::is_split(k));
    const uint32_t n = 45, threads = 64; // SIMD groups of 32 and 13; the last 19 threads return at once
    std::vector<float> in(n);
    for (uint32_t i = 0; i < n; ++i) in[i] = float((i * 5) % 11);
    std::vector<std::vector<unsigned char>> b = {softmetal_test::bytes(in), softmetal_test::bytes(std::vector<float>(n * 3, -7.0f)),
                                                 softmetal_test::bytes(std::vector<uint32_t>{n})};
    softmetal_test::run_on_buffers(k, b, {threads, 1, 1}, {threads, 1, 1});
    const std::vector<float> out = softmetal_test::values<float>(b[1]);
    for (uint32_t t = 0; t < n; ++t) {
        INFO("thread " << t);
        const uint32_t s0 = t / 32 * 32, s1 = std::min(s0 + 32, n);
        float s = 0.0f, odd = 0.0f;
        for (uint32_t i = s0; i < s1; ++i) {
            s += in[i];
            if (i % 2 == 1) odd += in[i] * 2.0f;
        }
        CHECK(out[t * 3] == s);
        CHECK(out[t * 3 + 1] == 3.0f * s + 1.0f);
        CHECK(out[t * 3 + 2] == (t % 2 == 1 ? odd : -1.0f));
    }
}

TEST_CASE("a functor object passed on to a function, or called through a reference, keeps the kernel on fibers",
          "[compiler][regions][functors][simdgroup]") {
    const auto module = compile_functors();
    for (const char *name : {"passed_on", "through_reference"}) { // (their results on fibers: functor_object_test)
        INFO(name);
        const sm_kernel_info *k = module->find(name);
        REQUIRE(k);
        CHECK(fibers(k));
    }
}
