// MTLComputePipelineReflection (arguments and bindings), MTLComputePipelineDescriptor, and
// MTLFunction's functionConstantsDictionary.
#include "softmetal_test_support.hpp"

#include <cstdint>

using namespace softmetal_test;

namespace {

constexpr const char* reflected_source = R"(#include <metal_stdlib>
using namespace metal;
struct params { float scale; uint count; float4 bias; };
kernel void reflected(device const float* in [[buffer(0)]], device float* out [[buffer(2)]],
                      constant params& p [[buffer(3)]], threadgroup float* scratch [[threadgroup(0)]],
                      uint id [[thread_position_in_grid]], uint lid [[thread_position_in_threadgroup]]) {
    scratch[lid] = in[id] * p.scale;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[id] = scratch[lid] + p.bias.x;
}
)";

struct seen_argument {
    std::string name;
    ns_uinteger type, index, data_size, access;
};

std::vector<seen_argument> read_arguments(id array, bool bindings) {
    std::vector<seen_argument> seen;
    const ns_uinteger count = msg_send<ns_uinteger()>(array, "count");
    for (ns_uinteger i = 0; i < count; ++i) {
        id a = msg_send<id(ns_uinteger)>(array, "objectAtIndex:", i);
        seen_argument s;
        s.name = text(msg_send<id()>(a, "name"));
        s.type = bindings ? static_cast<ns_uinteger>(msg_send<ns_integer()>(a, "type")) : msg_send<ns_uinteger()>(a, "type");
        s.index = msg_send<ns_uinteger()>(a, "index");
        s.access = msg_send<ns_uinteger()>(a, "access");
        s.data_size = s.type == 1 ? msg_send<ns_uinteger()>(a, "threadgroupMemoryDataSize") : msg_send<ns_uinteger()>(a, "bufferDataSize");
        CHECK(msg_send<objc_bool()>(a, bindings ? "isUsed" : "isActive") != 0);
        seen.push_back(s);
    }
    return seen;
}

void check_reflected_kernel(id reflection) {
    REQUIRE(reflection != nullptr);
    for (bool bindings : {false, true}) {
        INFO((bindings ? "bindings" : "arguments"));
        auto seen = read_arguments(msg_send<id()>(reflection, bindings ? "bindings" : "arguments"), bindings);
        REQUIRE(seen.size() == 4);
        // Buffers by index, then threadgroup memory, with their MSL names; `const` and `constant`
        // arguments are read-only (MTLBindingAccessReadOnly 0), the others read-write (1).
        CHECK(seen[0].name == "in");
        CHECK((seen[0].type == 0 && seen[0].index == 0 && seen[0].access == 0));
        CHECK(seen[1].name == "out");
        CHECK((seen[1].type == 0 && seen[1].index == 2 && seen[1].access == 1));
        CHECK(seen[2].name == "p");
        CHECK((seen[2].type == 0 && seen[2].index == 3 && seen[2].access == 0));
        CHECK(seen[2].data_size == 32);  // sizeof(params): float, uint, then a 16-aligned float4
        CHECK(seen[3].name == "scratch");
        CHECK((seen[3].type == 1 && seen[3].index == 0 && seen[3].access == 1));
    }
}

}  // namespace

TEST_CASE("a pipeline made with reflection reports its buffer, constant and threadgroup arguments") {
    autorelease_pool pool;
    object lib = new_library(reflected_source);
    REQUIRE(lib);
    object function = new_function(lib.get(), "reflected");
    id reflection = nullptr, error = nullptr;
    object pipeline = object::adopt(msg_send<id(id, ns_uinteger, id*, id*)>(
        device(), "newComputePipelineStateWithFunction:options:reflection:error:", function.get(), 3, &reflection, &error));
    REQUIRE(pipeline);
    check_reflected_kernel(reflection);
}

TEST_CASE("a pipeline descriptor gives the function, thread limit and label, with reflection") {
    autorelease_pool pool;
    object lib = new_library(reflected_source);
    object function = new_function(lib.get(), "reflected");
    object descriptor = object::adopt(msg_send<id()>(pymetal::class_named("MTLComputePipelineDescriptor"), "new"));
    REQUIRE(descriptor);
    CHECK(msg_send<id()>(descriptor.get(), "computeFunction") == nullptr);
    msg_send<void(id)>(descriptor.get(), "setComputeFunction:", function.get());
    CHECK(msg_send<id()>(descriptor.get(), "computeFunction") == function.get());
    msg_send<void(ns_uinteger)>(descriptor.get(), "setMaxTotalThreadsPerThreadgroup:", 256);
    msg_send<void(objc_bool)>(descriptor.get(), "setThreadGroupSizeIsMultipleOfThreadExecutionWidth:", 1);
    CHECK(msg_send<objc_bool()>(descriptor.get(), "threadGroupSizeIsMultipleOfThreadExecutionWidth") != 0);
    msg_send<void(id)>(descriptor.get(), "setLabel:", ns_string("reflected pipeline").get());
    id reflection = nullptr, error = nullptr;
    object pipeline = object::adopt(msg_send<id(id, ns_uinteger, id*, id*)>(
        device(), "newComputePipelineStateWithDescriptor:options:reflection:error:", descriptor.get(), 1, &reflection, &error));
    REQUIRE(pipeline);
    CHECK(msg_send<ns_uinteger()>(pipeline.get(), "maxTotalThreadsPerThreadgroup") == 256);
    CHECK(text(msg_send<id()>(pipeline.get(), "label")) == "reflected pipeline");
    check_reflected_kernel(reflection);

    // It runs, and a threadgroup over its own limit is refused on the timeline.
    object queue = new_queue();
    std::vector<float> input(256, 2.0f);
    object in = buffer_with(input), out = new_buffer(256 * 4);
    const float params[8] = {3.0f, 0, 0, 0, 1.0f, 0, 0, 0};
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 2);
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", params, sizeof params, 3);
        msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", 256 * 4, 0);
        dispatch_threads(encoder, {256, 1, 1}, {256, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    CHECK(contents<float>(out.get())[255] == 7.0f);

    // A copy (NSCopying) keeps the settings and is independent of the original.
    object copied = object::adopt(msg_send<id()>(descriptor.get(), "copy"));
    REQUIRE(copied);
    CHECK(msg_send<id()>(copied.get(), "computeFunction") == function.get());
    msg_send<void(ns_uinteger)>(copied.get(), "setMaxTotalThreadsPerThreadgroup:", 64);
    CHECK(msg_send<ns_uinteger()>(descriptor.get(), "maxTotalThreadsPerThreadgroup") == 256);
    object limited = object::adopt(msg_send<id(id, ns_uinteger, id*, id*)>(
        device(), "newComputePipelineStateWithDescriptor:options:reflection:error:", copied.get(), 0, nullptr, &error));
    REQUIRE(limited);
    CHECK(msg_send<ns_uinteger()>(limited.get(), "maxTotalThreadsPerThreadgroup") == 64);
}

TEST_CASE("a descriptor without a function gives nil and an error") {
    autorelease_pool pool;
    object descriptor = object::adopt(msg_send<id()>(pymetal::class_named("MTLComputePipelineDescriptor"), "new"));
    id reflection = reinterpret_cast<id>(0x1), error = nullptr;
    id pipeline = msg_send<id(id, ns_uinteger, id*, id*)>(
        device(), "newComputePipelineStateWithDescriptor:options:reflection:error:", descriptor.get(), 0, &reflection, &error);
    CHECK(pipeline == nullptr);
    CHECK(reflection == nullptr);
    REQUIRE(error != nullptr);
    CHECK(error_domain(error) == "MTLLibraryErrorDomain");
}
