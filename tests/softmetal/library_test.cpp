// SoftMetalLibrary, SoftMetalFunction, MTLCompileOptions and MTLFunctionConstantValues.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

constexpr const char* two_kernels = R"(#include <metal_stdlib>
using namespace metal;
kernel void first(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) { out[id] = 1.0f; }
kernel void second(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) { out[id] = 2.0f; }
)";

// Line 4, column 15 is `undefined_name`.
constexpr const char* broken_kernel = R"(#include <metal_stdlib>
using namespace metal;
kernel void broken(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id] = undefined_name;
}
)";

constexpr const char* macro_kernel = R"(#include <metal_stdlib>
using namespace metal;
kernel void with_macros(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id] = SCALE * float(id) + OFFSET;
}
)";

constexpr const char* constant_kernel = R"(#include <metal_stdlib>
using namespace metal;
constant int factor [[function_constant(0)]];
constant int bias [[function_constant(1)]];
constant bool negate [[function_constant(2)]];
kernel void specialised(device int* data [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    int v = data[id] * factor + bias;
    data[id] = negate ? -v : v;
}
)";

// Runs a one-buffer kernel over `input` and returns the buffer afterwards.
template <class T>
std::vector<T> run_one_buffer(id pipeline, std::vector<T> input) {
    object queue = new_queue();
    object buffer = buffer_with(input);
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline);
        set_buffer(encoder, buffer.get(), 0, 0);
        dispatch_threads(encoder, {input.size(), 1, 1}, {32, 1, 1});
    });
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    const T* out = contents<T>(buffer.get());
    return std::vector<T>(out, out + input.size());
}

object specialised_pipeline(id library, id values, id* error) {
    object name = ns_string("specialised");
    object function = object::adopt(msg_send<id(id, id, id*)>(library, "newFunctionWithName:constantValues:error:",
                                                                name.get(), values, error));
    if (!function) return {};
    return new_pipeline(function.get());
}

}  // namespace

TEST_CASE("a library lists its functions, makes them by name, and has a label") {
    autorelease_pool pool;
    id error = nullptr;
    object lib = new_library(two_kernels, nullptr, &error);
    REQUIRE(lib);
    CHECK(error == nullptr);
    CHECK(retain_count(lib.get()) == 1);
    CHECK(msg_send<id()>(lib.get(), "device") == device());
    std::vector<std::string> names = pymetal::string_array(msg_send<id()>(lib.get(), "functionNames"));
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"first", "second"});

    object function = new_function(lib.get(), "second");
    REQUIRE(function);
    CHECK(text(msg_send<id()>(function.get(), "name")) == "second");
    CHECK(msg_send<ns_uinteger()>(function.get(), "functionType") == 3);
    CHECK(msg_send<id()>(function.get(), "device") == device());
    msg_send<void(id)>(function.get(), "setLabel:", ns_string("fn").get());
    CHECK(text(msg_send<id()>(function.get(), "label")) == "fn");
    msg_send<void(id)>(lib.get(), "setLabel:", ns_string("lib").get());
    CHECK(text(msg_send<id()>(lib.get(), "label")) == "lib");

    CHECK_FALSE(new_function(lib.get(), "third"));
}

TEST_CASE("a kernel that does not compile gives nil and a CompileFailure error with MSL line and column") {
    autorelease_pool pool;
    id error = nullptr;
    object lib = new_library(broken_kernel, nullptr, &error);
    CHECK_FALSE(lib);
    REQUIRE(error != nullptr);
    CHECK(error_domain(error) == "MTLLibraryErrorDomain");
    CHECK(msg_send<id()>(error, "domain") == *library().library_error_domain);
    CHECK(error_code(error) == 3);
    const std::string description = error_description(error);
    INFO(description);
    CHECK(description.find("program_source:4:15: error:") != std::string::npos);
    CHECK(description.find("undefined_name") != std::string::npos);
}

TEST_CASE("a failed compile with a NULL error pointer just returns nil") {
    autorelease_pool pool;
    object text_object = ns_string(broken_kernel);
    id lib = msg_send<id(id, id, id*)>(device(), "newLibraryWithSource:options:error:", text_object.get(), nullptr, nullptr);
    CHECK(lib == nullptr);
}

TEST_CASE("a library compiled with warnings is returned, with a CompileWarning error") {
    autorelease_pool pool;
    // Unique to the process, so this is a real compile; cached ones repeat the warnings (tests/compiler).
    const std::string source = R"(#include <metal_stdlib>
using namespace metal;
kernel void warns(device int* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    int truncated = 1.5;
    out[id] = truncated;
}
// run )" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr)) + "\n";
    id error = nullptr;
    object lib = new_library(source, nullptr, &error);
    REQUIRE(lib);
    REQUIRE(error != nullptr);
    CHECK(error_code(error) == 4);
    CHECK(error_domain(error) == "MTLLibraryErrorDomain");
    const std::string description = error_description(error);
    INFO(description);
    CHECK(description.find("program_source:4:") != std::string::npos);
    CHECK(description.find("warning") != std::string::npos);
}

TEST_CASE("MTLCompileOptions has Metal's defaults and settable properties") {
    autorelease_pool pool;
    REQUIRE(device() != nullptr);  // (loads softmetal, which registers MTLCompileOptions)
    Class cls = pymetal::class_named("MTLCompileOptions");
    object options = object::adopt(msg_send<id()>(msg_send<id()>(cls, "alloc"), "init"));
    REQUIRE(options);
    CHECK(msg_send<objc_bool()>(options.get(), "fastMathEnabled") == 1);
    CHECK(msg_send<ns_integer()>(options.get(), "mathMode") == 2);
    CHECK(msg_send<ns_uinteger()>(options.get(), "languageVersion") >= pymetal::language_version(3, 0));
    CHECK(msg_send<ns_integer()>(options.get(), "optimizationLevel") == 0);
    CHECK(msg_send<id()>(options.get(), "preprocessorMacros") == nullptr);

    msg_send<void(objc_bool)>(options.get(), "setFastMathEnabled:", 0);
    CHECK(msg_send<objc_bool()>(options.get(), "fastMathEnabled") == 0);
    CHECK(msg_send<ns_integer()>(options.get(), "mathMode") == 0);
    msg_send<void(ns_integer)>(options.get(), "setMathMode:", 2);
    CHECK(msg_send<objc_bool()>(options.get(), "fastMathEnabled") == 1);
    msg_send<void(ns_uinteger)>(options.get(), "setLanguageVersion:", pymetal::language_version(2, 4));
    CHECK(msg_send<ns_uinteger()>(options.get(), "languageVersion") == pymetal::language_version(2, 4));
    msg_send<void(ns_integer)>(options.get(), "setOptimizationLevel:", 1);
    CHECK(msg_send<ns_integer()>(options.get(), "optimizationLevel") == 1);

    object by_new = object::adopt(msg_send<id()>(cls, "new"));
    CHECK(msg_send<objc_bool()>(by_new.get(), "fastMathEnabled") == 1);
}

// (x + 2^25) - 2^25 is x only where the compiler may reassociate (fast math); in IEEE order it rounds
// 1.25 to 0 (the sum's last place is 4). The second value is -INFINITY kept as itself.
constexpr const char* math_mode_kernel = R"(#include <metal_stdlib>
using namespace metal;
kernel void math_mode(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    const float big = 33554432.0f;
    float x = out[id];
    out[id] = id == 0 ? (x + big) - big : (x == -INFINITY ? -1.0f : 1.0f);
}
)";

TEST_CASE("setMathMode: safe is IEEE order, relaxed and fast reassociate and keep infinities") {
    autorelease_pool pool;
    REQUIRE(device() != nullptr);  // (loads softmetal, which registers MTLCompileOptions)
    Class cls = pymetal::class_named("MTLCompileOptions");
    auto run_in = [&](ns_integer mode) {
        object options = object::adopt(msg_send<id()>(cls, "new"));
        msg_send<void(ns_integer)>(options.get(), "setMathMode:", mode);
        CHECK(msg_send<ns_integer()>(options.get(), "mathMode") == mode);
        object pipeline = pipeline_for(math_mode_kernel, "math_mode", options.get());
        return run_one_buffer<float>(pipeline.get(), {1.25f, -INFINITY});
    };
    CHECK(run_in(0) == std::vector<float>{0.0f, -1.0f});      // MTLMathModeSafe
    CHECK(run_in(1) == std::vector<float>{1.25f, -1.0f});     // MTLMathModeRelaxed
    CHECK(run_in(2) == std::vector<float>{1.25f, -1.0f});     // MTLMathModeFast
}

TEST_CASE("preprocessor macros with NSString and NSNumber values change a kernel's result") {
    autorelease_pool pool;
    Class cls = pymetal::class_named("MTLCompileOptions");
    object options = object::adopt(msg_send<id()>(cls, "new"));
    object macros = pymetal::make_dictionary({{ns_string("SCALE"), ns_string("2.5")}, {ns_string("OFFSET"), pymetal::make_number(4)}});
    msg_send<void(id)>(options.get(), "setPreprocessorMacros:", macros.get());
    id stored = msg_send<id()>(options.get(), "preprocessorMacros");
    REQUIRE(stored != nullptr);
    CHECK(msg_send<ns_uinteger()>(stored, "count") == 2);

    object pipeline = pipeline_for(macro_kernel, "with_macros", options.get());
    CHECK(run_one_buffer<float>(pipeline.get(), {0, 0, 0}) == std::vector<float>{4.0f, 6.5f, 9.0f});

    object other = object::adopt(msg_send<id()>(cls, "new"));
    object other_macros = pymetal::make_dictionary({{ns_string("SCALE"), pymetal::make_number(10)}, {ns_string("OFFSET"), ns_string("1")}});
    msg_send<void(id)>(other.get(), "setPreprocessorMacros:", other_macros.get());
    object pipeline2 = pipeline_for(macro_kernel, "with_macros", other.get());
    CHECK(run_one_buffer<float>(pipeline2.get(), {0, 0, 0}) == std::vector<float>{1.0f, 11.0f, 21.0f});
}

TEST_CASE("function constants specialise a kernel") {
    autorelease_pool pool;
    object lib = new_library(constant_kernel);
    REQUIRE(lib);
    Class cls = pymetal::class_named("MTLFunctionConstantValues");
    object values = object::adopt(msg_send<id()>(msg_send<id()>(cls, "alloc"), "init"));
    REQUIRE(values);

    const int factor = 3, bias = 1;
    const objc_bool negate = 1;
    msg_send<void(const void*, ns_uinteger, ns_uinteger)>(values.get(), "setConstantValue:type:atIndex:", &factor, 29, 0);
    msg_send<void(const void*, ns_uinteger, ns_uinteger)>(values.get(), "setConstantValue:type:atIndex:", &bias, 29, 1);
    msg_send<void(const void*, ns_uinteger, id)>(values.get(), "setConstantValue:type:withName:", &negate, 53,
                                                  ns_string("negate").get());
    id error = nullptr;
    object pipeline = specialised_pipeline(lib.get(), values.get(), &error);
    INFO((error ? error_description(error) : std::string()));
    REQUIRE(pipeline);
    CHECK(run_one_buffer<int>(pipeline.get(), {1, 2, 3}) == std::vector<int>{-4, -7, -10});

    // A range of values, after a reset: factor 5, bias 2; negate is required (the kernel never asks
    // is_function_constant_defined of it), so it is given again, by index this time.
    msg_send<void()>(values.get(), "reset");
    const int pair[2] = {5, 2};
    const objc_bool keep = 0;
    msg_send<void(const void*, ns_uinteger, ns_range)>(values.get(), "setConstantValues:type:withRange:", pair, 29, ns_range{0, 2});
    msg_send<void(const void*, ns_uinteger, ns_uinteger)>(values.get(), "setConstantValue:type:atIndex:", &keep, 53, 2);
    object pipeline2 = specialised_pipeline(lib.get(), values.get(), &error);
    REQUIRE(pipeline2);
    CHECK(run_one_buffer<int>(pipeline2.get(), {1, 2, 3}) == std::vector<int>{7, 12, 17});
}

TEST_CASE("an unknown function with constant values is nil with a FunctionNotFound error") {
    autorelease_pool pool;
    object lib = new_library(constant_kernel);
    REQUIRE(lib);
    object values = object::adopt(msg_send<id()>(pymetal::class_named("MTLFunctionConstantValues"), "new"));
    id error = nullptr;
    object name = ns_string("missing");
    id function = msg_send<id(id, id, id*)>(lib.get(), "newFunctionWithName:constantValues:error:", name.get(), values.get(), &error);
    CHECK(function == nullptr);
    REQUIRE(error != nullptr);
    CHECK(error_domain(error) == "MTLLibraryErrorDomain");
    CHECK(error_code(error) == 5);
    CHECK(error_description(error).find("missing") != std::string::npos);
}

TEST_CASE("a compute pipeline state reports its limits and device") {
    autorelease_pool pool;
    object lib = new_library(add_kernel_source);
    REQUIRE(lib);
    object function = new_function(lib.get(), "add");
    REQUIRE(function);
    id error = nullptr;
    id reflection = reinterpret_cast<id>(0x1);  // must be overwritten with the (autoreleased) reflection
    object pipeline = object::adopt(msg_send<id(id, ns_uinteger, id*, id*)>(
        device(), "newComputePipelineStateWithFunction:options:reflection:error:", function.get(), 0, &reflection, &error));
    REQUIRE(pipeline);
    CHECK(reflection != reinterpret_cast<id>(0x1));
    CHECK(reflection != nullptr);
    CHECK(error == nullptr);
    CHECK(msg_send<ns_uinteger()>(pipeline.get(), "maxTotalThreadsPerThreadgroup") == 1024);
    CHECK(msg_send<ns_uinteger()>(pipeline.get(), "threadExecutionWidth") == 32);
    CHECK(msg_send<ns_uinteger()>(pipeline.get(), "staticThreadgroupMemoryLength") == 0);
    CHECK(msg_send<id()>(pipeline.get(), "device") == device());
    CHECK(msg_send<id()>(pipeline.get(), "label") == nullptr);

    object threadgroup_pipeline = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
kernel void uses_shared(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float scratch[256];
    scratch[lid] = float(lid);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = scratch[255 - lid];
}
)", "uses_shared");
    CHECK(msg_send<ns_uinteger()>(threadgroup_pipeline.get(), "staticThreadgroupMemoryLength") >= 1024);

    id nil_error = nullptr;
    CHECK(msg_send<id(id, id*)>(device(), "newComputePipelineStateWithFunction:error:", nullptr, &nil_error) == nullptr);
    CHECK(nil_error != nullptr);
}
