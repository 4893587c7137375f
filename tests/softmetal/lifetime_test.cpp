// Retain/release balance: every +1 softmetal hands out is the caller's only reference, command buffers
// hold what they use until they complete, and the last release really deallocates (seen through a
// no-copy buffer's deallocator, and through LeakSanitizer in the sanitizer build).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

struct page_memory {
    std::size_t length = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void* pointer = std::aligned_alloc(length, length);
};

// A no-copy buffer whose deallocator frees the memory and counts its calls.
object tracked_buffer(std::atomic<int>& deallocations) {
    page_memory memory;
    block<void(void*, ns_uinteger)> deallocator([&deallocations](void* pointer, ns_uinteger) {
        std::free(pointer);
        deallocations.fetch_add(1);
    });
    return object::adopt(msg_send<id(void*, ns_uinteger, ns_uinteger, id)>(
        device(), "newBufferWithBytesNoCopy:length:options:deallocator:", memory.pointer, memory.length, 0,
        deallocator.get()));
}

bool eventually(const std::atomic<int>& counter, int value) {
    for (int i = 0; i < 500 && counter.load() != value; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return counter.load() == value;
}

constexpr const char* fill_kernel = R"(#include <metal_stdlib>
using namespace metal;
kernel void fill(device uint* out [[buffer(0)]], uint id [[thread_position_in_grid]]) { out[id] = 7; }
)";

}  // namespace

TEST_CASE("new... selectors return objects with a retain count of one") {
    autorelease_pool pool;
    object lib = new_library(add_kernel_source);
    object function = new_function(lib.get(), "add");
    object pipeline = new_pipeline(function.get());
    object queue = new_queue();
    object buffer = new_buffer(16);
    for (id o : {lib.get(), function.get(), pipeline.get(), queue.get(), buffer.get()}) CHECK(retain_count(o) == 1);
}

TEST_CASE("a command buffer keeps a used buffer alive until it completes, then lets it go") {
    autorelease_pool pool;
    object pipeline = pipeline_for(fill_kernel, "fill");
    object queue = new_queue();
    std::atomic<int> deallocations{0};
    object buffer = tracked_buffer(deallocations);
    REQUIRE(buffer);
    const ns_uinteger before = retain_count(buffer.get());
    object cb = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    {
        autorelease_pool inner;
        id encoder = msg_send<id()>(cb.get(), "computeCommandEncoder");
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, buffer.get(), 0, 0);
        dispatch_threads(encoder, {4, 1, 1}, {4, 1, 1});
        msg_send<void()>(encoder, "endEncoding");
    }
    CHECK(retain_count(buffer.get()) == before + 1);
    uint32_t* data = contents<uint32_t>(buffer.get());
    buffer.reset();  // the command buffer's reference is now the only one
    CHECK(deallocations.load() == 0);
    msg_send<void()>(cb.get(), "commit");
    msg_send<void()>(cb.get(), "waitUntilCompleted");
    CHECK(status_of(cb.get()) == status_completed);
    CHECK(deallocations.load() == 1);  // released before waitUntilCompleted returned
    (void)data;
}

TEST_CASE("an unretained-references command buffer does not retain its buffers") {
    autorelease_pool pool;
    object pipeline = pipeline_for(fill_kernel, "fill");
    object queue = new_queue();
    object buffer = new_buffer(16);
    const ns_uinteger before = retain_count(buffer.get());
    object cb = object::retain(msg_send<id()>(queue.get(), "commandBufferWithUnretainedReferences"));
    {
        autorelease_pool inner;
        id encoder = msg_send<id()>(cb.get(), "computeCommandEncoder");
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, buffer.get(), 0, 0);
        dispatch_threads(encoder, {4, 1, 1}, {4, 1, 1});
        msg_send<void()>(encoder, "endEncoding");
    }
    CHECK(retain_count(buffer.get()) == before);
    msg_send<void()>(cb.get(), "commit");
    msg_send<void()>(cb.get(), "waitUntilCompleted");
    CHECK(status_of(cb.get()) == status_completed);
    CHECK(contents<uint32_t>(buffer.get())[3] == 7);
}

TEST_CASE("a no-copy buffer used by a command buffer released before commit is deallocated with it") {
    autorelease_pool pool;
    object pipeline = pipeline_for(fill_kernel, "fill");
    object queue = new_queue();
    std::atomic<int> deallocations{0};
    {
        autorelease_pool inner;
        object buffer = tracked_buffer(deallocations);
        id cb = msg_send<id()>(queue.get(), "commandBuffer");
        id encoder = msg_send<id()>(cb, "computeCommandEncoder");
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, buffer.get(), 0, 0);
        dispatch_threads(encoder, {4, 1, 1}, {4, 1, 1});
        msg_send<void()>(encoder, "endEncoding");
    }
    CHECK(deallocations.load() == 1);
}

TEST_CASE("everything released while the work is in flight is deallocated once it completes") {
    std::atomic<int> deallocations{0};
    std::atomic<int> completions{0};
    {
        autorelease_pool pool;
        object pipeline = pipeline_for(fill_kernel, "fill");
        object queue = new_queue();
        object buffer = tracked_buffer(deallocations);
        block<void(id)> done([&completions](id) { completions.fetch_add(1); });
        id cb = msg_send<id()>(queue.get(), "commandBuffer");
        id encoder = msg_send<id()>(cb, "computeCommandEncoder");
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, buffer.get(), 0, 0);
        dispatch_threads(encoder, {4, 1, 1}, {4, 1, 1});
        msg_send<void()>(encoder, "endEncoding");
        msg_send<void(id)>(cb, "addCompletedHandler:", done.get());
        msg_send<void()>(cb, "commit");
    }  // queue, pipeline, buffer and command buffer: the lane now holds the last references
    CHECK(eventually(completions, 1));
    CHECK(eventually(deallocations, 1));
}

TEST_CASE("many queues come and go") {
    for (int i = 0; i < 50; ++i) {
        autorelease_pool pool;
        object queue = new_queue();
        object cb = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
        msg_send<void()>(cb.get(), "commit");
        if (i % 2) msg_send<void()>(cb.get(), "waitUntilCompleted");
    }
}
