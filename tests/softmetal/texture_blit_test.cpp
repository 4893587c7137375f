// The blit encoder's texture commands through the Objective-C API: copies between textures and buffers
// and between textures, mipmap generation against a host box filter, their order with compute
// dispatches, private textures, and the command-buffer errors that name a copy Metal would refuse.
#include "softmetal_test_support.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace softmetal_test;
using pymetal::mtl_origin;
using pymetal::mtl_region;

namespace {

constexpr ns_uinteger rgba8_unorm = 70, rgba8_uint = 73, r32_float = 55, r8_unorm = 10;
constexpr ns_uinteger type_2d = 2, type_2d_array = 3, type_3d = 7;
constexpr ns_uinteger usage_read = 1, usage_write = 2;
constexpr ns_uinteger private_storage = 2;

struct texture_spec {
    ns_uinteger format = rgba8_unorm, type = type_2d, width = 1, height = 1, depth = 1, levels = 1, array_length = 1;
    ns_uinteger usage = usage_read | usage_write, storage = 0;
};

object new_texture(const texture_spec& s) {
    (void)device();
    object d = object::adopt(msg_send<id()>(msg_send<id()>(pymetal::class_named("MTLTextureDescriptor"), "alloc"), "init"));
    auto set = [&](const char* setter, ns_uinteger v) { msg_send<void(ns_uinteger)>(d.get(), setter, v); };
    set("setTextureType:", s.type);
    set("setPixelFormat:", s.format);
    set("setWidth:", s.width);
    set("setHeight:", s.height);
    set("setDepth:", s.depth);
    set("setMipmapLevelCount:", s.levels);
    set("setArrayLength:", s.array_length);
    set("setUsage:", s.usage);
    set("setStorageMode:", s.storage);
    return object::adopt(msg_send<id(id)>(device(), "newTextureWithDescriptor:", d.get()));
}

mtl_region region(ns_uinteger x, ns_uinteger y, ns_uinteger w, ns_uinteger h, ns_uinteger z = 0, ns_uinteger d = 1) {
    return mtl_region{mtl_origin{x, y, z}, mtl_size{w, h, d}};
}
void replace(id texture, mtl_region r, const void* bytes, ns_uinteger bytes_per_row, ns_uinteger level = 0, ns_uinteger slice = 0,
             ns_uinteger bytes_per_image = 0) {
    msg_send<void(mtl_region, ns_uinteger, ns_uinteger, const void*, ns_uinteger, ns_uinteger)>(
        texture, "replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:", r, level, slice, bytes, bytes_per_row,
        bytes_per_image);
}
template <class T>
std::vector<T> get_bytes(id texture, mtl_region r, ns_uinteger level = 0, ns_uinteger slice = 0, ns_uinteger components = 4) {
    std::vector<T> out(r.size.width * r.size.height * r.size.depth * components);
    const ns_uinteger row = r.size.width * components * sizeof(T);
    msg_send<void(void*, ns_uinteger, ns_uinteger, mtl_region, ns_uinteger, ns_uinteger)>(
        texture, "getBytes:bytesPerRow:bytesPerImage:fromRegion:mipmapLevel:slice:", out.data(), row, row * r.size.height, r, level,
        slice);
    return out;
}

void texture_to_buffer(id blit, id texture, ns_uinteger slice, ns_uinteger level, mtl_origin origin, mtl_size size, id buffer,
                       ns_uinteger offset, ns_uinteger bytes_per_row, ns_uinteger bytes_per_image) {
    msg_send<void(id, ns_uinteger, ns_uinteger, mtl_origin, mtl_size, id, ns_uinteger, ns_uinteger, ns_uinteger)>(
        blit,
        "copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toBuffer:destinationOffset:destinationBytesPerRow:"
        "destinationBytesPerImage:",
        texture, slice, level, origin, size, buffer, offset, bytes_per_row, bytes_per_image);
}
void buffer_to_texture(id blit, id buffer, ns_uinteger offset, ns_uinteger bytes_per_row, ns_uinteger bytes_per_image, mtl_size size,
                       id texture, ns_uinteger slice, ns_uinteger level, mtl_origin origin) {
    msg_send<void(id, ns_uinteger, ns_uinteger, ns_uinteger, mtl_size, id, ns_uinteger, ns_uinteger, mtl_origin)>(
        blit,
        "copyFromBuffer:sourceOffset:sourceBytesPerRow:sourceBytesPerImage:sourceSize:toTexture:destinationSlice:destinationLevel:"
        "destinationOrigin:",
        buffer, offset, bytes_per_row, bytes_per_image, size, texture, slice, level, origin);
}
void texture_to_texture(id blit, id from, ns_uinteger from_slice, ns_uinteger from_level, mtl_origin from_origin, mtl_size size, id to,
                        ns_uinteger to_slice, ns_uinteger to_level, mtl_origin to_origin) {
    msg_send<void(id, ns_uinteger, ns_uinteger, mtl_origin, mtl_size, id, ns_uinteger, ns_uinteger, mtl_origin)>(
        blit,
        "copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:destinationLevel:"
        "destinationOrigin:",
        from, from_slice, from_level, from_origin, size, to, to_slice, to_level, to_origin);
}

// Encodes one blit encoder with `encode`, commits, waits; returns the command buffer.
template <class Encode>
object run_blit(id queue, Encode&& encode) {
    object cb = object::retain(msg_send<id()>(queue, "commandBuffer"));
    id blit = msg_send<id()>(cb.get(), "blitCommandEncoder");
    encode(blit);
    msg_send<void()>(blit, "endEncoding");
    msg_send<void()>(cb.get(), "commit");
    msg_send<void()>(cb.get(), "waitUntilCompleted");
    return cb;
}

std::string error_text(id command_buffer) {
    id error = msg_send<id()>(command_buffer, "error");
    return error ? error_description(error) : std::string();
}

// A distinct byte per (x, y, slice, channel).
std::vector<std::uint8_t> pattern(ns_uinteger width, ns_uinteger height, ns_uinteger salt) {
    std::vector<std::uint8_t> bytes(width * height * 4);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + salt * 31 + 1);
    return bytes;
}

}  // namespace

TEST_CASE("a texture region copies to a buffer with padded rows and back into another texture's level") {
    autorelease_pool pool;
    object queue = new_queue();
    object source = new_texture({rgba8_unorm, type_2d_array, 8, 4, 1, 1, 2});
    REQUIRE(source);
    const auto slice1 = pattern(8, 4, 1);
    replace(source.get(), region(0, 0, 8, 4), slice1.data(), 32, 0, 1);
    object staging = new_buffer(256);
    std::memset(contents<std::uint8_t>(staging.get()), 0xEE, 256);
    object cb = run_blit(queue.get(), [&](id blit) {
        // 4 x 2 texels from (2, 1) of slice 1, rows 40 bytes apart from byte 8.
        texture_to_buffer(blit, source.get(), 1, 0, mtl_origin{2, 1, 0}, mtl_size{4, 2, 1}, staging.get(), 8, 40, 0);
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    const std::uint8_t* bytes = contents<std::uint8_t>(staging.get());
    for (ns_uinteger y = 0; y < 2; ++y)
        for (ns_uinteger i = 0; i < 16; ++i) CHECK(bytes[8 + y * 40 + i] == slice1[((1 + y) * 8 + 2) * 4 + i]);
    CHECK(bytes[7] == 0xEE);       // before the offset
    CHECK(bytes[8 + 16] == 0xEE);  // row padding
    CHECK(bytes[8 + 40 + 16] == 0xEE);

    // Back into level 1 (4 x 2) of a mipmapped texture, slice 0.
    object destination = new_texture({rgba8_unorm, type_2d, 8, 4, 1, 3});
    REQUIRE(destination);
    cb = run_blit(queue.get(), [&](id blit) {
        buffer_to_texture(blit, staging.get(), 8, 40, 0, mtl_size{4, 2, 1}, destination.get(), 0, 1, mtl_origin{0, 0, 0});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    const auto level1 = get_bytes<std::uint8_t>(destination.get(), region(0, 0, 4, 2), 1);
    for (ns_uinteger y = 0; y < 2; ++y)
        for (ns_uinteger i = 0; i < 16; ++i) CHECK(level1[y * 16 + i] == slice1[((1 + y) * 8 + 2) * 4 + i]);
}

TEST_CASE("a 3D texture copies through a buffer image by image") {
    autorelease_pool pool;
    object queue = new_queue();
    object volume = new_texture({r32_float, type_3d, 3, 2, 4});
    REQUIRE(volume);
    std::vector<float> values(3 * 2 * 4);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.25f * static_cast<float>(i) - 1.0f;
    replace(volume.get(), region(0, 0, 3, 2, 0, 4), values.data(), 12, 0, 0, 24);
    object staging = new_buffer(4 * 64);
    object copy = new_texture({r32_float, type_3d, 3, 2, 4});
    object cb = run_blit(queue.get(), [&](id blit) {
        // Planes 1..3, each image 64 bytes apart in the buffer.
        texture_to_buffer(blit, volume.get(), 0, 0, mtl_origin{0, 0, 1}, mtl_size{3, 2, 3}, staging.get(), 0, 12, 64);
        buffer_to_texture(blit, staging.get(), 0, 12, 64, mtl_size{3, 2, 3}, copy.get(), 0, 0, mtl_origin{0, 0, 0});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    const auto out = get_bytes<float>(copy.get(), region(0, 0, 3, 2, 0, 3), 0, 0, 1);
    for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == values[6 + i]);
}

TEST_CASE("a texture region copies into another texture, and copyFromTexture:toTexture: copies the levels of equal size") {
    autorelease_pool pool;
    object queue = new_queue();
    object large = new_texture({rgba8_unorm, type_2d, 8, 8, 1, 4});
    object small = new_texture({rgba8_unorm, type_2d, 4, 4, 1, 3});
    object region_copy = new_texture({rgba8_unorm, type_2d, 4, 4});
    REQUIRE((large && small && region_copy));
    std::vector<std::vector<std::uint8_t>> levels;
    for (ns_uinteger l = 0; l < 4; ++l) {
        const ns_uinteger s = 8 >> l;
        levels.push_back(pattern(s, s, 10 + l));
        replace(large.get(), region(0, 0, s, s), levels[l].data(), s * 4, l);
    }
    object cb = run_blit(queue.get(), [&](id blit) {
        texture_to_texture(blit, large.get(), 0, 0, mtl_origin{5, 6, 0}, mtl_size{3, 2, 1}, region_copy.get(), 0, 0, mtl_origin{1, 2, 0});
        msg_send<void(id, id)>(blit, "copyFromTexture:toTexture:", large.get(), small.get());
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    const auto copied = get_bytes<std::uint8_t>(region_copy.get(), region(0, 0, 4, 4));
    for (ns_uinteger y = 0; y < 4; ++y)
        for (ns_uinteger x = 0; x < 4; ++x)
            for (int c = 0; c < 4; ++c) {
                const bool inside = x >= 1 && x < 4 && y >= 2 && y < 4;
                const std::uint8_t expected = inside ? levels[0][((y - 2 + 6) * 8 + (x - 1 + 5)) * 4 + c] : 0;
                CHECK(copied[(y * 4 + x) * 4 + c] == expected);
            }
    // The 8 x 8 texture's level 1 is the 4 x 4 one's level 0: levels 1, 2, 3 land on 0, 1, 2.
    for (ns_uinteger l = 0; l < 3; ++l) {
        const ns_uinteger s = 4 >> l;
        CHECK(get_bytes<std::uint8_t>(small.get(), region(0, 0, s, s), l) == levels[l + 1]);
    }
}

TEST_CASE("generateMipmapsForTexture: makes each level the box average of the level above") {
    autorelease_pool pool;
    object queue = new_queue();
    // 5 x 3 -> 2 x 1 -> 1 x 1: odd sizes drop the last row or column, as a 2 x 2 box filter does.
    object texture = new_texture({rgba8_unorm, type_2d, 5, 3, 1, 3});
    REQUIRE(texture);
    const auto base = pattern(5, 3, 3);
    replace(texture.get(), region(0, 0, 5, 3), base.data(), 20);
    // A 3D float texture: 4 x 2 x 2 -> 2 x 1 x 1 (8 texels each) -> 1 x 1 x 1 (2 texels).
    object volume = new_texture({r32_float, type_3d, 4, 2, 2, 3});
    REQUIRE(volume);
    std::vector<float> voxels(16);
    for (std::size_t i = 0; i < voxels.size(); ++i) voxels[i] = static_cast<float>(i * i) * 0.125f;
    replace(volume.get(), region(0, 0, 4, 2, 0, 2), voxels.data(), 16, 0, 0, 32);
    object cb = run_blit(queue.get(), [&](id blit) {
        msg_send<void(id)>(blit, "generateMipmapsForTexture:", texture.get());
        msg_send<void(id)>(blit, "generateMipmapsForTexture:", volume.get());
    });
    REQUIRE(status_of(cb.get()) == status_completed);

    // Host reference: unorm8 -> float, average, round to nearest even.
    auto average = [](std::vector<unsigned> bytes) {
        float sum = 0;
        for (unsigned b : bytes) sum += static_cast<float>(b) / 255.0f;
        return static_cast<std::uint8_t>(std::nearbyint(sum / static_cast<float>(bytes.size()) * 255.0f));
    };
    const auto level1 = get_bytes<std::uint8_t>(texture.get(), region(0, 0, 2, 1), 1);
    std::vector<std::uint8_t> expected1(8);
    for (ns_uinteger x = 0; x < 2; ++x)
        for (int c = 0; c < 4; ++c) {
            auto at = [&](ns_uinteger px, ns_uinteger py) { return unsigned(base[(py * 5 + px) * 4 + c]); };
            expected1[x * 4 + c] = average({at(2 * x, 0), at(2 * x + 1, 0), at(2 * x, 1), at(2 * x + 1, 1)});
        }
    CHECK(level1 == expected1);
    const auto level2 = get_bytes<std::uint8_t>(texture.get(), region(0, 0, 1, 1), 2);
    for (int c = 0; c < 4; ++c) CHECK(level2[c] == average({expected1[c], expected1[4 + c]}));

    const auto v1 = get_bytes<float>(volume.get(), region(0, 0, 2, 1, 0, 1), 1, 0, 1);
    float expected_v1[2];
    for (int x = 0; x < 2; ++x) {
        float sum = 0;
        for (int z = 0; z < 2; ++z)
            for (int y = 0; y < 2; ++y)
                for (int dx = 0; dx < 2; ++dx) sum += voxels[z * 8 + y * 4 + 2 * x + dx];
        expected_v1[x] = sum / 8.0f;
        CHECK(v1[x] == expected_v1[x]);
    }
    const auto v2 = get_bytes<float>(volume.get(), region(0, 0, 1, 1), 2, 0, 1);
    CHECK(v2[0] == (expected_v1[0] + expected_v1[1]) / 2.0f);
}

TEST_CASE("generateMipmapsForTexture: filters each slice of an array on its own, sRGB in linear light") {
    autorelease_pool pool;
    object queue = new_queue();
    constexpr ns_uinteger rgba8_unorm_srgb = 71;
    object texture = new_texture({rgba8_unorm_srgb, type_2d_array, 2, 2, 1, 2, 2});
    REQUIRE(texture);
    // Slice s: texel values 0, 255, 40 + 50 s, 200 - 30 s in every channel (alpha is linear in sRGB formats).
    std::vector<std::vector<std::uint8_t>> slices;
    for (ns_uinteger slice = 0; slice < 2; ++slice) {
        const std::uint8_t values[4] = {0, 255, static_cast<std::uint8_t>(40 + 50 * slice), static_cast<std::uint8_t>(200 - 30 * slice)};
        std::vector<std::uint8_t> bytes;
        for (std::uint8_t v : values)
            for (int c = 0; c < 4; ++c) bytes.push_back(v);
        replace(texture.get(), region(0, 0, 2, 2), bytes.data(), 8, 0, slice);
        slices.push_back(bytes);
    }
    object cb = run_blit(queue.get(), [&](id blit) { msg_send<void(id)>(blit, "generateMipmapsForTexture:", texture.get()); });
    REQUIRE(status_of(cb.get()) == status_completed);
    auto to_linear = [](float c) { return c <= 0.04045f ? c / 12.92f : std::pow((c + 0.055f) / 1.055f, 2.4f); };
    auto to_srgb = [](float l) {
        if (!(l > 0.0f)) return 0.0f;
        if (l >= 1.0f) return 1.0f;
        return l <= 0.0031308f ? 12.92f * l : 1.055f * std::pow(l, 1.0f / 2.4f) - 0.055f;
    };
    for (ns_uinteger slice = 0; slice < 2; ++slice) {
        INFO("slice " << slice);
        const auto top = get_bytes<std::uint8_t>(texture.get(), region(0, 0, 1, 1), 1, slice);
        for (int c = 0; c < 4; ++c) {
            float sum = 0;
            for (int t = 0; t < 4; ++t) {
                const float v = static_cast<float>(slices[slice][t * 4 + c]) / 255.0f;
                sum += c == 3 ? v : to_linear(v);
            }
            const float average = sum / 4.0f;
            const auto expected = static_cast<std::uint8_t>(std::nearbyint((c == 3 ? average : to_srgb(average)) * 255.0f));
            CHECK(int(top[c]) == int(expected));
        }
    }
}

TEST_CASE("generateMipmapsForTexture: refuses an integer format and a texture of one level") {
    autorelease_pool pool;
    object queue = new_queue();
    object integers = new_texture({rgba8_uint, type_2d, 4, 4, 1, 3});
    REQUIRE(integers);
    object cb = run_blit(queue.get(), [&](id blit) { msg_send<void(id)>(blit, "generateMipmapsForTexture:", integers.get()); });
    REQUIRE(status_of(cb.get()) == status_error);
    CHECK(error_code(msg_send<id()>(cb.get(), "error")) == 9);
    CHECK(error_text(cb.get()).find("color-filterable") != std::string::npos);
    CHECK(error_text(cb.get()).find("pixel format 73") != std::string::npos);

    object single = new_texture({rgba8_unorm, type_2d, 4, 4});
    cb = run_blit(queue.get(), [&](id blit) { msg_send<void(id)>(blit, "generateMipmapsForTexture:", single.get()); });
    REQUIRE(status_of(cb.get()) == status_error);
    CHECK(error_text(cb.get()).find("more than one mipmap level") != std::string::npos);
}

TEST_CASE("a texture copy Metal would refuse fails the command buffer naming the problem and copies nothing") {
    autorelease_pool pool;
    object queue = new_queue();
    object texture = new_texture({rgba8_unorm, type_2d_array, 8, 4, 1, 2, 2});
    object other_format = new_texture({r8_unorm, type_2d, 8, 4});
    object buffer = new_buffer(128);
    REQUIRE((texture && other_format));
    std::memset(contents<std::uint8_t>(buffer.get()), 0x5A, 128);
    struct refused {
        const char* what;
        std::function<void(id)> encode;
        const char* message;
    };
    const std::vector<refused> cases = {
        {"a region past the texture's width",
         [&](id b) { texture_to_buffer(b, texture.get(), 0, 0, mtl_origin{6, 0, 0}, mtl_size{4, 1, 1}, buffer.get(), 0, 16, 0); },
         "source texture: region origin (6, 0, 0) size (4, 1, 1) is outside level 0 (8 x 4 x 1)"},
        {"a slice past the array",
         [&](id b) { texture_to_buffer(b, texture.get(), 2, 0, mtl_origin{}, mtl_size{1, 1, 1}, buffer.get(), 0, 4, 0); },
         "slice 2 is past the texture's array length 2"},
        {"a level past the mipmaps",
         [&](id b) { buffer_to_texture(b, buffer.get(), 0, 4, 0, mtl_size{1, 1, 1}, texture.get(), 0, 2, mtl_origin{}); },
         "mipmap level 2 is past the texture's 2 levels"},
        {"a row pitch smaller than the row",
         [&](id b) { texture_to_buffer(b, texture.get(), 0, 0, mtl_origin{}, mtl_size{8, 2, 1}, buffer.get(), 0, 16, 0); },
         "destinationBytesPerRow 16 is less than a row of the copy (8 pixels of 4 bytes = 32)"},
        {"a row pitch that is not a whole number of pixels",
         [&](id b) { buffer_to_texture(b, buffer.get(), 0, 34, 0, mtl_size{8, 2, 1}, texture.get(), 0, 0, mtl_origin{}); },
         "sourceBytesPerRow 34 is not a multiple of the pixel size 4"},
        {"an offset that is not a whole number of pixels",
         [&](id b) { buffer_to_texture(b, buffer.get(), 2, 32, 0, mtl_size{8, 1, 1}, texture.get(), 0, 0, mtl_origin{}); },
         "sourceOffset 2 is not a multiple of the pixel size 4"},
        {"a buffer range past the buffer's end",
         [&](id b) { texture_to_buffer(b, texture.get(), 0, 0, mtl_origin{}, mtl_size{8, 4, 1}, buffer.get(), 32, 32, 0); },
         "the copy needs bytes 32 to 160 of the destination buffer, whose length is 128"},
        {"an offset so large the range overflows",
         [&](id b) {
             texture_to_buffer(b, texture.get(), 0, 0, mtl_origin{}, mtl_size{8, 2, 1}, buffer.get(), ~ns_uinteger{0} - 3, 32, 0);
         },
         "overflows"},
        {"a row pitch over Metal's limit",
         [&](id b) { texture_to_buffer(b, texture.get(), 0, 0, mtl_origin{}, mtl_size{1, 1, 1}, buffer.get(), 0, 32768 * 4, 0); },
         "is more than 32767 pixels"},
        {"an origin so large the region wraps",
         [&](id b) {
             texture_to_buffer(b, texture.get(), 0, 0, mtl_origin{~ns_uinteger{0}, 0, 0}, mtl_size{2, 1, 1}, buffer.get(), 0, 8, 0);
         },
         "is outside level 0"},
        {"textures of different pixel formats",
         [&](id b) {
             texture_to_texture(b, other_format.get(), 0, 0, mtl_origin{}, mtl_size{1, 1, 1}, texture.get(), 0, 0, mtl_origin{});
         },
         "the source's pixel format 10 differs from the destination's 70"},
        {"whole textures of different pixel formats",
         [&](id b) { msg_send<void(id, id)>(b, "copyFromTexture:toTexture:", texture.get(), other_format.get()); },
         "differs from the destination's 10"},
        {"a destination region outside the destination",
         [&](id b) { texture_to_texture(b, texture.get(), 0, 0, mtl_origin{}, mtl_size{4, 3, 1}, texture.get(), 1, 1, mtl_origin{}); },
         "destination texture: region origin (0, 0, 0) size (4, 3, 1) is outside level 1 (4 x 2 x 1)"},
    };
    for (const refused& r : cases) {
        INFO(r.what);
        object cb = run_blit(queue.get(), r.encode);
        REQUIRE(status_of(cb.get()) == status_error);
        CHECK(error_code(msg_send<id()>(cb.get(), "error")) == 9);  // MTLCommandBufferErrorInvalidResource
        const std::string text = error_text(cb.get());
        INFO(text);
        CHECK(text.find(r.message) != std::string::npos);
        CHECK(text.find("blit 0 of encoder 0") != std::string::npos);
        CHECK(text.find(": copyFrom") != std::string::npos);  // the selector of the refused blit
    }
    const std::uint8_t* bytes = contents<std::uint8_t>(buffer.get());
    for (int i = 0; i < 128; ++i) CHECK(bytes[i] == 0x5A);
}

TEST_CASE("texture blits run in encoding order with compute dispatches and reach private textures") {
    autorelease_pool pool;
    object queue = new_queue();
    object invert = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
kernel void invert(texture2d<float, access::read> in [[texture(0)]], texture2d<float, access::write> out [[texture(1)]],
                   uint2 p [[thread_position_in_grid]]) {
    out.write(1.0f - in.read(p), p);
}
)",
                                 "invert");
    REQUIRE(invert);
    texture_spec gpu_only{rgba8_unorm, type_2d, 4, 4};
    gpu_only.storage = private_storage;
    object a = new_texture(gpu_only), b = new_texture(gpu_only);
    REQUIRE((a && b));
    CHECK(msg_send<ns_uinteger()>(a.get(), "storageMode") == private_storage);
    const auto input = pattern(4, 4, 5);
    object upload = buffer_with(input);
    object download = new_buffer(64);
    object before = new_buffer(64);
    id cb = msg_send<id()>(queue.get(), "commandBuffer");
    id blit = msg_send<id()>(cb, "blitCommandEncoder");
    buffer_to_texture(blit, upload.get(), 0, 16, 0, mtl_size{4, 4, 1}, a.get(), 0, 0, mtl_origin{});
    texture_to_buffer(blit, b.get(), 0, 0, mtl_origin{}, mtl_size{4, 4, 1}, before.get(), 0, 16, 0);  // b before the kernel
    msg_send<void()>(blit, "endEncoding");
    id encoder = msg_send<id()>(cb, "computeCommandEncoder");
    set_pipeline(encoder, invert.get());
    msg_send<void(id, ns_uinteger)>(encoder, "setTexture:atIndex:", a.get(), 0);
    msg_send<void(id, ns_uinteger)>(encoder, "setTexture:atIndex:", b.get(), 1);
    dispatch_threads(encoder, {4, 4, 1}, {4, 4, 1});
    msg_send<void()>(encoder, "endEncoding");
    blit = msg_send<id()>(cb, "blitCommandEncoder");
    texture_to_buffer(blit, b.get(), 0, 0, mtl_origin{}, mtl_size{4, 4, 1}, download.get(), 0, 16, 0);
    msg_send<void()>(blit, "endEncoding");
    msg_send<void()>(cb, "commit");
    msg_send<void()>(cb, "waitUntilCompleted");
    REQUIRE(status_of(cb) == status_completed);
    const std::uint8_t* out = contents<std::uint8_t>(download.get());
    const std::uint8_t* earlier = contents<std::uint8_t>(before.get());
    for (std::size_t i = 0; i < 64; ++i) {
        CHECK(out[i] == 255 - input[i]);
        CHECK(earlier[i] == 0);  // new textures are zero; the kernel had not run yet
    }
}
