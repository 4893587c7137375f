// The exported entry points and SoftMetalDevice's properties.
#include "softmetal_test_support.hpp"

using namespace softmetal_test;

TEST_CASE("MTLCreateSystemDefaultDevice returns the same device, retained for each caller") {
    autorelease_pool pool;
    id first = library().create_system_default_device();
    id second = library().create_system_default_device();
    REQUIRE(first != nullptr);
    CHECK(first == second);
    CHECK(first == device());
    const ns_uinteger before = retain_count(first);
    msg_send<void()>(second, "release");
    CHECK(retain_count(first) == before - 1);
    msg_send<void()>(first, "release");
}

TEST_CASE("MTLCopyAllDevices returns a +1 array holding the one device") {
    autorelease_pool pool;
    object devices = object::adopt(library().copy_all_devices());
    REQUIRE(devices);
    REQUIRE(msg_send<ns_uinteger()>(devices.get(), "count") == 1);
    CHECK(msg_send<id(ns_uinteger)>(devices.get(), "objectAtIndex:", 0) == device());
    CHECK(retain_count(devices.get()) == 1);
}

TEST_CASE("the error domain constants are NSStrings with Metal's names") {
    REQUIRE(library().library_error_domain);
    REQUIRE(library().command_buffer_error_domain);
    CHECK(text(*library().library_error_domain) == "MTLLibraryErrorDomain");
    CHECK(text(*library().command_buffer_error_domain) == "MTLCommandBufferErrorDomain");
}

TEST_CASE("the device reports a CPU with Apple-GPU compute limits") {
    autorelease_pool pool;
    id d = device();
    CHECK(!text(msg_send<id()>(d, "name")).empty());
    CHECK(msg_send<std::uint64_t()>(d, "registryID") != 0);
    const mtl_size max = msg_send<mtl_size()>(d, "maxThreadsPerThreadgroup");
    CHECK(max.width == 1024);
    CHECK(max.height == 1024);
    CHECK(max.depth == 1024);
    CHECK(msg_send<ns_uinteger()>(d, "maxThreadgroupMemoryLength") == 32768);
    CHECK(msg_send<ns_uinteger()>(d, "maxBufferLength") >= (ns_uinteger{1} << 28));
    CHECK(msg_send<objc_bool()>(d, "hasUnifiedMemory") == 1);
    CHECK(msg_send<std::uint64_t()>(d, "recommendedMaxWorkingSetSize") > 0);
}

TEST_CASE("currentAllocatedSize follows buffer allocation and release") {
    autorelease_pool pool;
    const ns_uinteger before = msg_send<ns_uinteger()>(device(), "currentAllocatedSize");
    {
        object buffer = new_buffer(1 << 20);
        REQUIRE(buffer);
        CHECK(msg_send<ns_uinteger()>(device(), "currentAllocatedSize") >= before + (1 << 20));
    }
    CHECK(msg_send<ns_uinteger()>(device(), "currentAllocatedSize") == before);
}

TEST_CASE("supportsFamily: is YES for the emulated Apple1-6 and Common families only") {
    id d = device();
    auto supports = [&](ns_integer family) { return msg_send<objc_bool(ns_integer)>(d, "supportsFamily:", family) != 0; };
    CHECK(supports(1004));  // Apple4: non-uniform threadgroups
    CHECK(supports(1001));
    CHECK(supports(1006));
    CHECK(supports(3001));
    CHECK_FALSE(supports(1007));  // Apple7: simdgroup_matrix, not emulated
    CHECK_FALSE(supports(2002));  // Mac2
    CHECK_FALSE(supports(5001));  // Metal3
    CHECK_FALSE(supports(0));
}

TEST_CASE("newCommandQueue and newCommandQueueWithMaxCommandBufferCount: return +1 queues of the device") {
    autorelease_pool pool;
    object q1 = new_queue();
    object q2 = object::adopt(msg_send<id(ns_uinteger)>(device(), "newCommandQueueWithMaxCommandBufferCount:", 1024));
    REQUIRE(q1);
    REQUIRE(q2);
    CHECK(q1 != q2);
    CHECK(retain_count(q1.get()) == 1);
    CHECK(msg_send<id()>(q1.get(), "device") == device());
    CHECK(msg_send<id()>(q2.get(), "device") == device());
}

TEST_CASE("respondsToSelector: is true for implemented selectors and false for others") {
    autorelease_pool pool;
    id d = device();
    for (const char* sel : {"name", "newBufferWithLength:options:", "newLibraryWithSource:options:error:",
                            "supportsFamily:", "newComputePipelineStateWithFunction:options:reflection:error:",
                            "newBufferWithBytesNoCopy:length:options:deallocator:", "newDefaultLibrary",
                            "newLibraryWithURL:error:", "newLibraryWithFile:error:", "newLibraryWithData:error:"}) {
        INFO(sel);
        CHECK(responds(d, sel));
    }
    for (const char* sel : {"newRenderPipelineStateWithDescriptor:error:", "newDynamicLibraryWithURL:error:", "noSuchSelector:"}) {
        INFO(sel);
        CHECK_FALSE(responds(d, sel));
    }
    object queue = new_queue();
    CHECK(responds(queue.get(), "commandBuffer"));
    CHECK_FALSE(responds(queue.get(), "commandBufferWithDescriptor:"));
    object pipeline = pipeline_for(add_kernel_source, "add");
    CHECK(responds(pipeline.get(), "label"));
    CHECK_FALSE(responds(pipeline.get(), "setLabel:"));  // read-only in Metal
}
