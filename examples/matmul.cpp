// C = A * B with 16x16 tiles staged in threadgroup memory, compared against a plain host loop.
#include <pymetal/metal.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

static const char* source = R"(
#include <metal_stdlib>
using namespace metal;

struct dims { uint m, n, k; };

// Each threadgroup computes one TILE x TILE block of C, walking along k one tile of A and of B at a time.
kernel void matmul(const device float* a [[buffer(0)]],
                   const device float* b [[buffer(1)]],
                   device float* c [[buffer(2)]],
                   constant dims& d [[buffer(3)]],
                   uint2 pos [[thread_position_in_grid]],
                   uint2 local [[thread_position_in_threadgroup]]) {
    threadgroup float a_tile[TILE][TILE];
    threadgroup float b_tile[TILE][TILE];
    const uint row = pos.y, col = pos.x;
    float sum = 0.0f;
    for (uint t = 0; t < (d.k + TILE - 1) / TILE; ++t) {
        const uint a_col = t * TILE + local.x, b_row = t * TILE + local.y;
        a_tile[local.y][local.x] = (row < d.m && a_col < d.k) ? a[row * d.k + a_col] : 0.0f;
        b_tile[local.y][local.x] = (b_row < d.k && col < d.n) ? b[b_row * d.n + col] : 0.0f;
        threadgroup_barrier(mem_flags::mem_threadgroup);
        for (uint i = 0; i < TILE; ++i) sum += a_tile[local.y][i] * b_tile[i][local.x];
        threadgroup_barrier(mem_flags::mem_threadgroup);
    }
    if (row < d.m && col < d.n) c[row * d.n + col] = sum;
}
)";

struct dims {
    std::uint32_t m, n, k;
};

int main() try {
    constexpr std::uint32_t tile = 16;
    const dims d{256, 128, 192};
    auto device = pymetal::device::system_default();
    auto matmul = device.compile(source, pymetal::compile_options().define("TILE", tile)).kernel("matmul");

    std::vector<float> a(d.m * d.k), b(d.k * d.n);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>((i * 7) % 11) * 0.1f - 0.5f;
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * 5) % 13) * 0.1f - 0.6f;
    auto a_buffer = device.new_buffer(a);
    auto b_buffer = device.new_buffer(b);
    auto c_buffer = device.new_buffer<float>(d.m * d.n);

    // One thread per element of C, in tile x tile threadgroups (the kernel's tile shape).
    const auto done = matmul.dispatch_threads(
        {pymetal::elements<float>(a_buffer, a.size()), pymetal::elements<float>(b_buffer, b.size()),
         pymetal::elements<float>(c_buffer, d.m * d.n), pymetal::value(d)},
        {d.n, d.m}, {tile, tile});

    const auto c = c_buffer.view<float>();
    double worst = 0.0;
    for (std::uint32_t row = 0; row < d.m; ++row) {
        for (std::uint32_t col = 0; col < d.n; ++col) {
            double expected = 0.0;
            for (std::uint32_t i = 0; i < d.k; ++i) expected += double(a[row * d.k + i]) * b[i * d.n + col];
            worst = std::fmax(worst, std::fabs(expected - c[row * d.n + col]));
        }
    }
    if (worst > 1e-3) {
        std::printf("matmul: differs from the host loop by up to %g\n", worst);
        return 1;
    }
    std::printf("matmul: %ux%u * %ux%u matches the host loop (max error %.2g, GPU time %.3f ms)\n", d.m, d.k, d.k,
                d.n, worst, done.gpu_duration() * 1e3);
} catch (const std::exception& e) {
    std::fprintf(stderr, "matmul: %s\n", e.what());
    return 1;
}
