// Functor objects and objects' member functions that meet other threads
// (tests/kernels/functor_object_kernels.hpp, written as candle's reductions are), through the header:
// split (the default) and on fibers, each against a host reference.
#include "metal_test_support.hpp"
#include "../kernels/functor_object_kernels.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <vector>

using metal_test::barrier_mode;
using metal_test::device;

namespace {

template <typename T, typename Op>
void check_rows(const pymetal::library& lib, const char* name, std::uint32_t threads, std::uint32_t cols, Op op, T init) {
    const std::uint32_t rows = 6;
    std::vector<T> in(std::size_t(rows) * cols);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = T(int((i * 29 + 7) % 89) - 40);
    auto out = device().new_buffer(std::vector<T>(rows, T(-99)));
    lib.kernel(name).run({device().new_buffer(in), out, pymetal::value(cols)}, {rows, 1, 1}, {threads, 1, 1});
    const auto got = out.template copy_out<T>();
    for (std::uint32_t r = 0; r < rows; ++r) {
        T want = init;
        for (std::uint32_t c = 0; c < cols; ++c) want = op(want, in[std::size_t(r) * cols + c]);
        INFO(name << " row " << r);
        CHECK(got[r] == want);
    }
}

} // namespace

TEST_CASE("block reducer objects written as candle's reduce rows as the host does, split and on fibers", "[metal][simdgroup][functors]") {
    for (const char* mode : {static_cast<const char*>(nullptr), "fibers"}) {
        INFO((mode ? mode : "split"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(functor_object_kernels::source);
        const auto sum = [](float a, float b) { return a + b; };
        const auto max = [](std::int32_t a, std::int32_t b) { return std::max(a, b); };
        check_rows<float>(lib, "row_sum_128", 128, 1000, sum, 0.0f);
        check_rows<float>(lib, "row_sum_128", 128, 77, sum, 0.0f);
        check_rows<std::int32_t>(lib, "row_max_256", 256, 3000, max, INT32_MIN);
        check_rows<float>(lib, "row_sum_32", 32, 45, sum, 0.0f);
        check_rows<float>(lib, "row_simd_sum_256", 256, 1000, sum, 0.0f);
        check_rows<std::int32_t>(lib, "row_simd_max_64", 64, 100, max, INT32_MIN);
    }
}

TEST_CASE("an argmax through the source's own shuffle of an indexed value matches the host, split and on fibers",
          "[metal][simdgroup][functors]") {
    const std::uint32_t rows = 5, cols = 700;
    std::vector<float> in(std::size_t(rows) * cols);
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = float(int((i * 53 + 5) % 97)); // (ties: the first index wins)
    for (const char* mode : {static_cast<const char*>(nullptr), "fibers"}) {
        INFO((mode ? mode : "split"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(functor_object_kernels::source);
        auto out = device().new_buffer(std::vector<std::uint32_t>(rows, 12345u));
        lib.kernel("row_argmax_128").run({device().new_buffer(in), out, pymetal::value(cols)}, {rows, 1, 1}, {128, 1, 1});
        const auto got = out.copy_out<std::uint32_t>();
        for (std::uint32_t r = 0; r < rows; ++r) {
            INFO("row " << r);
            const auto first = in.begin() + std::size_t(r) * cols;
            CHECK(got[r] == std::uint32_t(std::max_element(first, first + cols) - first));
        }
    }
}

TEST_CASE("functor objects meet their SIMD group, split, on fibers, and where the split cannot follow them", "[metal][simdgroup][functors]") {
    const std::uint32_t n = 45; // SIMD groups of 32 and 13
    std::vector<float> in(n);
    for (std::uint32_t i = 0; i < n; ++i) in[i] = float((i * 5) % 11);
    std::vector<float> sums(n), odd(n);
    for (std::uint32_t t = 0; t < n; ++t) {
        for (std::uint32_t i = t / 32 * 32; i < std::min(t / 32 * 32 + 32, n); ++i) {
            sums[t] += in[i];
            if (i % 2 == 1) odd[t] += in[i] * 2.0f;
        }
    }
    for (const char* mode : {static_cast<const char*>(nullptr), "fibers"}) {
        INFO((mode ? mode : "split"));
        barrier_mode scope(mode);
        const pymetal::library lib = device().compile(functor_object_kernels::source);
        auto out = device().new_buffer(std::vector<float>(n * 3, -7.0f));
        lib.kernel("lane_objects").run({device().new_buffer(in), out, pymetal::value(n)}, {64, 1, 1}, {64, 1, 1});
        const auto got = out.copy_out<float>();
        for (std::uint32_t t = 0; t < n; ++t) {
            INFO("thread " << t);
            CHECK(got[t * 3] == sums[t]);
            CHECK(got[t * 3 + 1] == 3.0f * sums[t] + 1.0f);
            CHECK(got[t * 3 + 2] == (t % 2 == 1 ? odd[t] : -1.0f));
        }
        for (const char* name : {"passed_on", "through_reference"}) {
            INFO(name);
            auto simple = device().new_buffer(std::vector<float>(n, -7.0f));
            lib.kernel(name).dispatch_threads({device().new_buffer(in), simple}, {n, 1, 1}, {n, 1, 1});
            CHECK(simple.copy_out<float>() == sums);
        }
    }
}
