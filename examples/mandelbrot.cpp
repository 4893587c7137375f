// The Mandelbrot set, one GPU thread per pixel, written as a PNG image (or a binary PPM when the
// file name ends in .ppm, or when pymetal was built without libpng).
//   example_mandelbrot [output.png|output.ppm]      (default: mandelbrot.png in the current directory)
#include <pymetal/metal.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#if PYMETAL_EXAMPLE_HAVE_PNG
#include "png_io.hpp"
#endif

static const char* source = R"(
#include <metal_stdlib>
using namespace metal;

struct view { float x0, y0, step; uint width, height, max_iterations; };

// Escape-time colouring, smoothed by the final |z| so the bands blend.
kernel void mandelbrot(device uchar* pixels [[buffer(0)]],
                       constant view& v [[buffer(1)]],
                       uint2 p [[thread_position_in_grid]]) {
    const float cx = v.x0 + float(p.x) * v.step, cy = v.y0 + float(p.y) * v.step;
    float x = 0.0f, y = 0.0f;
    uint i = 0;
    for (; i < v.max_iterations && x * x + y * y <= 16.0f; ++i) {
        const float t = x * x - y * y + cx;
        y = 2.0f * x * y + cy;
        x = t;
    }
    float3 colour = float3(0.0f);
    if (i < v.max_iterations) {
        const float smooth = float(i) + 1.0f - log2(log2(x * x + y * y) * 0.5f);
        const float t = smooth / float(v.max_iterations);
        colour = float3(9.0f * (1.0f - t) * t * t * t,
                        15.0f * (1.0f - t) * (1.0f - t) * t * t,
                        8.5f * (1.0f - t) * (1.0f - t) * (1.0f - t) * t);
    }
    const uint at = (p.y * v.width + p.x) * 3;
    pixels[at + 0] = uchar(clamp(colour.x, 0.0f, 1.0f) * 255.0f);
    pixels[at + 1] = uchar(clamp(colour.y, 0.0f, 1.0f) * 255.0f);
    pixels[at + 2] = uchar(clamp(colour.z, 0.0f, 1.0f) * 255.0f);
}
)";

struct view {
    float x0, y0, step;
    std::uint32_t width, height, max_iterations;
};

int main(int argc, char** argv) try {
    const std::string path = argc > 1 ? argv[1] : (PYMETAL_EXAMPLE_HAVE_PNG ? "mandelbrot.png" : "mandelbrot.ppm");
    const view v{-2.2f, -1.2f, 3.2f / 800.0f, 800, 600, 256};

    auto device = pymetal::device::system_default();
    auto mandelbrot = device.compile(source).kernel("mandelbrot");
    auto pixels = device.new_buffer<std::uint8_t>(std::size_t{v.width} * v.height * 3);
    mandelbrot.dispatch_threads({pixels, pymetal::value(v)}, {v.width, v.height});

    const bool ppm = path.size() >= 4 && path.compare(path.size() - 4, 4, ".ppm") == 0;
    if (!ppm) {
#if PYMETAL_EXAMPLE_HAVE_PNG
        example::write_png(path, v.width, v.height, static_cast<const std::uint8_t*>(pixels.contents()), 3);
        std::printf("mandelbrot: wrote %s (%ux%u PNG)\n", path.c_str(), v.width, v.height);
        return 0;
#else
        throw std::runtime_error("built without libpng: name a .ppm file");
#endif
    }
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file) throw std::runtime_error("cannot write " + path);
    std::fprintf(file, "P6\n%u %u\n255\n", v.width, v.height);
    std::fwrite(pixels.contents(), 1, pixels.size_bytes(), file);
    if (std::fclose(file) != 0) throw std::runtime_error("cannot write " + path);
    std::printf("mandelbrot: wrote %s (%ux%u PPM)\n", path.c_str(), v.width, v.height);
} catch (const std::exception& e) {
    std::fprintf(stderr, "mandelbrot: %s\n", e.what());
    return 1;
}
