// Two image filters as texture kernels: a Gaussian blur that samples its input through a sampler,
// and a Sobel edge detector that reads and writes texels. Each result is checked against the same
// filter computed on the host, then written as a PNG.
//   example_image_filter input.png [blurred.png] [edges.png]
#include <pymetal/metal.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "png_io.hpp"

static const char* source = R"(
#include <metal_stdlib>
using namespace metal;

// 5x5 Gaussian (sigma 1): the binomial weights 1 4 6 4 1 in each direction, / 256.
constant float weights[5] = {1.0f, 4.0f, 6.0f, 4.0f, 1.0f};

kernel void gaussian_blur(texture2d<float, access::sample> src [[texture(0)]],
                          texture2d<float, access::write> dst [[texture(1)]],
                          sampler edge [[sampler(0)]],
                          uint2 p [[thread_position_in_grid]]) {
    if (p.x >= dst.get_width() || p.y >= dst.get_height()) return;
    const float2 size = float2(src.get_width(), src.get_height());
    float4 sum = 0.0f;
    for (int dy = -2; dy <= 2; ++dy)
        for (int dx = -2; dx <= 2; ++dx) {
            const float2 at = (float2(p) + float2(dx, dy) + 0.5f) / size;  // texel centres, normalized
            sum += src.sample(edge, at) * (weights[dx + 2] * weights[dy + 2]);
        }
    dst.write(sum / 256.0f, p);
}

kernel void sobel(texture2d<float, access::read> src [[texture(0)]],
                  texture2d<float, access::write> dst [[texture(1)]],
                  uint2 p [[thread_position_in_grid]]) {
    const int w = int(src.get_width()), h = int(src.get_height());
    if (int(p.x) >= w || int(p.y) >= h) return;
    float l[3][3];
    for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
            const uint2 at = uint2(clamp(int(p.x) + dx, 0, w - 1), clamp(int(p.y) + dy, 0, h - 1));
            l[dy + 1][dx + 1] = dot(src.read(at).rgb, float3(0.2126f, 0.7152f, 0.0722f));
        }
    const float gx = (l[0][2] + 2.0f * l[1][2] + l[2][2]) - (l[0][0] + 2.0f * l[1][0] + l[2][0]);
    const float gy = (l[2][0] + 2.0f * l[2][1] + l[2][2]) - (l[0][0] + 2.0f * l[0][1] + l[0][2]);
    const float m = min(sqrt(gx * gx + gy * gy), 1.0f);
    dst.write(float4(m, m, m, 1.0f), p);
}
)";

namespace {

using example::rgba_image;

float unorm(std::uint8_t v) { return v / 255.0f; }
std::uint8_t to_unorm(float x) { return static_cast<std::uint8_t>(std::nearbyint(std::clamp(x, 0.0f, 1.0f) * 255.0f)); }

rgba_image host_blur(const rgba_image& in) {
    const float w[5] = {1, 4, 6, 4, 1};
    rgba_image out{in.width, in.height, std::vector<std::uint8_t>(in.pixels.size())};
    for (int y = 0; y < int(in.height); ++y)
        for (int x = 0; x < int(in.width); ++x)
            for (int c = 0; c < 4; ++c) {
                float sum = 0;
                for (int dy = -2; dy <= 2; ++dy)
                    for (int dx = -2; dx <= 2; ++dx) {
                        const int sx = std::clamp(x + dx, 0, int(in.width) - 1), sy = std::clamp(y + dy, 0, int(in.height) - 1);
                        sum += unorm(in.pixels[(std::size_t(sy) * in.width + sx) * 4 + c]) * w[dx + 2] * w[dy + 2];
                    }
                out.pixels[(std::size_t(y) * in.width + x) * 4 + c] = to_unorm(sum / 256.0f);
            }
    return out;
}

rgba_image host_sobel(const rgba_image& in) {
    rgba_image out{in.width, in.height, std::vector<std::uint8_t>(in.pixels.size())};
    auto lum = [&](int x, int y) {
        x = std::clamp(x, 0, int(in.width) - 1), y = std::clamp(y, 0, int(in.height) - 1);
        const std::uint8_t* p = &in.pixels[(std::size_t(y) * in.width + x) * 4];
        return unorm(p[0]) * 0.2126f + unorm(p[1]) * 0.7152f + unorm(p[2]) * 0.0722f;
    };
    for (int y = 0; y < int(in.height); ++y)
        for (int x = 0; x < int(in.width); ++x) {
            const float gx = (lum(x + 1, y - 1) + 2 * lum(x + 1, y) + lum(x + 1, y + 1)) - (lum(x - 1, y - 1) + 2 * lum(x - 1, y) + lum(x - 1, y + 1));
            const float gy = (lum(x - 1, y + 1) + 2 * lum(x, y + 1) + lum(x + 1, y + 1)) - (lum(x - 1, y - 1) + 2 * lum(x, y - 1) + lum(x + 1, y - 1));
            const std::uint8_t m = to_unorm(std::min(std::sqrt(gx * gx + gy * gy), 1.0f));
            std::uint8_t* p = &out.pixels[(std::size_t(y) * in.width + x) * 4];
            p[0] = p[1] = p[2] = m;
            p[3] = 255;
        }
    return out;
}

// The largest difference of one channel, in units of 1/255.
int max_difference(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
    int worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(int(a[i]) - int(b[i])));
    return worst;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s input.png [blurred.png] [edges.png]\n", argv[0]);
        return 2;
    }
    const std::string blurred_path = argc > 2 ? argv[2] : "blurred.png", edges_path = argc > 3 ? argv[3] : "edges.png";
    const rgba_image input = example::read_png(argv[1]);

    auto device = pymetal::device::system_default();
    auto library = device.compile(source);
    auto src = device.new_texture(pymetal::pixel_format::rgba8_unorm, input.width, input.height, pymetal::texture_usage::shader_read);
    src.upload(input.pixels);
    auto blurred = device.new_texture(pymetal::pixel_format::rgba8_unorm, input.width, input.height);
    auto edges = device.new_texture(pymetal::pixel_format::rgba8_unorm, input.width, input.height);
    auto clamp_to_edge = device.new_sampler({pymetal::sampler_filter::nearest, pymetal::sampler_address_mode::clamp_to_edge});

    const double blur_seconds =
        library.kernel("gaussian_blur").dispatch_threads({src, blurred, clamp_to_edge}, {input.width, input.height}).gpu_duration();
    const double sobel_seconds = library.kernel("sobel").dispatch_threads({src, edges}, {input.width, input.height}).gpu_duration();

    const std::vector<std::uint8_t> blurred_pixels = blurred.download<std::uint8_t>(), edge_pixels = edges.download<std::uint8_t>();
    const int blur_error = max_difference(blurred_pixels, host_blur(input).pixels);
    const int edge_error = max_difference(edge_pixels, host_sobel(input).pixels);
    example::write_png(blurred_path, input.width, input.height, blurred_pixels.data());
    example::write_png(edges_path, input.width, input.height, edge_pixels.data());
    std::printf("image_filter: %ux%u, gaussian blur %.1f ms (max difference %d/255), sobel %.1f ms (max difference %d/255)\n",
                input.width, input.height, blur_seconds * 1e3, blur_error, sobel_seconds * 1e3, edge_error);
    if (blur_error > 1 || edge_error > 1) {
        std::printf("image_filter: differs from the host reference\n");
        return 1;
    }
    std::printf("image_filter: both filters match the host reference; wrote %s and %s\n", blurred_path.c_str(), edges_path.c_str());
} catch (const std::exception& e) {
    std::fprintf(stderr, "image_filter: %s\n", e.what());
    return 1;
}
