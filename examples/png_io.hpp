// PNG files in and out of RGBA8 pixels, with libpng's simplified API (libpng 1.6).
#pragma once

#include <png.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace example {

struct rgba_image {
    std::uint32_t width = 0, height = 0;
    std::vector<std::uint8_t> pixels;  // width * height * 4, rows top to bottom
};

inline rgba_image read_png(const std::string& path) {
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path.c_str()))
        throw std::runtime_error("cannot read " + path + ": " + image.message);
    image.format = PNG_FORMAT_RGBA;
    rgba_image out;
    out.width = image.width;
    out.height = image.height;
    out.pixels.resize(PNG_IMAGE_SIZE(image));
    if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
        const std::string why = image.message;
        png_image_free(&image);
        throw std::runtime_error("cannot decode " + path + ": " + why);
    }
    return out;
}

// channels: 4 (RGBA), 3 (RGB) or 1 (gray); rows tightly packed.
inline void write_png(const std::string& path, std::uint32_t width, std::uint32_t height, const std::uint8_t* pixels,
                      int channels = 4) {
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = channels == 4 ? PNG_FORMAT_RGBA : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    if (!png_image_write_to_file(&image, path.c_str(), 0, pixels, 0, nullptr))
        throw std::runtime_error("cannot write " + path + ": " + image.message);
}

}  // namespace example
