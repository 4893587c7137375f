// Compiling MSL: libraries, options, function constants and the errors of each step.
#include "metal_test_support.hpp"

#include <algorithm>

using metal_test::device;

namespace {
float run_scalar_kernel(const pymetal::kernel& k) {
    auto out = device().new_buffer<float>(1);
    k.run({out}, {1, 1, 1}, {1, 1, 1});
    return out.read<float>(0);
}
}  // namespace

TEST_CASE("a compiled library lists its functions", "[metal][compile]") {
    const auto lib = device().compile(metal_test::kernels_source);
    auto names = lib.function_names();
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"add_one", "coordinates", "iota", "partial_sums", "scale"});
}

TEST_CASE("a kernel reports its pipeline limits", "[metal][compile]") {
    const auto k = device().compile(metal_test::kernels_source).kernel("scale");
    CHECK(k.name() == "scale");
    CHECK(k.native() != nullptr);
    CHECK(k.native_function() != nullptr);
    CHECK(k.max_total_threads_per_threadgroup() >= 1);
    CHECK(k.max_total_threads_per_threadgroup() <= device().max_threads_per_threadgroup().total());
    CHECK(k.thread_execution_width() >= 1);
    CHECK(k.static_threadgroup_memory_length() == 0);
}

TEST_CASE("a kernel with threadgroup arrays reports its static threadgroup memory", "[metal][compile]") {
    const auto k = device()
                       .compile(R"(
#include <metal_stdlib>
using namespace metal;
kernel void staged(device float* out [[buffer(0)]], uint i [[thread_position_in_grid]],
                   uint t [[thread_index_in_threadgroup]]) {
    threadgroup float stage[64];
    stage[t] = float(i);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[i] = stage[t];
}
)")
                       .kernel("staged");
    CHECK(k.static_threadgroup_memory_length() >= 64 * sizeof(float));
}

TEST_CASE("preprocessor macros with integer and string values reach the source", "[metal][compile]") {
    const char* source = R"(
kernel void answer(device float* out [[buffer(0)]]) { out[0] = float(BASE) + SCALE; }
)";
    const auto lib = device().compile(source, pymetal::compile_options().define("BASE", 40).define("SCALE", "2.5f"));
    CHECK(run_scalar_kernel(lib.kernel("answer")) == 42.5f);
}

TEST_CASE("a macro defined without a value is 1", "[metal][compile]") {
    const char* source = R"(
kernel void flag(device float* out [[buffer(0)]]) {
#if defined(FEATURE) && FEATURE == 1
    out[0] = 1.0f;
#else
    out[0] = -1.0f;
#endif
}
)";
    CHECK(run_scalar_kernel(device().compile(source, pymetal::compile_options().define("FEATURE")).kernel("flag")) ==
          1.0f);
}

TEST_CASE("fast math and the language version are accepted", "[metal][compile]") {
    const char* source = R"(
#include <metal_stdlib>
using namespace metal;
kernel void root(device float* out [[buffer(0)]]) { out[0] = sqrt(16.0f); }
)";
    const auto precise = device().compile(source, pymetal::compile_options().fast_math(false).language_version(2, 4));
    CHECK(run_scalar_kernel(precise.kernel("root")) == 4.0f);
    const auto fast = device().compile(source, pymetal::compile_options().fast_math(true));
    CHECK(run_scalar_kernel(fast.kernel("root")) == Approx(4.0f));
}

TEST_CASE("a compile error carries each diagnostic's line, column and message", "[metal][compile][errors]") {
    const char* source =
        "#include <metal_stdlib>\n"
        "using namespace metal;\n"
        "kernel void broken(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {\n"
        "    out[id] = undeclared_name;\n"
        "}\n";
    try {
        (void)device().compile(source);
        FAIL("broken source compiled");
    } catch (const pymetal::compile_error& e) {
        const auto errors = e.errors();
        REQUIRE_FALSE(errors.empty());
        CHECK(errors[0].line == 4);
        CHECK(errors[0].column == 15);
        CHECK(errors[0].severity == "error");
        CHECK(metal_test::contains(errors[0].message, "undeclared_name"));
        CHECK(metal_test::contains(e.log(), "undeclared_name"));
        CHECK(metal_test::contains(e.what(), "did not compile"));
        CHECK(e.domain() == pymetal::library_error_domain);
        CHECK(e.code() == static_cast<long>(pymetal::library_error::compile_failure));
    }
}

TEST_CASE("compile_error is a pymetal::error", "[metal][compile][errors]") {
    CHECK_THROWS_AS(device().compile("kernel void f( {"), pymetal::error);
}

TEST_CASE("an unknown kernel name throws function_not_found listing the library's functions",
          "[metal][compile][errors]") {
    const auto lib = device().compile(metal_test::kernels_source);
    try {
        (void)lib.kernel("no_such_kernel");
        FAIL("an unknown kernel was found");
    } catch (const pymetal::function_not_found& e) {
        CHECK(e.name() == "no_such_kernel");
        CHECK(e.available().size() == 5);
        CHECK(metal_test::contains(e.what(), "'no_such_kernel'"));
        CHECK(metal_test::contains(e.what(), "'scale'"));
        CHECK(metal_test::contains(e.what(), "'iota'"));
    }
}

TEST_CASE("an unknown kernel name with function constants is function_not_found too", "[metal][compile][errors]") {
    const auto lib = device().compile(metal_test::kernels_source);
    CHECK_THROWS_AS(lib.kernel("missing", pymetal::function_constants().set(0, 1u)), pymetal::function_not_found);
}

namespace {
constexpr const char* constants_source = R"(
#include <metal_stdlib>
using namespace metal;
constant uint multiplier [[function_constant(0)]];
constant bool negate [[function_constant(1)]];
constant float offset [[function_constant(2)]];
kernel void specialised(device float* out [[buffer(0)]]) {
    float v = float(multiplier) * 2.0f + offset;
    out[0] = negate ? -v : v;
}
)";
}  // namespace

TEST_CASE("function constants set by index specialise the kernel", "[metal][compile][constants]") {
    const auto lib = device().compile(constants_source);
    const auto k = lib.kernel("specialised", pymetal::function_constants().set(0, 5u).set(1, false).set(2, 0.5f));
    CHECK(run_scalar_kernel(k) == 10.5f);
    const auto negated = lib.kernel("specialised", pymetal::function_constants().set(0, 3u).set(1, true).set(2, 0.0f));
    CHECK(run_scalar_kernel(negated) == -6.0f);
}

TEST_CASE("function constants set by name specialise the kernel", "[metal][compile][constants]") {
    const auto lib = device().compile(constants_source);
    const auto k = lib.kernel("specialised", pymetal::function_constants()
                                                 .set(std::string("multiplier"), 7u)
                                                 .set(std::string("negate"), true)
                                                 .set(std::string("offset"), 1.0f));
    CHECK(run_scalar_kernel(k) == -15.0f);
}

TEST_CASE("a clean compile has an empty compile log", "[metal][compile]") {
    CHECK(device().compile(metal_test::kernels_source).compile_log().empty());
}

TEST_CASE("function constants can be given as raw bytes of an explicit Metal type", "[metal][compile][constants]") {
    const auto lib = device().compile(constants_source);
    const std::uint32_t multiplier = 4;
    const bool negate = false;
    const float offset = 0.25f;
    const auto k = lib.kernel("specialised", pymetal::function_constants()
                                                 .set_raw(0, pymetal::data_type::uint, &multiplier, sizeof multiplier)
                                                 .set_raw(1, pymetal::data_type::bool_, &negate, sizeof negate)
                                                 .set_raw("offset", pymetal::data_type::float_, &offset, sizeof offset));
    CHECK(run_scalar_kernel(k) == 8.25f);
}
