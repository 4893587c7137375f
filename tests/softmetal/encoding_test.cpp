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
        {"newComputePipelineStateWithFunction:error:", "@@:@^@"},
        {"newComputePipelineStateWithFunction:options:reflection:error:", "@@:@Q^@^@"},
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
    });
    msg_send<void()>(encoder, "endEncoding");

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

TEST_CASE("the block parameters are spelled @? exactly, as Apple's are") {
    const auto& rt = pymetal::detail::runtime();
    pymetal::Method method = rt.class_instance_method(rt.object_get_class(device()),
                                                      pymetal::selector("newBufferWithBytesNoCopy:length:options:deallocator:"));
    REQUIRE(method != nullptr);
    CHECK(std::string(rt.method_type_encoding(method)).find("@?") != std::string::npos);
}
