// Dispatch overhead of pymetal's one-call form against the same work written as raw msg_send calls,
// measured side by side in one run (alternating rounds, so drift hits both alike).
//
//   bench_metal_dispatch [iterations-per-round] [rounds]
//
// Both sides do identical Metal work per iteration: an autorelease pool, a command buffer from the
// same queue, a compute encoder, the pipeline, two buffers, one 1x1x1 threadgroup of 64 threads,
// endEncoding, commit, waitUntilCompleted and a status check. The difference is pymetal's own cost:
// argument placement and validation, retained handles, the returned command_buffer.
#include <pymetal/metal.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

const char* source = R"(
kernel void add(device float* out [[buffer(1)]], const device float2* in [[buffer(0)]],
                uint id [[thread_position_in_grid]]) {
    out[id] = in[id].x + in[id].y;
}
)";

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
    const int iterations = argc > 1 ? std::atoi(argv[1]) : 300;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 11;

    auto device = pymetal::device::system_default();
    auto add = device.compile(source).kernel("add");
    auto in = device.new_buffer(std::vector<float>(128, 1.0f));
    auto out = device.new_buffer<float>(64);
    const pymetal::id queue = device.default_queue().native();
    const pymetal::id pipeline = add.native();
    const pymetal::id in_id = in.native(), out_id = out.native();

    auto one_call = [&] { add.run({in, out}, {1, 1, 1}, {64, 1, 1}); };
    auto raw = [&] {
        using namespace pymetal;
        autorelease_pool pool;
        id command_buffer = msg_send<id()>(queue, "commandBuffer");
        id encoder = msg_send<id()>(command_buffer, "computeCommandEncoder");
        msg_send<void(id)>(encoder, "setComputePipelineState:", pipeline);
        msg_send<void(id, ns_uinteger, ns_uinteger)>(encoder, "setBuffer:offset:atIndex:", in_id, 0, 0);
        msg_send<void(id, ns_uinteger, ns_uinteger)>(encoder, "setBuffer:offset:atIndex:", out_id, 0, 1);
        msg_send<void(mtl_size, mtl_size)>(encoder, "dispatchThreadgroups:threadsPerThreadgroup:", mtl_size{1, 1, 1},
                                           mtl_size{64, 1, 1});
        msg_send<void()>(encoder, "endEncoding");
        msg_send<void()>(command_buffer, "commit");
        msg_send<void()>(command_buffer, "waitUntilCompleted");
        if (msg_send<ns_uinteger()>(command_buffer, "status") != 4) std::abort();
    };
    auto time_per_call = [&](auto&& work) {
        const auto start = clock_type::now();
        for (int i = 0; i < iterations; ++i) work();
        return std::chrono::duration<double, std::micro>(clock_type::now() - start).count() / iterations;
    };

    for (int i = 0; i < 50; ++i) one_call(), raw();  // warm up: threads, caches, allocators

    std::vector<double> pymetal_us, raw_us;
    for (int r = 0; r < rounds; ++r) {
        if (r % 2) {
            raw_us.push_back(time_per_call(raw));
            pymetal_us.push_back(time_per_call(one_call));
        } else {
            pymetal_us.push_back(time_per_call(one_call));
            raw_us.push_back(time_per_call(raw));
        }
    }
    const double p = median(pymetal_us), q = median(raw_us);
    std::printf("device: %s\n", device.name().c_str());
    std::printf("dispatch + wait, median of %d rounds x %d iterations:\n", rounds, iterations);
    std::printf("  raw msg_send          %8.2f us/dispatch\n", q);
    std::printf("  pymetal kernel::run   %8.2f us/dispatch\n", p);
    std::printf("  ratio pymetal/raw     %8.3f   (goal <= 1.10)\n", p / q);
    const bool ok = out.read<float>(0) == 2.0f;
    std::printf("result check: %s\n", ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_metal_dispatch: %s\n", e.what());
    return 1;
}
