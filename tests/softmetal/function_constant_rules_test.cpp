// Apple's rules for function constants: non-specialised functions, lookup by index then name, type and
// presence checks naming the constant, unknown values ignored, and functionConstantsDictionary.
#include "softmetal_test_support.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace softmetal_test;

namespace {

constexpr const char* constants_source = R"(#include <metal_stdlib>
using namespace metal;
constant int factor [[function_constant(0)]];
constant float offset [[function_constant(1)]];
constant bool has_offset = is_function_constant_defined(offset);
kernel void scaled(device float* data [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    data[id] = data[id] * factor + (has_offset ? offset : 0.0f);
}
)";

constexpr ns_uinteger type_int = 29, type_uint = 33, type_float = 3;

object new_values() { return object::adopt(msg_send<id()>(pymetal::class_named("MTLFunctionConstantValues"), "new")); }
void set_at(id values, const void* value, ns_uinteger type, ns_uinteger index) {
    msg_send<void(const void*, ns_uinteger, ns_uinteger)>(values, "setConstantValue:type:atIndex:", value, type, index);
}
void set_named(id values, const void* value, ns_uinteger type, const char* name) {
    msg_send<void(const void*, ns_uinteger, id)>(values, "setConstantValue:type:withName:", value, type, ns_string(name).get());
}

object specialise(id library, id values, id* error) {
    return object::adopt(msg_send<id(id, id, id*)>(library, "newFunctionWithName:constantValues:error:",
                                                   ns_string("scaled").get(), values, error));
}

float run_scaled(id function, float input) {
    object pipeline = new_pipeline(function);
    REQUIRE(pipeline);
    object queue = new_queue();
    object data = buffer_with(std::vector<float>{input});
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, data.get(), 0, 0);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    return contents<float>(data.get())[0];
}

}  // namespace

TEST_CASE("a function with constants made by newFunctionWithName: is not specialised and gets no pipeline") {
    autorelease_pool pool;
    object lib = new_library(constants_source);
    REQUIRE(lib);
    object function = new_function(lib.get(), "scaled");
    REQUIRE(function);
    id error = nullptr;
    id pipeline = msg_send<id(id, id*)>(device(), "newComputePipelineStateWithFunction:error:", function.get(), &error);
    CHECK(pipeline == nullptr);
    REQUIRE(error != nullptr);
    CHECK(error_description(error).find("'factor'") != std::string::npos);
    CHECK(error_description(error).find("newFunctionWithName:constantValues:error:") != std::string::npos);
}

TEST_CASE("functionConstantsDictionary lists each constant with its type, index and whether it is required") {
    autorelease_pool pool;
    object lib = new_library(constants_source);
    object function = new_function(lib.get(), "scaled");
    id dictionary = msg_send<id()>(function.get(), "functionConstantsDictionary");
    REQUIRE(dictionary != nullptr);
    CHECK(msg_send<ns_uinteger()>(dictionary, "count") == 2);
    id factor = msg_send<id(id)>(dictionary, "objectForKey:", ns_string("factor").get());
    id offset = msg_send<id(id)>(dictionary, "objectForKey:", ns_string("offset").get());
    REQUIRE(factor != nullptr);
    REQUIRE(offset != nullptr);
    CHECK(text(msg_send<id()>(factor, "name")) == "factor");
    CHECK(msg_send<ns_uinteger()>(factor, "type") == type_int);
    CHECK(msg_send<ns_uinteger()>(factor, "index") == 0);
    CHECK(msg_send<objc_bool()>(factor, "required") != 0);
    CHECK(msg_send<ns_uinteger()>(offset, "type") == type_float);
    CHECK(msg_send<ns_uinteger()>(offset, "index") == 1);
    CHECK(msg_send<objc_bool()>(offset, "required") == 0);  // the source asks is_function_constant_defined(offset)
}

TEST_CASE("a missing required constant is an error naming it; a missing optional one is allowed") {
    autorelease_pool pool;
    object lib = new_library(constants_source);
    object values = new_values();
    const float half = 0.5f;
    set_at(values.get(), &half, type_float, 1);
    id error = nullptr;
    object refused = specialise(lib.get(), values.get(), &error);
    CHECK_FALSE(refused);
    REQUIRE(error != nullptr);
    CHECK(error_domain(error) == "MTLLibraryErrorDomain");
    CHECK(error_description(error).find("'factor'") != std::string::npos);
    CHECK(error_description(error).find("required") != std::string::npos);

    object only_factor = new_values();
    const int three = 3;
    set_at(only_factor.get(), &three, type_int, 0);
    error = nullptr;
    object function = specialise(lib.get(), only_factor.get(), &error);
    REQUIRE(function);
    CHECK(run_scaled(function.get(), 2.0f) == 6.0f);
}

TEST_CASE("a constant given with the wrong type is an error naming it and both types") {
    autorelease_pool pool;
    object lib = new_library(constants_source);
    object values = new_values();
    const std::uint32_t three = 3;
    set_at(values.get(), &three, type_uint, 0);
    id error = nullptr;
    object refused = specialise(lib.get(), values.get(), &error);
    CHECK_FALSE(refused);
    REQUIRE(error != nullptr);
    const std::string description = error_description(error);
    CHECK(description.find("'factor'") != std::string::npos);
    CHECK(description.find("declared int") != std::string::npos);
    CHECK(description.find("given as uint") != std::string::npos);
}

TEST_CASE("values are looked up by index before name, and unknown ones are ignored") {
    autorelease_pool pool;
    object lib = new_library(constants_source);
    object values = new_values();
    const int by_index = 2, by_name = 10, unknown = 99;
    const float offset = 1.0f;
    set_named(values.get(), &by_name, type_int, "factor");
    set_at(values.get(), &by_index, type_int, 0);        // wins over the name
    set_named(values.get(), &offset, type_float, "offset");  // found by name (no value at index 1)
    set_at(values.get(), &unknown, type_int, 7);          // no constant 7: ignored
    set_named(values.get(), &unknown, type_int, "nothing");  // no such name: ignored
    id error = nullptr;
    object function = specialise(lib.get(), values.get(), &error);
    INFO((error ? error_description(error) : std::string()));
    REQUIRE(function);
    CHECK(run_scaled(function.get(), 3.0f) == 7.0f);
}

namespace {

// Metal gives each function only the constants it uses: `plain` needs no values, `offset_only` uses
// `offset` through a program-scope constant, `scaled_twice` uses `factor` through a helper.
constexpr const char* per_function_source = R"(#include <metal_stdlib>
using namespace metal;
constant int factor [[function_constant(0)]];
constant float offset [[function_constant(1)]];
constant bool has_offset = is_function_constant_defined(offset);
float scale(float x) { return x * factor; }
kernel void plain(device float* data [[buffer(0)]], uint id [[thread_position_in_grid]]) { data[id] = data[id] + 1.0f; }
kernel void offset_only(device float* data [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    if (has_offset) data[id] = data[id] + offset;
}
kernel void scaled_twice(device float* data [[buffer(0)]], uint id [[thread_position_in_grid]]) { data[id] = scale(scale(data[id])); }
)";

std::vector<std::string> constant_names(id function) {
    std::vector<std::string> names;
    id dictionary = msg_send<id()>(function, "functionConstantsDictionary");
    if (!dictionary) return names;
    id keys = msg_send<id()>(dictionary, "allKeys");
    for (ns_uinteger i = 0; i < msg_send<ns_uinteger()>(keys, "count"); ++i)
        names.push_back(text(msg_send<id(ns_uinteger)>(keys, "objectAtIndex:", i)));
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST_CASE("a function has only the constants it uses: one using none gets a pipeline without specialisation") {
    autorelease_pool pool;
    object lib = new_library(per_function_source);
    REQUIRE(lib);
    object plain = new_function(lib.get(), "plain");
    object offset_only = new_function(lib.get(), "offset_only");
    object scaled_twice = new_function(lib.get(), "scaled_twice");
    REQUIRE(plain);
    REQUIRE(offset_only);
    REQUIRE(scaled_twice);
    CHECK(constant_names(plain.get()).empty());
    CHECK(constant_names(offset_only.get()) == std::vector<std::string>{"offset"});
    CHECK(constant_names(scaled_twice.get()) == std::vector<std::string>{"factor"});

    object pipeline = new_pipeline(plain.get());
    REQUIRE(pipeline);
    object queue = new_queue();
    object data = buffer_with(std::vector<float>{2.0f});
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, data.get(), 0, 0);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    CHECK(contents<float>(data.get())[0] == 3.0f);

    // `offset` is optional for offset_only (asked with is_function_constant_defined): no values at all is
    // a valid specialisation; `factor` is required for scaled_twice and alone suffices.
    id error = nullptr;
    object no_values = new_values();
    object offset_function = object::adopt(msg_send<id(id, id, id*)>(lib.get(), "newFunctionWithName:constantValues:error:",
                                                                    ns_string("offset_only").get(), no_values.get(), &error));
    INFO((error ? error_description(error) : std::string()));
    CHECK(offset_function);
    object values = new_values();
    const int three = 3;
    set_at(values.get(), &three, type_int, 0);
    error = nullptr;
    object scaled = object::adopt(msg_send<id(id, id, id*)>(lib.get(), "newFunctionWithName:constantValues:error:",
                                                           ns_string("scaled_twice").get(), values.get(), &error));
    INFO((error ? error_description(error) : std::string()));
    REQUIRE(scaled);
    object scaled_pipeline = new_pipeline(scaled.get());
    REQUIRE(scaled_pipeline);
    object more = buffer_with(std::vector<float>{2.0f});
    object cb2 = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, scaled_pipeline.get());
        set_buffer(encoder, more.get(), 0, 0);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    REQUIRE(status_of(cb2.get()) == status_completed);
    CHECK(contents<float>(more.get())[0] == 18.0f);
}
