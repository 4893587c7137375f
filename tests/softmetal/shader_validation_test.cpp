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

// ---- Every way a pointer reaches memory: the checked pointer follows templates, casts, locals, members,
// arrays of pointers and pointers made from threadgroup arrays; simdgroup_load/store and atomics are
// checked; a pointer into no bound range is reported with its address. ----
namespace {

constexpr const char* path_kernels = R"(#include <metal_stdlib>
using namespace metal;
template <class T> void put(device T* p, uint i, T v) { p[i] = v; }
kernel void through_template(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    put(out, id + 3, 1.0f);
}
kernel void cast_c(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    ((device float4*)out)[id] = float4(1.0f);
}
kernel void cast_reinterpret(device const float* in [[buffer(0)]], device float* out [[buffer(1)]],
                             uint id [[thread_position_in_grid]]) {
    out[id] = reinterpret_cast<device const float4*>(in)[id].x;
}
kernel void vector_load(device const float* in [[buffer(0)]], device float4* out [[buffer(1)]],
                        uint id [[thread_position_in_grid]]) {
    out[id] = *(device const float4*)(in + id * 4 + 4);
}
kernel void local_pointer(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    device float* row = out + id;
    row[3] = 1.0f;
}
kernel void address_of(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    device float* at = &out[id];
    at[3] = 1.0f;
}
struct view { device float* data; uint skip; };
kernel void struct_member(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    view v = {out, 3};
    v.data[id + v.skip] = 1.0f;
}
kernel void pointer_array(device float* a [[buffer(0)]], device float* b [[buffer(1)]], uint id [[thread_position_in_grid]]) {
    device float* both[2] = {a, b};
    both[1][id + 3] = 1.0f;
}
kernel void threadgroup_from_array(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float tile[64];
    threadgroup float* t = tile;
    t[lid] = float(lid);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = t[lid + 1];
}
kernel void simd_load(device const float* in [[buffer(0)]], device float* out [[buffer(1)]]) {
    simdgroup_float8x8 m;
    simdgroup_load(m, in, 8, ulong2(0, 4));
    simdgroup_store(m, out, 8);
}
kernel void simd_store(device const float* in [[buffer(0)]], device float* out [[buffer(1)]]) {
    simdgroup_float8x8 m;
    simdgroup_load(m, in, 8);
    simdgroup_store(m, out, 8, ulong2(1, 0));
}
kernel void simd_threadgroup(device float* out [[buffer(0)]], uint lane [[thread_index_in_simdgroup]]) {
    threadgroup float tile[64];
    for (uint i = lane; i < 64; i += 32) tile[i] = float(i);
    simdgroup_barrier(mem_flags::mem_threadgroup);
    simdgroup_float8x8 m;
    simdgroup_load(m, tile, 8, ulong2(0, 1));
    simdgroup_store(m, out, 8);
}
kernel void atomic_device(device atomic_uint* counts [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    device atomic_uint* c = counts + id + 1;
    atomic_fetch_add_explicit(c, 1u, memory_order_relaxed);
}
kernel void atomic_threadgroup(device uint* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup atomic_uint counts[32];
    threadgroup atomic_uint* c = counts;
    atomic_store_explicit(c + lid, 7u, memory_order_relaxed);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = atomic_load_explicit(c + lid, memory_order_relaxed);
}
kernel void packed3(device packed_float3* p [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    p[id] = packed_float3(1.0f, 2.0f, 3.0f);
}
kernel void byte_offsets(device const uchar* bytes [[buffer(0)]], device float* out [[buffer(1)]],
                         uint id [[thread_position_in_grid]]) {
    device const float* f = (device const float*)(bytes + id * 4);
    out[id] = f[1];
}
template <class T> void clear(threadgroup T* p, uint i) { p[i] = T(0); }
kernel void template_from_array(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float tile[64];
    clear(tile, lid + 1);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = tile[lid];
}
device float* row_of(device float* m, uint r) { return m + r * 8; }
kernel void returned_pointer(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    row_of(out, 7)[id + 0] = 2.0f;
}
#define AS_FLOAT4(p) ((device float4*)(p))
kernel void macro_cast(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    AS_FLOAT4(out)[id] = float4(2.0f);
}
void put2(device float* p, uint i, float v) { p[i] = v; }
void put2(device int* p, uint i, int v) { p[i] = v + 1; }
kernel void through_overload(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    put2(out, id + 3, 1.0f);
}
float first(device const float* p) { return p[0]; }
float first(constant float* p) { return p[1]; }
kernel void overload_by_space(device const float* in [[buffer(0)]], constant float* c [[buffer(1)]],
                              device float* out [[buffer(2)]], uint id [[thread_position_in_grid]]) {
    out[id] = first(in + id) + first(c + id);
}
kernel void from_integer(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    const ulong address = (ulong)out;
    device float* again = (device float*)address;
    again[id + 1] = 3.0f;
}
kernel void null_pointer(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    device float* p = id > 1000u ? out : nullptr;
    p[id] = 1.0f;
}
constant float program_table[4] = {1.0f, 2.0f, 3.0f, 4.0f};
constant float* constant program_pointer = program_table;
kernel void program_scope_pointer(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id] = program_pointer[id + 1] * 2.0f;
}
)";

struct binding {
    id buffer;
    std::size_t offset;
};

// One dispatch of `kernel` of path_kernels over `threads` threads in groups of `group`.
outcome run_path_kernel(id queue, const char* kernel, const std::vector<binding>& buffers, std::size_t threads,
                        std::size_t group) {
    object pipeline = validated_pipeline(path_kernels, kernel);
    object command_buffer = run_encoded(queue, [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        for (std::size_t i = 0; i < buffers.size(); ++i) set_buffer(encoder, buffers[i].buffer, buffers[i].offset, i);
        dispatch_threads(encoder, {threads, 1, 1}, {group, 1, 1});
    });
    return outcome_of(command_buffer.get());
}

// The violation's report: page fault, the kernel, what was accessed and where, the MSL position.
void check_reported(const outcome& o, const std::string& kernel_and_access, const std::string& marker,
                    const std::string& thread, bool with_column = true) {
    check_page_fault(o);
    CHECK(contains(o.text, "kernel '" + kernel_and_access));
    std::string position = position_of(path_kernels, marker);
    if (!with_column) position = position.substr(0, position.rfind(':'));
    CHECK(contains(o.text, "at " + position));
    CHECK(contains(o.text, thread));
}

}  // namespace

TEST_CASE("shader validation: a pointer passed to a function template keeps its bounds there") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "through_template", {{out.get(), 0}}, 64, 64);
    check_reported(o, "through_template' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 "
                      "of the 256 bytes bound", "i] = v; }", "thread_position_in_grid (61, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a C-style cast to a vector pointer keeps the argument's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "cast_c", {{out.get(), 0}}, 17, 32);
    check_reported(o, "cast_c' accessed argument 'out' (buffer(0), device memory) out of bounds: 16 bytes at offset 256 of the "
                      "256 bytes bound", "id] = float4(1.0f)", "thread_position_in_grid (16, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a reinterpret_cast keeps the argument's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object in = new_buffer(64 * sizeof(float));
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "cast_reinterpret", {{in.get(), 0}, {out.get(), 0}}, 64, 64);
    check_reported(o, "cast_reinterpret' accessed argument 'in' (buffer(0), device memory) out of bounds: 16 bytes at offset 256 "
                      "of the 256 bytes bound", "id].x;", "thread_position_in_grid (16, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a vector load through a cast pointer past the end is caught") {
    autorelease_pool pool;
    object queue = new_queue();
    object in = new_buffer(64 * sizeof(float));
    object out = new_buffer(16 * 4 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "vector_load", {{in.get(), 0}, {out.get(), 0}}, 16, 16);
    // Thread 15 loads floats 64..67: 16 bytes at 256. `*p` carries no column: the line comes from the
    // line table.
    check_reported(o, "vector_load' accessed argument 'in' (buffer(0), device memory) out of bounds: 16 bytes at offset 256 of "
                      "the 256 bytes bound", "*(device const float4*)", "thread_position_in_grid (15, 0, 0)", false);
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a local pointer made by pointer arithmetic keeps the argument's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "local_pointer", {{out.get(), 0}}, 64, 64);
    check_reported(o, "local_pointer' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 of "
                      "the 256 bytes bound", "3] = 1.0f;\n}\nkernel void address_of", "thread_position_in_grid (61, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer taken from an element's address takes the bounds of the buffer it points into") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // Bound at offset 16: 60 floats; thread 57 writes element 60.
    const outcome o = run_path_kernel(queue.get(), "address_of", {{out.get(), 16}}, 64, 64);
    check_reported(o, "address_of' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 240 of "
                      "the 240 bytes bound", "3] = 1.0f;\n}\nstruct view", "thread_position_in_grid (57, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer stored in a struct keeps the argument's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "struct_member", {{out.get(), 0}}, 64, 64);
    check_reported(o, "struct_member' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 of "
                      "the 256 bytes bound", "id + v.skip]", "thread_position_in_grid (61, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer stored in an array of pointers keeps its argument's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object a = new_buffer(64 * sizeof(float));
    object b = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "pointer_array", {{a.get(), 0}, {b.get(), 0}}, 64, 64);
    check_reported(o, "pointer_array' accessed argument 'b' (buffer(1), device memory) out of bounds: 4 bytes at offset 256 of "
                      "the 256 bytes bound", "id + 3] = 1.0f;\n}\nkernel void threadgroup_from_array",
                   "thread_position_in_grid (61, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a threadgroup pointer made from a threadgroup array is bounded by that array") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "threadgroup_from_array", {{out.get(), 0}}, 64, 64);
    check_reported(o, "threadgroup_from_array' accessed a threadgroup array (threadgroup memory) out "
                      "of bounds: 4 bytes at offset 256 of the 256 bytes bound", "lid + 1];",
                   "thread_position_in_threadgroup (63, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: simdgroup_load past the end of a device buffer is caught at the call") {
    autorelease_pool pool;
    object queue = new_queue();
    object in = new_buffer(64 * sizeof(float));
    object out = new_buffer(64 * sizeof(float));
    // Rows 4..11 of an 8-wide matrix: row 8 starts at byte 256.
    const outcome o = run_path_kernel(queue.get(), "simd_load", {{in.get(), 0}, {out.get(), 0}}, 32, 32);
    check_reported(o, "simd_load' accessed argument 'in' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 of the "
                      "256 bytes bound", "simdgroup_load(m, in, 8, ulong2(0, 4))", "thread_position_in_grid (");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: simdgroup_store past the end of a device buffer is caught at the call") {
    autorelease_pool pool;
    object queue = new_queue();
    object in = new_buffer(64 * sizeof(float));
    object out = new_buffer(64 * sizeof(float));
    // Origin column 1: the last element of row 7 is element 64, at byte 256.
    const outcome o = run_path_kernel(queue.get(), "simd_store", {{in.get(), 0}, {out.get(), 0}}, 32, 32);
    check_reported(o, "simd_store' accessed argument 'out' (buffer(1), device memory) out of bounds: 4 bytes at offset 256 of "
                      "the 256 bytes bound", "simdgroup_store(m, out, 8, ulong2(1, 0))", "thread_position_in_grid (");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: simdgroup_load from a threadgroup array past its end is caught") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "simd_threadgroup", {{out.get(), 0}}, 32, 32);
    check_reported(o, "simd_threadgroup' accessed the threadgroup variables declared in the kernel (threadgroup memory) out of "
                      "bounds: 4 bytes at offset 256 of the 256 bytes bound", "simdgroup_load(m, tile, 8, ulong2(0, 1))",
                   "thread_position_in_grid (");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: an atomic past the end of a device buffer is caught") {
    autorelease_pool pool;
    object queue = new_queue();
    object counts = new_buffer(64 * sizeof(std::uint32_t));
    const outcome o = run_path_kernel(queue.get(), "atomic_device", {{counts.get(), 0}}, 64, 64);
    check_page_fault(o);
    CHECK(contains(o.text, "kernel 'atomic_device' accessed argument 'counts' (buffer(0), device memory) out of bounds: 4 bytes "
                           "at offset 256 of the 256 bytes bound"));
    CHECK(contains(o.text, "thread_position_in_grid (63, 0, 0)"));
    // The atomic's position is the line of the call (no column: the runtime symbolizes the check).
    const std::string line = position_of(path_kernels, "atomic_fetch_add_explicit(c,");
    CHECK(contains(o.text, "at " + line.substr(0, line.rfind(':'))));
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: in-range atomics on a threadgroup pointer compute as without validation") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(32 * sizeof(std::uint32_t));
    const outcome in_range = run_path_kernel(queue.get(), "atomic_threadgroup", {{out.get(), 0}}, 32, 32);
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const auto* result = contents<std::uint32_t>(out.get());
    CHECK(std::all_of(result, result + 32, [](std::uint32_t v) { return v == 7; }));
    // 33 threads: thread 32's atomic is past the 32 atomics of the array the pointer was made from.
    const outcome past = run_path_kernel(queue.get(), "atomic_threadgroup", {{out.get(), 0}}, 33, 33);
    check_page_fault(past);
    CHECK(contains(past.text, "kernel 'atomic_threadgroup' accessed a threadgroup array "
                              "(threadgroup memory) out of bounds: 4 bytes at offset 128 of the 128 bytes bound"));
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: packed_float3 elements are checked with their 12-byte size") {
    autorelease_pool pool;
    object queue = new_queue();
    object p = new_buffer(20 * 12);
    const outcome o = run_path_kernel(queue.get(), "packed3", {{p.get(), 0}}, 21, 32);
    check_reported(o, "packed3' accessed argument 'p' (buffer(0), device memory) out of bounds: 12 bytes at offset 240 of the "
                      "240 bytes bound", "id] = packed_float3", "thread_position_in_grid (20, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a byte pointer cast to a float pointer keeps the argument's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object bytes = new_buffer(64 * sizeof(float));
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "byte_offsets", {{bytes.get(), 0}, {out.get(), 0}}, 64, 64);
    check_reported(o, "byte_offsets' accessed argument 'bytes' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 "
                      "of the 256 bytes bound", "1];\n}\ntemplate <class T> void clear", "thread_position_in_grid (63, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: an access through a null device pointer is reported with its address") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "null_pointer", {{out.get(), 0}}, 4, 4);
    check_reported(o, "null_pointer' accessed device memory outside every range bound to the dispatch: 4 bytes at address 0x0",
                   "id] = 1.0f;\n}\n", "thread_position_in_grid (0, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a threadgroup array passed to a function template is bounded by that array") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // In range (63 threads clear elements 1..63) it computes; with 64, thread 63 clears element 64.
    const outcome in_range = run_path_kernel(queue.get(), "template_from_array", {{out.get(), 0}}, 63, 63);
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const float* result = contents<float>(out.get());
    CHECK(std::all_of(result + 1, result + 63, [](float v) { return v == 0.0f; }));
    const outcome o = run_path_kernel(queue.get(), "template_from_array", {{out.get(), 0}}, 64, 64);
    check_reported(o, "template_from_array' accessed a threadgroup array (threadgroup memory) out of "
                      "bounds: 4 bytes at offset 256 of the 256 bytes bound", "i] = T(0); }",
                   "thread_position_in_threadgroup (63, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer returned by a helper keeps its argument's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // Row 7 starts at byte 224: thread 8 writes at 256.
    const outcome o = run_path_kernel(queue.get(), "returned_pointer", {{out.get(), 0}}, 9, 16);
    check_reported(o, "returned_pointer' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 "
                      "of the 256 bytes bound", "id + 0] = 2.0f", "thread_position_in_grid (8, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a cast spelled in a macro keeps the argument's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "macro_cast", {{out.get(), 0}}, 17, 32);
    check_page_fault(o);
    CHECK(contains(o.text, "kernel 'macro_cast' accessed argument 'out' (buffer(0), device memory) out of bounds: 16 bytes at "
                           "offset 256 of the 256 bytes bound"));
    CHECK(contains(o.text, "thread_position_in_grid (16, 0, 0)"));
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer passed to an overloaded helper keeps its bounds there") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "through_overload", {{out.get(), 0}}, 64, 64);
    check_reported(o, "through_overload' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 "
                      "of the 256 bytes bound", "i] = v; }\nvoid put2(device int*", "thread_position_in_grid (61, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: overloads that differ in a pointer's address space resolve as without validation") {
    // Their parameters stay plain (checked ones would make the call ambiguous): the call compiles and
    // picks the same overload for checked arguments (accesses inside them are checked: shape_kernels).
    autorelease_pool pool;
    object queue = new_queue();
    object in = new_buffer(8 * sizeof(float));
    object c = new_buffer(8 * sizeof(float));
    object out = new_buffer(8 * sizeof(float));
    float* in_values = contents<float>(in.get());
    float* c_values = contents<float>(c.get());
    for (int i = 0; i < 8; ++i) in_values[i] = float(i), c_values[i] = float(100 * i);
    // The constant overload reads c[id + 1]: out[id] = in[id] + c[id + 1].
    const outcome in_range = run_path_kernel(queue.get(), "overload_by_space", {{in.get(), 0}, {c.get(), 0}, {out.get(), 0}}, 7, 8);
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const float* result = contents<float>(out.get());
    bool right = true;
    for (int i = 0; i < 7; ++i) right = right && result[i] == float(i) + float(100 * (i + 1));
    CHECK(right);
}

TEST_CASE("shader validation: a pointer made from an integer address takes the range that address is in") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "from_integer", {{out.get(), 0}}, 64, 64);
    check_reported(o, "from_integer' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 of "
                      "the 256 bytes bound", "id + 1] = 3.0f", "thread_position_in_grid (63, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

// ---- The shapes the checked pointer did not reach before: overloads on address spaces, several
// declarators, direct initialisation and `auto`, member functions defined outside their class,
// function pointers, thread arrays, threadgroup arrays bounded by themselves, and textures. ----
namespace {

constexpr const char* shape_kernels = R"(#include <metal_stdlib>
using namespace metal;
float first(device const float* p) { return p[0]; }
float first(constant float* p) { return p[1]; }
kernel void overload_by_space(device const float* in [[buffer(0)]], constant float* c [[buffer(1)]],
                              device float* out [[buffer(2)]], uint id [[thread_position_in_grid]]) {
    out[id] = first(in + id) + first(c + id);
}
void put(device float* p, uint i) { p[i] = 1.0f; }
void put(threadgroup float* p, uint i) { p[i] = 2.0f; }
kernel void overload_threadgroup(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float tile[32];
    put(tile, lid);
    put(out, lid);
}
kernel void several(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    device float *a = out, *b = out + 1;
    a[id] = 0.0f;
    b[id + 2] = 1.0f;
}
kernel void direct_init(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    device float* p(out + 4);
    p[id] = 1.0f;
}
kernel void brace_init(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    device float* q{out + 2};
    q[id] = 1.0f;
}
kernel void auto_address(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    auto s = &out[id];
    s[3] = 1.0f;
}
kernel void auto_star(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    auto* s = &out[id] + 1;
    *s = 1.0f;
}
struct rows {
    device float* m;
    device float* row(uint r) const;
};
device float* rows::row(uint r) const { return m + r * 8; }
kernel void member_outside(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    rows r{out};
    r.row(7)[id + 0] = 2.0f;
}
void store_one(device float* p, uint i) { p[i] = 1.0f; }
kernel void through_function_pointer(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    void (*op)(device float*, uint) = store_one;
    op(out, id + 3);
}
kernel void thread_array(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    thread float local[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    thread float* lp = local;
    out[id] = lp[id];
}
kernel void two_tiles(device float* out [[buffer(0)]], uint lid [[thread_position_in_threadgroup]]) {
    threadgroup float a[32];
    threadgroup float b[32];
    threadgroup float* t = a;
    b[lid % 32] = 0.0f;
    t[lid] = float(lid);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    out[lid] = a[lid % 32] + b[lid % 32];
}
constant float weights[4] = {0.5f, 1.0f, 1.5f, 2.0f};
float weight_at(constant float* table, uint i) { return table[i]; }
kernel void table_read(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id] = weight_at(weights, id);
}
kernel void texture_read(texture2d<float, access::read> src [[texture(0)]], device float* out [[buffer(0)]],
                         uint id [[thread_position_in_grid]]) {
    out[id] = src.read(uint2(id, 1)).x;
}
kernel void texture_write(texture2d<float, access::write> dst [[texture(0)]], uint id [[thread_position_in_grid]]) {
    dst.write(float4(1.0f), uint2(2, id));
}
)";

// One dispatch of `kernel` of shape_kernels over `threads` threads in groups of `group`.
outcome run_shape_kernel(id queue, const char* kernel, const std::vector<binding>& buffers, std::size_t threads,
                         std::size_t group, id texture = nullptr) {
    object pipeline = validated_pipeline(shape_kernels, kernel);
    object command_buffer = run_encoded(queue, [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        for (std::size_t i = 0; i < buffers.size(); ++i) set_buffer(encoder, buffers[i].buffer, buffers[i].offset, i);
        if (texture) msg_send<void(id, ns_uinteger)>(encoder, "setTexture:atIndex:", texture, 0);
        dispatch_threads(encoder, {threads, 1, 1}, {group, 1, 1});
    });
    return outcome_of(command_buffer.get());
}

void check_shape_reported(const outcome& o, const std::string& kernel_and_access, const std::string& marker,
                          const std::string& thread, bool with_column = true) {
    check_page_fault(o);
    CHECK(contains(o.text, "kernel '" + kernel_and_access));
    std::string position = position_of(shape_kernels, marker);
    if (!with_column) position = position.substr(0, position.rfind(':'));
    CHECK(contains(o.text, "at " + position));
    CHECK(contains(o.text, thread));
}

// A 16x4 R32Float texture (MTLPixelFormatR32Float = 55) that kernels may read and write.
object texture_16x4() {
    id descriptor = msg_send<id(ns_uinteger, ns_uinteger, ns_uinteger, objc_bool)>(
        pymetal::class_named("MTLTextureDescriptor"), "texture2DDescriptorWithPixelFormat:width:height:mipmapped:", 55, 16, 4,
        objc_bool(0));
    msg_send<void(ns_uinteger)>(descriptor, "setUsage:", 3);
    return object::adopt(msg_send<id(id)>(device(), "newTextureWithDescriptor:", descriptor));
}

}  // namespace

TEST_CASE("shader validation: accesses inside overloads that differ in a pointer's address space are checked") {
    autorelease_pool pool;
    object queue = new_queue();
    object in = new_buffer(8 * sizeof(float));
    object c = new_buffer(8 * sizeof(float));
    object out = new_buffer(8 * sizeof(float));
    float* in_values = contents<float>(in.get());
    float* c_values = contents<float>(c.get());
    for (int i = 0; i < 8; ++i) in_values[i] = float(i), c_values[i] = float(100 * i);
    // In range (7 threads) the overloads resolve as without validation: out[id] = in[id] + c[id + 1].
    const outcome in_range = run_shape_kernel(queue.get(), "overload_by_space", {{in.get(), 0}, {c.get(), 0}, {out.get(), 0}}, 7, 8);
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const float* result = contents<float>(out.get());
    bool right = true;
    for (int i = 0; i < 7; ++i) right = right && result[i] == float(i) + float(100 * (i + 1));
    CHECK(right);
    // Thread 7's constant overload reads c[8], past the 8 floats bound.
    const outcome o = run_shape_kernel(queue.get(), "overload_by_space", {{in.get(), 0}, {c.get(), 0}, {out.get(), 0}}, 8, 8);
    check_shape_reported(o, "overload_by_space' accessed argument 'c' (buffer(1), constant memory) out of bounds: 4 bytes at "
                            "offset 32 of the 32 bytes bound", "1]; }\nkernel void overload_by_space",
                         "thread_position_in_grid (7, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a threadgroup array passed to an overload on address spaces keeps its bounds there") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // 32 threads: in range, the device overload writes 1 to out[0..31].
    const outcome in_range = run_shape_kernel(queue.get(), "overload_threadgroup", {{out.get(), 0}}, 32, 32);
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const float* result = contents<float>(out.get());
    CHECK(std::all_of(result, result + 32, [](float v) { return v == 1.0f; }));
    // 33 threads: thread 32 writes tile[32], past the 32 floats of the threadgroup array.
    const outcome o = run_shape_kernel(queue.get(), "overload_threadgroup", {{out.get(), 0}}, 33, 33);
    check_shape_reported(o, "overload_threadgroup' accessed the threadgroup variables declared in the kernel (threadgroup memory) "
                            "out of bounds: 4 bytes at offset 128 of the 128 bytes bound", "i] = 2.0f; }",
                         "thread_position_in_threadgroup (32, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: every pointer of a declaration of several pointers is checked") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // b = out + 1; thread 61 writes b[63] = out[64].
    const outcome o = run_shape_kernel(queue.get(), "several", {{out.get(), 0}}, 64, 64);
    check_shape_reported(o, "several' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 of "
                            "the 256 bytes bound", "id + 2] = 1.0f", "thread_position_in_grid (61, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer declared with a direct initializer is checked") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_shape_kernel(queue.get(), "direct_init", {{out.get(), 0}}, 64, 64);
    check_shape_reported(o, "direct_init' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 "
                            "of the 256 bytes bound", "id] = 1.0f;\n}\nkernel void brace_init", "thread_position_in_grid (60, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer declared with a brace initializer is checked") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_shape_kernel(queue.get(), "brace_init", {{out.get(), 0}}, 64, 64);
    check_shape_reported(o, "brace_init' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 "
                            "of the 256 bytes bound", "id] = 1.0f;\n}\nkernel void auto_address", "thread_position_in_grid (62, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: an auto variable made from an element's address takes the buffer's bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_shape_kernel(queue.get(), "auto_address", {{out.get(), 0}}, 64, 64);
    check_shape_reported(o, "auto_address' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 "
                            "of the 256 bytes bound", "3] = 1.0f;\n}\nkernel void auto_star", "thread_position_in_grid (61, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: an auto* variable is checked through a dereference") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // Thread 63 writes out[64]; `*s` carries no column: the line comes from the line table.
    const outcome o = run_shape_kernel(queue.get(), "auto_star", {{out.get(), 0}}, 64, 64);
    check_shape_reported(o, "auto_star' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset 256 "
                            "of the 256 bytes bound", "*s = 1.0f", "thread_position_in_grid (63, 0, 0)", false);
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer returned by a member function defined outside its class keeps its bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // Row 7 starts at byte 224: thread 8 writes at 256.
    const outcome o = run_shape_kernel(queue.get(), "member_outside", {{out.get(), 0}}, 9, 16);
    check_shape_reported(o, "member_outside' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at offset "
                            "256 of the 256 bytes bound", "id + 0] = 2.0f", "thread_position_in_grid (8, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a pointer passed through a function pointer keeps its bounds") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_shape_kernel(queue.get(), "through_function_pointer", {{out.get(), 0}}, 64, 64);
    check_shape_reported(o, "through_function_pointer' accessed argument 'out' (buffer(0), device memory) out of bounds: 4 bytes at "
                            "offset 256 of the 256 bytes bound", "i] = 1.0f; }\nkernel void through_function_pointer",
                         "thread_position_in_grid (61, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a thread pointer made from a thread array is bounded by that array") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(8 * sizeof(float));
    const outcome in_range = run_shape_kernel(queue.get(), "thread_array", {{out.get(), 0}}, 4, 4);
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const float* result = contents<float>(out.get());
    CHECK((result[0] == 1.0f && result[1] == 2.0f && result[2] == 3.0f && result[3] == 4.0f));
    const outcome o = run_shape_kernel(queue.get(), "thread_array", {{out.get(), 0}}, 5, 8);
    check_shape_reported(o, "thread_array' accessed a thread array (thread memory) out of bounds: 4 bytes at offset 16 of the 16 "
                            "bytes bound", "id];\n}\nkernel void two_tiles", "thread_position_in_grid (4, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a threadgroup pointer made from a threadgroup array is bounded by that array alone") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    // 33 threads: thread 32 writes a[32], which is inside the kernel's threadgroup memory (b follows a)
    // but past a's 32 floats.
    const outcome o = run_shape_kernel(queue.get(), "two_tiles", {{out.get(), 0}}, 33, 33);
    check_shape_reported(o, "two_tiles' accessed a threadgroup array (threadgroup memory) out of bounds: 4 bytes at offset 128 of "
                            "the 128 bytes bound", "lid] = float(lid)", "thread_position_in_threadgroup (32, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a program-scope constant table passed as a pointer is bounded by the table") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(8 * sizeof(float));
    const outcome in_range = run_shape_kernel(queue.get(), "table_read", {{out.get(), 0}}, 4, 4);
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const float* result = contents<float>(out.get());
    CHECK((result[0] == 0.5f && result[1] == 1.0f && result[2] == 1.5f && result[3] == 2.0f));
    const outcome o = run_shape_kernel(queue.get(), "table_read", {{out.get(), 0}}, 5, 8);
    check_shape_reported(o, "table_read' accessed a constant array (constant memory) out of bounds: 4 bytes at offset 16 of the 16 "
                            "bytes bound", "i]; }\nkernel void table_read", "thread_position_in_grid (4, 0, 0)");
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a texture read outside the texture is reported with its coordinate") {
    autorelease_pool pool;
    object queue = new_queue();
    object texture = texture_16x4();
    REQUIRE(texture);
    object out = new_buffer(32 * sizeof(float));
    const outcome in_range = run_shape_kernel(queue.get(), "texture_read", {{out.get(), 0}}, 16, 16, texture.get());
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const outcome o = run_shape_kernel(queue.get(), "texture_read", {{out.get(), 0}}, 17, 32, texture.get());
    check_shape_reported(o, "texture_read' read texture argument 'src' (texture(0)) outside the texture: coordinate (16, 1, 0), "
                            "slice 0, mip level 0 of a 16x4x1 texture with 1 slice and 1 mip level",
                         "src.read(uint2(id, 1))", "thread_position_in_grid (16, 0, 0)", false);
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a texture write outside the texture is reported instead of dropped") {
    autorelease_pool pool;
    object queue = new_queue();
    object texture = texture_16x4();
    REQUIRE(texture);
    const outcome in_range = run_shape_kernel(queue.get(), "texture_write", {}, 4, 4, texture.get());
    INFO(in_range.text);
    REQUIRE(in_range.status == status_completed);
    const outcome o = run_shape_kernel(queue.get(), "texture_write", {}, 5, 8, texture.get());
    check_shape_reported(o, "texture_write' wrote texture argument 'dst' (texture(0)) outside the texture: coordinate (2, 4, 0), "
                            "slice 0, mip level 0 of a 16x4x1 texture with 1 slice and 1 mip level",
                         "dst.write(float4(1.0f), uint2(2, id))", "thread_position_in_grid (4, 0, 0)", false);
    check_fill_computes(queue.get(), 64);
}

TEST_CASE("shader validation: a declaration of pointers of different shapes is refused at compile time, saying why") {
    autorelease_pool pool;
    const char* source = R"(#include <metal_stdlib>
using namespace metal;
kernel void mixed(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    device float *a = out, **pa = &a;
    (*pa)[id] = 1.0f;
}
)";
    shader_validation_on on;
    id error = nullptr;
    object library = new_library(source, nullptr, &error);
    CHECK_FALSE(library);
    REQUIRE(error);
    const std::string text = error_description(error);
    INFO(text);
    CHECK(contains(text, "program_source:4:"));
    CHECK(contains(text, "shader validation: declare each pointer of this declaration on its own"));
}

TEST_CASE("shader validation: a program-scope pointer outside the constant address space is a compile error") {
    // MSL keeps program-scope variables in the constant address space: `constant float* entry` is a
    // pointer to constant memory that is itself in none, refused at its name in every mode (the
    // pointers MSL allows there are checked: the test above).
    autorelease_pool pool;
    const char* source = R"(#include <metal_stdlib>
using namespace metal;
constant float table[4] = {1.0f, 2.0f, 3.0f, 4.0f};
constant float* entry = table;
kernel void through_global(device float* out [[buffer(0)]], uint id [[thread_position_in_grid]]) {
    out[id] = entry[id];
}
)";
    shader_validation_on on;
    id error = nullptr;
    object library = new_library(source, nullptr, &error);
    CHECK_FALSE(library);
    REQUIRE(error);
    const std::string text = error_description(error);
    INFO(text);
    CHECK(contains(text, "program_source:4:17: error: program scope variable 'entry' must reside in constant address space"));
}

TEST_CASE("shader validation: a program-scope constant pointer made from a table is bounded by that table") {
    autorelease_pool pool;
    object queue = new_queue();
    object out = new_buffer(64 * sizeof(float));
    const outcome o = run_path_kernel(queue.get(), "program_scope_pointer", {{out.get(), 0}}, 4, 4);
    check_reported(o, "program_scope_pointer' accessed a constant array (constant memory) out of bounds: 4 bytes at offset 16 of "
                      "the 16 bytes bound", "id + 1] * 2.0f", "thread_position_in_grid (3, 0, 0)");
    check_fill_computes(queue.get(), 64);
}
