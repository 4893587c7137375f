// A pymetal user's program, built against the installed package: it finds the installed softmetal
// (on Linux) with no environment variable, compiles a kernel and checks what it computed; with
// --default-library it also runs a kernel from its precompiled default library (default.smlib beside
// it), which needs no compiler.
#include <pymetal/metal.hpp>

#include <cstdio>
#include <cstring>

static_assert(PYMETAL_VERSION >= 100, "pymetal's version macro");

int main(int argc, char** argv) {
    const bool precompiled_only = argc > 1 && std::strcmp(argv[1], "--default-library") == 0;
    try {
        auto device = pymetal::device::system_default();
        auto in = device.new_buffer({1.0f, 2.0f, 3.0f, 4.0f});
        auto out = device.new_buffer<float>(4);
        if (precompiled_only) {
            pymetal::library library = device.default_library();
            if (!library) {
                std::printf("consumer: no default library\n");
                return 1;
            }
            library.kernel("square_plus").dispatch_threads({in, out}, 4);
            const auto result = out.copy_out<float>();
            for (int i = 0; i < 4; ++i) {
                const float x = static_cast<float>(i + 1);
                if (result[i] != x * x + 0.5f) {
                    std::printf("consumer: wrong result %g at %d\n", result[i], i);
                    return 1;
                }
            }
            std::printf("consumer: ok, default library, pymetal %s on %s\n", PYMETAL_VERSION_STRING, device.name().c_str());
            return 0;
        }
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
    } catch (const pymetal::error& e) {
        std::printf("consumer: %s\n", e.what());
        return 1;
    }
}
