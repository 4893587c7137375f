// dispatchThreadgroupsWithIndirectBuffer:indirectBufferOffset:threadsPerThreadgroup: reads its
// threadgroup counts when the command runs, so an earlier kernel can compute them.
#include "softmetal_test_support.hpp"

#include <cstdint>

using namespace softmetal_test;

namespace {

// Writes MTLDispatchThreadgroupsIndirectArguments {ceil(n / 32), 1, 1} at args[offset / 4].
constexpr const char* sizing_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void size_grid(device uint* args [[buffer(0)]], constant uint& n [[buffer(1)]], uint id [[thread_position_in_grid]]) {
    args[4] = (n + 31) / 32;
    args[5] = 1;
    args[6] = 1;
}
kernel void mark(device uint* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id] = id + 1;
}
)";

}  // namespace

TEST_CASE("an indirect dispatch runs the grid an earlier kernel of the command buffer wrote") {
    autorelease_pool pool;
    object queue = new_queue();
    object size_grid = pipeline_for(sizing_source, "size_grid");
    object mark = pipeline_for(sizing_source, "mark");
    object arguments = new_buffer(64);  // zero at encoding time: a grid read then would run nothing
    object out = new_buffer(256 * 4);
    const std::uint32_t n = 100;  // 4 groups of 32 = 128 threads
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, size_grid.get());
        set_buffer(encoder, arguments.get(), 0, 0);
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &n, 4, 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
        set_pipeline(encoder, mark.get());
        set_buffer(encoder, out.get(), 0, 0);
        msg_send<void(id, ns_uinteger, mtl_size)>(encoder, "dispatchThreadgroupsWithIndirectBuffer:indirectBufferOffset:threadsPerThreadgroup:",
                                                  arguments.get(), 16, mtl_size{32, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    const std::uint32_t* marks = contents<std::uint32_t>(out.get());
    for (std::uint32_t i = 0; i < 128; ++i) CHECK(marks[i] == i + 1);
    CHECK(marks[128] == 0);
}

TEST_CASE("an indirect dispatch whose arguments leave the buffer fails with InvalidResource") {
    autorelease_pool pool;
    object queue = new_queue();
    object mark = pipeline_for(sizing_source, "mark");
    object arguments = new_buffer(16);
    object out = new_buffer(64);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, mark.get());
        set_buffer(encoder, out.get(), 0, 0);
        msg_send<void(id, ns_uinteger, mtl_size)>(encoder, "dispatchThreadgroupsWithIndirectBuffer:indirectBufferOffset:threadsPerThreadgroup:",
                                                  arguments.get(), 8, mtl_size{1, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_error);
    id error = msg_send<id()>(cb.get(), "error");
    REQUIRE(error != nullptr);
    CHECK(error_code(error) == 9);
    CHECK(error_description(error).find("indirectBufferOffset 8") != std::string::npos);
}
