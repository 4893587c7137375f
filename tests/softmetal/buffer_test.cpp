// SoftMetalBuffer: creation, contents, properties and the nil results Metal gives.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace ro = pymetal::resource_options;

TEST_CASE("newBufferWithLength:options: gives zero-filled, aligned, shared memory") {
    autorelease_pool pool;
    object buffer = new_buffer(1000);
    REQUIRE(buffer);
    CHECK(retain_count(buffer.get()) == 1);
    auto* bytes = contents<unsigned char>(buffer.get());
    REQUIRE(bytes != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(bytes) % 64 == 0);
    bool all_zero = true;
    for (int i = 0; i < 1000; ++i) all_zero = all_zero && bytes[i] == 0;
    CHECK(all_zero);
    CHECK(msg_send<ns_uinteger()>(buffer.get(), "length") == 1000);
    CHECK(msg_send<ns_uinteger()>(buffer.get(), "allocatedSize") >= 1000);
    CHECK(msg_send<ns_uinteger()>(buffer.get(), "storageMode") == 0);
    CHECK(msg_send<std::uint64_t()>(buffer.get(), "gpuAddress") == reinterpret_cast<std::uintptr_t>(bytes));
    CHECK(msg_send<id()>(buffer.get(), "device") == device());
}

TEST_CASE("large buffers are zero-filled and page aligned") {
    autorelease_pool pool;
    object buffer = new_buffer(64 << 20);
    REQUIRE(buffer);
    auto* bytes = contents<unsigned char>(buffer.get());
    CHECK(reinterpret_cast<std::uintptr_t>(bytes) % 4096 == 0);
    CHECK(bytes[0] == 0);
    CHECK(bytes[(64 << 20) - 1] == 0);
    bytes[12345] = 7;  // writable
}

TEST_CASE("newBufferWithBytes:length:options: copies the bytes") {
    autorelease_pool pool;
    std::vector<float> values{1, 2, 3, 4};
    object buffer = buffer_with(values);
    REQUIRE(buffer);
    values[0] = 99;
    CHECK(contents<float>(buffer.get())[0] == 1);
    CHECK(contents<float>(buffer.get())[3] == 4);
}

TEST_CASE("options are reported back: storage mode, cache mode, hazard tracking, resource options") {
    autorelease_pool pool;
    const ns_uinteger options = ro::storage_mode_managed | ro::cpu_cache_mode_write_combined | ro::hazard_tracking_mode_untracked;
    object buffer = new_buffer(16, options);
    REQUIRE(buffer);
    CHECK(msg_send<ns_uinteger()>(buffer.get(), "storageMode") == 1);
    CHECK(msg_send<ns_uinteger()>(buffer.get(), "cpuCacheMode") == 1);
    CHECK(msg_send<ns_uinteger()>(buffer.get(), "hazardTrackingMode") == 1);
    CHECK(msg_send<ns_uinteger()>(buffer.get(), "resourceOptions") == options);
    msg_send<void(ns_range)>(buffer.get(), "didModifyRange:", ns_range{0, 16});  // a no-op on unified memory
    object tracked = new_buffer(16);
    CHECK(msg_send<ns_uinteger()>(tracked.get(), "hazardTrackingMode") == 2);
}

TEST_CASE("a private buffer has no CPU contents") {
    autorelease_pool pool;
    object buffer = new_buffer(256, ro::storage_mode_private);
    REQUIRE(buffer);
    CHECK(msg_send<void*()>(buffer.get(), "contents") == nullptr);
    CHECK(msg_send<ns_uinteger()>(buffer.get(), "storageMode") == 2);
    CHECK(msg_send<std::uint64_t()>(buffer.get(), "gpuAddress") != 0);
}

TEST_CASE("impossible buffers are nil, never a crash") {
    autorelease_pool pool;
    const ns_uinteger max = msg_send<ns_uinteger()>(device(), "maxBufferLength");
    CHECK_FALSE(new_buffer(0));
    CHECK_FALSE(new_buffer(max + 1));
    CHECK_FALSE(new_buffer(~ns_uinteger{0}));
    CHECK_FALSE(new_buffer(64, ro::storage_mode_memoryless));
    std::vector<float> none;
    CHECK_FALSE(buffer_with(none));
}

TEST_CASE("label is copied on set and returned") {
    autorelease_pool pool;
    object buffer = new_buffer(16);
    CHECK(msg_send<id()>(buffer.get(), "label") == nullptr);
    object mutable_label = object::adopt(msg_send<id(id)>(msg_send<id()>(pymetal::class_named("NSMutableString"), "alloc"),
                                                          "initWithString:", ns_string("weights").get()));
    msg_send<void(id)>(buffer.get(), "setLabel:", mutable_label.get());
    msg_send<void(id)>(mutable_label.get(), "appendString:", ns_string(" changed").get());
    CHECK(text(msg_send<id()>(buffer.get(), "label")) == "weights");
    msg_send<void(id)>(buffer.get(), "setLabel:", nullptr);
    CHECK(msg_send<id()>(buffer.get(), "label") == nullptr);
}

namespace {
struct deallocation_record {
    int calls = 0;
    void* pointer = nullptr;
    ns_uinteger length = 0;
};
}  // namespace

TEST_CASE("newBufferWithBytesNoCopy: wraps page-aligned memory and calls the deallocator once on dealloc") {
    autorelease_pool pool;
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void* memory = std::aligned_alloc(page, 2 * page);
    REQUIRE(memory);
    std::memset(memory, 0x11, 2 * page);
    deallocation_record record;
    {
        block<void(void*, ns_uinteger)> deallocator([&record](void* pointer, ns_uinteger length) {
            record.calls++;
            record.pointer = pointer;
            record.length = length;
            std::free(pointer);
        });
        object buffer = object::adopt(msg_send<id(void*, ns_uinteger, ns_uinteger, id)>(
            device(), "newBufferWithBytesNoCopy:length:options:deallocator:", memory, 2 * page, 0, deallocator.get()));
        REQUIRE(buffer);
        CHECK(msg_send<void*()>(buffer.get(), "contents") == memory);
        CHECK(msg_send<ns_uinteger()>(buffer.get(), "length") == 2 * page);
        CHECK(record.calls == 0);
    }
    CHECK(record.calls == 1);
    CHECK(record.pointer == memory);
    CHECK(record.length == 2 * page);
}

TEST_CASE("newBufferWithBytesNoCopy: refuses a pointer that is not page-aligned") {
    autorelease_pool pool;
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void* memory = std::aligned_alloc(page, 2 * page);
    id buffer = msg_send<id(void*, ns_uinteger, ns_uinteger, id)>(
        device(), "newBufferWithBytesNoCopy:length:options:deallocator:", static_cast<char*>(memory) + 64, page, 0, nullptr);
    CHECK(buffer == nullptr);
    std::free(memory);
}

TEST_CASE("a no-copy buffer without a deallocator leaves the memory to its owner") {
    autorelease_pool pool;
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void* memory = std::aligned_alloc(page, page);
    {
        object buffer = object::adopt(msg_send<id(void*, ns_uinteger, ns_uinteger, id)>(
            device(), "newBufferWithBytesNoCopy:length:options:deallocator:", memory, page, 0, nullptr));
        REQUIRE(buffer);
    }
    std::free(memory);
}
