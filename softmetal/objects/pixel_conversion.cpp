#include "objects/pixel_conversion.hpp"

#include <cmath>
#include <cstring>

#include "pymetal/metal_types.hpp"

namespace softmetal::objects {

namespace {

using pymetal::pixel_format;

enum class kind { unorm, snorm, srgb, half, single, rgb10a2, rg11b10, none };

struct format_facts {
    kind k = kind::none;
    unsigned channels = 0, bits = 0;  // bits per channel (packed formats: 32 for the pixel)
    bool bgr = false;
};

format_facts facts(std::uint32_t f) {
    switch (static_cast<pixel_format>(f)) {
        case pixel_format::r8_unorm: return {kind::unorm, 1, 8};
        case pixel_format::rg8_unorm: return {kind::unorm, 2, 8};
        case pixel_format::rgba8_unorm: return {kind::unorm, 4, 8};
        case pixel_format::bgra8_unorm: return {kind::unorm, 4, 8, true};
        case pixel_format::r16_unorm: return {kind::unorm, 1, 16};
        case pixel_format::rg16_unorm: return {kind::unorm, 2, 16};
        case pixel_format::rgba16_unorm: return {kind::unorm, 4, 16};
        case pixel_format::r8_snorm: return {kind::snorm, 1, 8};
        case pixel_format::rg8_snorm: return {kind::snorm, 2, 8};
        case pixel_format::rgba8_snorm: return {kind::snorm, 4, 8};
        case pixel_format::r16_snorm: return {kind::snorm, 1, 16};
        case pixel_format::rg16_snorm: return {kind::snorm, 2, 16};
        case pixel_format::rgba16_snorm: return {kind::snorm, 4, 16};
        case pixel_format::r8_unorm_srgb: return {kind::srgb, 1, 8};
        case pixel_format::rg8_unorm_srgb: return {kind::srgb, 2, 8};
        case pixel_format::rgba8_unorm_srgb: return {kind::srgb, 4, 8};
        case pixel_format::bgra8_unorm_srgb: return {kind::srgb, 4, 8, true};
        case pixel_format::r16_float: return {kind::half, 1, 16};
        case pixel_format::rg16_float: return {kind::half, 2, 16};
        case pixel_format::rgba16_float: return {kind::half, 4, 16};
        case pixel_format::r32_float: return {kind::single, 1, 32};
        case pixel_format::rg32_float: return {kind::single, 2, 32};
        case pixel_format::rgba32_float: return {kind::single, 4, 32};
        case pixel_format::rgb10a2_unorm: return {kind::rgb10a2, 4, 32};
        case pixel_format::rg11b10_float: return {kind::rg11b10, 3, 32};
        default: return {};
    }
}

std::uint32_t load_bits(const unsigned char* p, unsigned bits, unsigned c) {
    if (bits == 8) return p[c];
    if (bits == 16) {
        std::uint16_t v;
        std::memcpy(&v, p + 2 * c, 2);
        return v;
    }
    std::uint32_t v;
    std::memcpy(&v, p + 4 * c, 4);
    return v;
}

void store_bits(unsigned char* p, unsigned bits, unsigned c, std::uint32_t v) {
    if (bits == 8) {
        p[c] = static_cast<unsigned char>(v);
    } else if (bits == 16) {
        const auto s = static_cast<std::uint16_t>(v);
        std::memcpy(p + 2 * c, &s, 2);
    } else {
        std::memcpy(p + 4 * c, &v, 4);
    }
}

float unorm(std::uint32_t v, unsigned bits) { return static_cast<float>(v) / static_cast<float>((1u << bits) - 1u); }
float snorm(std::uint32_t v, unsigned bits) {
    const int s = static_cast<int>(v << (32 - bits)) >> (32 - bits);
    const float r = static_cast<float>(s) / static_cast<float>((1u << (bits - 1)) - 1u);
    return r < -1.0f ? -1.0f : r;
}
std::uint32_t to_unorm(float f, unsigned bits) {
    const float m = static_cast<float>((1u << bits) - 1u);
    if (std::isnan(f) || !(f > 0.0f)) return 0;
    if (f >= 1.0f) return static_cast<std::uint32_t>(m);
    return static_cast<std::uint32_t>(std::nearbyint(f * m));
}
std::uint32_t to_snorm(float f, unsigned bits) {
    const float m = static_cast<float>((1u << (bits - 1)) - 1u);
    if (std::isnan(f)) f = 0.0f;
    f = f < -1.0f ? -1.0f : f > 1.0f ? 1.0f : f;
    return static_cast<std::uint32_t>(static_cast<int>(std::nearbyint(f * m))) & ((1u << bits) - 1u);
}
float srgb_to_linear(float c) { return c <= 0.04045f ? c / 12.92f : std::pow((c + 0.055f) / 1.055f, 2.4f); }
float linear_to_srgb(float l) {
    if (std::isnan(l) || !(l > 0.0f)) return 0.0f;
    if (l >= 1.0f) return 1.0f;
    return l <= 0.0031308f ? 12.92f * l : 1.055f * std::pow(l, 1.0f / 2.4f) - 0.055f;
}

// IEEE half: 1 sign, 5 exponent, 10 mantissa bits.
float half_to_float(std::uint32_t h) {
    const std::uint32_t e = (h >> 10) & 31u, m = h & 1023u;
    float r;
    if (e == 0) r = std::ldexp(static_cast<float>(m), -24);
    else if (e == 31) r = m ? NAN : INFINITY;
    else r = std::ldexp(static_cast<float>(m | 1024u), static_cast<int>(e) - 25);
    return (h & 0x8000u) ? -r : r;
}
std::uint32_t float_to_half(float f) {
    const std::uint32_t sign = std::signbit(f) ? 0x8000u : 0u;
    if (std::isnan(f)) return sign | 0x7e00u;
    const float a = std::fabs(f);
    if (a < std::ldexp(1.0f, -14)) return sign | static_cast<std::uint32_t>(std::nearbyint(a * std::ldexp(1.0f, 24)));
    if (std::isinf(a)) return sign | 0x7c00u;
    int e;
    const float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
    const auto mantissa = static_cast<std::uint32_t>(std::nearbyint((m * 2.0f - 1.0f) * 1024.0f));
    const std::uint32_t bits = (static_cast<std::uint32_t>(e - 1 + 15) << 10) + mantissa;  // a carry moves into the exponent
    return sign | (bits >= 0x7c00u ? 0x7c00u : bits);
}

// RG11B10's unsigned small floats: 5 exponent bits, `mbits` mantissa bits.
float small_float(std::uint32_t v, unsigned mbits) {
    const std::uint32_t e = v >> mbits, m = v & ((1u << mbits) - 1u);
    const float scale = static_cast<float>(1u << mbits);
    if (e == 0) return static_cast<float>(m) / scale * (1.0f / 16384.0f);
    if (e == 31) return m ? NAN : INFINITY;
    return std::ldexp(1.0f + static_cast<float>(m) / scale, static_cast<int>(e) - 15);
}
std::uint32_t to_small_float(float f, unsigned mbits) {
    if (std::isnan(f)) return (31u << mbits) | 1u;
    if (!(f > 0.0f)) return 0;
    const std::uint32_t inf = 31u << mbits;
    if (std::isinf(f)) return inf;
    if (f < 1.0f / 16384.0f) return static_cast<std::uint32_t>(std::nearbyint(f * std::ldexp(1.0f, 14 + static_cast<int>(mbits))));
    int e;
    const float m = std::frexp(f, &e);
    const auto mantissa = static_cast<std::uint32_t>(std::nearbyint((m * 2.0f - 1.0f) * static_cast<float>(1u << mbits)));
    const std::uint32_t bits = (static_cast<std::uint32_t>(e - 1 + 15) << mbits) + mantissa;
    return bits >= inf ? inf : bits;
}

}  // namespace

bool pixel_format_filterable(std::uint32_t format) { return facts(format).k != kind::none; }

void decode_texel(std::uint32_t format, const unsigned char* p, float rgba[4]) {
    const format_facts f = facts(format);
    rgba[0] = rgba[1] = rgba[2] = 0.0f;
    rgba[3] = 1.0f;
    if (f.k == kind::rgb10a2) {
        const std::uint32_t v = load_bits(p, 32, 0);
        rgba[0] = unorm(v & 1023u, 10);
        rgba[1] = unorm((v >> 10) & 1023u, 10);
        rgba[2] = unorm((v >> 20) & 1023u, 10);
        rgba[3] = unorm(v >> 30, 2);
        return;
    }
    if (f.k == kind::rg11b10) {
        const std::uint32_t v = load_bits(p, 32, 0);
        rgba[0] = small_float(v & 2047u, 6);
        rgba[1] = small_float((v >> 11) & 2047u, 6);
        rgba[2] = small_float(v >> 22, 5);
        return;
    }
    for (unsigned c = 0; c < f.channels; ++c) {
        const std::uint32_t v = load_bits(p, f.bits, c);
        switch (f.k) {
            case kind::unorm: rgba[c] = unorm(v, f.bits); break;
            case kind::snorm: rgba[c] = snorm(v, f.bits); break;
            case kind::srgb: rgba[c] = c == 3 ? unorm(v, 8) : srgb_to_linear(unorm(v, 8)); break;
            case kind::half: rgba[c] = half_to_float(v); break;
            case kind::single: std::memcpy(&rgba[c], &v, 4); break;
            default: break;
        }
    }
    if (f.bgr) {
        const float blue = rgba[0];
        rgba[0] = rgba[2];
        rgba[2] = blue;
    }
}

void encode_texel(std::uint32_t format, unsigned char* p, const float rgba_in[4]) {
    const format_facts f = facts(format);
    float rgba[4] = {rgba_in[0], rgba_in[1], rgba_in[2], rgba_in[3]};
    if (f.k == kind::rgb10a2) {
        store_bits(p, 32, 0, to_unorm(rgba[0], 10) | to_unorm(rgba[1], 10) << 10 | to_unorm(rgba[2], 10) << 20 |
                                 to_unorm(rgba[3], 2) << 30);
        return;
    }
    if (f.k == kind::rg11b10) {
        store_bits(p, 32, 0, to_small_float(rgba[0], 6) | to_small_float(rgba[1], 6) << 11 | to_small_float(rgba[2], 5) << 22);
        return;
    }
    if (f.bgr) {
        rgba[0] = rgba_in[2];
        rgba[2] = rgba_in[0];
    }
    for (unsigned c = 0; c < f.channels; ++c) {
        const float x = rgba[c];
        std::uint32_t bits = 0;
        switch (f.k) {
            case kind::unorm: bits = to_unorm(x, f.bits); break;
            case kind::snorm: bits = to_snorm(x, f.bits); break;
            case kind::srgb: bits = to_unorm(c == 3 ? x : linear_to_srgb(x), 8); break;
            case kind::half: bits = float_to_half(x); break;
            case kind::single: std::memcpy(&bits, &x, 4); break;
            default: return;
        }
        store_bits(p, f.bits, c, bits);
    }
}

}  // namespace softmetal::objects
