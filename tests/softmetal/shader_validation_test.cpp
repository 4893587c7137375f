// Shader validation (SOFTMETAL_SHADER_VALIDATION=1): a kernel's first access outside the range bound to
// its argument (or outside a threadgroup array) ends its command buffer with MTLCommandBufferErrorPageFault
// and a text naming the kernel, the argument, the offset, the MSL line and column and the thread; the
// queue then computes correctly. The variable is read at each compile, so each case turns it on only
// around its own library's compile (it is part of the compile cache's key).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "softmetal_test_support.hpp"

using namespace softmetal_test;

namespace {

constexpr ns_integer error_page_fault = 3;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Turns shader validation on for the compiles made while it lives.
class shader_validation_on {
public:
    shader_validation_on() { setenv("SOFTMETAL_SHADER_VALIDATION", "1", 1); }
    ~shader_validation_on() { unsetenv("SOFTMETAL_SHADER_VALIDATION"); }
    shader_validation_on(const shader_validation_on&) = delete;
    shader_validation_on& operator=(const shader_validation_on&) = delete;
};

object validated_pipeline(const char* source, const char* name) {
    shader_validation_on on;
    return pipeline_for(source, name);
}

// "program_source:L:C" of the first occurrence of `marker` in `source` (lines and columns from 1).
std::string position_of(const std::string& source, const std::string& marker) {
    const std::size_t at = source.find(marker);
    REQUIRE(at != std::string::npos);
    const std::size_t line_start = source.rfind('\n', at);
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(source.begin(), source.begin() + at, '\n'));
    const std::size_t column = at - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
    return "program_source:" + std::to_string(line) + ":" + std::to_string(column);
}

struct outcome {
    ns_uinteger status = 0;
    std::string domain;
    ns_integer code = 0;
    std::string text;
};

outcome outcome_of(id command_buffer) {
    outcome o;
    o.status = status_of(command_buffer);
    if (id error = msg_send<id()>(command_buffer, "error")) {
        o.domain = error_domain(error);
        o.code = error_code(error);
        o.text = error_description(error);
    }
    return o;
}

void check_page_fault(const outcome& o) {
    INFO(o.text);
    CHECK(o.status == status_error);
    CHECK(o.domain == "MTLCommandBufferErrorDomain");
    CHECK(o.code == error_page_fault);
    CHECK(contains(o.text, "(shader validation)"));
}

constexpr const char* bounds_kernels = R"(#include <metal_stdlib>
using namespace metal;
kernel void read_past(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                      uint id [[thread_position_in_grid]]) {
    out[id] = in[id + 1];
}
kernel void write_strided(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id * 2] = 1.0f;
}
kernel void fill(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id] = float(id) + 0.5f;
}
kernel void scale(constant float* coeffs [[buffer(0)]], device float* out [[buffer(1)]],
                  uint id [[thread_position_in_grid]]) {
    out[id] = coeffs[id] * 2.0f;
}
kernel void shift_tile(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float tile[64];
    tile[lid] = float(lid);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = tile[lid + 1];
}
kernel void scratch_stride(threadgroup float* scratch [[threadgroup(0)]], device float* out [[buffer(0)]],
                           uint lid [[thread_position_in_threadgroup]]) {
    scratch[lid * 2] = 1.0f;
    out[lid] = scratch[lid * 2];
}
void store(device float*, uint i, float v);
kernel void through_helper(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    store(out, id + 3, 1.0f);
}
void store(device float* p, uint i, float v) { p[i] = v; }
kernel void deref(device float* out [[buffer(0)]], constant uint& skip [[buffer(1)]]) {
    device float* raw = out;
    *(out + skip) = raw[0];
}
)";

// `fill` over `n` floats in one group: each element is its index + 0.5.
void check_fill_computes(id queue, std::size_t n) {
    object pipeline = validated_pipeline(bounds_kernels, "fill");
    object out = new_buffer(n * sizeof(float));
    object command_buffer = run_encoded(queue, [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threads(encoder, {n, 1, 1}, {64, 1, 1});
    });
    REQUIRE(status_of(command_buffer.get()) == status_completed);
    const float* result = contents<float>(out.get());
    bool right = true;
    for (std::size_t i = 0; i < n; ++i) right = right && result[i] == float(i) + 0.5f;
    CHECK(right);
}

}  // namespace

TEST_CASE("shader validation: a read past the end of a device buffer ends the command buffer") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = validated_pipeline(bounds_kernels, "read_past");
    object in = new_buffer(64 * sizeof(float));
    object out = new_buffer(64 * sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, in.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
    });
    const outcome o = outcome_of(command_buffer.get());
    check_page_fault(o);
    CHECK(contains(o.text, "dispatch 0 of encoder 0: kernel 'read_past' accessed argument 'in' (buffer(0), device memory) out of "
                           "bounds: 4 bytes at offset 256 of the 256 bytes bound"));
    CHECK(contains(o.text, "at " + position_of(bounds_kernels, "id + 1]")));
    CHECK(contains(o.text, "thread_position_in_grid (63, 0, 0)"));
    check_fill_computes(queue.get(), 256);
}

TEST_CASE("shader validation: a write past the end of a device buffer ends the command buffer, the rest is skipped") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = validated_pipeline(bounds_kernels, "write_strided");
    object fill = validated_pipeline(bounds_kernels, "fill");
    object out = new_buffer(64 * sizeof(float));
    object later = new_buffer(64 * sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
        // A second dispatch in the same command buffer: skipped after the violation.
        set_pipeline(encoder, fill.get());
        set_buffer(encoder, later.get(), 0, 0);
        dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
    });
    const outcome o = outcome_of(command_buffer.get());
    check_page_fault(o);
    CHECK(contains(o.text, "kernel 'write_strided' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes "
                           "at offset 256 of the 256 bytes bound"));
    CHECK(contains(o.text, "at " + position_of(bounds_kernels, "id * 2]")));
    CHECK(contains(o.text, "thread_position_in_grid (32, 0, 0)"));
    const float* skipped = contents<float>(later.get());
    bool untouched = true;
    for (std::size_t i = 0; i < 64; ++i) untouched = untouched && skipped[i] == 0.0f;
    CHECK(untouched);
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: one element past the end of a buffer bound at an offset is caught, the last one is not") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = validated_pipeline(bounds_kernels, "fill");
    object out = new_buffer(64 * sizeof(float));
    // At offset 16 the kernel has 60 floats: 60 threads are in range, the 61st is one past the end.
    for (const std::size_t threads : {std::size_t{60}, std::size_t{61}}) {
        object command_buffer = run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, pipeline.get());
            set_buffer(encoder, out.get(), 16, 0);
            dispatch_threads(encoder, {threads, 1, 1}, {64, 1, 1});
        });
        const outcome o = outcome_of(command_buffer.get());
        if (threads == 60) {
            INFO(o.text);
            REQUIRE(o.status == status_completed);
            const float* result = contents<float>(out.get()) + 4;
            bool right = true;
            for (std::size_t i = 0; i < 60; ++i) right = right && result[i] == float(i) + 0.5f;
            CHECK(right);
        } else {
            check_page_fault(o);
            CHECK(contains(o.text, "kernel 'fill' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at "
                                   "offset 240 of the 240 bytes bound"));
            CHECK(contains(o.text, "at " + position_of(bounds_kernels, "id] = float(id)")));
            CHECK(contains(o.text, "thread_position_in_grid (60, 0, 0)"));
        }
    }
    check_fill_computes(queue.get(), 128);
}

TEST_CASE("shader validation: a read past setBytes: data in the constant address space is caught") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = validated_pipeline(bounds_kernels, "scale");
    object out = new_buffer(8 * sizeof(float));
    const float coeffs[4] = {1, 2, 3, 4};
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", coeffs, sizeof coeffs, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {8, 1, 1}, {8, 1, 1});
    });
    const outcome o = outcome_of(command_buffer.get());
    check_page_fault(o);
    CHECK(contains(o.text, "kernel 'scale' accessed argument 'coeffs' (buffer(0), constant memory) out of bounds: 4 bytes at "
                           "offset 16 of the 16 bytes bound"));
    CHECK(contains(o.text, "at " + position_of(bounds_kernels, "id] * 2.0f")));
    CHECK(contains(o.text, "thread_position_in_grid (4, 0, 0)"));
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: an index past a threadgroup array declared in the kernel is caught") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = validated_pipeline(bounds_kernels, "shift_tile");
    object out = new_buffer(64 * sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
    });
    const outcome o = outcome_of(command_buffer.get());
    check_page_fault(o);
    CHECK(contains(o.text, "kernel 'shift_tile' indexed threadgroup array of type 'float[64]' out of bounds: index 64"));
    CHECK(contains(o.text, "at " + position_of(bounds_kernels, "tile[lid + 1]")));
    CHECK(contains(o.text, "thread_position_in_threadgroup (63, 0, 0)"));
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: an access past the threadgroup memory length of a threadgroup argument is caught") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = validated_pipeline(bounds_kernels, "scratch_stride");
    object out = new_buffer(64 * sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        msg_send<void(ns_uinteger, ns_uinteger)>(encoder, "setThreadgroupMemoryLength:atIndex:", 64 * sizeof(float), 0);
        dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
    });
    const outcome o = outcome_of(command_buffer.get());
    check_page_fault(o);
    CHECK(contains(o.text, "kernel 'scratch_stride' accessed argument 'scratch' (threadgroup(0), threadgroup memory) out of "
                           "bounds: 4 bytes at offset 256 of the 256 bytes bound"));
    CHECK(contains(o.text, "at " + position_of(bounds_kernels, "lid * 2] = 1.0f")));
    CHECK(contains(o.text, "thread_position_in_threadgroup (32, 0, 0)"));
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer passed to a helper function keeps its bounds there") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = validated_pipeline(bounds_kernels, "through_helper");
    object out = new_buffer(64 * sizeof(float));
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threads(encoder, {64, 1, 1}, {64, 1, 1});
    });
    const outcome o = outcome_of(command_buffer.get());
    check_page_fault(o);
    CHECK(contains(o.text, "kernel 'through_helper' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes "
                           "at offset 256 of the 256 bytes bound"));
    CHECK(contains(o.text, "at " + position_of(bounds_kernels, "i] = v;")));
    CHECK(contains(o.text, "thread_position_in_grid (61, 0, 0)"));
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a dereference of an advanced pointer is caught, and located through the line table") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = validated_pipeline(bounds_kernels, "deref");
    object out = new_buffer(16 * sizeof(float));
    const std::uint32_t skip = 16;
    object command_buffer = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_buffer(encoder, out.get(), 0, 0);
        msg_send<void(const void*, ns_uinteger, ns_uinteger)>(encoder, "setBytes:length:atIndex:", &skip, sizeof skip, 1);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    const outcome o = outcome_of(command_buffer.get());
    check_page_fault(o);
    CHECK(contains(o.text, "kernel 'deref' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset "
                           "64 of the 64 bytes bound"));
    // `*p` carries no position of its own: the line comes from the kernel's line table (when a symbolizer
    // is installed, as on the project's machines).
    const std::string line = position_of(bounds_kernels, "*(out + skip)");
    CHECK(contains(o.text, "at " + line.substr(0, line.rfind(':'))));
    CHECK(contains(o.text, "thread_position_in_grid (0, 0, 0)"));
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation is off by default and a separate compiled object") {
    autorelease_pool pool;
    object queue = new_queue();
    REQUIRE(std::getenv("SOFTMETAL_SHADER_VALIDATION") == nullptr);
    // Without validation the same out-of-range write (inside the buffer's tail slack) is not reported.
    object plain = pipeline_for(bounds_kernels, "fill");
    object checked = validated_pipeline(bounds_kernels, "fill");
    object out = new_buffer(61 * sizeof(float));
    auto run = [&](id pipeline) {
        object command_buffer = run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, pipeline);
            set_buffer(encoder, out.get(), 0, 0);
            dispatch_threads(encoder, {62, 1, 1}, {64, 1, 1});
        });
        return outcome_of(command_buffer.get());
    };
    CHECK(run(plain.get()).status == status_completed);
    check_page_fault(run(checked.get()));
    check_fill_computes(queue.get(), 64);
}
