// Validation that cannot be fooled by overflow, and API misuse that Metal's validation layer reports:
// each case is refused with an error (nil plus NSError, or a command buffer error), never a crash,
// a hang or a silently wrong result, and the queue computes correctly afterwards.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

constexpr ns_integer error_not_permitted = 7, error_out_of_memory = 8, error_invalid_resource = 9;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string error_text(id command_buffer) {
    id error = msg_send<id()>(command_buffer, "error");
    return error ? error_description(error) : std::string();
}
ns_integer error_code_of(id command_buffer) {
    id error = msg_send<id()>(command_buffer, "error");
    return error ? error_code(error) : 0;
}

// The seed's add kernel, bound correctly, on `queue`: 1 + 2 = 3.
void check_queue_still_computes(id queue) {
    object pipeline = pipeline_for(add_kernel_source, "add");
    object in = buffer_with(std::vector<float>{1.0f, 2.0f});
    object out = new_buffer(sizeof(float));
    object command_buffer = run_encoded(queue, [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    CHECK(contents<float>(out.get())[0] == 3.0f);
}

constexpr const char* threadgroup_kernel = R"(#include <metal_stdlib>
using namespace metal;
kernel void two_slots(device uint* out [[buffer(0)]], threadgroup uint* a [[threadgroup(0)]],
                      threadgroup uint* b [[threadgroup(1)]], uint lid [[thread_position_in_threadgroup]]) {
    a[lid] = lid;
    b[lid] = lid;
    out[lid] = a[lid] + b[lid];
}
)";

}  // namespace

TEST_CASE("setBuffer:offset: equal to the buffer's length is refused") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(add_kernel_source, "add");
    object in = buffer_with(std::vector<float>{1.0f, 2.0f});
    object out = new_buffer(sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), sizeof(float), 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    CHECK(status_of(command_buffer.get()) == status_error);
    CHECK(error_code_of(command_buffer.get()) == error_invalid_resource);
    CHECK(contains(error_text(command_buffer.get()), "buffer(1) offset 4"));
    check_queue_still_computes(queue.get());
}

namespace {

constexpr const char* offset_kernels = R"(#include <metal_stdlib>
using namespace metal;
kernel void sum4(device const float4* v [[buffer(0)]], device float* out [[buffer(1)]], uint id [[thread_position_in_grid]]) {
    out[id] = v[id].x + v[id].y + v[id].z + v[id].w;
}
kernel void sum_packed(device const packed_float4* v [[buffer(0)]], device float* out [[buffer(1)]],
                       uint id [[thread_position_in_grid]]) {
    const float4 x = float4(v[id]);
    out[id] = x.x + x.y + x.z + x.w;
}
)";

// Runs `kernel` over 64 threads with buffer(0) = values 0, 1, 2, ... bound at `offset` bytes.
object run_at_offset(id queue, const char* kernel, ns_uinteger offset, id out) {
    object pipeline = pipeline_for(offset_kernels, kernel);
    std::vector<float> values(16 + 4 * 64);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = float(i);
    object in = buffer_with(values);
    return run_encoded(queue, [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), offset, 0);
        set_buffer(encoder, out, 0, 1);
        dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
    });
}

// Element i of a float4 view starting `first` floats into 0, 1, 2, ...: the sum of its four values.
bool sums_right(id out, std::size_t first) {
    bool right = true;
    for (std::size_t i = 0; i < 64; ++i) right = right && contents<float>(out)[i] == float(4 * (first + 4 * i) + 6);
    return right;
}

}  // namespace

TEST_CASE("a float4 buffer bound at an offset that is not a multiple of 16 is refused, naming the argument") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    for (const ns_uinteger offset : {ns_uinteger{4}, ns_uinteger{8}, ns_uinteger{36}}) {
        object command_buffer = run_at_offset(queue.get(), "sum4", offset, out.get());
        CHECK(status_of(command_buffer.get()) == status_error);
        CHECK(error_code_of(command_buffer.get()) == error_invalid_resource);
        CHECK(contains(error_text(command_buffer.get()), "dispatch 0 of encoder 0: kernel 'sum4' binds argument 'v' (buffer(0)) at offset " +
                                                             std::to_string(offset) +
                                                             ", which is not a multiple of 16, the alignment of its data type"));
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("vector buffers bound at offsets Metal accepts compute correctly") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // float4 at a multiple of 16; packed_float4 (4-byte aligned) at any multiple of 4, loaded unaligned.
    const struct {
        const char* kernel;
        ns_uinteger offset;
    } cases[] = {{"sum4", 16}, {"sum4", 48}, {"sum_packed", 4}, {"sum_packed", 20}};
    for (const auto& c : cases) {
        INFO(c.kernel << " at offset " << c.offset);
        object command_buffer = run_at_offset(queue.get(), c.kernel, c.offset, out.get());
        INFO(error_text(command_buffer.get()));
        REQUIRE(status_of(command_buffer.get()) == status_completed);
        CHECK(sums_right(out.get(), c.offset / sizeof(float)));
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("a threadgroup memory length that is not a multiple of 16 fails the command buffer") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(threadgroup_kernel, "two_slots");
    object out = new_buffer(64 * sizeof(std::uint32_t));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", 256, 0);
        msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", 260, 1);
        dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
    });
    CHECK(status_of(command_buffer.get()) == status_error);
    CHECK(error_code_of(command_buffer.get()) == error_not_permitted);
    CHECK(contains(error_text(command_buffer.get()), "setThreadgroupMemoryLength:atIndex: length 260 at index 1 is not a multiple of 16 bytes"));
    check_queue_still_computes(queue.get());
}

TEST_CASE("[[buffer(31)]] and [[threadgroup(31)]] are refused when the library is compiled") {
    autorelease_pool pool;
    struct {
        const char* source;
        const char* text;
    } cases[] = {
        // Metal's compiler's words, at the attribute's line and column.
        {R"(kernel void k(device float* out [[buffer(31)]], uint id [[thread_position_in_grid]]) { out[id] = 1.0f; })",
         "program_source:1:35: error: 'buffer' attribute parameter is out of bounds: must be between 0 and 30"},
        {R"(kernel void k(device float* out [[buffer(0)]], sampler s [[sampler(16)]], uint id [[thread_position_in_grid]]) { out[id] = 1.0f; })",
         "program_source:1:60: error: 'sampler' attribute parameter is out of bounds: must be between 0 and 15"},
        // An index given as a constant expression: the prelude's check, in the same words.
        {R"(constant constexpr int base = 30;
kernel void k(device float* out [[buffer(base + 1)]], uint id [[thread_position_in_grid]]) { out[id] = 1.0f; })",
         "'buffer' attribute parameter is out of bounds: must be between 0 and 30"},
        {R"(kernel void k(device float* out [[buffer(0)]], threadgroup float* t [[threadgroup(31)]],
                          uint id [[thread_position_in_grid]]) { t[0] = 1.0f; out[id] = t[0]; })",
         "'threadgroup' attribute parameter is out of bounds: must be between 0 and 30"},
    };
    for (const auto& c : cases) {
        id error = nullptr;
        object library = new_library(c.source, nullptr, &error);
        CHECK_FALSE(library);
        REQUIRE(error);
        INFO(error_description(error));
        CHECK(contains(error_description(error), c.text));
    }
}

TEST_CASE("[[buffer(31)]] given as a constant expression is refused when a library compiled on demand is compiled") {
    // The prelude's check is a compile-time one: the check of the whole source makes it, before any
    // kernel's code is made (SOFTMETAL_CODEGEN_ON_DEMAND=1: every library takes that path).
    autorelease_pool pool;
    setenv("SOFTMETAL_CODEGEN_ON_DEMAND", "1", 1);
    id error = nullptr;
    object library = new_library(R"(constant constexpr int base = 30;
kernel void k(device float* out [[buffer(base + 1)]], uint id [[thread_position_in_grid]]) { out[id] = 1.0f; })",
                                 nullptr, &error);
    unsetenv("SOFTMETAL_CODEGEN_ON_DEMAND");
    CHECK_FALSE(library);
    REQUIRE(error);
    INFO(error_description(error));
    CHECK(contains(error_description(error), "'buffer' attribute parameter is out of bounds: must be between 0 and 30"));
}

TEST_CASE("threadgroup memory lengths that sum past 2^64 or round to nothing are refused") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(threadgroup_kernel, "two_slots");
    object out = new_buffer(64 * sizeof(std::uint32_t));
    const ns_uinteger huge[][2] = {{ns_uinteger{1} << 63, ns_uinteger{1} << 63}, {~ns_uinteger{15}, 256}, {256, ~ns_uinteger{15}}};
    for (const auto& lengths : huge) {
        object command_buffer = run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, pipeline.get());
            set_buffer(encoder, out.get(), 0, 0);
            for (ns_uinteger n = 0; n < 2; ++n)
                msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", lengths[n], n);
            dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
        });
        CHECK(status_of(command_buffer.get()) == status_error);
        CHECK(error_code_of(command_buffer.get()) == error_out_of_memory);
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("setBytes: over Metal's 4 KiB limit fails the command buffer") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(affine_kernel_source, "affine");
    std::vector<unsigned char> big(4097);
    object in = buffer_with(std::vector<float>{1.0f});
    object out = new_buffer(sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", big.data(), big.size(), 2);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    CHECK(status_of(command_buffer.get()) == status_error);
    CHECK(error_code_of(command_buffer.get()) == error_not_permitted);
    CHECK(contains(error_text(command_buffer.get()), "4096"));
    check_queue_still_computes(queue.get());
}

TEST_CASE("newBufferWithBytes: with a length past the readable source returns nil") {
    autorelease_pool pool;
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    void* pages = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(pages != MAP_FAILED);
    REQUIRE(mprotect(static_cast<char*>(pages) + page, page, PROT_NONE) == 0);
    id buffer = msg_send<id(const void*, ns_uinteger, ns_uinteger)>(device(), "newBufferWithBytes:length:options:", pages,
                                                                     ns_uinteger{64} * page, 0);
    CHECK(buffer == nullptr);
    object fits = object::adopt(
        msg_send<id(const void*, ns_uinteger, ns_uinteger)>(device(), "newBufferWithBytes:length:options:", pages, page, 0));
    CHECK(fits);
    munmap(pages, 2 * page);
}

TEST_CASE("a grid whose threadgroup count overflows 64 bits is refused, not run as empty") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(add_kernel_source, "add");
    object in = buffer_with(std::vector<float>{1.0f, 2.0f});
    object out = new_buffer(sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threadgroups(encoder, {ns_uinteger{1} << 31, ns_uinteger{1} << 31, 4}, {1, 1, 1});
    });
    CHECK(status_of(command_buffer.get()) == status_error);
    CHECK(error_code_of(command_buffer.get()) == error_not_permitted);
    check_queue_still_computes(queue.get());
}

TEST_CASE("binding indices past 30 fail the command buffer") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(add_kernel_source, "add");
    object buffer = new_buffer(16);
    for (int call = 0; call < 3; ++call) {
        object command_buffer = run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, pipeline.get());
            if (call == 0) set_buffer(encoder, buffer.get(), 0, 31);
            if (call == 1) msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", 16, 31);
            if (call == 2) {
                const id buffers[2] = {buffer.get(), buffer.get()};
                const ns_uinteger offsets[2] = {0, 0};
                msg_send<void(const id*, const ns_uinteger*, ns_range)>(encoder, "setBuffers:offsets:withRange:", buffers,
                                                                      offsets, ns_range{~ns_uinteger{0}, 2});
            }
        });
        CHECK(status_of(command_buffer.get()) == status_error);
        CHECK(error_code_of(command_buffer.get()) == error_not_permitted);
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("a dispatch after endEncoding and a second open encoder fail the command buffer") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(add_kernel_source, "add");
    for (int misuse = 0; misuse < 2; ++misuse) {
        object command_buffer = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
        id encoder = msg_send<id()>(command_buffer.get(), "computeCommandEncoder");
        if (misuse == 0) {
            msg_send<void()>(encoder, "endEncoding");
            set_pipeline(encoder, pipeline.get());
            dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
        } else {
            id second = msg_send<id()>(command_buffer.get(), "computeCommandEncoder");
            msg_send<void()>(second, "endEncoding");
            msg_send<void()>(encoder, "endEncoding");
        }
        msg_send<void()>(command_buffer.get(), "commit");
        msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
        CHECK(status_of(command_buffer.get()) == status_error);
        CHECK(error_code_of(command_buffer.get()) == error_not_permitted);
        CHECK(contains(error_text(command_buffer.get()), misuse == 0 ? "after endEncoding" : "previous one had not ended"));
    }
    check_queue_still_computes(queue.get());
}

TEST_CASE("commit called twice fails the command buffer") {
    autorelease_pool pool;
    object queue = new_queue();
    // An enqueued, uncommitted command buffer ahead of it keeps it from running before the second commit.
    object blocker = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    msg_send<void()>(blocker.get(), "enqueue");
    object command_buffer = object::retain(msg_send<id()>(queue.get(), "commandBuffer"));
    msg_send<void()>(command_buffer.get(), "commit");
    msg_send<void()>(command_buffer.get(), "commit");
    msg_send<void()>(blocker.get(), "commit");
    msg_send<void()>(command_buffer.get(), "waitUntilCompleted");
    CHECK(status_of(command_buffer.get()) == status_error);
    CHECK(error_code_of(command_buffer.get()) == error_not_permitted);
    CHECK(contains(error_text(command_buffer.get()), "already committed"));
    CHECK(status_of(blocker.get()) == status_completed);
    check_queue_still_computes(queue.get());
}

TEST_CASE("a function name that is not a string finds no function instead of ending the process") {
    autorelease_pool pool;
    object library = new_library(add_kernel_source);
    REQUIRE(library);
    id number = msg_send<id(int)>(pymetal::class_named("NSNumber"), "numberWithInt:", 5);
    CHECK(msg_send<id(id)>(library.get(), "newFunctionWithName:", number) == nullptr);
    id error = nullptr;
    CHECK(msg_send<id(id, id, id*)>(library.get(), "newFunctionWithName:constantValues:error:", number, nullptr, &error) == nullptr);
    CHECK(error != nullptr);
}

TEST_CASE("an int function constant given as MTLDataTypeFloat is refused, not bit-cast") {
    autorelease_pool pool;
    object library = new_library(R"(#include <metal_stdlib>
using namespace metal;
constant int k [[function_constant(0)]];
kernel void scaled(device int* out [[buffer(0)]], uint id [[thread_position_in_grid]]) { out[id] = k; }
)");
    REQUIRE(library);
    object values = object::adopt(msg_send<id()>(msg_send<id()>(pymetal::class_named("MTLFunctionConstantValues"), "alloc"), "init"));
    const float value = 2.0f;
    msg_send<void(const void*, ns_uinteger, ns_uinteger)>(values.get(), "setConstantValue:type:atIndex:", &value, 3, 0);
    object name = ns_string("scaled");
    id error = nullptr;
    id function = msg_send<id(id, id, id*)>(library.get(), "newFunctionWithName:constantValues:error:", name.get(),
                                            values.get(), &error);
    CHECK(function == nullptr);
    REQUIRE(error);
    CHECK(contains(error_description(error), "declared int"));
}
