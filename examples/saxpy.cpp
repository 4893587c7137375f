// y = a * x + y over a million floats, with the scalar a passed by value (setBytes), checked on the host.
#include <pymetal/metal.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <vector>

int main() try {
    auto device = pymetal::device::system_default();
    auto saxpy = device.compile(R"(
kernel void saxpy(const device float* x [[buffer(0)]],
                  device float* y [[buffer(1)]],
                  constant float& a [[buffer(2)]],
                  uint i [[thread_position_in_grid]]) {
    y[i] = a * x[i] + y[i];
}
)").kernel("saxpy");

    const std::size_t n = 1 << 20;
    const float a = 2.5f;
    std::vector<float> x(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = static_cast<float>(i % 1000) * 0.001f;
        y[i] = 1.0f - static_cast<float>(i % 7);
    }
    auto x_buffer = device.new_buffer(x);
    auto y_buffer = device.new_buffer(y);

    // n threads; the threadgroup size is chosen from the kernel's limits.
    const auto done = saxpy.dispatch_threads({x_buffer, y_buffer, pymetal::value(a)}, n);

    const auto result = y_buffer.view<float>();
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < n; ++i)
        if (std::fabs(result[i] - (a * x[i] + y[i])) > 1e-5f) ++mismatches;
    if (mismatches) {
        std::printf("saxpy: %zu of %zu elements differ\n", mismatches, n);
        return 1;
    }
    std::printf("saxpy: %zu elements match (GPU time %.3f ms)\n", n, done.gpu_duration() * 1e3);
} catch (const std::exception& e) {
    std::fprintf(stderr, "saxpy: %s\n", e.what());
    return 1;
}
