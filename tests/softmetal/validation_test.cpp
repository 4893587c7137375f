// Work that fails validation ends its command buffer in status Error (5) with an NSError in
// MTLCommandBufferErrorDomain naming the binding or limit; the host and later command buffers carry on.
#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

constexpr const char* big_static_kernel = R"(#include <metal_stdlib>
using namespace metal;
kernel void big_static(device float* out [[buffer(0)]], threadgroup float* extra [[threadgroup(0)]],
                       uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float scratch[8192];
    scratch[lid] = 1.0f;
    extra[lid] = 2.0f;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = scratch[lid] + extra[lid];
}
)";

struct failure {
    ns_uinteger status;
    std::string domain;
    ns_integer code;
    std::string description;
};

template <class Encode>
failure run_failing(id queue, Encode&& encode) {
    autorelease_pool pool;
    object cb = run_encoded(queue, encode);
    failure f{status_of(cb.get()), "", 0, ""};
    if (id error = msg_send<id()>(cb.get(), "error")) {
        f.domain = error_domain(error);
        f.code = error_code(error);
        f.description = error_description(error);
    }
    return f;
}

// After a failure, the same queue still runs the seed's add kernel correctly.
void check_queue_still_works(id queue) {
    autorelease_pool pool;
    object pipeline = pipeline_for(add_kernel_source, "add");
    object in = buffer_with(std::vector<float>{1.0f, 2.0f});
    object out = new_buffer(sizeof(float));
    object cb = run_encoded(queue, [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    CHECK(status_of(cb.get()) == status_completed);
    CHECK(msg_send<id()>(cb.get(), "error") == nullptr);
    CHECK(contents<float>(out.get())[0] == 3.0f);
}

void check_failure(const failure& f, ns_integer code, std::initializer_list<const char*> mentions) {
    INFO(f.description);
    CHECK(f.status == status_error);
    CHECK(f.domain == "MTLCommandBufferErrorDomain");
    CHECK(f.code == code);
    for (const char* text : mentions) CHECK(f.description.find(text) != std::string::npos);
}

}  // namespace

TEST_CASE("an unbound buffer the kernel reads is an InvalidResource error naming the index") {
    autorelease_pool pool;
    object pipeline = pipeline_for(add_kernel_source, "add");
    object queue = new_queue();
    object in = buffer_with(std::vector<float>{1.0f, 2.0f});
    const failure f = run_failing(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    check_failure(f, 9, {"dispatch 0 of encoder 0: kernel 'add' reads buffer(1) but nothing is bound at index 1"});
    check_queue_still_works(queue.get());
}

TEST_CASE("a buffer offset past the buffer's end is an InvalidResource error") {
    autorelease_pool pool;
    object pipeline = pipeline_for(add_kernel_source, "add");
    object queue = new_queue();
    object in = buffer_with(std::vector<float>{1.0f, 2.0f});
    object out = new_buffer(sizeof(float));
    const failure f = run_failing(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 64, 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    check_failure(f, 9, {"buffer(1) offset 64", "past the end"});
    check_queue_still_works(queue.get());
}

TEST_CASE("fewer bytes bound than a constant reference needs is an InvalidResource error") {
    autorelease_pool pool;
    object pipeline = pipeline_for(affine_kernel_source, "affine");
    object queue = new_queue();
    object in = new_buffer(16);
    object out = new_buffer(16);
    const failure f = run_failing(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        const float only_factor = 2.0f;
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &only_factor, 4, 2);
        dispatch_threads(encoder, {4, 1, 1}, {4, 1, 1});
    });
    check_failure(f, 9, {"kernel 'affine' needs 8 bytes at buffer(2) but only 4 are bound"});
    check_queue_still_works(queue.get());
}

TEST_CASE("threads per threadgroup over maxTotalThreadsPerThreadgroup, or with a zero dimension, are NotPermitted") {
    autorelease_pool pool;
    object pipeline = pipeline_for(add_kernel_source, "add");
    object queue = new_queue();
    object in = new_buffer(1 << 16);
    object out = new_buffer(1 << 16);
    auto with_group = [&](mtl_size group) {
        return run_failing(queue.get(), [&](id encoder) {
            set_pipeline(encoder, pipeline.get());
            set_buffer(encoder, in.get(), 0, 0);
            set_buffer(encoder, out.get(), 0, 1);
            dispatch_threads(encoder, {2048, 1, 1}, group);
        });
    };
    check_failure(with_group({32, 32, 2}), 7, {"threadsPerThreadgroup (32, 32, 2)", "maxTotalThreadsPerThreadgroup 1024"});
    check_failure(with_group({1025, 1, 1}), 7, {"exceeds"});
    check_failure(with_group({0, 1, 1}), 7, {"zero dimension"});
    check_queue_still_works(queue.get());
}

TEST_CASE("static plus dynamic threadgroup memory over 32 KiB is an OutOfMemory error") {
    autorelease_pool pool;
    object pipeline = pipeline_for(big_static_kernel, "big_static");
    object queue = new_queue();
    object out = new_buffer(1024);
    const failure f = run_failing(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", 1024, 0);
        dispatch_threadgroups(encoder, {1, 1, 1}, {16, 1, 1});
    });
    check_failure(f, 8, {"threadgroup memory", "32768"});
    check_queue_still_works(queue.get());
}

TEST_CASE("a threadgroup(n) argument without a length is an InvalidResource error") {
    autorelease_pool pool;
    object pipeline = pipeline_for(big_static_kernel, "big_static");
    object queue = new_queue();
    object out = new_buffer(1024);
    const failure f = run_failing(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threadgroups(encoder, {1, 1, 1}, {16, 1, 1});
    });
    check_failure(f, 9, {"threadgroup(0)"});
}

TEST_CASE("a dispatch without a pipeline state is an InvalidResource error") {
    autorelease_pool pool;
    object queue = new_queue();
    const failure f = run_failing(queue.get(), [&](id encoder) { dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1}); });
    check_failure(f, 9, {"dispatch 0 of encoder 0", "no compute pipeline state"});
    check_queue_still_works(queue.get());
}

TEST_CASE("dispatches after a failing one do not run; earlier ones did") {
    autorelease_pool pool;
    object pipeline = pipeline_for(append_kernel_source, "append");
    object queue = new_queue();
    object log = new_buffer(64);
    object cb = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    {
        autorelease_pool inner;
        id first = msg_send<id()>(cb.get(), "computeCommandEncoder");
        set_pipeline(first, pipeline.get());
        set_buffer(first, log.get(), 0, 0);
        const std::uint32_t one = 1, two = 2, three = 3;
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(first, "setBytes:length:atIndex:", &one, 4, 1);
        dispatch_threads(first, {1, 1, 1}, {1, 1, 1});
        msg_send<void()>(first, "endEncoding");
        id second = msg_send<id()>(cb.get(), "computeCommandEncoder");
        set_pipeline(second, pipeline.get());
        set_buffer(second, log.get(), 0, 0);
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(second, "setBytes:length:atIndex:", &two, 4, 1);
        dispatch_threads(second, {1, 1, 1}, {1, 1, 1});
        set_buffer(second, nullptr, 0, 0);  // unbinds the log
        dispatch_threads(second, {1, 1, 1}, {1, 1, 1});
        set_buffer(second, log.get(), 0, 0);
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(second, "setBytes:length:atIndex:", &three, 4, 1);
        dispatch_threads(second, {1, 1, 1}, {1, 1, 1});
        msg_send<void()>(second, "endEncoding");
    }
    msg_send<void()>(cb.get(), "commit");
    msg_send<void()>(cb.get(), "waitUntilCompleted");
    CHECK(status_of(cb.get()) == status_error);
    id error = msg_send<id()>(cb.get(), "error");
    REQUIRE(error != nullptr);
    CHECK(error_description(error).find("dispatch 1 of encoder 1: kernel 'append' reads buffer(0)") != std::string::npos);
    const std::uint32_t* result = contents<std::uint32_t>(log.get());
    CHECK(result[0] == 2);
    CHECK(result[1] == 1);
    CHECK(result[2] == 2);
    check_queue_still_works(queue.get());
}
