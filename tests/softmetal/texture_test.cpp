// Textures and samplers through the Objective-C API: descriptors, replaceRegion/getBytes, kernels that
// read, write and sample every pixel format softmetal has, against host references of Metal's
// conversion and sampling rules, and the validation of texture and sampler bindings.
#include "softmetal_test_support.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace softmetal_test;
using pymetal::mtl_origin;
using pymetal::mtl_region;

namespace {

constexpr ns_uinteger usage_read = 1, usage_write = 2, usage_view = 0x10;
constexpr ns_uinteger type_1d = 0, type_1d_array = 1, type_2d = 2, type_2d_array = 3, type_3d = 7, type_buffer = 9;

// ---- host reference of Metal's pixel formats ---------------------------------------------------------

enum kind { unorm, snorm, uint_, sint, float_, srgb, rgb10a2, rg11b10 };
struct format {
    const char* name;
    ns_uinteger value;
    unsigned channels, bits;
    kind k;
    bool bgr = false;
};
const std::vector<format>& formats() {
    static const std::vector<format> all = {
        {"R8Unorm", 10, 1, 8, unorm},         {"R8Snorm", 12, 1, 8, snorm},        {"R8Uint", 13, 1, 8, uint_},
        {"RG8Unorm", 30, 2, 8, unorm},        {"RGBA8Unorm", 70, 4, 8, unorm},     {"RGBA8Unorm_sRGB", 71, 4, 8, srgb},
        {"BGRA8Unorm", 80, 4, 8, unorm, true}, {"RGBA8Uint", 73, 4, 8, uint_},     {"R16Float", 25, 1, 16, float_},
        {"RG16Float", 65, 2, 16, float_},     {"RGBA16Float", 115, 4, 16, float_}, {"R16Uint", 23, 1, 16, uint_},
        {"R16Sint", 24, 1, 16, sint},         {"RGBA16Unorm", 110, 4, 16, unorm},  {"R32Float", 55, 1, 32, float_},
        {"RG32Float", 105, 2, 32, float_},    {"RGBA32Float", 125, 4, 32, float_}, {"R32Uint", 53, 1, 32, uint_},
        {"R32Sint", 54, 1, 32, sint},         {"RG32Uint", 103, 2, 32, uint_},     {"RGBA32Uint", 123, 4, 32, uint_},
        {"RGBA32Sint", 124, 4, 32, sint},     {"RGB10A2Unorm", 90, 4, 32, rgb10a2}, {"RG11B10Float", 92, 3, 32, rg11b10},
        // Beyond the formats issue 9 lists: every other one softmetal accepts.
        {"R8Unorm_sRGB", 11, 1, 8, srgb},     {"R8Sint", 14, 1, 8, sint},          {"R16Unorm", 20, 1, 16, unorm},
        {"R16Snorm", 22, 1, 16, snorm},       {"RG8Unorm_sRGB", 31, 2, 8, srgb},   {"RG8Snorm", 32, 2, 8, snorm},
        {"RG8Uint", 33, 2, 8, uint_},         {"RG8Sint", 34, 2, 8, sint},         {"RG16Unorm", 60, 2, 16, unorm},
        {"RG16Snorm", 62, 2, 16, snorm},      {"RG16Uint", 63, 2, 16, uint_},      {"RG16Sint", 64, 2, 16, sint},
        {"RGBA8Snorm", 72, 4, 8, snorm},      {"RGBA8Sint", 74, 4, 8, sint},       {"BGRA8Unorm_sRGB", 81, 4, 8, srgb, true},
        {"RG32Sint", 104, 2, 32, sint},       {"RGBA16Snorm", 112, 4, 16, snorm},  {"RGBA16Uint", 113, 4, 16, uint_},
        {"RGBA16Sint", 114, 4, 16, sint},
    };
    return all;
}
unsigned pixel_bytes(const format& f) { return f.k == rgb10a2 || f.k == rg11b10 ? 4 : f.channels * f.bits / 8; }

float half_to_float(std::uint16_t h) {
    const unsigned s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    float v = e == 0 ? std::ldexp(float(m), -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(float(m | 1024), int(e) - 25);
    return s ? -v : v;
}
std::uint16_t float_to_half(float f) {  // round to nearest even, through the hardware's conversion
    _Float16 h = static_cast<_Float16>(f);
    std::uint16_t bits;
    std::memcpy(&bits, &h, 2);
    return bits;
}
float small_float(unsigned v, unsigned mbits) {
    const unsigned e = v >> mbits, m = v & ((1u << mbits) - 1);
    if (e == 0) return std::ldexp(float(m), -14 - int(mbits));
    if (e == 31) return m ? NAN : INFINITY;
    return std::ldexp(float(m + (1u << mbits)), int(e) - 15 - int(mbits));
}
// Nearest representable unsigned small float, ties to even mantissa; negatives and NaN-free input only.
unsigned to_small_float(float f, unsigned mbits) {
    if (std::isnan(f)) return (31u << mbits) | 1u;  // a NaN stays a NaN
    if (!(f > 0)) return 0;
    unsigned best = 0;
    double best_error = INFINITY;
    for (unsigned v = 0; v < (31u << mbits); ++v) {  // exhaustive: 1984 or 992 candidates
        const double err = std::fabs(double(small_float(v, mbits)) - double(f));
        if (err < best_error || (err == best_error && (v & 1) == 0)) best_error = err, best = v;
    }
    return best;
}
float srgb_to_linear(float c) { return c <= 0.04045f ? c / 12.92f : std::pow((c + 0.055f) / 1.055f, 2.4f); }
float linear_to_srgb(float l) {
    if (!(l > 0)) return 0;
    if (l >= 1) return 1;
    return l <= 0.0031308f ? 12.92f * l : 1.055f * std::pow(l, 1 / 2.4f) - 0.055f;
}

std::uint32_t raw(const unsigned char* p, unsigned bits, unsigned c) {
    std::uint32_t v = 0;
    std::memcpy(&v, p + c * bits / 8, bits / 8);
    return v;
}
void put(unsigned char* p, unsigned bits, unsigned c, std::uint32_t v) { std::memcpy(p + c * bits / 8, &v, bits / 8); }
std::int32_t sext(std::uint32_t v, unsigned bits) { return bits == 32 ? std::int32_t(v) : std::int32_t(v << (32 - bits)) >> (32 - bits); }

// What read() returns for a float/half texture: 4 floats, missing channels (0, 0, 0, 1).
std::array<float, 4> decode(const format& f, const unsigned char* p) {
    std::array<float, 4> r{0, 0, 0, 1};
    if (f.k == rgb10a2) {
        const std::uint32_t v = raw(p, 32, 0);
        return {(v & 1023) / 1023.0f, ((v >> 10) & 1023) / 1023.0f, ((v >> 20) & 1023) / 1023.0f, (v >> 30) / 3.0f};
    }
    if (f.k == rg11b10) {
        const std::uint32_t v = raw(p, 32, 0);
        return {small_float(v & 2047, 6), small_float((v >> 11) & 2047, 6), small_float(v >> 22, 5), 1.0f};
    }
    for (unsigned c = 0; c < f.channels; ++c) {
        const std::uint32_t v = raw(p, f.bits, c);
        const float max = float((1ull << f.bits) - 1), smax = float((1ull << (f.bits - 1)) - 1);
        switch (f.k) {
        case unorm: r[c] = v / max; break;
        case srgb: r[c] = c == 3 ? v / 255.0f : srgb_to_linear(v / 255.0f); break;
        case snorm: r[c] = std::max(sext(v, f.bits) / smax, -1.0f); break;
        case float_: r[c] = f.bits == 16 ? half_to_float(std::uint16_t(v)) : [&] { float x; std::memcpy(&x, &v, 4); return x; }(); break;
        default: break;
        }
    }
    if (f.bgr) std::swap(r[0], r[2]);
    return r;
}
std::uint32_t to_unorm(float x, unsigned bits) {
    const float max = float((1ull << bits) - 1);
    return !(x > 0) ? 0 : x >= 1 ? std::uint32_t(max) : std::uint32_t(std::nearbyint(x * max));
}
// What write() stores for float values.
void encode(const format& f, unsigned char* p, std::array<float, 4> v) {
    if (f.k == rgb10a2) {
        put(p, 32, 0, to_unorm(v[0], 10) | to_unorm(v[1], 10) << 10 | to_unorm(v[2], 10) << 20 | to_unorm(v[3], 2) << 30);
        return;
    }
    if (f.k == rg11b10) {
        put(p, 32, 0, to_small_float(v[0], 6) | to_small_float(v[1], 6) << 11 | to_small_float(v[2], 5) << 22);
        return;
    }
    if (f.bgr) std::swap(v[0], v[2]);
    for (unsigned c = 0; c < f.channels; ++c) {
        const float x = v[c];
        std::uint32_t bits = 0;
        switch (f.k) {
        case unorm: bits = to_unorm(x, f.bits); break;
        case srgb: bits = to_unorm(c == 3 ? x : linear_to_srgb(x), 8); break;
        case snorm: {
            const float smax = float((1ull << (f.bits - 1)) - 1);
            bits = std::uint32_t(std::int32_t(std::nearbyint(std::clamp(x, -1.0f, 1.0f) * smax))) & ((1u << f.bits) - 1);
            break;
        }
        case float_: bits = f.bits == 16 ? float_to_half(x) : [&] { std::uint32_t b; std::memcpy(&b, &x, 4); return b; }(); break;
        default: break;
        }
        put(p, f.bits, c, bits);
    }
}

// Valid pixels of `f` (no NaN or infinity in float formats), deterministic.
std::vector<unsigned char> random_pixels(const format& f, std::size_t count, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<unsigned char> bytes(count * pixel_bytes(f));
    for (auto& b : bytes) b = static_cast<unsigned char>(rng());
    for (std::size_t i = 0; i < count; ++i) {
        unsigned char* p = bytes.data() + i * pixel_bytes(f);
        if (f.k == float_) {
            std::uniform_real_distribution<float> value(-100.0f, 100.0f);
            for (unsigned c = 0; c < f.channels; ++c) {
                const float x = value(rng);
                if (f.bits == 16) put(p, 16, c, float_to_half(x));
                else std::memcpy(p + 4 * c, &x, 4);
            }
        } else if (f.k == rg11b10) {
            std::uniform_int_distribution<unsigned> e(0, 30), m(0, 63);
            const unsigned r = e(rng) << 6 | m(rng), g = e(rng) << 6 | m(rng), b = e(rng) << 5 | (m(rng) & 31);
            put(p, 32, 0, r | g << 11 | b << 22);
        }
    }
    return bytes;
}

// ---- objects --------------------------------------------------------------------------------------------

// Metal's classes exist once the framework is loaded; softmetal registers them with its first device.
Class metal_class(const char* name) {
    (void)device();
    return pymetal::class_named(name);
}

object descriptor_2d(ns_uinteger format, ns_uinteger width, ns_uinteger height, bool mipmapped = false) {
    id d = msg_send<id(ns_uinteger, ns_uinteger, ns_uinteger, objc_bool)>(
        metal_class("MTLTextureDescriptor"), "texture2DDescriptorWithPixelFormat:width:height:mipmapped:", format, width,
        height, mipmapped ? objc_bool(1) : objc_bool(0));
    return object::retain(d);
}
object new_descriptor() {
    return object::adopt(msg_send<id()>(msg_send<id()>(metal_class("MTLTextureDescriptor"), "alloc"), "init"));
}
void set(id d, const char* setter, ns_uinteger value) { msg_send<void(ns_uinteger)>(d, setter, value); }
ns_uinteger get(id d, const char* getter) { return msg_send<ns_uinteger()>(d, getter); }
object new_texture(id descriptor) { return object::adopt(msg_send<id(id)>(device(), "newTextureWithDescriptor:", descriptor)); }

object texture_2d(ns_uinteger format, ns_uinteger width, ns_uinteger height, ns_uinteger usage = usage_read | usage_write) {
    object d = descriptor_2d(format, width, height);
    set(d.get(), "setUsage:", usage);
    return new_texture(d.get());
}

mtl_region region(ns_uinteger x, ns_uinteger y, ns_uinteger w, ns_uinteger h, ns_uinteger z = 0, ns_uinteger d = 1) {
    return mtl_region{mtl_origin{x, y, z}, mtl_size{w, h, d}};
}
void replace(id texture, mtl_region r, const void* bytes, ns_uinteger bytes_per_row, ns_uinteger level = 0) {
    msg_send<void(mtl_region, ns_uinteger, const void*, ns_uinteger)>(texture, "replaceRegion:mipmapLevel:withBytes:bytesPerRow:", r,
                                                                      level, bytes, bytes_per_row);
}
void get_bytes(id texture, void* bytes, ns_uinteger bytes_per_row, mtl_region r, ns_uinteger level = 0) {
    msg_send<void(void*, ns_uinteger, mtl_region, ns_uinteger)>(texture, "getBytes:bytesPerRow:fromRegion:mipmapLevel:", bytes,
                                                                bytes_per_row, r, level);
}
void set_texture(id encoder, id texture, ns_uinteger index) {
    msg_send<void(id, ns_uinteger)>(encoder, "setTexture:atIndex:", texture, index);
}
void set_sampler(id encoder, id sampler, ns_uinteger index) {
    msg_send<void(id, ns_uinteger)>(encoder, "setSamplerState:atIndex:", sampler, index);
}

struct sampler_settings {
    ns_uinteger min_filter = 0, mag_filter = 0, mip_filter = 0, address = 0, border = 0;
    bool normalized = true;
};
object new_sampler(const sampler_settings& s) {
    object d = object::adopt(msg_send<id()>(msg_send<id()>(metal_class("MTLSamplerDescriptor"), "alloc"), "init"));
    set(d.get(), "setMinFilter:", s.min_filter);
    set(d.get(), "setMagFilter:", s.mag_filter);
    set(d.get(), "setMipFilter:", s.mip_filter);
    set(d.get(), "setSAddressMode:", s.address);
    set(d.get(), "setTAddressMode:", s.address);
    set(d.get(), "setRAddressMode:", s.address);
    set(d.get(), "setBorderColor:", s.border);
    msg_send<void(objc_bool)>(d.get(), "setNormalizedCoordinates:", objc_bool(s.normalized ? 1 : 0));
    return object::adopt(msg_send<id(id)>(device(), "newSamplerStateWithDescriptor:", d.get()));
}

std::string error_text(id command_buffer) {
    id error = msg_send<id()>(command_buffer, "error");
    return error ? error_description(error) : std::string();
}

constexpr const char* round_trip_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void read_f(texture2d<float, access::read> t [[texture(0)]], device float4* out [[buffer(0)]], uint2 p [[thread_position_in_grid]]) {
    out[p.y * t.get_width() + p.x] = t.read(p);
}
kernel void read_u(texture2d<uint, access::read> t [[texture(0)]], device uint4* out [[buffer(0)]], uint2 p [[thread_position_in_grid]]) {
    out[p.y * t.get_width() + p.x] = t.read(p);
}
kernel void read_i(texture2d<int, access::read> t [[texture(0)]], device int4* out [[buffer(0)]], uint2 p [[thread_position_in_grid]]) {
    out[p.y * t.get_width() + p.x] = t.read(p);
}
kernel void write_f(texture2d<float, access::write> t [[texture(0)]], device const float4* in [[buffer(0)]], uint2 p [[thread_position_in_grid]]) {
    t.write(in[p.y * t.get_width() + p.x], p);
}
kernel void write_u(texture2d<uint, access::write> t [[texture(0)]], device const uint4* in [[buffer(0)]], uint2 p [[thread_position_in_grid]]) {
    t.write(in[p.y * t.get_width() + p.x], p);
}
kernel void write_i(texture2d<int, access::write> t [[texture(0)]], device const int4* in [[buffer(0)]], uint2 p [[thread_position_in_grid]]) {
    t.write(in[p.y * t.get_width() + p.x], p);
}
)";

bool same_float(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b || std::fabs(a - b) <= 1e-6f * std::fabs(b); }

}  // namespace

TEST_CASE("a texture descriptor starts with Metal's defaults and its class constructors fill it") {
    autorelease_pool pool;
    object d = new_descriptor();
    CHECK(get(d.get(), "textureType") == type_2d);
    CHECK(get(d.get(), "pixelFormat") == 70);
    CHECK(get(d.get(), "width") == 1);
    CHECK(get(d.get(), "height") == 1);
    CHECK(get(d.get(), "depth") == 1);
    CHECK(get(d.get(), "mipmapLevelCount") == 1);
    CHECK(get(d.get(), "arrayLength") == 1);
    CHECK(get(d.get(), "usage") == usage_read);
    object mip = descriptor_2d(55, 100, 37, true);
    CHECK(get(mip.get(), "mipmapLevelCount") == 7);  // 100, 50, 25, 12, 6, 3, 1
    CHECK(get(mip.get(), "width") == 100);
    CHECK(get(mip.get(), "height") == 37);
    id buffer_descriptor = msg_send<id(ns_uinteger, ns_uinteger, ns_uinteger, ns_uinteger)>(
        metal_class("MTLTextureDescriptor"), "textureBufferDescriptorWithPixelFormat:width:resourceOptions:usage:", 125, 64, 0,
        usage_read | usage_write);
    CHECK(get(buffer_descriptor, "textureType") == type_buffer);
    CHECK(get(buffer_descriptor, "width") == 64);
    CHECK(get(buffer_descriptor, "usage") == (usage_read | usage_write));
}

TEST_CASE("a texture reports the descriptor it was made from") {
    autorelease_pool pool;
    object d = descriptor_2d(115, 33, 17, true);
    object t = new_texture(d.get());
    REQUIRE(t);
    CHECK(get(t.get(), "textureType") == type_2d);
    CHECK(get(t.get(), "pixelFormat") == 115);
    CHECK(get(t.get(), "width") == 33);
    CHECK(get(t.get(), "height") == 17);
    CHECK(get(t.get(), "mipmapLevelCount") == 6);
    CHECK(get(t.get(), "arrayLength") == 1);
    CHECK(msg_send<id()>(t.get(), "device") == device());
    CHECK(msg_send<id()>(t.get(), "buffer") == nullptr);
}

TEST_CASE("an unsupported pixel format, type or size gives a nil texture") {
    autorelease_pool pool;
    object d = descriptor_2d(500, 4, 4);  // ASTC and friends: not softmetal's
    CHECK_FALSE(new_texture(d.get()));
    object cube = descriptor_2d(70, 4, 4);
    set(cube.get(), "setTextureType:", 5);
    CHECK_FALSE(new_texture(cube.get()));
    object huge = descriptor_2d(70, 1u << 20, 4);
    CHECK_FALSE(new_texture(huge.get()));
    object zero = descriptor_2d(70, 0, 4);
    CHECK_FALSE(new_texture(zero.get()));
    object too_many_levels = descriptor_2d(70, 4, 4);
    set(too_many_levels.get(), "setMipmapLevelCount:", 4);
    CHECK_FALSE(new_texture(too_many_levels.get()));
}

TEST_CASE("every pixel format round-trips its bytes through replaceRegion and getBytes") {
    autorelease_pool pool;
    for (const format& f : formats()) {
        INFO(f.name);
        const unsigned pb = pixel_bytes(f);
        object t = texture_2d(f.value, 7, 5);
        REQUIRE(t);
        std::vector<unsigned char> pixels = random_pixels(f, 7 * 5, 1);
        replace(t.get(), region(0, 0, 7, 5), pixels.data(), 7 * pb);
        std::vector<unsigned char> back(7 * 5 * pb, 0xEE);
        get_bytes(t.get(), back.data(), 7 * pb, region(0, 0, 7, 5));
        CHECK(back == pixels);
        // A sub-region with a padded row pitch lands where it says.
        std::vector<unsigned char> patch(2 * 3 * pb * 2, 0x5A);
        replace(t.get(), region(4, 1, 3, 2), patch.data(), 3 * pb * 2);
        get_bytes(t.get(), back.data(), 7 * pb, region(0, 0, 7, 5));
        for (unsigned y = 0; y < 5; ++y)
            for (unsigned x = 0; x < 7; ++x) {
                const bool in_patch = x >= 4 && y >= 1 && y < 3;
                const unsigned char* got = back.data() + (y * 7 + x) * pb;
                if (in_patch) CHECK(got[0] == 0x5A);
                else CHECK(std::memcmp(got, pixels.data() + (y * 7 + x) * pb, pb) == 0);
            }
    }
}

TEST_CASE("a region outside the texture is refused and changes nothing") {
    autorelease_pool pool;
    object t = texture_2d(13, 4, 4);
    std::vector<unsigned char> zeros(64, 0), ones(64, 1), back(16, 9);
    replace(t.get(), region(0, 0, 4, 4), zeros.data(), 4);
    replace(t.get(), region(2, 2, 3, 1), ones.data(), 4);              // past the right edge
    replace(t.get(), region(0, 0, 4, 4), ones.data(), 4, 1);           // no level 1
    replace(t.get(), region(~ns_uinteger{0}, 0, 2, 1), ones.data(), 4);  // origin + size overflows
    replace(t.get(), region(0, 0, 4, 4), ones.data(), 2);              // bytesPerRow shorter than a row
    replace(t.get(), region(0, 0, 4, 4), ones.data(), ~ns_uinteger{0} / 2);  // rows that overflow the address space
    get_bytes(t.get(), back.data(), 4, region(0, 0, 4, 4));
    CHECK(back == std::vector<unsigned char>(16, 0));
    std::vector<unsigned char> untouched(16, 7);
    get_bytes(t.get(), untouched.data(), 4, region(1, 1, 4, 4));       // reading past the edge is refused too
    CHECK(untouched == std::vector<unsigned char>(16, 7));
}

TEST_CASE("every pixel format converts in kernel reads and writes as Metal's conversion rules say") {
    autorelease_pool pool;
    object queue = new_queue();
    object read_f = pipeline_for(round_trip_source, "read_f"), read_u = pipeline_for(round_trip_source, "read_u"),
           read_i = pipeline_for(round_trip_source, "read_i"), write_f = pipeline_for(round_trip_source, "write_f"),
           write_u = pipeline_for(round_trip_source, "write_u"), write_i = pipeline_for(round_trip_source, "write_i");
    constexpr unsigned w = 9, h = 4, n = w * h;
    for (const format& f : formats()) {
        INFO(f.name);
        const unsigned pb = pixel_bytes(f);
        const bool is_uint = f.k == uint_, is_sint = f.k == sint;
        object in = texture_2d(f.value, w, h), out = texture_2d(f.value, w, h);
        std::vector<unsigned char> pixels = random_pixels(f, n, 2);
        replace(in.get(), region(0, 0, w, h), pixels.data(), w * pb);
        object values = new_buffer(n * 16);
        object cb = run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, (is_uint ? read_u : is_sint ? read_i : read_f).get());
            set_texture(encoder, in.get(), 0);
            set_buffer(encoder, values.get(), 0, 0);
            dispatch_threads(encoder, {w, h, 1}, {4, 4, 1});
            set_pipeline(encoder, (is_uint ? write_u : is_sint ? write_i : write_f).get());
            set_texture(encoder, out.get(), 0);
            dispatch_threads(encoder, {w, h, 1}, {4, 4, 1});
        });
        REQUIRE(status_of(cb.get()) == status_completed);
        std::vector<unsigned char> written(n * pb);
        get_bytes(out.get(), written.data(), w * pb, region(0, 0, w, h));
        for (unsigned i = 0; i < n; ++i) {
            const unsigned char* p = pixels.data() + i * pb;
            if (is_uint || is_sint) {
                const std::uint32_t* got = contents<std::uint32_t>(values.get()) + 4 * i;
                for (unsigned c = 0; c < 4; ++c) {
                    const std::uint32_t expected = c < f.channels ? (is_sint ? std::uint32_t(sext(raw(p, f.bits, c), f.bits)) : raw(p, f.bits, c))
                                                                  : (c == 3 ? 1u : 0u);
                    CHECK(got[c] == expected);
                }
                CHECK(std::memcmp(written.data() + i * pb, p, pb) == 0);  // integers come back bit for bit
            } else {
                const float* got = contents<float>(values.get()) + 4 * i;
                const std::array<float, 4> expected = decode(f, p);
                for (unsigned c = 0; c < 4; ++c) {
                    INFO("pixel " << i << " channel " << c);
                    if (f.k == srgb) CHECK(std::fabs(got[c] - expected[c]) <= 1e-6f);
                    else CHECK(same_float(got[c], expected[c]));
                }
                std::vector<unsigned char> reference(pb);
                encode(f, reference.data(), {got[0], got[1], got[2], got[3]});
                INFO("pixel " << i);
                CHECK(std::memcmp(written.data() + i * pb, reference.data(), pb) == 0);
            }
        }
    }
}

TEST_CASE("float writes clamp and round as Metal's conversion rules say") {
    autorelease_pool pool;
    object queue = new_queue();
    object write_f = pipeline_for(round_trip_source, "write_f");
    const std::vector<float> values = {-0.5f, 0.0f, 0.5f, 1.5f, 0.25f, 1.0f / 510.0f, NAN, 2.0f};
    for (ns_uinteger format_value : {ns_uinteger{70}, ns_uinteger{71}, ns_uinteger{90}, ns_uinteger{92}}) {
        const format& f = *std::find_if(formats().begin(), formats().end(), [&](const format& x) { return x.value == format_value; });
        INFO(f.name);
        object t = texture_2d(f.value, 2, 1);
        object in = buffer_with(values);
        object cb = run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, write_f.get());
            set_texture(encoder, t.get(), 0);
            set_buffer(encoder, in.get(), 0, 0);
            dispatch_threads(encoder, {2, 1, 1}, {2, 1, 1});
        });
        REQUIRE(status_of(cb.get()) == status_completed);
        std::vector<unsigned char> got(8), expected(8);
        get_bytes(t.get(), got.data(), 8, region(0, 0, 2, 1));
        for (int i = 0; i < 2; ++i)
            encode(f, expected.data() + 4 * i, {values[4 * i], values[4 * i + 1], values[4 * i + 2], values[4 * i + 3]});
        CHECK(got == expected);
    }
}

TEST_CASE("reads outside a texture return zero and writes outside it are dropped") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
kernel void edges(texture2d<float, access::read_write> t [[texture(0)]], device float4* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    uint2 far = uint2(t.get_width() + i, t.get_height() * 1000 + i);
    out[i] = t.read(far) + t.read(uint2(0, t.get_height())) + t.read(uint2(0, 0), 3);
    t.write(float4(0.25), far);
    t.write(float4(0.25), uint2(0, 0), 1);
}
)", "edges");
    object t = texture_2d(125, 4, 4);
    std::vector<float> ones(64, 1.0f);
    replace(t.get(), region(0, 0, 4, 4), ones.data(), 64);
    object out = new_buffer(8 * 16);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_texture(encoder, t.get(), 0);
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threads(encoder, {8, 1, 1}, {8, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    for (int i = 0; i < 32; ++i) CHECK(contents<float>(out.get())[i] == 0.0f);
    std::vector<float> back(64);
    get_bytes(t.get(), back.data(), 64, region(0, 0, 4, 4));
    CHECK(back == ones);
}

namespace {

// ---- host reference sampler -----------------------------------------------------------------------------

int wrap(int i, int n, ns_uinteger mode) {
    switch (mode) {
    case 0: return std::clamp(i, 0, n - 1);
    case 1: return std::min(i < 0 ? -1 - i : i, n - 1);
    case 2: return ((i % n) + n) % n;
    case 3: {
        const int m = ((i % (2 * n)) + 2 * n) % (2 * n);
        return m >= n ? 2 * n - 1 - m : m;
    }
    default: return i < 0 || i >= n ? -1 : i;
    }
}
// RGBA32Float texture of w x h texels (levels as given), one level, sampled at (u, v).
std::array<float, 4> reference_sample(const std::vector<float>& texels, int w, int h, const sampler_settings& s, float u, float v) {
    if (s.normalized) u *= w, v *= h;
    const bool linear = s.mag_filter == 1;
    if (linear) u -= 0.5f, v -= 0.5f;
    const int i0 = int(std::floor(u)), j0 = int(std::floor(v));
    const float a = linear ? u - std::floor(u) : 0, b = linear ? v - std::floor(v) : 0;
    std::array<float, 4> sum{};
    for (int k = 0; k < (linear ? 4 : 1); ++k) {
        const int di = k & 1, dj = k >> 1;
        const float weight = (di ? a : 1 - a) * (dj ? b : 1 - b);
        if (weight == 0) continue;
        const int x = wrap(i0 + di, w, s.address), y = wrap(j0 + dj, h, s.address);
        std::array<float, 4> c{};
        if (x < 0 || y < 0) {
            c = s.address == 5 ? (s.border == 2 ? std::array<float, 4>{1, 1, 1, 1} : s.border == 1 ? std::array<float, 4>{0, 0, 0, 1}
                                                                                                    : std::array<float, 4>{})
                               : std::array<float, 4>{};
        } else {
            for (int ch = 0; ch < 4; ++ch) c[ch] = texels[(y * w + x) * 4 + ch];
        }
        for (int ch = 0; ch < 4; ++ch) sum[ch] += c[ch] * weight;
    }
    return sum;
}

constexpr const char* sample_source = R"(#include <metal_stdlib>
using namespace metal;
kernel void sample_at(texture2d<float> t [[texture(0)]], sampler s [[sampler(0)]], device const float2* at [[buffer(0)]],
                      device float4* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = t.sample(s, at[i]);
}
kernel void sample_level(texture2d<float> t [[texture(0)]], sampler s [[sampler(0)]], device const float* lod [[buffer(0)]],
                         device float4* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    out[i] = t.sample(s, float2(0.5, 0.5), level(lod[i]));
}
kernel void constexpr_sampler(texture2d<float> t [[texture(0)]], device const float2* at [[buffer(0)]],
                              device float4* out [[buffer(1)]], uint i [[thread_position_in_grid]]) {
    constexpr sampler s(coord::normalized, address::repeat, filter::linear);
    out[i] = t.sample(s, at[i]);
}
)";

}  // namespace

TEST_CASE("sampling matches a reference sampler for every filter, address mode and coordinate space") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(sample_source, "sample_at");
    constexpr int w = 4, h = 3;
    std::vector<float> texels(w * h * 4);
    for (std::size_t i = 0; i < texels.size(); ++i) texels[i] = float(i % 7) * 0.125f + float(i / 4);
    object t = texture_2d(125, w, h, usage_read);
    replace(t.get(), region(0, 0, w, h), texels.data(), w * 16);
    // Corners, edges, outside on every side, centres and in-between points.
    std::vector<float> normalized_at, pixel_at;
    for (float u : {-1.3f, -0.1f, 0.0f, 0.1f, 0.125f, 0.37f, 0.5f, 0.875f, 0.99f, 1.0f, 1.2f, 2.6f})
        for (float v : {-0.7f, 0.0f, 0.1667f, 0.5f, 0.8f, 1.0f, 1.4f}) {
            normalized_at.push_back(u);
            normalized_at.push_back(v);
            pixel_at.push_back(u * w);
            pixel_at.push_back(v * h);
        }
    const ns_uinteger count = normalized_at.size() / 2;
    for (ns_uinteger filter : {0u, 1u})
        for (ns_uinteger address : {0u, 1u, 2u, 3u, 4u, 5u})
            for (ns_uinteger border : {0u, 2u})
                for (bool normalized : {true, false}) {
                    if (!normalized && address != 0 && address != 4) continue;  // Metal allows only these with pixel coordinates
                    if (border && address != 5) continue;
                    sampler_settings settings{filter, filter, 0, address, border, normalized};
                    INFO("filter " << filter << " address " << address << " border " << border << " normalized " << normalized);
                    object s = new_sampler(settings);
                    REQUIRE(s);
                    object at = buffer_with(normalized ? normalized_at : pixel_at);
                    object out = new_buffer(count * 16);
                    object cb = run_encoded(queue.get(), [&](id encoder) {
                        set_pipeline(encoder, pipeline.get());
                        set_texture(encoder, t.get(), 0);
                        set_sampler(encoder, s.get(), 0);
                        set_buffer(encoder, at.get(), 0, 0);
                        set_buffer(encoder, out.get(), 0, 1);
                        dispatch_threads(encoder, {count, 1, 1}, {32, 1, 1});
                    });
                    REQUIRE(status_of(cb.get()) == status_completed);
                    const std::vector<float>& coords = normalized ? normalized_at : pixel_at;
                    for (ns_uinteger i = 0; i < count; ++i) {
                        const auto expected = reference_sample(texels, w, h, settings, coords[2 * i], coords[2 * i + 1]);
                        INFO("at (" << coords[2 * i] << ", " << coords[2 * i + 1] << ")");
                        for (int c = 0; c < 4; ++c) CHECK(std::fabs(contents<float>(out.get())[4 * i + c] - expected[c]) <= 1e-4f);
                    }
                }
}

TEST_CASE("a constexpr sampler declared in the kernel samples like the same sampler state") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(sample_source, "constexpr_sampler");
    constexpr int w = 3, h = 2;
    std::vector<float> texels(w * h * 4);
    for (std::size_t i = 0; i < texels.size(); ++i) texels[i] = float(i);
    object t = texture_2d(125, w, h, usage_read);
    replace(t.get(), region(0, 0, w, h), texels.data(), w * 16);
    const std::vector<float> at = {0.0f, 0.0f, 0.9f, 0.1f, -0.2f, 1.3f, 0.5f, 0.5f};
    object at_buffer = buffer_with(at);
    object out = new_buffer(4 * 16);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_texture(encoder, t.get(), 0);
        set_buffer(encoder, at_buffer.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {4, 1, 1}, {4, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    sampler_settings repeat_linear{1, 1, 0, 2, 0, true};
    for (int i = 0; i < 4; ++i) {
        const auto expected = reference_sample(texels, w, h, repeat_linear, at[2 * i], at[2 * i + 1]);
        for (int c = 0; c < 4; ++c) CHECK(std::fabs(contents<float>(out.get())[4 * i + c] - expected[c]) <= 1e-4f);
    }
}

TEST_CASE("sampling picks and blends mip levels as the mip filter says") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(sample_source, "sample_level");
    object d = descriptor_2d(55, 4, 4, true);  // R32Float, levels 4x4, 2x2, 1x1
    object t = new_texture(d.get());
    REQUIRE(get(t.get(), "mipmapLevelCount") == 3);
    for (ns_uinteger level = 0; level < 3; ++level) {
        const ns_uinteger size = 4 >> level;
        std::vector<float> value(size * size, float(10 * (level + 1)));
        replace(t.get(), region(0, 0, size, size), value.data(), size * 4, level);
    }
    const std::vector<float> lods = {0.0f, 0.4f, 0.6f, 1.0f, 1.25f, 2.0f, 7.0f, -1.0f};
    object lod_buffer = buffer_with(lods);
    for (ns_uinteger mip_filter : {0u, 1u, 2u}) {
        INFO("mip filter " << mip_filter);
        object s = new_sampler({1, 1, mip_filter, 0, 0, true});
        object out = new_buffer(lods.size() * 16);
        object cb = run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, pipeline.get());
            set_texture(encoder, t.get(), 0);
            set_sampler(encoder, s.get(), 0);
            set_buffer(encoder, lod_buffer.get(), 0, 0);
            set_buffer(encoder, out.get(), 0, 1);
            dispatch_threads(encoder, {lods.size(), 1, 1}, {8, 1, 1});
        });
        REQUIRE(status_of(cb.get()) == status_completed);
        for (std::size_t i = 0; i < lods.size(); ++i) {
            const float lod = std::clamp(lods[i], 0.0f, 2.0f);
            float expected = 10;
            if (mip_filter == 1) expected = 10 * (std::nearbyint(lod) + 1);
            if (mip_filter == 2) expected = 10 * (lod + 1);
            INFO("lod " << lods[i]);
            CHECK(std::fabs(contents<float>(out.get())[4 * i] - expected) <= 1e-4f);
        }
    }
}

TEST_CASE("a missing texture or sampler, a wrong texture type or a write without ShaderWrite fails the command buffer naming the binding") {
    autorelease_pool pool;
    object queue = new_queue();
    object read_f = pipeline_for(round_trip_source, "read_f");
    object write_f = pipeline_for(round_trip_source, "write_f");
    object sample = pipeline_for(sample_source, "sample_at");
    object out = new_buffer(4096);
    object plain = texture_2d(125, 4, 4, usage_read);
    object d3 = new_descriptor();
    set(d3.get(), "setTextureType:", type_3d);
    set(d3.get(), "setPixelFormat:", 125);
    set(d3.get(), "setDepth:", 2);
    object volume = new_texture(d3.get());
    REQUIRE(volume);
    auto run = [&](id pipeline, id texture, id sampler) {
        return run_encoded(queue.get(), [&](id encoder) {
            set_pipeline(encoder, pipeline);
            if (texture) set_texture(encoder, texture, 0);
            if (sampler) set_sampler(encoder, sampler, 0);
            set_buffer(encoder, out.get(), 0, 0);
            set_buffer(encoder, out.get(), 0, 1);
            dispatch_threads(encoder, {4, 4, 1}, {4, 4, 1});
        });
    };
    object missing = run(read_f.get(), nullptr, nullptr);
    CHECK(status_of(missing.get()) == status_error);
    CHECK(error_text(missing.get()).find("texture(0)") != std::string::npos);
    object wrong_type = run(read_f.get(), volume.get(), nullptr);
    CHECK(status_of(wrong_type.get()) == status_error);
    CHECK(error_text(wrong_type.get()).find("texture3d") != std::string::npos);
    object read_only = run(write_f.get(), plain.get(), nullptr);
    CHECK(status_of(read_only.get()) == status_error);
    CHECK(error_text(read_only.get()).find("MTLTextureUsageShaderWrite") != std::string::npos);
    object no_sampler = run(sample.get(), plain.get(), nullptr);
    CHECK(status_of(no_sampler.get()) == status_error);
    CHECK(error_text(no_sampler.get()).find("sampler(0)") != std::string::npos);
}

TEST_CASE("a buffer-backed texture shares its bytes with the buffer") {
    autorelease_pool pool;
    object queue = new_queue();
    object write_f = pipeline_for(round_trip_source, "write_f");
    constexpr ns_uinteger w = 5, h = 3, row = 32, offset = 64;  // RGBA8Unorm: 20 bytes of pixels per 32-byte row
    object buffer = new_buffer(offset + row * h);
    object d = descriptor_2d(70, w, h);
    set(d.get(), "setUsage:", usage_read | usage_write);
    object t = object::adopt(msg_send<id(id, ns_uinteger, ns_uinteger)>(buffer.get(), "newTextureWithDescriptor:offset:bytesPerRow:",
                                                                        d.get(), offset, row));
    REQUIRE(t);
    CHECK(msg_send<id()>(t.get(), "buffer") == buffer.get());
    CHECK(get(t.get(), "bufferOffset") == offset);
    CHECK(get(t.get(), "bufferBytesPerRow") == row);
    // The buffer's bytes are the texture's pixels.
    unsigned char* bytes = contents<unsigned char>(buffer.get());
    bytes[offset + row * 2 + 4 * 3 + 1] = 200;  // pixel (3, 2), green
    std::uint8_t pixel[4];
    get_bytes(t.get(), pixel, 4, region(3, 2, 1, 1));
    CHECK(pixel[1] == 200);
    // A kernel's writes land in the buffer, rows at the given pitch.
    std::vector<float> values(w * h * 4, 1.0f);
    object in = buffer_with(values);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, write_f.get());
        set_texture(encoder, t.get(), 0);
        set_buffer(encoder, in.get(), 0, 0);
        dispatch_threads(encoder, {w, h, 1}, {w, h, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    for (ns_uinteger y = 0; y < h; ++y) {
        for (ns_uinteger x = 0; x < row; ++x) CHECK(bytes[offset + y * row + x] == (x < w * 4 ? 255 : 0));
    }
    CHECK(bytes[0] == 0);
    // Rows past the buffer's end are refused.
    CHECK_FALSE(object::adopt(msg_send<id(id, ns_uinteger, ns_uinteger)>(buffer.get(), "newTextureWithDescriptor:offset:bytesPerRow:",
                                                                        d.get(), offset + 16, row)));
    CHECK_FALSE(object::adopt(msg_send<id(id, ns_uinteger, ns_uinteger)>(buffer.get(), "newTextureWithDescriptor:offset:bytesPerRow:",
                                                                        d.get(), 0, 8)));
}

TEST_CASE("a texture view reads the same bytes in another pixel format") {
    autorelease_pool pool;
    object t = texture_2d(70, 2, 1);
    const std::uint8_t pixels[8] = {10, 20, 30, 40, 50, 60, 70, 80};
    replace(t.get(), region(0, 0, 2, 1), pixels, 8);
    object srgb = object::adopt(msg_send<id(ns_uinteger)>(t.get(), "newTextureViewWithPixelFormat:", 71));
    REQUIRE(srgb);
    CHECK(get(srgb.get(), "pixelFormat") == 71);
    CHECK(msg_send<id()>(srgb.get(), "parentTexture") == t.get());
    std::uint8_t back[8] = {};
    get_bytes(srgb.get(), back, 8, region(0, 0, 2, 1));
    CHECK(std::memcmp(back, pixels, 8) == 0);
    // R32Uint has the same size but needs PixelFormatView usage; R8Unorm has another size.
    CHECK_FALSE(object::adopt(msg_send<id(ns_uinteger)>(t.get(), "newTextureViewWithPixelFormat:", 53)));
    CHECK_FALSE(object::adopt(msg_send<id(ns_uinteger)>(t.get(), "newTextureViewWithPixelFormat:", 10)));
    object viewable = texture_2d(70, 2, 1, usage_read | usage_view);
    CHECK(object::adopt(msg_send<id(ns_uinteger)>(viewable.get(), "newTextureViewWithPixelFormat:", 53)));
}

TEST_CASE("1D, 1D array, 2D array, 3D and buffer textures read and write by their own coordinates") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
kernel void shapes(texture1d<uint, access::read_write> a [[texture(0)]], texture1d_array<uint, access::read_write> b [[texture(1)]],
                   texture2d_array<uint, access::read_write> c [[texture(2)]], texture3d<uint, access::read_write> d [[texture(3)]],
                   texture_buffer<uint, access::read_write> e [[texture(4)]], device uint* sizes [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    a.write(a.read(i) + 1, i);
    b.write(b.read(i, 1) + 1, i, 1);
    c.write(c.read(uint2(i, 1), 2) + 1, uint2(i, 1), 2);
    d.write(d.read(uint3(i, 1, 2)) + 1, uint3(i, 1, 2));
    e.write(e.read(i) + 1, i);
    if (i == 0) {
        sizes[0] = a.get_width(); sizes[1] = b.get_array_size(); sizes[2] = c.get_array_size();
        sizes[3] = d.get_depth(); sizes[4] = e.get_width(); sizes[5] = c.get_height(); sizes[6] = a.get_num_mip_levels();
    }
}
)", "shapes");
    auto make = [&](ns_uinteger type, ns_uinteger height, ns_uinteger depth, ns_uinteger array) {
        object d = new_descriptor();
        set(d.get(), "setTextureType:", type);
        set(d.get(), "setPixelFormat:", 53);  // R32Uint
        set(d.get(), "setWidth:", 4);
        set(d.get(), "setHeight:", height);
        set(d.get(), "setDepth:", depth);
        set(d.get(), "setArrayLength:", array);
        set(d.get(), "setUsage:", usage_read | usage_write);
        object t = new_texture(d.get());
        REQUIRE(t);
        return t;
    };
    object a = make(type_1d, 1, 1, 1), b = make(type_1d_array, 1, 1, 2), c = make(type_2d_array, 2, 1, 3), d = make(type_3d, 2, 3, 1),
           e = make(type_buffer, 1, 1, 1);
    const std::uint32_t seed[4] = {5, 6, 7, 8};
    for (id t : {a.get(), e.get()}) replace(t, region(0, 0, 4, 1), seed, 0);
    msg_send<void(mtl_region, ns_uinteger, ns_uinteger, const void*, ns_uinteger, ns_uinteger)>(
        b.get(), "replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:", region(0, 0, 4, 1), 0, 1, seed, 16, 0);
    msg_send<void(mtl_region, ns_uinteger, ns_uinteger, const void*, ns_uinteger, ns_uinteger)>(
        c.get(), "replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:", region(0, 1, 4, 1), 0, 2, seed, 16, 0);
    msg_send<void(mtl_region, ns_uinteger, ns_uinteger, const void*, ns_uinteger, ns_uinteger)>(
        d.get(), "replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:", region(0, 1, 4, 1, 2, 1), 0, 0, seed, 16, 16);
    object sizes = new_buffer(64);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        id textures[5] = {a.get(), b.get(), c.get(), d.get(), e.get()};
        msg_send<void(const id*, ns_range)>(encoder, "setTextures:withRange:", textures, ns_range{0, 5});
        set_buffer(encoder, sizes.get(), 0, 0);
        dispatch_threads(encoder, {4, 1, 1}, {4, 1, 1});
    });
    INFO(error_text(cb.get()));
    REQUIRE(status_of(cb.get()) == status_completed);
    const std::uint32_t expected[4] = {6, 7, 8, 9};
    std::uint32_t back[4];
    for (id t : {a.get(), e.get()}) {
        get_bytes(t, back, 16, region(0, 0, 4, 1));
        CHECK(std::memcmp(back, expected, 16) == 0);
    }
    msg_send<void(void*, ns_uinteger, ns_uinteger, mtl_region, ns_uinteger, ns_uinteger)>(
        b.get(), "getBytes:bytesPerRow:bytesPerImage:fromRegion:mipmapLevel:slice:", back, 16, 0, region(0, 0, 4, 1), 0, 1);
    CHECK(std::memcmp(back, expected, 16) == 0);
    msg_send<void(void*, ns_uinteger, ns_uinteger, mtl_region, ns_uinteger, ns_uinteger)>(
        c.get(), "getBytes:bytesPerRow:bytesPerImage:fromRegion:mipmapLevel:slice:", back, 16, 0, region(0, 1, 4, 1), 0, 2);
    CHECK(std::memcmp(back, expected, 16) == 0);
    msg_send<void(void*, ns_uinteger, ns_uinteger, mtl_region, ns_uinteger, ns_uinteger)>(
        d.get(), "getBytes:bytesPerRow:bytesPerImage:fromRegion:mipmapLevel:slice:", back, 16, 16, region(0, 1, 4, 1, 2, 1), 0, 0);
    CHECK(std::memcmp(back, expected, 16) == 0);
    const std::uint32_t* s = contents<std::uint32_t>(sizes.get());
    CHECK(s[0] == 4);
    CHECK(s[1] == 2);
    CHECK(s[2] == 3);
    CHECK(s[3] == 3);
    CHECK(s[4] == 4);
    CHECK(s[5] == 2);
    CHECK(s[6] == 1);
}

TEST_CASE("two kernels of one command buffer share a texture: the second reads what the first wrote") {
    autorelease_pool pool;
    object queue = new_queue();
    object write_f = pipeline_for(round_trip_source, "write_f");
    object read_f = pipeline_for(round_trip_source, "read_f");
    object t = texture_2d(115, 4, 2);  // RGBA16Float
    std::vector<float> values(32);
    for (int i = 0; i < 32; ++i) values[i] = float(i) * 0.5f;
    object in = buffer_with(values);
    object out = new_buffer(32 * 4);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, write_f.get());
        set_texture(encoder, t.get(), 0);
        set_buffer(encoder, in.get(), 0, 0);
        dispatch_threads(encoder, {4, 2, 1}, {4, 2, 1});
        set_pipeline(encoder, read_f.get());
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threads(encoder, {4, 2, 1}, {4, 2, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    for (int i = 0; i < 32; ++i) CHECK(contents<float>(out.get())[i] == values[i]);
}

TEST_CASE("a sampler descriptor starts with Metal's defaults") {
    autorelease_pool pool;
    object d = object::adopt(msg_send<id()>(msg_send<id()>(metal_class("MTLSamplerDescriptor"), "alloc"), "init"));
    CHECK(get(d.get(), "minFilter") == 0);
    CHECK(get(d.get(), "magFilter") == 0);
    CHECK(get(d.get(), "mipFilter") == 0);
    CHECK(get(d.get(), "sAddressMode") == 0);
    CHECK(get(d.get(), "borderColor") == 0);
    CHECK(msg_send<objc_bool()>(d.get(), "normalizedCoordinates") != 0);
    CHECK(msg_send<float()>(d.get(), "lodMinClamp") == 0.0f);
    CHECK(msg_send<float()>(d.get(), "lodMaxClamp") > 1e30f);
    object s = object::adopt(msg_send<id(id)>(device(), "newSamplerStateWithDescriptor:", d.get()));
    REQUIRE(s);
    CHECK(msg_send<id()>(s.get(), "device") == device());
    set(d.get(), "setSAddressMode:", 9);  // not an MTLSamplerAddressMode
    CHECK_FALSE(object::adopt(msg_send<id(id)>(device(), "newSamplerStateWithDescriptor:", d.get())));
}

TEST_CASE("MSL texture forms: program-scope constexpr sampler, implicit indices, offsets, gather, half and ushort coordinates") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
constexpr sampler pixel_nearest(coord::pixel, address::clamp_to_zero, filter::nearest);
kernel void forms(texture2d<half, access::sample> t, texture2d<float, access::write> out, device float4* gathered,
                  ushort2 p [[thread_position_in_grid]]) {
    // implicit indices: t texture(0), out texture(1), gathered buffer(0)
    half4 a = t.sample(pixel_nearest, float2(p) + 0.5, int2(1, 0));     // the right-hand neighbour, 0 past the edge
    half4 b = t.read(p);
    out.write(half4(a * half(10.0) + b), uint2(p));   // a half4 written to a float texture converts
    if (p.x == 0 && p.y == 0) {
        constexpr sampler n(coord::normalized, filter::nearest, address::clamp_to_edge);
        gathered[0] = float4(t.gather(n, float2(0.5, 0.5)));             // 2x2 texels at the centre, component x
        gathered[1] = float4(t.gather(n, float2(0.5, 0.5), int2(0), component::y));
        gathered[2] = float4(t.sample(n, float2(0.9, 0.1), level(0)));
    }
}
)", "forms");
    constexpr int w = 4, h = 2;
    // RGBA16Float, texel (x, y) = (x + 4y, 100 + x + 4y, 0, 1)
    std::vector<std::uint16_t> texels;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (float v : {float(x + 4 * y), float(100 + x + 4 * y), 0.0f, 1.0f}) texels.push_back(float_to_half(v));
    object t = texture_2d(115, w, h, usage_read);
    replace(t.get(), region(0, 0, w, h), texels.data(), w * 8);
    object out = texture_2d(125, w, h, usage_write);
    object gathered = new_buffer(3 * 16);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_texture(encoder, t.get(), 0);
        set_texture(encoder, out.get(), 1);
        set_buffer(encoder, gathered.get(), 0, 0);
        dispatch_threads(encoder, {w, h, 1}, {w, h, 1});
    });
    INFO(error_text(cb.get()));
    REQUIRE(status_of(cb.get()) == status_completed);
    std::vector<float> result(w * h * 4);
    get_bytes(out.get(), result.data(), w * 16, region(0, 0, w, h));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const float self = float(x + 4 * y), right = x + 1 < w ? float(x + 1 + 4 * y) : 0.0f;
            INFO("texel " << x << ", " << y);
            CHECK(result[(y * w + x) * 4] == right * 10 + self);
            CHECK(result[(y * w + x) * 4 + 3] == (x + 1 < w ? 10.0f : 0.0f) + 1.0f);  // clamp to zero: alpha 0 past the edge
        }
    const float* g = contents<float>(gathered.get());
    // gather at the centre of a 4x2 texture: texels (1,1), (2,1), (2,0), (1,0)
    CHECK(g[0] == 5.0f);
    CHECK(g[1] == 6.0f);
    CHECK(g[2] == 2.0f);
    CHECK(g[3] == 1.0f);
    CHECK(g[4] == 105.0f);
    CHECK(g[7] == 101.0f);
    CHECK(g[8] == 3.0f);  // (0.9 * 4, 0.1 * 2) is texel (3, 0)
}

TEST_CASE("3D and 2D array textures sample with trilinear and per-slice filtering") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(R"(#include <metal_stdlib>
using namespace metal;
kernel void volumes(texture3d<float> v [[texture(0)]], texture2d_array<float> a [[texture(1)]], sampler s [[sampler(0)]],
                    device float* out [[buffer(0)]], uint i [[thread_position_in_grid]]) {
    out[0] = v.sample(s, float3(0.5, 0.5, 0.5)).x;     // the centre of 2x2x2: the mean of all eight
    out[1] = v.sample(s, float3(0.25, 0.25, 0.75)).x;  // texel (0, 0, 1)'s centre
    out[2] = a.sample(s, float2(0.5, 0.5), 1).x;        // slice 1's four texels
    out[3] = a.sample(s, float2(0.5, 0.5), 7).x;        // past the last slice: clamped to slice 1
}
)", "volumes");
    object d3 = new_descriptor();
    set(d3.get(), "setTextureType:", type_3d);
    set(d3.get(), "setPixelFormat:", 55);
    set(d3.get(), "setWidth:", 2);
    set(d3.get(), "setHeight:", 2);
    set(d3.get(), "setDepth:", 2);
    object volume = new_texture(d3.get());
    const float cube[8] = {1, 2, 3, 4, 5, 6, 7, 8};  // x fastest, then y, then z
    msg_send<void(mtl_region, ns_uinteger, ns_uinteger, const void*, ns_uinteger, ns_uinteger)>(
        volume.get(), "replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:", region(0, 0, 2, 2, 0, 2), 0, 0, cube, 8, 16);
    object da = new_descriptor();
    set(da.get(), "setTextureType:", type_2d_array);
    set(da.get(), "setPixelFormat:", 55);
    set(da.get(), "setWidth:", 2);
    set(da.get(), "setHeight:", 2);
    set(da.get(), "setArrayLength:", 2);
    object array = new_texture(da.get());
    const float slice1[4] = {10, 20, 30, 40};
    msg_send<void(mtl_region, ns_uinteger, ns_uinteger, const void*, ns_uinteger, ns_uinteger)>(
        array.get(), "replaceRegion:mipmapLevel:slice:withBytes:bytesPerRow:bytesPerImage:", region(0, 0, 2, 2), 0, 1, slice1, 8, 0);
    object linear = new_sampler({1, 1, 0, 0, 0, true});
    object out = new_buffer(16);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_texture(encoder, volume.get(), 0);
        set_texture(encoder, array.get(), 1);
        set_sampler(encoder, linear.get(), 0);
        set_buffer(encoder, out.get(), 0, 0);
        dispatch_threads(encoder, {1, 1, 1}, {1, 1, 1});
    });
    INFO(error_text(cb.get()));
    REQUIRE(status_of(cb.get()) == status_completed);
    const float* r = contents<float>(out.get());
    CHECK(r[0] == Approx(4.5f));
    CHECK(r[1] == Approx(5.0f));
    CHECK(r[2] == Approx(25.0f));
    CHECK(r[3] == Approx(25.0f));
}

TEST_CASE("setSamplerState:lodMinClamp:lodMaxClamp:atIndex: clamps the level for that binding only") {
    autorelease_pool pool;
    object queue = new_queue();
    object pipeline = pipeline_for(sample_source, "sample_level");
    object d = descriptor_2d(55, 4, 4, true);
    object t = new_texture(d.get());
    for (ns_uinteger level = 0; level < 3; ++level) {
        const ns_uinteger size = 4 >> level;
        std::vector<float> value(size * size, float(10 * (level + 1)));
        replace(t.get(), region(0, 0, size, size), value.data(), size * 4, level);
    }
    const std::vector<float> lods = {0.0f, 2.0f};
    object lod_buffer = buffer_with(lods);
    object s = new_sampler({0, 0, 1, 0, 0, true});
    object out = new_buffer(lods.size() * 16);
    object cb = run_encoded(queue.get(), [&](id encoder) {
        set_pipeline(encoder, pipeline.get());
        set_texture(encoder, t.get(), 0);
        msg_send<void(id, float, float, ns_uinteger)>(encoder, "setSamplerState:lodMinClamp:lodMaxClamp:atIndex:", s.get(), 1.0f, 1.0f, 0);
        set_buffer(encoder, lod_buffer.get(), 0, 0);
        set_buffer(encoder, out.get(), 0, 1);
        dispatch_threads(encoder, {2, 1, 1}, {2, 1, 1});
    });
    REQUIRE(status_of(cb.get()) == status_completed);
    CHECK(contents<float>(out.get())[0] == 20.0f);  // level 1 whatever was asked
    CHECK(contents<float>(out.get())[4] == 20.0f);
    CHECK(msg_send<ns_uinteger(ns_uinteger)>(device(), "minimumLinearTextureAlignmentForPixelFormat:", 70) == 4);
}

TEST_CASE("a texture's memory counts in the device's currentAllocatedSize while it lives; views add nothing") {
    autorelease_pool pool;
    const ns_uinteger before = msg_send<ns_uinteger()>(device(), "currentAllocatedSize");
    {
        object t = texture_2d(70, 256, 128);
        REQUIRE(t);
        const ns_uinteger size = msg_send<ns_uinteger()>(t.get(), "allocatedSize");
        CHECK(size >= 256 * 128 * 4);
        CHECK(msg_send<ns_uinteger()>(device(), "currentAllocatedSize") == before + size);
        object view = object::adopt(msg_send<id(ns_uinteger)>(t.get(), "newTextureViewWithPixelFormat:", 71));
        REQUIRE(view);
        CHECK(msg_send<ns_uinteger()>(device(), "currentAllocatedSize") == before + size);
    }
    CHECK(msg_send<ns_uinteger()>(device(), "currentAllocatedSize") == before);
}
