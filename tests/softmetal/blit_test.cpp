// The blit command encoder (buffer forms), private and managed storage, and encoders of different
// kinds in one command buffer running in encoding order.
#include "softmetal_test_support.hpp"

#include <cstdint>
#include <cstring>

using namespace softmetal_test;

namespace {

constexpr ns_uinteger private_storage = 2 << 4, managed_storage = 1 << 4;

void copy_buffer(id blit, id from, ns_uinteger from_offset, id to, ns_uinteger to_offset, ns_uinteger size) {
    msg_send<void(id, ns_uinteger, id, ns_uinteger, ns_uinteger)>(
        blit, "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:", from, from_offset, to, to_offset, size);
}
void fill_buffer(id blit, id buffer, ns_range range, std::uint8_t value) {
    msg_send<void(id, ns_range, std::uint8_t)>(blit, "fillBuffer:range:value:", buffer, range, value);
}

// Commits `command_buffer`, waits, and returns its status.
ns_uinteger finish(id command_buffer) {
    msg_send<void()>(command_buffer, "commit");
    msg_send<void()>(command_buffer, "waitUntilCompleted");
    return status_of(command_buffer);
}

}  // namespace

TEST_CASE("a blit copy moves bytes between buffers at the given offsets") {
    autorelease_pool pool;
    object queue = new_queue();
    object from = buffer_with<std::uint8_t>({1, 2, 3, 4, 5, 6, 7, 8});
    object to = new_buffer(8);
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    REQUIRE(blit != nullptr);
    copy_buffer(blit, from.get(), 2, to.get(), 4, 4);
    msg_send<void()>(blit, "endEncoding");
    REQUIRE(finish(cb) == status_completed);
    const std::uint8_t* out = contents<std::uint8_t>(to.get());
    CHECK(std::vector<std::uint8_t>(out, out + 8) == std::vector<std::uint8_t>{0, 0, 0, 0, 3, 4, 5, 6});
}

TEST_CASE("a blit fill sets every byte of the range and nothing else") {
    autorelease_pool pool;
    object queue = new_queue();
    object buffer = new_buffer(8);
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    fill_buffer(blit, buffer.get(), ns_range{1, 5}, 0xAB);
    msg_send<void()>(blit, "endEncoding");
    REQUIRE(finish(cb) == status_completed);
    const std::uint8_t* out = contents<std::uint8_t>(buffer.get());
    CHECK(std::vector<std::uint8_t>(out, out + 8) == std::vector<std::uint8_t>{0, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0, 0});
}

TEST_CASE("a blit past a buffer's end fails the command buffer with InvalidResource and writes nothing") {
    autorelease_pool pool;
    object queue = new_queue();
    object small = new_buffer(4);
    object large = new_buffer(16);
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    copy_buffer(blit, large.get(), 0, small.get(), 2, 4);
    msg_send<void()>(blit, "endEncoding");
    REQUIRE(finish(cb) == status_error);
    id error = msg_send<id()>(cb, "error");
    REQUIRE(error != nullptr);
    CHECK(error_code(error) == 9);
    CHECK(error_description(error).find("destination length 4") != std::string::npos);
}

TEST_CASE("compute and blit encoders of one command buffer run in encoding order") {
    autorelease_pool pool;
    object queue = new_queue();
    object append = pipeline_for(append_kernel_source, "append");
    object log = new_buffer(64);
    object copy = new_buffer(64);
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    auto append_value = [&](std::uint32_t value) {
        id encoder = msg_send<id()>(cb, "computeCommandEncoder");
        set_pipeline(encoder, append.get());
        set_buffer(encoder, log.get(), 0, 0);
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &value, 4, 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
        msg_send<void()>(encoder, "endEncoding");
    };
    append_value(7);
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    copy_buffer(blit, log.get(), 0, copy.get(), 0, 64);  // sees exactly the first append
    fill_buffer(blit, log.get(), ns_range{4, 4}, 0);     // wipes it from the log
    msg_send<void()>(blit, "endEncoding");
    append_value(9);  // appends after the first (count still 1)
    REQUIRE(finish(cb) == status_completed);
    const std::uint32_t* seen = contents<std::uint32_t>(copy.get());
    CHECK(seen[0] == 1);
    CHECK(seen[1] == 7);
    const std::uint32_t* now = contents<std::uint32_t>(log.get());
    CHECK(now[0] == 2);
    CHECK(now[1] == 0);
    CHECK(now[2] == 9);
}

TEST_CASE("a private buffer has no contents and round-trips through blit copies") {
    autorelease_pool pool;
    object queue = new_queue();
    object gpu_only = new_buffer(16 * sizeof(float), private_storage);
    REQUIRE(gpu_only);
    CHECK(msg_send<void*()>(gpu_only.get(), "contents") == nullptr);
    CHECK(msg_send<ns_uinteger()>(gpu_only.get(), "storageMode") == 2);

    std::vector<float> input(16);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = 0.5f * static_cast<float>(i);
    object upload = buffer_with(input);
    object download = new_buffer(16 * sizeof(float));
    object affine = pipeline_for(affine_kernel_source, "affine");
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    copy_buffer(blit, upload.get(), 0, gpu_only.get(), 0, 64);
    msg_send<void()>(blit, "endEncoding");
    id encoder = msg_send<id()>(cb, "computeCommandEncoder");  // in place: out aliases in
    const float params[2] = {2.0f, 1.0f};
    set_pipeline(encoder, affine.get());
    set_buffer(encoder, gpu_only.get(), 0, 0);
    set_buffer(encoder, gpu_only.get(), 0, 1);
    msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", params, sizeof params, 2);
    dispatch_threads(encoder, {16, 1, 1}, {16, 1, 1});
    msg_send<void()>(encoder, "endEncoding");
    blit = msg_send<id()>(cb, "blitCommandEncoder");
    copy_buffer(blit, gpu_only.get(), 0, download.get(), 0, 64);
    msg_send<void()>(blit, "endEncoding");
    REQUIRE(finish(cb) == status_completed);
    const float* out = contents<float>(download.get());
    for (std::size_t i = 0; i < input.size(); ++i) CHECK(out[i] == input[i] * 2.0f + 1.0f);
}

TEST_CASE("a managed buffer takes didModifyRange: and synchronizeResource: and keeps its data") {
    autorelease_pool pool;
    object queue = new_queue();
    object managed = new_buffer(16, managed_storage);
    REQUIRE(managed);
    CHECK(msg_send<ns_uinteger()>(managed.get(), "storageMode") == 1);
    std::memset(contents<std::uint8_t>(managed.get()), 5, 16);
    msg_send<void(ns_range)>(managed.get(), "didModifyRange:", ns_range{0, 16});
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    fill_buffer(blit, managed.get(), ns_range{0, 8}, 9);
    msg_send<void(id)>(blit, "synchronizeResource:", managed.get());
    msg_send<void()>(blit, "endEncoding");
    REQUIRE(finish(cb) == status_completed);
    const std::uint8_t* out = contents<std::uint8_t>(managed.get());
    CHECK(out[0] == 9);
    CHECK(out[7] == 9);
    CHECK(out[8] == 5);
}

TEST_CASE("fences are accepted by compute and blit encoders and order nothing further") {
    autorelease_pool pool;
    object queue = new_queue();
    object fence = object::adopt(msg_send<id()>(device(), "newFence"));
    REQUIRE(fence);
    CHECK(msg_send<id()>(fence.get(), "device") == device());
    object buffer = new_buffer(4);
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    fill_buffer(blit, buffer.get(), ns_range{0, 4}, 1);
    msg_send<void(id)>(blit, "updateFence:", fence.get());
    msg_send<void()>(blit, "endEncoding");
    id encoder = msg_send<id()>(cb, "computeCommandEncoder");
    msg_send<void(id)>(encoder, "waitForFence:", fence.get());
    msg_send<void(id)>(encoder, "updateFence:", fence.get());
    msg_send<void()>(encoder, "endEncoding");
    CHECK(finish(cb) == status_completed);
    CHECK(contents<std::uint8_t>(buffer.get())[3] == 1);
}
