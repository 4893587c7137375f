// A sum of a million values in two dispatches of one command list: each threadgroup reduces its slice
// in threadgroup memory, then one threadgroup reduces the partial sums.
#include <pymetal/metal.hpp>

#include <cstdio>
#include <exception>
#include <vector>

static const char* source = R"(
#include <metal_stdlib>
using namespace metal;

// Each thread first adds a strided run of inputs, then the threadgroup halves its partial sums in
// threadgroup memory until one is left.
kernel void reduce_sum(const device float* in [[buffer(0)]],
                       device float* out [[buffer(1)]],
                       constant uint& count [[buffer(2)]],
                       threadgroup float* scratch [[threadgroup(0)]],
                       uint tid [[thread_index_in_threadgroup]],
                       uint group [[threadgroup_position_in_grid]],
                       uint group_size [[threads_per_threadgroup]],
                       uint groups [[threadgroups_per_grid]]) {
    float sum = 0.0f;
    for (uint i = group * group_size + tid; i < count; i += groups * group_size) sum += in[i];
    scratch[tid] = sum;
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (uint stride = group_size / 2; stride > 0; stride /= 2) {
        if (tid < stride) scratch[tid] += scratch[tid + stride];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (tid == 0) out[group] = scratch[0];
}
)";

int main() try {
    auto device = pymetal::device::system_default();
    auto reduce = device.compile(source).kernel("reduce_sum");

    const std::uint32_t count = 1000000;
    const std::uint32_t group_size = 256, groups = 64;
    auto values = device.new_buffer(std::vector<float>(count, 1.0f));
    auto partials = device.new_buffer<float>(groups);
    auto total = device.new_buffer<float>(1);
    const auto scratch = pymetal::threadgroup_memory(group_size * sizeof(float));

    pymetal::command_list list(device.default_queue());
    list.dispatch(reduce, {values, partials, pymetal::value(count), scratch}, groups, group_size)
        .dispatch(reduce, {partials, total, pymetal::value(groups), scratch}, 1, group_size);
    list.run();

    const float sum = total.read<float>(0);
    const bool matches = sum == static_cast<float>(count);
    std::printf("reduction: sum of %u values = %.0f (%s)\n", count, sum, matches ? "matches" : "WRONG");
    return matches ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "reduction: %s\n", e.what());
    return 1;
}
