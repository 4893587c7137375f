// Every method's runtime type encoding equals Apple's (from shared/reference/metal-compute-api.tsv and
// Apple's headers), modulo the GNU runtime's spelling of BOOL and NSUInteger, compared the way the
// bridge's debug check compares them.
#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

struct expectation {
    const char* selector;
    const char* apple_encoding;  // return, self, _cmd, arguments (offsets omitted)
};

void check_encodings(id object, std::initializer_list<expectation> expectations) {
    const auto& rt = pymetal::detail::runtime();
    Class cls = rt.object_get_class(object);
    for (const expectation& e : expectations) {
        INFO(rt.class_name(cls) << " " << e.selector);
        pymetal::Method method = rt.class_instance_method(cls, pymetal::selector(e.selector));
        REQUIRE(method != nullptr);
        const char* actual = rt.method_type_encoding(method);
        INFO("actual " << actual << ", Apple " << e.apple_encoding);
        CHECK(pymetal::detail::same_method_encoding(e.apple_encoding, actual));
    }
}

}  // namespace

TEST_CASE("type encodings match Apple's for every implemented selector") {
    autorelease_pool pool;
    check_encodings(device(), {
        {"name", "@@:"}, {"registryID", "Q@:"}, {"maxThreadsPerThreadgroup", "{?=QQQ}@:"},
        {"maxThreadgroupMemoryLength", "Q@:"}, {"maxBufferLength", "Q@:"}, {"hasUnifiedMemory", "B@:"},
        {"recommendedMaxWorkingSetSize", "Q@:"}, {"currentAllocatedSize", "Q@:"}, {"supportsFamily:", "B@:q"},
        {"newCommandQueue", "@@:"}, {"newCommandQueueWithMaxCommandBufferCount:", "@@:Q"},
        {"newBufferWithLength:options:", "@@:QQ"}, {"newBufferWithBytes:length:options:", "@@:r^vQQ"},
        {"newBufferWithBytesNoCopy:length:options:deallocator:", "@@:^vQQ@?"},
        {"newLibraryWithSource:options:error:", "@@:@@^@"},
        {"newLibraryWithURL:error:", "@@:@^@"}, {"newLibraryWithFile:error:", "@@:@^@"},
        {"newLibraryWithData:error:", "@@:@^@"}, {"newDefaultLibrary", "@@:"},
        {"newComputePipelineStateWithFunction:error:", "@@:@^@"},
        {"newComputePipelineStateWithFunction:options:reflection:error:", "@@:@Q^@^@"},
        {"newComputePipelineStateWithDescriptor:options:reflection:error:", "@@:@Q^@^@"},
        {"newEvent", "@@:"}, {"newSharedEvent", "@@:"}, {"newFence", "@@:"},
    });

    object buffer = new_buffer(16);
    check_encodings(buffer.get(), {
        {"contents", "^v@:"}, {"length", "Q@:"}, {"didModifyRange:", "v@:{_NSRange=QQ}"}, {"storageMode", "Q@:"},
        {"cpuCacheMode", "Q@:"}, {"hazardTrackingMode", "Q@:"}, {"resourceOptions", "Q@:"}, {"allocatedSize", "Q@:"},
        {"gpuAddress", "Q@:"}, {"device", "@@:"}, {"label", "@@:"}, {"setLabel:", "v@:@"},
    });

    object lib = new_library(add_kernel_source);
    REQUIRE(lib);
    check_encodings(lib.get(), {
        {"newFunctionWithName:", "@@:@"}, {"newFunctionWithName:constantValues:error:", "@@:@@^@"},
        {"functionNames", "@@:"}, {"device", "@@:"}, {"label", "@@:"}, {"setLabel:", "v@:@"},
    });
    object function = new_function(lib.get(), "add");
    check_encodings(function.get(), {
        {"name", "@@:"}, {"functionType", "Q@:"}, {"device", "@@:"}, {"label", "@@:"}, {"setLabel:", "v@:@"},
        {"functionConstantsDictionary", "@@:"},
    });
    object pipeline = new_pipeline(function.get());
    check_encodings(pipeline.get(), {
        {"maxTotalThreadsPerThreadgroup", "Q@:"}, {"threadExecutionWidth", "Q@:"},
        {"staticThreadgroupMemoryLength", "Q@:"}, {"device", "@@:"}, {"label", "@@:"},
    });

    object queue = new_queue();
    check_encodings(queue.get(), {
        {"commandBuffer", "@@:"}, {"commandBufferWithUnretainedReferences", "@@:"}, {"device", "@@:"},
        {"label", "@@:"}, {"setLabel:", "v@:@"},
    });
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    check_encodings(cb, {
        {"computeCommandEncoder", "@@:"}, {"computeCommandEncoderWithDispatchType:", "@@:Q"}, {"commit", "v@:"},
        {"enqueue", "v@:"}, {"waitUntilScheduled", "v@:"}, {"waitUntilCompleted", "v@:"}, {"status", "Q@:"},
        {"error", "@@:"}, {"GPUStartTime", "d@:"}, {"GPUEndTime", "d@:"}, {"kernelStartTime", "d@:"},
        {"kernelEndTime", "d@:"}, {"addCompletedHandler:", "v@:@?"}, {"addScheduledHandler:", "v@:@?"},
        {"retainedReferences", "B@:"}, {"device", "@@:"}, {"commandQueue", "@@:"}, {"label", "@@:"}, {"setLabel:", "v@:@"},
        {"blitCommandEncoder", "@@:"}, {"encodeSignalEvent:value:", "v@:@Q"}, {"encodeWaitForEvent:value:", "v@:@Q"},
    });
    id encoder = msg_send<id()>(cb, "computeCommandEncoder");
    check_encodings(encoder, {
        {"setComputePipelineState:", "v@:@"}, {"setBuffer:offset:atIndex:", "v@:@QQ"},
        {"setBufferOffset:atIndex:", "v@:QQ"}, {"setBuffers:offsets:withRange:", "v@:r^@r^Q{_NSRange=QQ}"},
        {"setBytes:length:atIndex:", "v@:r^vQQ"}, {"setThreadgroupMemoryLength:atIndex:", "v@:QQ"},
        {"dispatchThreadgroups:threadsPerThreadgroup:", "v@:{?=QQQ}{?=QQQ}"},
        {"dispatchThreads:threadsPerThreadgroup:", "v@:{?=QQQ}{?=QQQ}"}, {"memoryBarrierWithScope:", "v@:Q"},
        {"memoryBarrierWithResources:count:", "v@:r^@Q"}, {"endEncoding", "v@:"}, {"dispatchType", "Q@:"},
        {"device", "@@:"}, {"label", "@@:"}, {"setLabel:", "v@:@"},
        {"dispatchThreadgroupsWithIndirectBuffer:indirectBufferOffset:threadsPerThreadgroup:", "v@:@Q{?=QQQ}"},
        {"updateFence:", "v@:@"}, {"waitForFence:", "v@:@"},
    });
    msg_send<void()>(encoder, "endEncoding");
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    check_encodings(blit, {
        {"copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:", "v@:@Q@QQ"},
        {"fillBuffer:range:value:", "v@:@{_NSRange=QQ}C"}, {"synchronizeResource:", "v@:@"},
        {"copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toBuffer:destinationOffset:destinationBytesPerRow:"
         "destinationBytesPerImage:",
         "v@:@QQ{?=QQQ}{?=QQQ}@QQQ"},
        {"copyFromBuffer:sourceOffset:sourceBytesPerRow:sourceBytesPerImage:sourceSize:toTexture:destinationSlice:"
         "destinationLevel:destinationOrigin:",
         "v@:@QQQ{?=QQQ}@QQ{?=QQQ}"},
        {"copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:destinationLevel:"
         "destinationOrigin:",
         "v@:@QQ{?=QQQ}{?=QQQ}@QQ{?=QQQ}"},
        {"copyFromTexture:toTexture:", "v@:@@"}, {"generateMipmapsForTexture:", "v@:@"},
        {"updateFence:", "v@:@"}, {"waitForFence:", "v@:@"}, {"endEncoding", "v@:"}, {"device", "@@:"},
        {"label", "@@:"}, {"setLabel:", "v@:@"},
    });
    msg_send<void()>(blit, "endEncoding");

    object options = object::adopt(msg_send<id()>(pymetal::class_named("MTLCompileOptions"), "new"));
    check_encodings(options.get(), {
        {"fastMathEnabled", "B@:"}, {"setFastMathEnabled:", "v@:B"}, {"mathMode", "q@:"}, {"setMathMode:", "v@:q"},
        {"languageVersion", "Q@:"}, {"setLanguageVersion:", "v@:Q"}, {"preprocessorMacros", "@@:"},
        {"setPreprocessorMacros:", "v@:@"}, {"optimizationLevel", "q@:"}, {"setOptimizationLevel:", "v@:q"},
        {"mathFloatingPointFunctions", "q@:"}, {"setMathFloatingPointFunctions:", "v@:q"},
    });
    object values = object::adopt(msg_send<id()>(pymetal::class_named("MTLFunctionConstantValues"), "new"));
    check_encodings(values.get(), {
        {"setConstantValue:type:atIndex:", "v@:r^vQQ"}, {"setConstantValue:type:withName:", "v@:r^vQ@"},
        {"setConstantValues:type:withRange:", "v@:r^vQ{_NSRange=QQ}"}, {"reset", "v@:"},
    });
}

TEST_CASE("type encodings match Apple's for events, fences, reflection and pipeline descriptors") {
    autorelease_pool pool;
    object event = object::adopt(msg_send<id()>(device(), "newEvent"));
    check_encodings(event.get(), {{"device", "@@:"}, {"label", "@@:"}, {"setLabel:", "v@:@"}});
    object shared = object::adopt(msg_send<id()>(device(), "newSharedEvent"));
    check_encodings(shared.get(), {
        {"device", "@@:"}, {"label", "@@:"}, {"setLabel:", "v@:@"}, {"signaledValue", "Q@:"},
        {"setSignaledValue:", "v@:Q"}, {"notifyListener:atValue:block:", "v@:@Q@?"},
        {"waitUntilSignaledValue:timeoutMS:", "B@:QQ"},
    });
    object fence = object::adopt(msg_send<id()>(device(), "newFence"));
    check_encodings(fence.get(), {{"device", "@@:"}, {"label", "@@:"}, {"setLabel:", "v@:@"}});

    object descriptor = object::adopt(msg_send<id()>(pymetal::class_named("MTLComputePipelineDescriptor"), "new"));
    check_encodings(descriptor.get(), {
        {"computeFunction", "@@:"}, {"setComputeFunction:", "v@:@"}, {"maxTotalThreadsPerThreadgroup", "Q@:"},
        {"setMaxTotalThreadsPerThreadgroup:", "v@:Q"}, {"threadGroupSizeIsMultipleOfThreadExecutionWidth", "B@:"},
        {"setThreadGroupSizeIsMultipleOfThreadExecutionWidth:", "v@:B"}, {"label", "@@:"}, {"setLabel:", "v@:@"},
        {"reset", "v@:"}, {"copyWithZone:", "@@:^{_NSZone=}"},
    });

    object lib = new_library(R"(#include <metal_stdlib>
using namespace metal;
constant float k [[function_constant(0)]];
kernel void f(device float* d [[buffer(0)]], threadgroup float* t [[threadgroup(0)]], uint i [[thread_position_in_grid]]) { t[0] = k; d[i] = t[0]; }
)");
    REQUIRE(lib);
    object function = new_function(lib.get(), "f");
    id dictionary = msg_send<id()>(function.get(), "functionConstantsDictionary");
    id constant = msg_send<id(id)>(dictionary, "objectForKey:", ns_string("k").get());
    REQUIRE(constant != nullptr);
    check_encodings(constant, {{"name", "@@:"}, {"type", "Q@:"}, {"index", "Q@:"}, {"required", "B@:"}});

    object values = object::adopt(msg_send<id()>(pymetal::class_named("MTLFunctionConstantValues"), "new"));
    const float one = 1.0f;
    msg_send<void(const void*, ns_uinteger, ns_uinteger)>(values.get(), "setConstantValue:type:atIndex:", &one, 3, 0);
    id error = nullptr;
    object specialised = object::adopt(msg_send<id(id, id, id*)>(lib.get(), "newFunctionWithName:constantValues:error:",
                                                                 ns_string("f").get(), values.get(), &error));
    REQUIRE(specialised);
    id reflection = nullptr;
    object pipeline = object::adopt(msg_send<id(id, ns_uinteger, id*, id*)>(
        device(), "newComputePipelineStateWithFunction:options:reflection:error:", specialised.get(), 1, &reflection, &error));
    REQUIRE(reflection != nullptr);
    check_encodings(reflection, {{"arguments", "@@:"}, {"bindings", "@@:"}});
    id argument = msg_send<id(ns_uinteger)>(msg_send<id()>(reflection, "arguments"), "objectAtIndex:", 0);
    check_encodings(argument, {
        {"name", "@@:"}, {"type", "Q@:"}, {"access", "Q@:"}, {"index", "Q@:"}, {"isActive", "B@:"},
        {"bufferAlignment", "Q@:"}, {"bufferDataSize", "Q@:"}, {"bufferDataType", "Q@:"}, {"bufferStructType", "@@:"},
        {"bufferPointerType", "@@:"}, {"threadgroupMemoryAlignment", "Q@:"}, {"threadgroupMemoryDataSize", "Q@:"},
        {"arrayLength", "Q@:"}, {"textureType", "Q@:"}, {"textureDataType", "Q@:"}, {"isDepthTexture", "B@:"},
    });
    id binding = msg_send<id(ns_uinteger)>(msg_send<id()>(reflection, "bindings"), "objectAtIndex:", 1);
    check_encodings(binding, {
        {"name", "@@:"}, {"type", "q@:"}, {"access", "Q@:"}, {"index", "Q@:"}, {"isUsed", "B@:"}, {"isArgument", "B@:"},
        {"bufferAlignment", "Q@:"}, {"bufferDataSize", "Q@:"}, {"bufferDataType", "Q@:"}, {"bufferStructType", "@@:"},
        {"bufferPointerType", "@@:"}, {"threadgroupMemoryAlignment", "Q@:"}, {"threadgroupMemoryDataSize", "Q@:"},
        {"textureType", "Q@:"}, {"textureDataType", "Q@:"}, {"isDepthTexture", "B@:"}, {"arrayLength", "Q@:"},
    });
    CHECK(msg_send<ns_integer()>(binding, "type") == 1);  // MTLBindingTypeThreadgroupMemory
}

TEST_CASE("the block parameters are spelled @? exactly, as Apple's are") {
    const auto& rt = pymetal::detail::runtime();
    pymetal::Method method = rt.class_instance_method(rt.object_get_class(device()),
                                                      pymetal::selector("newBufferWithBytesNoCopy:length:options:deallocator:"));
    REQUIRE(method != nullptr);
    CHECK(std::string(rt.method_type_encoding(method)).find("@?") != std::string::npos);
}
