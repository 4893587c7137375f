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

namespace {

constexpr const char* textured_source = R"(#include <metal_stdlib>
using namespace metal;
struct params { float scale; uint count; float4 bias; };
kernel void textured(device const float* in [[buffer(0)]], device float4* out [[buffer(1)]],
                     constant params& p [[buffer(2)]], threadgroup float* scratch [[threadgroup(0)]],
                     texture2d<float, access::read> src [[texture(0)]], texture2d<half, access::write> dst [[texture(1)]],
                     sampler s [[sampler(0)]], uint2 gid [[thread_position_in_grid]], uint lid [[thread_index_in_threadgroup]]) {
    scratch[lid] = in[gid.x] * p.scale;
    const float4 seen = src.read(gid) + src.sample(s, float2(0.5f));
    dst.write(half4(seen * scratch[lid]), gid);
    out[gid.x] = seen + p.bias;
}
)";

// Every property of one MTLArgument or MTLBinding that Metal defines for some argument kind.
struct reflected {
    std::string name;
    ns_uinteger type, index, access;
    ns_uinteger buffer_size, buffer_alignment, buffer_data_type;
    ns_uinteger threadgroup_size, threadgroup_alignment;
    ns_uinteger texture_type, texture_data_type, array_length;
    bool depth;
};

reflected read_reflected(id a, bool binding) {
    reflected r;
    r.name = text(msg_send<id()>(a, "name"));
    r.type = binding ? static_cast<ns_uinteger>(msg_send<ns_integer()>(a, "type")) : msg_send<ns_uinteger()>(a, "type");
    r.index = msg_send<ns_uinteger()>(a, "index");
    r.access = msg_send<ns_uinteger()>(a, "access");
    r.buffer_size = msg_send<ns_uinteger()>(a, "bufferDataSize");
    r.buffer_alignment = msg_send<ns_uinteger()>(a, "bufferAlignment");
    r.buffer_data_type = msg_send<ns_uinteger()>(a, "bufferDataType");
    r.threadgroup_size = msg_send<ns_uinteger()>(a, "threadgroupMemoryDataSize");
    r.threadgroup_alignment = msg_send<ns_uinteger()>(a, "threadgroupMemoryAlignment");
    r.texture_type = msg_send<ns_uinteger()>(a, "textureType");
    r.texture_data_type = msg_send<ns_uinteger()>(a, "textureDataType");
    r.array_length = msg_send<ns_uinteger()>(a, "arrayLength");
    r.depth = msg_send<objc_bool()>(a, "isDepthTexture") != 0;
    CHECK(msg_send<objc_bool()>(a, binding ? "isUsed" : "isActive") != 0);
    return r;
}

}  // namespace

TEST_CASE("reflection lists buffers, a constant reference, threadgroup memory, textures and a sampler with every field") {
    autorelease_pool pool;
    object lib = new_library(textured_source);
    REQUIRE(lib);
    object function = new_function(lib.get(), "textured");
    id reflection = nullptr, error = nullptr;
    object pipeline = object::adopt(msg_send<id(id, ns_uinteger, id*, id*)>(
        device(), "newComputePipelineStateWithFunction:options:reflection:error:", function.get(), 3, &reflection, &error));
    REQUIRE(pipeline);
    REQUIRE(reflection);
    // MTLArgumentType / MTLBindingType: buffer 0, threadgroup memory 1, texture 2, sampler 3.
    // MTLArgumentAccess / MTLBindingAccess: read-only 0, read-write 1, write-only 2.
    // MTLDataType: struct 1, float 3, float4 6, half 16. MTLTextureType2D 2.
    //                          name      type idx acc  buf size/align/type  tg size/align  tex type/data  len  depth
    const std::vector<reflected> expected = {
        {"in", 0, 0, 0, 4, 4, 3, 0, 0, 0, 0, 1, false},
        {"out", 0, 1, 1, 16, 16, 6, 0, 0, 0, 0, 1, false},
        {"p", 0, 2, 0, 32, 16, 1, 0, 0, 0, 0, 1, false},
        {"scratch", 1, 0, 1, 0, 0, 0, 4, 4, 0, 0, 1, false},
        {"src", 2, 0, 0, 0, 0, 0, 0, 0, 2, 3, 1, false},
        {"dst", 2, 1, 2, 0, 0, 0, 0, 0, 2, 16, 1, false},
        {"s", 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, false},
    };
    for (bool bindings : {false, true}) {
        INFO((bindings ? "bindings" : "arguments"));
        id array = msg_send<id()>(reflection, bindings ? "bindings" : "arguments");
        REQUIRE(msg_send<ns_uinteger()>(array, "count") == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            const reflected seen = read_reflected(msg_send<id(ns_uinteger)>(array, "objectAtIndex:", i), bindings);
            const reflected& e = expected[i];
            INFO("argument " << i << " (" << e.name << ")");
            CHECK(seen.name == e.name);
            CHECK(seen.type == e.type);
            CHECK(seen.index == e.index);
            CHECK(seen.access == e.access);
            CHECK(seen.buffer_size == e.buffer_size);
            CHECK(seen.buffer_alignment == e.buffer_alignment);
            CHECK(seen.buffer_data_type == e.buffer_data_type);
            CHECK(seen.threadgroup_size == e.threadgroup_size);
            CHECK(seen.threadgroup_alignment == e.threadgroup_alignment);
            CHECK(seen.texture_type == e.texture_type);
            CHECK(seen.texture_data_type == e.texture_data_type);
            CHECK(seen.array_length == e.array_length);
            CHECK(seen.depth == e.depth);
        }
    }
}

TEST_CASE("reflection names textures and samplers with implicit indices and reports read_write access") {
    autorelease_pool pool;
    object lib = new_library(R"(#include <metal_stdlib>
using namespace metal;
kernel void implicit(texture2d<uint, access::read_write> a, texture3d<short, access::read> b, sampler first, sampler second,
                     device float* out, uint3 p [[thread_position_in_grid]]) {
    a.write(a.read(p.xy) + uint4(1), p.xy);
    out[p.x] = float(b.read(p).x);
}
)");
    REQUIRE(lib);
    object function = new_function(lib.get(), "implicit");
    id reflection = nullptr, error = nullptr;
    object pipeline = object::adopt(msg_send<id(id, ns_uinteger, id*, id*)>(
        device(), "newComputePipelineStateWithFunction:options:reflection:error:", function.get(), 1, &reflection, &error));
    REQUIRE(pipeline);
    id array = msg_send<id()>(reflection, "arguments");
    REQUIRE(msg_send<ns_uinteger()>(array, "count") == 5);
    struct row {
        const char* name;
        ns_uinteger type, index, access, texture_type, texture_data_type;
    };
    // out (buffer 0), a and b (textures 0 and 1: uint 33, short 37; 2D 2, 3D 7), first and second (samplers 0, 1).
    const row expected[] = {{"out", 0, 0, 1, 0, 0}, {"a", 2, 0, 1, 2, 33}, {"b", 2, 1, 0, 7, 37}, {"first", 3, 0, 0, 0, 0},
                            {"second", 3, 1, 0, 0, 0}};
    for (ns_uinteger i = 0; i < 5; ++i) {
        id a = msg_send<id(ns_uinteger)>(array, "objectAtIndex:", i);
        INFO(expected[i].name);
        CHECK(text(msg_send<id()>(a, "name")) == expected[i].name);
        CHECK(msg_send<ns_uinteger()>(a, "type") == expected[i].type);
        CHECK(msg_send<ns_uinteger()>(a, "index") == expected[i].index);
        CHECK(msg_send<ns_uinteger()>(a, "access") == expected[i].access);
        CHECK(msg_send<ns_uinteger()>(a, "textureType") == expected[i].texture_type);
        CHECK(msg_send<ns_uinteger()>(a, "textureDataType") == expected[i].texture_data_type);
    }
}
