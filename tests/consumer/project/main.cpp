// A pymetal user's program, built against the installed package: it finds the installed softmetal
// (on Linux) with no environment variable, compiles a kernel and checks what it computed.
#include <pymetal/metal.hpp>

#include <cstdio>

int main() {
    auto device = pymetal::device::system_default();
    auto in = device.new_buffer({1.0f, 2.0f, 3.0f, 4.0f});
    auto out = device.new_buffer<float>(4);
    auto twice = device.compile(R"(
        kernel void twice(const device float* in [[buffer(0)]], device float* out [[buffer(1)]],
                          uint i [[thread_position_in_grid]]) {
            out[i] = 2.0f * in[i];
        })").kernel("twice");
    twice.dispatch_threads({in, out}, 4);
    const auto result = out.copy_out<float>();
    for (int i = 0; i < 4; ++i) {
        if (result[i] != 2.0f * static_cast<float>(i + 1)) {
            std::printf("consumer: wrong result %g at %d\n", result[i], i);
            return 1;
        }
    }
    std::printf("consumer: ok on %s\n", device.name().c_str());
}
