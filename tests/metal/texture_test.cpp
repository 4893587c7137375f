// pymetal::texture and pymetal::sampler: made by the device, filled and read back with the row pitch
// computed for the caller, bound next to buffers with index spaces of their own.
#include "metal_test_support.hpp"

#include <cstdint>
#include <vector>

using pymetal::pixel_format;

namespace {

constexpr const char* texture_kernels = R"(#include <metal_stdlib>
using namespace metal;
// Implicit indices: src is texture(0), dst texture(1), s sampler(0), gain buffer(0).
kernel void scale(texture2d<float> src, texture2d<float, access::write> dst, sampler s, constant float& gain,
                  uint2 p [[thread_position_in_grid]]) {
    float2 uv = (float2(p) + 0.5) / float2(src.get_width(), src.get_height());
    dst.write(src.sample(s, uv) * gain, p);
}
kernel void invert(texture2d<uint, access::read_write> t [[texture(3)]], uint2 p [[thread_position_in_grid]]) {
    t.write(uint4(255) - t.read(p), p);
}
)";

}  // namespace

TEST_CASE("a texture is made from a format and size and reports them") {
    auto t = metal_test::device().new_texture(pixel_format::rgba16_float, 20, 10);
    CHECK(t.width() == 20);
    CHECK(t.height() == 10);
    CHECK(t.depth() == 1);
    CHECK(t.format() == pixel_format::rgba16_float);
    CHECK(t.type() == pymetal::texture_type::type_2d);
    CHECK(t.pixel_size() == 8);
    CHECK(t.mipmap_levels() == 1);
}

TEST_CASE("upload and download move whole levels with the row pitch computed") {
    auto t = metal_test::device().new_texture(pixel_format::rgba8_uint, 3, 2);
    std::vector<std::uint8_t> pixels(3 * 2 * 4);
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(i * 7);
    t.upload(pixels);
    CHECK(t.download<std::uint8_t>() == pixels);
    CHECK(t.download<std::uint32_t>().size() == 6);
}

TEST_CASE("an upload whose element type or count does not fit the texture is refused") {
    auto t = metal_test::device().new_texture(pixel_format::rgba32_float, 2, 2);
    CHECK_THROWS_AS(t.upload(std::vector<std::uint32_t>(16)), pymetal::texture_error);  // integers into a float format
    CHECK_THROWS_AS(t.upload(std::vector<float>(15)), pymetal::texture_error);          // one short
    auto bytes = metal_test::device().new_texture(pixel_format::rgba8_unorm, 2, 2);
    CHECK_THROWS_AS(bytes.upload(std::vector<float>(4)), pymetal::texture_error);
    CHECK_THROWS_AS(bytes.upload(std::vector<double>(2)), pymetal::texture_error);     // 8 bytes do not divide 4
    std::uint8_t texel[4];
    CHECK_THROWS_AS(bytes.get({{1, 1, 0}, {2, 1, 1}}, texel), pymetal::texture_error);  // past the right edge
    CHECK_THROWS_AS(bytes.replace({{0, 0, 0}, {1, 1, 1}}, texel, 0, 1), pymetal::texture_error);  // no level 1
}

TEST_CASE("an unsupported format is a texture_error that says what was asked for") {
    pymetal::texture_descriptor d;
    d.format = static_cast<pixel_format>(500);
    try {
        metal_test::device().new_texture(d);
        FAIL("no exception");
    } catch (const pymetal::texture_error& e) {
        CHECK(metal_test::contains(e.what(), "format 500"));
    }
}

TEST_CASE("textures and samplers bind next to buffers, each in its own index space") {
    const auto& d = metal_test::device();
    auto library = d.compile(texture_kernels);
    auto src = d.new_texture(pixel_format::r32_float, 4, 4, pymetal::texture_usage::shader_read);
    std::vector<float> values(16);
    for (int i = 0; i < 16; ++i) values[i] = float(i);
    src.upload(values);
    auto dst = d.new_texture(pixel_format::r32_float, 4, 4);
    auto nearest = d.new_sampler({});
    library.kernel("scale").dispatch_threads({src, dst, nearest, pymetal::value(2.0f)}, {4, 4});
    std::vector<float> out = dst.download<float>();
    for (int i = 0; i < 16; ++i) CHECK(out[i] == 2.0f * values[i]);

    auto image = d.new_texture(pixel_format::rgba8_uint, 2, 1);
    image.upload(std::vector<std::uint8_t>{0, 1, 2, 3, 250, 251, 252, 253});
    library.kernel("invert").dispatch_threads({image.at(3)}, {2, 1});
    CHECK(image.download<std::uint8_t>() == std::vector<std::uint8_t>{255, 254, 253, 252, 5, 4, 3, 2});
}

TEST_CASE("two textures at one index, or an index past the table, are refused before dispatch") {
    const auto& d = metal_test::device();
    auto library = d.compile(texture_kernels);
    auto t = d.new_texture(pixel_format::rgba8_uint, 2, 1);
    CHECK_THROWS_AS(library.kernel("invert").dispatch_threads({t.at(3), t.at(3)}, {2, 1}), pymetal::dispatch_error);
    CHECK_THROWS_AS(library.kernel("invert").dispatch_threads({t.at(31)}, {2, 1}), pymetal::dispatch_error);
    CHECK_THROWS_AS(library.kernel("scale").dispatch_threads({t, t, d.new_sampler().at(16), pymetal::value(1.0f)}, {2, 1}),
                    pymetal::dispatch_error);
    CHECK_THROWS_AS(library.kernel("invert").dispatch_threads({pymetal::texture().at(3)}, {2, 1}), pymetal::dispatch_error);
}

TEST_CASE("a texture over a buffer shares the buffer's bytes") {
    const auto& d = metal_test::device();
    auto b = d.new_buffer<std::uint8_t>(64 * 2);
    pymetal::texture_descriptor desc;
    desc.format = pixel_format::r8_uint;
    desc.width = 16;
    desc.height = 2;
    auto t = d.new_texture(b, desc, 0, 64);
    CHECK(t.backing_buffer() == b);
    b.write<std::uint8_t>(64 + 5, 42);
    std::uint8_t texel = 0;
    t.get({{5, 1, 0}, {1, 1, 1}}, &texel);
    CHECK(texel == 42);
    CHECK_THROWS_AS(d.new_texture(b, desc, 0, 8), pymetal::texture_error);  // a row of 16 texels does not fit 8 bytes
}

namespace {

pymetal::texture mipmapped(pixel_format format, std::size_t width, std::size_t height, std::size_t levels) {
    pymetal::texture_descriptor d;
    d.format = format;
    d.width = width;
    d.height = height;
    d.mipmap_levels = levels;
    return metal_test::device().new_texture(d);
}

}  // namespace

TEST_CASE("a command_list copies textures to and from buffers and between textures, in order") {
    const auto& d = metal_test::device();
    auto source = d.new_texture(pixel_format::rgba8_unorm, 4, 3);
    std::vector<std::uint8_t> pixels(4 * 3 * 4);
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<std::uint8_t>(3 * i + 1);
    source.upload(pixels);
    auto rows = d.new_buffer<std::uint8_t>(64);
    auto back = d.new_texture(pixel_format::rgba8_unorm, 2, 2);
    auto region_copy = d.new_texture(pixel_format::rgba8_unorm, 4, 3);
    auto whole = d.new_texture(pixel_format::rgba8_unorm, 4, 3);
    pymetal::command_list(d)
        .copy(source, {{1, 1, 0}, {2, 2, 1}}, rows, {8, 12})   // 2 x 2 texels from (1, 1), rows 12 bytes apart from byte 8
        .copy(rows, {8, 12}, back, {{0, 0, 0}, {2, 2, 1}})    // and back into a 2 x 2 texture
        .copy(source, {{2, 0, 0}, {2, 3, 1}}, region_copy, {0, 0, 0})
        .copy(source, whole)
        .run();
    const auto r = rows.copy_out<std::uint8_t>();
    for (std::size_t y = 0; y < 2; ++y)
        for (std::size_t i = 0; i < 8; ++i) CHECK(r[8 + y * 12 + i] == pixels[((1 + y) * 4 + 1) * 4 + i]);
    const auto b = back.download<std::uint8_t>();
    for (std::size_t y = 0; y < 2; ++y)
        for (std::size_t i = 0; i < 8; ++i) CHECK(b[y * 8 + i] == pixels[((1 + y) * 4 + 1) * 4 + i]);
    const auto c = region_copy.download<std::uint8_t>();
    for (std::size_t y = 0; y < 3; ++y)
        for (std::size_t x = 0; x < 4; ++x)
            for (std::size_t ch = 0; ch < 4; ++ch)
                CHECK(c[(y * 4 + x) * 4 + ch] == (x < 2 ? pixels[(y * 4 + x + 2) * 4 + ch] : 0));
    CHECK(whole.download<std::uint8_t>() == pixels);
}

TEST_CASE("a command_list generates mipmaps as a box filter of each level above") {
    auto t = mipmapped(pixel_format::r32_float, 4, 2, 3);
    t.upload(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
    pymetal::command_list(metal_test::device()).generate_mipmaps(t).run();
    CHECK(t.download<float>(1) == std::vector<float>{(1 + 2 + 5 + 6) / 4.0f, (3 + 4 + 7 + 8) / 4.0f});
    CHECK(t.download<float>(2) == std::vector<float>{((1 + 2 + 5 + 6) / 4.0f + (3 + 4 + 7 + 8) / 4.0f) / 2.0f});
}

TEST_CASE("texture copies and mipmaps Metal would refuse are refused before anything is encoded") {
    const auto& d = metal_test::device();
    auto t = d.new_texture(pixel_format::rgba8_unorm, 4, 4);
    auto other = d.new_texture(pixel_format::r32_float, 4, 4);
    auto small = d.new_buffer<std::uint8_t>(16);
    pymetal::command_list list(d);
    CHECK_THROWS_AS(list.copy(t, {{3, 0, 0}, {2, 1, 1}}, small), pymetal::texture_error);           // past the right edge
    CHECK_THROWS_AS(list.copy(t, {{0, 0, 0}, {4, 4, 1}}, small), pymetal::buffer_error);            // 64 bytes into 16
    CHECK_THROWS_AS(list.copy(t, {{0, 0, 0}, {4, 1, 1}}, small, {0, 8}), pymetal::buffer_error);    // a row pitch under a row
    CHECK_THROWS_AS(list.copy(small, {2, 16}, t, {{0, 0, 0}, {1, 1, 1}}), pymetal::buffer_error);   // offset not in texels
    CHECK_THROWS_AS(list.copy(small, {~std::size_t{0} - 3, 16}, t, {{0, 0, 0}, {1, 1, 1}}), pymetal::buffer_error);  // overflow
    CHECK_THROWS_AS(list.copy(t, {{0, 0, 0}, {1, 1, 1}}, small, {}, {1, 0}), pymetal::texture_error);  // no level 1
    CHECK_THROWS_AS(list.copy(t, {{0, 0, 0}, {1, 1, 1}}, other, {0, 0, 0}), pymetal::texture_error);   // formats differ
    CHECK_THROWS_AS(list.copy(t, other), pymetal::texture_error);
    CHECK_THROWS_AS(list.generate_mipmaps(t), pymetal::texture_error);  // one level
    CHECK_THROWS_AS(list.generate_mipmaps(mipmapped(pixel_format::rgba8_uint, 4, 4, 2)), pymetal::texture_error);
}

TEST_CASE("a kernel's reflection lists its textures and sampler, and a texture left out is refused naming it") {
    const auto& d = metal_test::device();
    auto k = d.compile(texture_kernels).kernel("scale");
    const auto& args = k.arguments();
    REQUIRE(args.size() == 4);
    // gain: buffer(0), `constant float&`; src and dst: textures 0 and 1; s: sampler 0.
    CHECK(args[0].name == "gain");
    CHECK(args[0].type == pymetal::argument_type::buffer);
    CHECK(args[0].access == pymetal::argument_access::read_only);
    CHECK((args[0].data_size == 4 && args[0].alignment == 4 && args[0].data_type == 3));
    CHECK(args[1].name == "src");
    CHECK(args[1].type == pymetal::argument_type::texture);
    CHECK(args[1].index == 0);
    CHECK(args[1].access == pymetal::argument_access::read_only);
    CHECK(args[1].texture_type == static_cast<pymetal::ns_uinteger>(pymetal::texture_type::type_2d));
    CHECK(args[1].texture_data_type == 3);  // MTLDataTypeFloat
    CHECK(args[2].name == "dst");
    CHECK(args[2].index == 1);
    CHECK(args[2].access == pymetal::argument_access::write_only);
    CHECK(args[3].name == "s");
    CHECK(args[3].type == pymetal::argument_type::sampler);
    CHECK(args[3].index == 0);

    auto t = d.new_texture(pixel_format::r32_float, 2, 2);
    try {
        k.dispatch_threads({t, d.new_sampler(), pymetal::value(1.0f)}, {2, 2});
        FAIL("a missing texture was accepted");
    } catch (const pymetal::dispatch_error& e) {
        CHECK(metal_test::contains(e.what(), "the kernel's argument 'dst' [[texture(1)]] is not bound"));
    }
}
