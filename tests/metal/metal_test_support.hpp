// Shared pieces of the Metal layer's tests: the device, kernel sources, small helpers.
#pragma once

#include <pymetal/metal.hpp>

#include <catch.hpp>

#include <cstdlib>
#include <string>
#include <string_view>

namespace metal_test {

// One device for the whole test program (Metal hands every caller the same one anyway).
inline const pymetal::device& device() {
    static const pymetal::device d = pymetal::device::system_default();
    return d;
}

// SOFTMETAL_BARRIER_MODE for one scope (part of the compile cache key, read per compile): "fibers"
// runs every barrier kernel on fibers, nullptr leaves the split on.
struct barrier_mode {
    explicit barrier_mode(const char* mode) {
        if (const char* old = std::getenv("SOFTMETAL_BARRIER_MODE")) had_ = true, old_ = old;
        if (mode) setenv("SOFTMETAL_BARRIER_MODE", mode, 1);
        else unsetenv("SOFTMETAL_BARRIER_MODE");
    }
    ~barrier_mode() {
        if (had_) setenv("SOFTMETAL_BARRIER_MODE", old_.c_str(), 1);
        else unsetenv("SOFTMETAL_BARRIER_MODE");
    }
    barrier_mode(const barrier_mode&) = delete;
    barrier_mode& operator=(const barrier_mode&) = delete;
    bool had_ = false;
    std::string old_;
};

inline bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

inline pymetal::ns_uinteger retain_count(pymetal::id object) {
    return pymetal::msg_send<pymetal::ns_uinteger()>(object, "retainCount");
}

// PyMetal's README kernel, unchanged.
inline constexpr const char* seed_add_source = R"(
kernel void add(
    device float  *out [[ buffer(1) ]],
    const device float2 *in [[ buffer(0) ]],
    uint id [[ thread_position_in_grid ]]
) {
    out[id] = in[id].x + in[id].y;
}
)";

// Small kernels the tests dispatch.
inline constexpr const char* kernels_source = R"(
#include <metal_stdlib>
using namespace metal;

kernel void scale(device float* data [[buffer(0)]],
                  constant float& factor [[buffer(1)]],
                  uint i [[thread_position_in_grid]]) {
    data[i] = data[i] * factor;
}

kernel void add_one(device float* data [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    data[i] = data[i] + 1.0f;
}

// Writes each thread's global index: shows which threads ran (a partial edge threadgroup included).
kernel void iota(device uint* out [[buffer(0)]],
                 constant uint& count [[buffer(1)]],
                 uint i [[thread_position_in_grid]]) {
    if (i < count) out[i] = i;
}

// out[y * width + x] = y * 1000 + x over a 2-D grid.
kernel void coordinates(device uint* out [[buffer(0)]],
                        constant uint& width [[buffer(1)]],
                        uint2 p [[thread_position_in_grid]]) {
    out[p.y * width + p.x] = p.y * 1000 + p.x;
}

// One partial sum per threadgroup, through threadgroup memory given by the host.
kernel void partial_sums(const device float* in [[buffer(0)]],
                         device float* out [[buffer(1)]],
                         threadgroup float* scratch [[threadgroup(0)]],
                         uint tid [[thread_index_in_threadgroup]],
                         uint gid [[threadgroup_position_in_grid]],
                         uint size [[threads_per_threadgroup]],
                         uint i [[thread_position_in_grid]]) {
    scratch[tid] = in[i];
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint stride = size / 2; stride > 0; stride /= 2) {
        if (tid < stride) scratch[tid] += scratch[tid + stride];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid == 0) out[gid] = scratch[0];
}
)";

}  // namespace metal_test
