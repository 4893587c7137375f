#include "objects/texture_blits.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "objects/pixel_conversion.hpp"
#include "objects/texture.hpp"

namespace softmetal::objects {

namespace {

using pymetal::mtl_origin;
using pymetal::mtl_region;
using pymetal::mtl_size;

// Metal's limit on a buffer's row pitch in texture copies: 32,767 pixels.
constexpr std::uint64_t max_row_pixels = 32767;

bool mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
bool add(std::uint64_t a, std::uint64_t b, std::uint64_t& out) { return !__builtin_add_overflow(a, b, &out); }

std::uint64_t pixel_size(const sm_texture& t) {
    return pymetal::pixel_format_size(static_cast<pymetal::pixel_format>(t.pixel_format));
}
std::uint64_t level_extent(std::uint64_t s, unsigned l) { return (s >> l) ? (s >> l) : 1; }
mtl_size level_dims(const sm_texture& t, unsigned l) {
    return mtl_size{level_extent(t.width, l), level_extent(t.height, l), level_extent(t.depth, l)};
}
bool same(const mtl_size& a, const mtl_size& b) { return a.width == b.width && a.height == b.height && a.depth == b.depth; }
bool empty(const mtl_size& s) { return s.width == 0 || s.height == 0 || s.depth == 0; }
std::string text(const mtl_size& s) {
    return std::to_string(s.width) + " x " + std::to_string(s.height) + " x " + std::to_string(s.depth);
}

// The first byte of texel `origin` of the box's level and slice (the box was checked against `t`).
unsigned char* texel_address(const sm_texture& t, const texture_box& box, std::uint64_t x, std::uint64_t y, std::uint64_t z) {
    const auto l = static_cast<unsigned>(box.level);
    return t.data + t.level_offset[l] + box.slice * t.level_slice_stride[l] + (box.origin.z + z) * t.level_bytes_per_image[l] +
           (box.origin.y + y) * t.level_bytes_per_row[l] + (box.origin.x + x) * pixel_size(t);
}

std::string where(const char* side, const texture_box& box, const mtl_size& size, const sm_texture& t) {
    const std::string bad = texture_region_problem(t, mtl_region{box.origin, size}, box.level, box.slice);
    return bad.empty() ? bad : std::string(side) + " texture: " + bad;
}

// The buffer side of a texture copy: pitches that hold the rows and are multiples of the pixel size,
// an offset aligned to it, and every byte the copy touches inside the buffer.
std::string check_linear(const char* side, const char* prefix, std::uint64_t pixel, const mtl_size& size, blit_bytes bytes,
                         const linear_layout& layout) {
    const std::string p(prefix);
    if (!bytes.data) return std::string(side) + " buffer has no memory";
    if (layout.offset % pixel != 0)
        return p + "Offset " + std::to_string(layout.offset) + " is not a multiple of the pixel size " + std::to_string(pixel);
    std::uint64_t row;
    if (!mul(size.width, pixel, row)) return "the copy's row of " + std::to_string(size.width) + " pixels overflows";
    if (layout.bytes_per_row % pixel != 0)
        return p + "BytesPerRow " + std::to_string(layout.bytes_per_row) + " is not a multiple of the pixel size " + std::to_string(pixel);
    if (layout.bytes_per_row < row)
        return p + "BytesPerRow " + std::to_string(layout.bytes_per_row) + " is less than a row of the copy (" +
               std::to_string(size.width) + " pixels of " + std::to_string(pixel) + " bytes = " + std::to_string(row) + ")";
    if (layout.bytes_per_row > max_row_pixels * pixel)
        return p + "BytesPerRow " + std::to_string(layout.bytes_per_row) + " is more than 32767 pixels of " + std::to_string(pixel) +
               " bytes (Metal's limit)";
    std::uint64_t image;
    if (!mul(layout.bytes_per_row, size.height, image)) return p + "BytesPerRow x height overflows";
    if (size.depth > 1) {
        if (layout.bytes_per_image % pixel != 0)
            return p + "BytesPerImage " + std::to_string(layout.bytes_per_image) + " is not a multiple of the pixel size " +
                   std::to_string(pixel);
        if (layout.bytes_per_image < image)
            return p + "BytesPerImage " + std::to_string(layout.bytes_per_image) + " is less than bytesPerRow x height (" +
                   std::to_string(image) + ") for a copy " + std::to_string(size.depth) + " images deep";
    }
    // Bytes touched: (depth - 1) images + (height - 1) rows + one row, from the offset.
    std::uint64_t images, rows, end;
    if (!mul(size.depth - 1, layout.bytes_per_image, images) || !mul(size.height - 1, layout.bytes_per_row, rows) ||
        !add(images, rows, end) || !add(end, row, end) || !add(end, layout.offset, end))
        return "the " + std::string(side) + " buffer range (offset " + std::to_string(layout.offset) + ", bytesPerRow " +
               std::to_string(layout.bytes_per_row) + ", bytesPerImage " + std::to_string(layout.bytes_per_image) + ") overflows";
    if (end > bytes.length)
        return "the copy needs bytes " + std::to_string(layout.offset) + " to " + std::to_string(end) + " of the " + side +
               " buffer, whose length is " + std::to_string(bytes.length);
    return {};
}

// Copies the box's rows between a texture and a buffer's rows. to_texture: buffer -> texture.
void copy_rows(const sm_texture& t, const texture_box& box, const mtl_size& size, unsigned char* linear, const linear_layout& layout,
               bool to_texture) {
    const std::uint64_t row = size.width * pixel_size(t);
    for (std::uint64_t z = 0; z < size.depth; ++z) {
        for (std::uint64_t y = 0; y < size.height; ++y) {
            unsigned char* texel = texel_address(t, box, 0, y, z);
            unsigned char* other = linear + layout.offset + z * layout.bytes_per_image + y * layout.bytes_per_row;
            // memmove: a buffer-backed texture may share its bytes with the buffer.
            if (to_texture) std::memmove(texel, other, row);
            else std::memmove(other, texel, row);
        }
    }
}

}  // namespace

std::string copy_texture_to_buffer(const sm_texture& source, const texture_box& from, const mtl_size& size, blit_bytes destination,
                                   const linear_layout& to) {
    std::string bad = where("source", from, size, source);
    if (bad.empty() && !empty(size)) bad = check_linear("destination", "destination", pixel_size(source), size, destination, to);
    if (!bad.empty()) return bad;
    if (!empty(size)) copy_rows(source, from, size, destination.data, to, false);
    return {};
}

std::string copy_buffer_to_texture(blit_bytes source, const linear_layout& from, const mtl_size& size, const sm_texture& destination,
                                   const texture_box& to) {
    std::string bad = where("destination", to, size, destination);
    if (bad.empty() && !empty(size)) bad = check_linear("source", "source", pixel_size(destination), size, source, from);
    if (!bad.empty()) return bad;
    if (!empty(size)) copy_rows(destination, to, size, source.data, from, true);
    return {};
}

std::string copy_texture_region(const sm_texture& source, const texture_box& from, const mtl_size& size, const sm_texture& destination,
                                const texture_box& to) {
    if (source.pixel_format != destination.pixel_format)
        return "the source's pixel format " + std::to_string(source.pixel_format) + " differs from the destination's " +
               std::to_string(destination.pixel_format) + " (a texture copy needs the same pixel format)";
    std::string bad = where("source", from, size, source);
    if (bad.empty()) bad = where("destination", to, size, destination);
    if (!bad.empty()) return bad;
    if (empty(size)) return {};
    const std::uint64_t row = size.width * pixel_size(source);
    for (std::uint64_t z = 0; z < size.depth; ++z)
        for (std::uint64_t y = 0; y < size.height; ++y)
            std::memmove(texel_address(destination, to, 0, y, z), texel_address(source, from, 0, y, z), row);
    return {};
}

std::string copy_texture_whole(const sm_texture& source, const sm_texture& destination) {
    if (source.pixel_format != destination.pixel_format)
        return "the source's pixel format " + std::to_string(source.pixel_format) + " differs from the destination's " +
               std::to_string(destination.pixel_format) + " (a texture copy needs the same pixel format)";
    if (source.texture_type != destination.texture_type)
        return "the source's texture type " + std::to_string(source.texture_type) + " differs from the destination's " +
               std::to_string(destination.texture_type);
    // The larger texture's level that is the size of the smaller one's level 0.
    unsigned source_first = 0, destination_first = 0;
    bool found = false;
    for (unsigned k = 0; k < destination.mip_levels && !found; ++k)
        if (same(level_dims(source, 0), level_dims(destination, k))) destination_first = k, found = true;
    for (unsigned k = 1; k < source.mip_levels && !found; ++k)
        if (same(level_dims(source, k), level_dims(destination, 0))) source_first = k, found = true;
    if (!found)
        return "neither texture has a mipmap level the size of the other's level 0 (source " + text(level_dims(source, 0)) +
               " with " + std::to_string(source.mip_levels) + " levels, destination " + text(level_dims(destination, 0)) + " with " +
               std::to_string(destination.mip_levels) + ")";
    const unsigned levels = std::min(source.mip_levels - source_first, destination.mip_levels - destination_first);
    const std::uint32_t slices = std::min(source.array_length, destination.array_length);
    for (unsigned i = 0; i < levels; ++i) {
        const mtl_size size = level_dims(source, source_first + i);
        for (std::uint32_t s = 0; s < slices; ++s) {
            const std::string bad =
                copy_texture_region(source, texture_box{s, source_first + i, mtl_origin{}}, size, destination,
                                    texture_box{s, destination_first + i, mtl_origin{}});
            if (!bad.empty()) return bad;
        }
    }
    return {};
}

std::string generate_mipmaps(const sm_texture& t) {
    if (t.mip_levels < 2)
        return "generateMipmapsForTexture: needs a texture with more than one mipmap level (this one has " +
               std::to_string(t.mip_levels) + ")";
    if (!pixel_format_filterable(t.pixel_format))
        return "generateMipmapsForTexture: needs a color-filterable pixel format; pixel format " + std::to_string(t.pixel_format) +
               " is not (integer formats cannot be filtered)";
    for (unsigned l = 1; l < t.mip_levels; ++l) {
        const mtl_size above = level_dims(t, l - 1), here = level_dims(t, l);
        for (std::uint32_t s = 0; s < t.array_length; ++s) {
            const texture_box from{s, l - 1, mtl_origin{}}, to{s, l, mtl_origin{}};
            for (std::uint64_t z = 0; z < here.depth; ++z)
                for (std::uint64_t y = 0; y < here.height; ++y)
                    for (std::uint64_t x = 0; x < here.width; ++x) {
                        // The texels of the level above that this one covers: 2 per dimension that
                        // halved, 1 where the level above is already 1 texel across.
                        float sum[4] = {0, 0, 0, 0};
                        unsigned count = 0;
                        for (std::uint64_t dz = 0; dz < (above.depth > 1 ? 2u : 1u); ++dz)
                            for (std::uint64_t dy = 0; dy < (above.height > 1 ? 2u : 1u); ++dy)
                                for (std::uint64_t dx = 0; dx < (above.width > 1 ? 2u : 1u); ++dx) {
                                    float texel[4];
                                    decode_texel(t.pixel_format, texel_address(t, from, 2 * x + dx, 2 * y + dy, 2 * z + dz), texel);
                                    for (int c = 0; c < 4; ++c) sum[c] += texel[c];
                                    ++count;
                                }
                        for (float& c : sum) c /= static_cast<float>(count);
                        encode_texel(t.pixel_format, texel_address(t, to, x, y, z), sum);
                    }
        }
    }
    return {};
}

}  // namespace softmetal::objects
