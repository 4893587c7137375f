// softmetal prelude: MSL textures and samplers (texture1d, texture1d_array, texture2d, texture2d_array,
// texture3d, texture_buffer; sampler and `constexpr sampler`).
//
// A texture argument is a pointer to the runtime's sm_texture (kernel_abi.h), which says where each
// mip level and slice lies and which MTLPixelFormat its bytes are in. Every read, write and sample
// converts between that format and the kernel's element type with the rules of MSL's specification
// ("Texture addressing and conversion rules"): unorm c / (2^n - 1), snorm max(c / (2^(n-1) - 1), -1),
// sRGB through the sRGB transfer function (alpha stays linear), half and the packed small floats
// (RG11B10) exactly, writes clamp and round to nearest even. Reads outside the texture return zero
// and writes there are dropped, as on Metal GPUs with bounds checks, instead of faulting.
// Integer formats saturate on write (a uint 300 written to R8Uint stores 255).
#ifndef SOFTMETAL_PRELUDE_METAL_TEXTURE_H
#define SOFTMETAL_PRELUDE_METAL_TEXTURE_H

#include "metal_types.h"

namespace metal {

enum class access { sample, read, write, sm_msl_read_write };
enum class coord { normalized, pixel };
enum class filter { nearest, linear };
enum class min_filter { nearest, linear };
enum class mag_filter { nearest, linear };
enum class mip_filter { none, nearest, linear };
enum class address { repeat, mirrored_repeat, clamp_to_edge, clamp_to_zero, clamp_to_border };
enum class s_address { repeat, mirrored_repeat, clamp_to_edge, clamp_to_zero, clamp_to_border };
enum class t_address { repeat, mirrored_repeat, clamp_to_edge, clamp_to_zero, clamp_to_border };
enum class r_address { repeat, mirrored_repeat, clamp_to_edge, clamp_to_zero, clamp_to_border };
enum class border_color { transparent_black, opaque_black, opaque_white };
enum class compare_func { none, less, less_equal, greater, greater_equal, equal, not_equal, always, never };
enum class component { x, y, z, w };

// sample() options. `bias(b)` and `level(l)` are macros for these (metal_stdlib.h): as plain metal:: names
// they would make a kernel's own program-scope `bias` or `level` (a function constant, say) ambiguous
// after `using namespace metal`.
struct sm_bias {
    float value;
    constexpr sm_bias(float v) : value(v) {}
};
struct sm_level {
    float lod;
    constexpr sm_level(float l) : lod(l) {}
};
struct min_lod_clamp {
    float value;
    constexpr min_lod_clamp(float v) : value(v) {}
};
struct lod_clamp {
    float min_value, max_value;
    constexpr lod_clamp(float lo, float hi) : min_value(lo), max_value(hi) {}
};
struct max_anisotropy {
    int value;
    constexpr max_anisotropy(int v) : value(v) {}
};

namespace sm_tex {
// MTLSamplerAddressMode values, from MSL's address enumeration.
constexpr unsigned mtl_address(unsigned msl) {
    // repeat 2, mirrored_repeat 3, clamp_to_edge 0, clamp_to_zero 4, clamp_to_border 5
    return msl == 0 ? 2u : msl == 1 ? 3u : msl == 2 ? 0u : msl == 3 ? 4u : 5u;
}
} // namespace sm_tex

// MSL's default sampler: normalized coordinates, clamp_to_edge, nearest, no mipmaps.
struct sampler {
    sm_sampler s;
    constexpr sampler() : s{0u, 0u, 0u, 0u, 0u, 0u, 1u, 0u, 0.0f, 3.402823466e+38f} {}
    constexpr sampler(const sm_sampler &from) : s(from) {}
    template <class A0, class... A> constexpr sampler(A0 a0, A... a) : sampler() {
        set(a0);
        (set(a), ...);
    }
    constexpr void set(coord c) { s.normalized_coordinates = c == coord::normalized ? 1u : 0u; }
    constexpr void set(filter f) { s.min_filter = s.mag_filter = (unsigned)f; }
    constexpr void set(min_filter f) { s.min_filter = (unsigned)f; }
    constexpr void set(mag_filter f) { s.mag_filter = (unsigned)f; }
    constexpr void set(mip_filter f) { s.mip_filter = (unsigned)f; }
    constexpr void set(address a) { s.s_address = s.t_address = s.r_address = sm_tex::mtl_address((unsigned)a); }
    constexpr void set(s_address a) { s.s_address = sm_tex::mtl_address((unsigned)a); }
    constexpr void set(t_address a) { s.t_address = sm_tex::mtl_address((unsigned)a); }
    constexpr void set(r_address a) { s.r_address = sm_tex::mtl_address((unsigned)a); }
    constexpr void set(border_color b) { s.border_color = (unsigned)b; }
    constexpr void set(lod_clamp l) {
        s.lod_min_clamp = l.min_value;
        s.lod_max_clamp = l.max_value;
    }
    constexpr void set(min_lod_clamp l) { s.lod_min_clamp = l.value; }
    constexpr void set(compare_func) {}   // depth comparison: only depth textures use it
    constexpr void set(max_anisotropy) {} // anisotropic filtering needs derivatives: none in compute
};

} // namespace metal

namespace sm {
namespace tex {

typedef float f4 __attribute__((ext_vector_type(4)));
typedef unsigned u4 __attribute__((ext_vector_type(4)));
typedef int i4 __attribute__((ext_vector_type(4)));

// MTLPixelFormat values.
enum : unsigned {
    R8Unorm = 10, R8Unorm_sRGB = 11, R8Snorm = 12, R8Uint = 13, R8Sint = 14,
    R16Unorm = 20, R16Snorm = 22, R16Uint = 23, R16Sint = 24, R16Float = 25,
    RG8Unorm = 30, RG8Unorm_sRGB = 31, RG8Snorm = 32, RG8Uint = 33, RG8Sint = 34,
    R32Uint = 53, R32Sint = 54, R32Float = 55,
    RG16Unorm = 60, RG16Snorm = 62, RG16Uint = 63, RG16Sint = 64, RG16Float = 65,
    RGBA8Unorm = 70, RGBA8Unorm_sRGB = 71, RGBA8Snorm = 72, RGBA8Uint = 73, RGBA8Sint = 74,
    BGRA8Unorm = 80, BGRA8Unorm_sRGB = 81,
    RGB10A2Unorm = 90, RGB10A2Uint = 91, RG11B10Float = 92,
    RG32Uint = 103, RG32Sint = 104, RG32Float = 105,
    RGBA16Unorm = 110, RGBA16Snorm = 112, RGBA16Uint = 113, RGBA16Sint = 114, RGBA16Float = 115,
    RGBA32Uint = 123, RGBA32Sint = 124, RGBA32Float = 125,
};

enum kind : unsigned { k_unorm, k_snorm, k_uint, k_sint, k_float, k_srgb, k_rgb10a2, k_rg11b10, k_rgb10a2_uint };
struct format_info {
    unsigned channels, bits, kind; // bits per channel (packed formats: 32 for the whole pixel)
    bool bgr;
};
SM_INLINE format_info info(unsigned f) {
    switch (f) {
    case R8Unorm: return {1, 8, k_unorm, false};
    case R8Unorm_sRGB: return {1, 8, k_srgb, false};
    case R8Snorm: return {1, 8, k_snorm, false};
    case R8Uint: return {1, 8, k_uint, false};
    case R8Sint: return {1, 8, k_sint, false};
    case R16Unorm: return {1, 16, k_unorm, false};
    case R16Snorm: return {1, 16, k_snorm, false};
    case R16Uint: return {1, 16, k_uint, false};
    case R16Sint: return {1, 16, k_sint, false};
    case R16Float: return {1, 16, k_float, false};
    case RG8Unorm: return {2, 8, k_unorm, false};
    case RG8Unorm_sRGB: return {2, 8, k_srgb, false};
    case RG8Snorm: return {2, 8, k_snorm, false};
    case RG8Uint: return {2, 8, k_uint, false};
    case RG8Sint: return {2, 8, k_sint, false};
    case R32Uint: return {1, 32, k_uint, false};
    case R32Sint: return {1, 32, k_sint, false};
    case R32Float: return {1, 32, k_float, false};
    case RG16Unorm: return {2, 16, k_unorm, false};
    case RG16Snorm: return {2, 16, k_snorm, false};
    case RG16Uint: return {2, 16, k_uint, false};
    case RG16Sint: return {2, 16, k_sint, false};
    case RG16Float: return {2, 16, k_float, false};
    case RGBA8Unorm: return {4, 8, k_unorm, false};
    case RGBA8Unorm_sRGB: return {4, 8, k_srgb, false};
    case RGBA8Snorm: return {4, 8, k_snorm, false};
    case RGBA8Uint: return {4, 8, k_uint, false};
    case RGBA8Sint: return {4, 8, k_sint, false};
    case BGRA8Unorm: return {4, 8, k_unorm, true};
    case BGRA8Unorm_sRGB: return {4, 8, k_srgb, true};
    case RGB10A2Unorm: return {4, 32, k_rgb10a2, false};
    case RGB10A2Uint: return {4, 32, k_rgb10a2_uint, false};
    case RG11B10Float: return {3, 32, k_rg11b10, false};
    case RG32Uint: return {2, 32, k_uint, false};
    case RG32Sint: return {2, 32, k_sint, false};
    case RG32Float: return {2, 32, k_float, false};
    case RGBA16Unorm: return {4, 16, k_unorm, false};
    case RGBA16Snorm: return {4, 16, k_snorm, false};
    case RGBA16Uint: return {4, 16, k_uint, false};
    case RGBA16Sint: return {4, 16, k_sint, false};
    case RGBA16Float: return {4, 16, k_float, false};
    case RGBA32Uint: return {4, 32, k_uint, false};
    case RGBA32Sint: return {4, 32, k_sint, false};
    case RGBA32Float: return {4, 32, k_float, false};
    default: return {0, 0, k_unorm, false};
    }
}

// Channel c of a pixel, as raw bits (zero-extended).
SM_INLINE unsigned raw(const unsigned char *p, unsigned bits, unsigned c) {
    if (bits == 8) return p[c];
    if (bits == 16) {
        unsigned short v;
        __builtin_memcpy(&v, p + 2 * c, 2);
        return v;
    }
    unsigned v;
    __builtin_memcpy(&v, p + 4 * c, 4);
    return v;
}
SM_INLINE void put_raw(unsigned char *p, unsigned bits, unsigned c, unsigned v) {
    if (bits == 8) p[c] = (unsigned char)v;
    else if (bits == 16) {
        unsigned short s = (unsigned short)v;
        __builtin_memcpy(p + 2 * c, &s, 2);
    } else __builtin_memcpy(p + 4 * c, &v, 4);
}
SM_INLINE int sign_extend(unsigned v, unsigned bits) { return bits == 32 ? (int)v : (int)(v << (32 - bits)) >> (32 - bits); }

// Kernels build with fast math, where `x != x` is folded to false: NaN is recognised by its bits.
SM_INLINE bool is_nan(float f) { return (__builtin_bit_cast(unsigned, f) & 0x7fffffffu) > 0x7f800000u; }

SM_INLINE float srgb_to_linear(float c) {
    return c <= 0.04045f ? c / 12.92f : __builtin_powf((c + 0.055f) / 1.055f, 2.4f);
}
SM_INLINE float linear_to_srgb(float l) {
    if (is_nan(l) || !(l > 0.0f)) return 0.0f;
    if (l >= 1.0f) return 1.0f;
    return l <= 0.0031308f ? 12.92f * l : 1.055f * __builtin_powf(l, 1.0f / 2.4f) - 0.055f;
}
// Unsigned small floats of RG11B10 (5-bit exponent, `mbits` mantissa bits, no sign).
SM_INLINE float small_float(unsigned v, unsigned mbits) {
    const unsigned e = v >> mbits, m = v & ((1u << mbits) - 1);
    const float scale = (float)(1u << mbits);
    if (e == 0) return (float)m / scale * (1.0f / 16384.0f);
    if (e == 31) return m ? __builtin_nanf("") : __builtin_inff();
    return __builtin_ldexpf(1.0f + (float)m / scale, (int)e - 15);
}
SM_INLINE unsigned to_small_float(float f, unsigned mbits) {
    if (is_nan(f)) return (31u << mbits) | 1u; // a NaN stays a NaN
    if (!(f > 0.0f)) return 0;
    const unsigned inf = 31u << mbits;
    if (__builtin_bit_cast(unsigned, f) == 0x7f800000u) return inf;
    if (f < 1.0f / 16384.0f) return (unsigned)__builtin_rintf(f * __builtin_ldexpf(1.0f, 14 + (int)mbits));
    int e;
    const float m = __builtin_frexpf(f, &e); // f = m * 2^e, m in [0.5, 1)
    const unsigned mant = (unsigned)__builtin_rintf((m * 2.0f - 1.0f) * (float)(1u << mbits));
    const unsigned bits = ((unsigned)(e - 1 + 15) << mbits) + mant; // a rounding carry moves into the exponent
    return bits >= inf ? inf : bits;
}
SM_INLINE float unorm(unsigned v, unsigned bits) { return (float)v / (float)((bits == 32 ? 0u : (1u << bits)) - 1u); }
SM_INLINE float snorm(unsigned v, unsigned bits) {
    const float r = (float)sign_extend(v, bits) / (float)((1u << (bits - 1)) - 1u);
    return r < -1.0f ? -1.0f : r;
}
SM_INLINE unsigned to_unorm(float f, unsigned bits) {
    const float m = (float)((1u << bits) - 1u);
    if (is_nan(f) || !(f > 0.0f)) return 0; // NaN is 0
    if (f >= 1.0f) return (unsigned)m;
    return (unsigned)__builtin_rintf(f * m);
}
SM_INLINE unsigned to_snorm(float f, unsigned bits) {
    const float m = (float)((1u << (bits - 1)) - 1u);
    if (is_nan(f)) f = 0.0f;
    f = f < -1.0f ? -1.0f : f > 1.0f ? 1.0f : f;
    return (unsigned)(int)__builtin_rintf(f * m) & (bits == 32 ? ~0u : (1u << bits) - 1u);
}
SM_INLINE float half_bits_to_float(unsigned v) { return (float)__builtin_bit_cast(half, (unsigned short)v); }
SM_INLINE unsigned float_to_half_bits(float f) { return __builtin_bit_cast(unsigned short, (half)f); }

// A pixel as float4 (float, half, unorm, snorm, sRGB, packed formats); missing channels read (0, 0, 0, 1).
SM_INLINE f4 load_float(unsigned fmt, const unsigned char *p) {
    const format_info fi = info(fmt);
    f4 r = {0.0f, 0.0f, 0.0f, 1.0f};
    if (fi.kind == k_rgb10a2 || fi.kind == k_rgb10a2_uint) {
        const unsigned v = raw(p, 32, 0);
        r = f4{unorm(v & 1023u, 10), unorm((v >> 10) & 1023u, 10), unorm((v >> 20) & 1023u, 10), unorm(v >> 30, 2)};
        return r;
    }
    if (fi.kind == k_rg11b10) {
        const unsigned v = raw(p, 32, 0);
        return f4{small_float(v & 2047u, 6), small_float((v >> 11) & 2047u, 6), small_float(v >> 22, 5), 1.0f};
    }
    for (unsigned c = 0; c < fi.channels; ++c) {
        const unsigned v = raw(p, fi.bits, c);
        float x;
        switch (fi.kind) {
        case k_unorm: x = unorm(v, fi.bits); break;
        case k_srgb: x = c == 3 ? unorm(v, 8) : srgb_to_linear(unorm(v, 8)); break;
        case k_snorm: x = snorm(v, fi.bits); break;
        case k_float: x = fi.bits == 16 ? half_bits_to_float(v) : __builtin_bit_cast(float, v); break;
        case k_uint: x = (float)v; break;
        default: x = (float)sign_extend(v, fi.bits); break;
        }
        r[c] = x;
    }
    if (fi.bgr) r = r.zyxw;
    return r;
}
SM_INLINE u4 load_uint(unsigned fmt, const unsigned char *p) {
    const format_info fi = info(fmt);
    u4 r = {0u, 0u, 0u, 1u};
    if (fi.kind == k_rgb10a2_uint || fi.kind == k_rgb10a2) {
        const unsigned v = raw(p, 32, 0);
        return u4{v & 1023u, (v >> 10) & 1023u, (v >> 20) & 1023u, v >> 30};
    }
    for (unsigned c = 0; c < fi.channels; ++c) r[c] = raw(p, fi.bits, c);
    return r;
}
SM_INLINE i4 load_int(unsigned fmt, const unsigned char *p) {
    const format_info fi = info(fmt);
    i4 r = {0, 0, 0, 1};
    for (unsigned c = 0; c < fi.channels; ++c) r[c] = sign_extend(raw(p, fi.bits, c), fi.bits);
    return r;
}

SM_INLINE void store_float(unsigned fmt, unsigned char *p, f4 v) {
    const format_info fi = info(fmt);
    if (fi.kind == k_rgb10a2) {
        const unsigned x = to_unorm(v.x, 10) | to_unorm(v.y, 10) << 10 | to_unorm(v.z, 10) << 20 | to_unorm(v.w, 2) << 30;
        put_raw(p, 32, 0, x);
        return;
    }
    if (fi.kind == k_rg11b10) {
        const unsigned x = to_small_float(v.x, 6) | to_small_float(v.y, 6) << 11 | to_small_float(v.z, 5) << 22;
        put_raw(p, 32, 0, x);
        return;
    }
    if (fi.bgr) v = v.zyxw;
    for (unsigned c = 0; c < fi.channels; ++c) {
        const float x = v[c];
        unsigned bits;
        switch (fi.kind) {
        case k_unorm: bits = to_unorm(x, fi.bits); break;
        case k_srgb: bits = to_unorm(c == 3 ? x : linear_to_srgb(x), 8); break;
        case k_snorm: bits = to_snorm(x, fi.bits); break;
        case k_float: bits = fi.bits == 16 ? float_to_half_bits(x) : __builtin_bit_cast(unsigned, x); break;
        default: return; // integer formats take integer writes
        }
        put_raw(p, fi.bits, c, bits);
    }
}
SM_INLINE void store_uint(unsigned fmt, unsigned char *p, u4 v) {
    const format_info fi = info(fmt);
    if (fi.kind == k_rgb10a2_uint) {
        const u4 m = {1023u, 1023u, 1023u, 3u};
        const u4 s = v < m ? v : m;
        put_raw(p, 32, 0, s.x | s.y << 10 | s.z << 20 | s.w << 30);
        return;
    }
    if (fi.kind != k_uint) return;
    const unsigned max = fi.bits == 32 ? ~0u : (1u << fi.bits) - 1u;
    for (unsigned c = 0; c < fi.channels; ++c) put_raw(p, fi.bits, c, v[c] > max ? max : v[c]);
}
SM_INLINE void store_int(unsigned fmt, unsigned char *p, i4 v) {
    const format_info fi = info(fmt);
    if (fi.kind != k_sint) return;
    const int hi = fi.bits == 32 ? 2147483647 : (1 << (fi.bits - 1)) - 1, lo = -hi - 1;
    for (unsigned c = 0; c < fi.channels; ++c) {
        const int x = v[c] > hi ? hi : v[c] < lo ? lo : v[c];
        put_raw(p, fi.bits, c, (unsigned)x & (fi.bits == 32 ? ~0u : (1u << fi.bits) - 1u));
    }
}

SM_INLINE unsigned level_size(unsigned s, unsigned l) { return (s >> l) ? (s >> l) : 1u; }
SM_INLINE unsigned pixel_bytes(unsigned fmt) {
    const format_info fi = info(fmt);
    return fi.bits == 32 && (fi.kind == k_rgb10a2 || fi.kind == k_rg11b10 || fi.kind == k_rgb10a2_uint) ? 4u
                                                                                                        : fi.channels * fi.bits / 8;
}
// The pixel's address, or null when (x, y, z, slice, level) is outside the texture.
SM_INLINE unsigned char *texel(const sm_texture *t, unsigned x, unsigned y, unsigned z, unsigned slice, unsigned l) {
    if (!t || l >= t->mip_levels || slice >= t->array_length) return nullptr;
    if (x >= level_size(t->width, l) || y >= level_size(t->height, l) || z >= level_size(t->depth, l)) return nullptr;
    return t->data + t->level_offset[l] + (unsigned long)slice * t->level_slice_stride[l] +
           (unsigned long)z * t->level_bytes_per_image[l] + (unsigned long)y * t->level_bytes_per_row[l] +
           (unsigned long)x * pixel_bytes(t->pixel_format);
}

#ifdef SM_SHADER_VALIDATION
// Shader validation: a read or write outside the texture (a coordinate past its level's size, a slice
// or mip level it does not have) is reported as an out-of-bounds access, which ends the command
// buffer, instead of reading zero or being dropped. The runtime names the texture argument from its
// binding and reads its size from the texture bound there; the coordinate travels in the violation's
// offset (y << 32 | x), access_size (slice << 32 | z) and length (the mip level) fields (kernel_abi.h).
[[noreturn, gnu::noinline, gnu::cold]] inline void outside(const sm_texture *t, unsigned x, unsigned y, unsigned z, unsigned s,
                                                          unsigned l, bool writing) {
    sm_bounds_violation v{};
    v.binding = SM_BINDING_NONE;
    if (const sm_group *g = target::current_group())
        for (unsigned n = 0; n < SM_MAX_TEXTURE_BINDINGS; ++n)
            if (g->launch->textures[n] == t) {
                v.binding = (int)n;
                break;
            }
    v.space = writing ? SM_SPACE_TEXTURE_WRITE : SM_SPACE_TEXTURE_READ;
    v.offset = (long)(((unsigned long)y << 32) | x);
    v.access_size = ((unsigned long)s << 32) | z;
    v.length = l;
    v.array_type = nullptr;
    v.return_address = __builtin_return_address(0);
    target::runtime->bounds_violation(&v);
    __builtin_unreachable();
}
#endif

template <class T> SM_INLINE metal::vec<T, 4> read(const sm_texture *t, unsigned x, unsigned y, unsigned z, unsigned s, unsigned l) {
    const unsigned char *p = texel(t, x, y, z, s, l);
#ifdef SM_SHADER_VALIDATION
    if (__builtin_expect(!p && t, 0)) outside(t, x, y, z, s, l, false);
#endif
    if (!p) return metal::vec<T, 4>(T(0));
    if constexpr (__is_same(T, float) || __is_same(T, half)) return __builtin_convertvector(load_float(t->pixel_format, p), metal::vec<T, 4>);
    else if constexpr (T(-1) < T(0)) return __builtin_convertvector(load_int(t->pixel_format, p), metal::vec<T, 4>);
    else return __builtin_convertvector(load_uint(t->pixel_format, p), metal::vec<T, 4>);
}
template <class T, class V>
SM_INLINE void write(const sm_texture *t, V value, unsigned x, unsigned y, unsigned z, unsigned s, unsigned l) {
    unsigned char *p = texel(t, x, y, z, s, l);
#ifdef SM_SHADER_VALIDATION
    if (__builtin_expect(!p && t, 0)) outside(t, x, y, z, s, l, true);
#endif
    if (!p) return;
    // A 4-vector of another element type (float4 written to a half texture) converts per lane.
    metal::vec<T, 4> v;
    if constexpr (sm::vt<V>::n == 4) v = __builtin_convertvector(value, metal::vec<T, 4>);
    else v = value;
    if constexpr (__is_same(T, float) || __is_same(T, half)) store_float(t->pixel_format, p, __builtin_convertvector(v, f4));
    else if constexpr (T(-1) < T(0)) store_int(t->pixel_format, p, __builtin_convertvector(v, i4));
    else store_uint(t->pixel_format, p, __builtin_convertvector(v, u4));
}

// Address modes on an integer texel coordinate; -1: outside (clamp_to_zero / clamp_to_border).
SM_INLINE int wrap(int i, int n, unsigned mode) {
    switch (mode) {
    case 0: return i < 0 ? 0 : i >= n ? n - 1 : i;                       // clamp to edge
    case 1: { int m = i < 0 ? -1 - i : i; return m >= n ? n - 1 : m; }    // mirror clamp to edge
    case 2: { int m = i % n; return m < 0 ? m + n : m; }                 // repeat
    case 3: {                                                            // mirror repeat
        int m = i % (2 * n);
        if (m < 0) m += 2 * n;
        return m >= n ? 2 * n - 1 - m : m;
    }
    default: return i < 0 || i >= n ? -1 : i;                            // clamp to zero, to border
    }
}
SM_INLINE f4 border(const sm_sampler &s, unsigned address_mode, unsigned fmt) {
    if (address_mode == 5) {
        if (s.border_color == 1) return f4{0.0f, 0.0f, 0.0f, 1.0f};
        if (s.border_color == 2) return f4{1.0f, 1.0f, 1.0f, 1.0f};
        return f4{0.0f, 0.0f, 0.0f, 0.0f};
    }
    // clamp to zero: transparent for formats with alpha, opaque black without
    const format_info fi = info(fmt);
    return f4{0.0f, 0.0f, 0.0f, fi.channels == 4 ? 0.0f : 1.0f};
}

// One mip level, filtered: `dims` coordinates (1, 2 or 3) of u, v, w in texels of that level.
SM_INLINE f4 filter_level(const sm_texture *t, const sm_sampler &s, unsigned dims, float u, float v, float w, unsigned slice,
                          unsigned l, bool linear) {
    const int n[3] = {(int)level_size(t->width, l), (int)level_size(t->height, l), (int)level_size(t->depth, l)};
    const unsigned modes[3] = {s.s_address, s.t_address, s.r_address};
    const float c[3] = {u, v, w};
    int i0[3] = {0, 0, 0};
    float frac[3] = {0.0f, 0.0f, 0.0f};
    for (unsigned d = 0; d < dims; ++d) {
        const float x = linear ? c[d] - 0.5f : c[d];
        const float f = __builtin_floorf(x);
        i0[d] = (int)f;
        frac[d] = linear ? x - f : 0.0f;
    }
    const unsigned corners = linear ? 1u << dims : 1u;
    f4 sum = {0.0f, 0.0f, 0.0f, 0.0f};
    for (unsigned k = 0; k < corners; ++k) {
        float weight = 1.0f;
        int idx[3] = {0, 0, 0};
        bool outside = false;
        unsigned outside_mode = 0;
        for (unsigned d = 0; d < dims; ++d) {
            const unsigned bit = (k >> d) & 1u;
            if (linear) weight *= bit ? frac[d] : 1.0f - frac[d];
            idx[d] = wrap(i0[d] + (int)bit, n[d], modes[d]);
            if (idx[d] < 0) {
                outside = true;
                outside_mode = modes[d];
            }
        }
        if (weight == 0.0f) continue;
        const f4 texel_value = outside ? border(s, outside_mode, t->pixel_format)
                                       : load_float(t->pixel_format, texel(t, (unsigned)idx[0], (unsigned)idx[1], (unsigned)idx[2], slice, l));
        sum += texel_value * weight;
    }
    return sum;
}

struct sample_options {
    bool has_level = false;
    float lod = 0.0f, bias = 0.0f, min_lod = 0.0f;
};
SM_INLINE void apply(sample_options &o, metal::sm_level l) {
    o.has_level = true;
    o.lod = l.lod;
}
SM_INLINE void apply(sample_options &o, metal::sm_bias b) { o.bias = b.value; }
SM_INLINE void apply(sample_options &o, metal::min_lod_clamp m) { o.min_lod = m.value; }

// Samples at coordinates c (normalized or pixel, as the sampler says), plus a texel offset.
SM_INLINE f4 sample(const sm_texture *t, const sm_sampler &s, unsigned dims, f4 c, metal::vec<int, 4> offset, unsigned slice,
                    sample_options o) {
    if (!t || t->mip_levels == 0) return f4{0.0f, 0.0f, 0.0f, 0.0f};
    if (slice >= t->array_length) slice = t->array_length - 1; // array indices clamp, as Metal rounds and clamps them
    // Compute kernels have no derivatives: the level is 0 unless given, plus any bias.
    float lod = (o.has_level ? o.lod : 0.0f) + o.bias;
    float lo = s.lod_min_clamp > o.min_lod ? s.lod_min_clamp : o.min_lod, hi = s.lod_max_clamp;
    lod = lod < lo ? lo : lod > hi ? hi : lod;
    const float top = (float)(t->mip_levels - 1);
    lod = lod < 0.0f ? 0.0f : lod > top ? top : lod;
    const bool magnify = lod <= 0.0f;
    const bool linear = (magnify ? s.mag_filter : s.min_filter) == 1u;
    auto at_level = [&](unsigned l) {
        float texels[3];
        const unsigned size[3] = {level_size(t->width, l), level_size(t->height, l), level_size(t->depth, l)};
        for (unsigned d = 0; d < 3; ++d)
            texels[d] = (s.normalized_coordinates ? c[d] * (float)size[d] : c[d]) + (float)offset[d];
        return filter_level(t, s, dims, texels[0], texels[1], texels[2], slice, l, linear);
    };
    if (s.mip_filter == 0) return at_level(0);
    if (s.mip_filter == 1) return at_level((unsigned)__builtin_rintf(lod));
    const float f = __builtin_floorf(lod);
    const float frac = lod - f;
    const f4 a = at_level((unsigned)f);
    if (frac == 0.0f) return a;
    return a * (1.0f - frac) + at_level((unsigned)f + 1u) * frac;
}

template <class T> SM_INLINE metal::vec<T, 4> from_float(f4 v) { return __builtin_convertvector(v, metal::vec<T, 4>); }
template <class C> SM_INLINE unsigned lane(C c, int i) {
    if constexpr (sm::vt<C>::n == 0) return (unsigned)c;
    else return (unsigned)c[i];
}
template <class C> SM_INLINE f4 coords(C c) {
    f4 r = {0.0f, 0.0f, 0.0f, 0.0f};
    if constexpr (sm::vt<C>::n == 0) r.x = (float)c;
    else
        for (int i = 0; i < sm::vt<C>::n; ++i) r[i] = (float)c[i];
    return r;
}
template <class C> SM_INLINE metal::vec<int, 4> offsets(C c) {
    metal::vec<int, 4> r = {0, 0, 0, 0};
    if constexpr (sm::vt<C>::n == 0) r.x = (int)c;
    else
        for (int i = 0; i < sm::vt<C>::n; ++i) r[i] = (int)c[i];
    return r;
}
template <class... O> SM_INLINE sample_options options(O... o) {
    sample_options r;
    (apply(r, o), ...);
    return r;
}
template <class O> constexpr bool is_offset() { return sm::vt<O>::n > 0 || __is_same(O, int); }

} // namespace tex
} // namespace sm

namespace metal {

// read() and write() only where the texture's access allows them: Metal's compiler refuses a write to
// an access::read (or sample) texture and a read from an access::write one, and so does this, at the
// call in the user's source.
#define SM_TEXTURE_READABLE                                                                                        \
    __attribute__((diagnose_if(A == access::write, "read() from a texture declared access::write; declare it "    \
                                                   "access::read or access::read_write to read it", "error")))
#define SM_TEXTURE_WRITABLE                                                                                        \
    __attribute__((diagnose_if(A == access::read, "write() to a texture declared access::read; declare it "        \
                                                  "access::write or access::read_write to write it", "error")))     \
    __attribute__((diagnose_if(A == access::sample, "write() to a texture declared access::sample (the default "  \
                                                    "access); declare it access::write or access::read_write to "  \
                                                    "write it", "error")))

// MTLTextureType values, for the runtime's binding check.
#define SM_TEXTURE_COMMON(type_value)                                                                              \
    const sm_texture *sm_t;                                                                                        \
    using sm_elem = T;                                                                                             \
    static constexpr unsigned sm_kind = (type_value) | ((unsigned)A << 8);                                         \
    SM_INLINE uint get_num_mip_levels() const { return sm_t ? sm_t->mip_levels : 0u; }                              \
    SM_INLINE void fence() const { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// sample() overloads: (s, coord), (s, coord, options...) where an option is level/bias/min_lod_clamp or an
// integer offset vector first.
#define SM_TEXTURE_SAMPLE(dims)                                                                                    \
    SM_INLINE vec<T, 4> sample_with(sampler s, sm::tex::f4 c, uint slice) const {                                  \
        return sm::tex::from_float<T>(sm::tex::sample(sm_t, s.s, dims, c, vec<int, 4>(0), slice, {}));             \
    }                                                                                                              \
    template <class O0, class... O>                                                                                \
    SM_INLINE vec<T, 4> sample_with(sampler s, sm::tex::f4 c, uint slice, O0 o0, O... o) const {                   \
        if constexpr (sm::tex::is_offset<O0>())                                                                    \
            return sm::tex::from_float<T>(                                                                         \
                sm::tex::sample(sm_t, s.s, dims, c, sm::tex::offsets(o0), slice, sm::tex::options(o...)));          \
        else                                                                                                       \
            return sm::tex::from_float<T>(                                                                         \
                sm::tex::sample(sm_t, s.s, dims, c, vec<int, 4>(0), slice, sm::tex::options(o0, o...)));            \
    }
// sample(s, coord, options...) and, for arrays, sample(s, coord, array, options...); an option is an integer
// offset (first) or level / bias / min_lod_clamp.
#define SM_TEXTURE_SAMPLE_PLAIN                                                                                    \
    template <class C, class... O> SM_INLINE vec<T, 4> sample(sampler s, C coord, O... o) const {                 \
        return sample_with(s, sm::tex::coords(coord), 0u, o...);                                                   \
    }
#define SM_TEXTURE_SAMPLE_ARRAY                                                                                    \
    template <class C, class... O> SM_INLINE vec<T, 4> sample(sampler s, C coord, uint slice, O... o) const {     \
        return sample_with(s, sm::tex::coords(coord), slice, o...);                                                \
    }

template <class T, access A = access::sample> struct texture1d {
    SM_TEXTURE_COMMON(0u)
    SM_INLINE uint get_width(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->width, lod) : 0u; }
    template <class C> SM_INLINE vec<T, 4> read(C x, uint lod = 0) const SM_TEXTURE_READABLE { return sm::tex::read<T>(sm_t, (uint)x, 0, 0, 0, lod); }
    template <class V, class C> SM_INLINE void write(V v, C x, uint lod = 0) const SM_TEXTURE_WRITABLE { sm::tex::write<T>(sm_t, v, (uint)x, 0, 0, 0, lod); }
    SM_TEXTURE_SAMPLE(1u)
    SM_TEXTURE_SAMPLE_PLAIN
};

template <class T, access A = access::sample> struct texture1d_array {
    SM_TEXTURE_COMMON(1u)
    SM_INLINE uint get_width(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->width, lod) : 0u; }
    SM_INLINE uint get_array_size() const { return sm_t ? sm_t->array_length : 0u; }
    template <class C, class S> SM_INLINE vec<T, 4> read(C x, S slice, uint lod = 0) const SM_TEXTURE_READABLE {
        return sm::tex::read<T>(sm_t, (uint)x, 0, 0, (uint)slice, lod);
    }
    template <class V, class C, class S> SM_INLINE void write(V v, C x, S slice, uint lod = 0) const SM_TEXTURE_WRITABLE {
        sm::tex::write<T>(sm_t, v, (uint)x, 0, 0, (uint)slice, lod);
    }
    SM_TEXTURE_SAMPLE(1u)
    SM_TEXTURE_SAMPLE_ARRAY
};

template <class T, access A = access::sample> struct texture2d {
    SM_TEXTURE_COMMON(2u)
    SM_INLINE uint get_width(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->width, lod) : 0u; }
    SM_INLINE uint get_height(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->height, lod) : 0u; }
    template <class C> SM_INLINE vec<T, 4> read(C c, uint lod = 0) const SM_TEXTURE_READABLE {
        return sm::tex::read<T>(sm_t, sm::tex::lane(c, 0), sm::tex::lane(c, 1), 0, 0, lod);
    }
    template <class V, class C> SM_INLINE void write(V v, C c, uint lod = 0) const SM_TEXTURE_WRITABLE {
        sm::tex::write<T>(sm_t, v, sm::tex::lane(c, 0), sm::tex::lane(c, 1), 0, 0, lod);
    }
    SM_TEXTURE_SAMPLE(2u)
    SM_TEXTURE_SAMPLE_PLAIN
    // The four texels bilinear filtering would blend, one component of each: (i0, j1), (i1, j1), (i1, j0), (i0, j0).
    template <class O = int2> SM_INLINE vec<T, 4> gather(sampler s, float2 coord, O offset = O(0), component c = component::x) const {
        vec<T, 4> r = vec<T, 4>(T(0));
        if (!sm_t) return r;
        const float w = (float)sm_t->width, h = (float)sm_t->height;
        const float u = (s.s.normalized_coordinates ? coord.x * w : coord.x) + (float)offset.x - 0.5f;
        const float v = (s.s.normalized_coordinates ? coord.y * h : coord.y) + (float)offset.y - 0.5f;
        const int i0 = (int)__builtin_floorf(u), j0 = (int)__builtin_floorf(v);
        const int is[4] = {i0, i0 + 1, i0 + 1, i0}, js[4] = {j0 + 1, j0 + 1, j0, j0};
        for (int k = 0; k < 4; ++k) {
            const int x = sm::tex::wrap(is[k], (int)sm_t->width, s.s.s_address), y = sm::tex::wrap(js[k], (int)sm_t->height, s.s.t_address);
            const sm::tex::f4 p = x < 0 || y < 0 ? sm::tex::border(s.s, s.s.s_address, sm_t->pixel_format)
                                                 : sm::tex::load_float(sm_t->pixel_format, sm::tex::texel(sm_t, (uint)x, (uint)y, 0, 0, 0));
            r[k] = (T)p[(int)c];
        }
        return r;
    }
};

template <class T, access A = access::sample> struct texture2d_array {
    SM_TEXTURE_COMMON(3u)
    SM_INLINE uint get_width(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->width, lod) : 0u; }
    SM_INLINE uint get_height(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->height, lod) : 0u; }
    SM_INLINE uint get_array_size() const { return sm_t ? sm_t->array_length : 0u; }
    template <class C, class S> SM_INLINE vec<T, 4> read(C c, S slice, uint lod = 0) const SM_TEXTURE_READABLE {
        return sm::tex::read<T>(sm_t, sm::tex::lane(c, 0), sm::tex::lane(c, 1), 0, (uint)slice, lod);
    }
    template <class V, class C, class S> SM_INLINE void write(V v, C c, S slice, uint lod = 0) const SM_TEXTURE_WRITABLE {
        sm::tex::write<T>(sm_t, v, sm::tex::lane(c, 0), sm::tex::lane(c, 1), 0, (uint)slice, lod);
    }
    SM_TEXTURE_SAMPLE(2u)
    SM_TEXTURE_SAMPLE_ARRAY
};

template <class T, access A = access::sample> struct texture3d {
    SM_TEXTURE_COMMON(7u)
    SM_INLINE uint get_width(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->width, lod) : 0u; }
    SM_INLINE uint get_height(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->height, lod) : 0u; }
    SM_INLINE uint get_depth(uint lod = 0) const { return sm_t ? sm::tex::level_size(sm_t->depth, lod) : 0u; }
    template <class C> SM_INLINE vec<T, 4> read(C c, uint lod = 0) const SM_TEXTURE_READABLE {
        return sm::tex::read<T>(sm_t, sm::tex::lane(c, 0), sm::tex::lane(c, 1), sm::tex::lane(c, 2), 0, lod);
    }
    template <class V, class C> SM_INLINE void write(V v, C c, uint lod = 0) const SM_TEXTURE_WRITABLE {
        sm::tex::write<T>(sm_t, v, sm::tex::lane(c, 0), sm::tex::lane(c, 1), sm::tex::lane(c, 2), 0, lod);
    }
    SM_TEXTURE_SAMPLE(3u)
    SM_TEXTURE_SAMPLE_PLAIN
};

template <class T, access A = access::read> struct texture_buffer {
    const sm_texture *sm_t;
    using sm_elem = T;
    static constexpr unsigned sm_kind = 9u | ((unsigned)A << 8);
    SM_INLINE uint get_width() const { return sm_t ? sm_t->width : 0u; }
    template <class C> SM_INLINE vec<T, 4> read(C x) const SM_TEXTURE_READABLE { return sm::tex::read<T>(sm_t, (uint)x, 0, 0, 0, 0); }
    template <class V, class C> SM_INLINE void write(V v, C x) const SM_TEXTURE_WRITABLE { sm::tex::write<T>(sm_t, v, (uint)x, 0, 0, 0, 0); }
    SM_INLINE void fence() const { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
};

// Texture kinds softmetal does not have: declared and never defined, so that a use outside a kernel's
// parameters (a helper's parameter, a local) is an "incomplete type 'metal::texturecube<float>'" error at
// the user's line rather than an unknown name. (A kernel parameter of these types is refused by the
// translator, naming the feature.)
template <class T, access A = access::sample> struct texturecube;
template <class T, access A = access::sample> struct texturecube_array;
template <class T, access A = access::read> struct texture2d_ms;
template <class T, access A = access::read> struct texture2d_ms_array;
template <class T, access A = access::sample> struct depth2d;
template <class T, access A = access::sample> struct depth2d_array;
template <class T, access A = access::sample> struct depthcube;
template <class T, access A = access::sample> struct depthcube_array;
template <class T, access A = access::read> struct depth2d_ms;
template <class T, access A = access::read> struct depth2d_ms_array;

#undef SM_TEXTURE_COMMON
#undef SM_TEXTURE_READABLE
#undef SM_TEXTURE_WRITABLE
#undef SM_TEXTURE_SAMPLE
#undef SM_TEXTURE_SAMPLE_PLAIN
#undef SM_TEXTURE_SAMPLE_ARRAY

} // namespace metal

#endif
