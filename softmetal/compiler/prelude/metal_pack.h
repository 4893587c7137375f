// softmetal prelude: MSL's pack and unpack functions (metal_pack): floats to and from normalized
// integers packed in a uint.
//
// Component 0 goes to the least significant bits. Normalized conversions follow the MSL
// specification: unorm n-bit to float is c / (2^n - 1); snorm is max(c / (2^(n-1) - 1), -1.0); float to
// unorm clamps to [0, 1] and float to snorm to [-1, 1], scales, and rounds to nearest even; NaN becomes
// 0. sRGB variants apply the sRGB transfer curve to x, y, z (alpha stays linear). The half variants
// convert through float, which holds every half exactly.
#ifndef SOFTMETAL_PRELUDE_METAL_PACK_H
#define SOFTMETAL_PRELUDE_METAL_PACK_H

#include "metal_types.h"

namespace sm {
namespace pack {
// Comparisons written so that NaN falls through to 0 (under -ffast-math too: the NaN test is on bits).
SM_INLINE float clamp_or_zero(float f, float lo) {
    unsigned b = __builtin_bit_cast(unsigned, f);
    if ((b & 0x7fffffffu) > 0x7f800000u) return 0.0f;
    return f < lo ? lo : (f > 1.0f ? 1.0f : f);
}
SM_INLINE unsigned to_unorm(float f, unsigned bits) {
    float scale = (float)((1u << bits) - 1u);
    return (unsigned)__builtin_rintf(clamp_or_zero(f, 0.0f) * scale);
}
SM_INLINE unsigned to_snorm(float f, unsigned bits) {
    float scale = (float)((1u << (bits - 1)) - 1u);
    int v = (int)__builtin_rintf(clamp_or_zero(f, -1.0f) * scale);
    return (unsigned)v & ((1u << bits) - 1u);
}
SM_INLINE float from_unorm(unsigned c, unsigned bits) { return (float)c / (float)((1u << bits) - 1u); }
SM_INLINE float from_snorm(unsigned c, unsigned bits) {
    int v = (int)(c << (32 - bits)) >> (32 - bits); // sign-extend the field
    float f = (float)v / (float)((1u << (bits - 1)) - 1u);
    return f < -1.0f ? -1.0f : f;
}
SM_INLINE float linear_to_srgb(float c) {
    c = clamp_or_zero(c, 0.0f);
    return c <= 0.0031308f ? c * 12.92f : 1.055f * __builtin_powf(c, 1.0f / 2.4f) - 0.055f;
}
SM_INLINE float srgb_to_linear(float c) {
    return c <= 0.04045f ? c / 12.92f : __builtin_powf((c + 0.055f) / 1.055f, 2.4f);
}
template <int N> using fvec = metal::vec<float, N>;
// N fields of `bits` bits each (the last `last_bits` wide), from lane 0 upwards.
template <int N, class F> SM_INLINE unsigned pack_fields(fvec<N> v, unsigned bits, unsigned last_bits, F to) {
    unsigned r = 0, shift = 0;
    for (int i = 0; i < N; ++i) {
        unsigned b = i == N - 1 ? last_bits : bits;
        r |= to(v[i], b) << shift;
        shift += b;
    }
    return r;
}
template <int N, class F> SM_INLINE fvec<N> unpack_fields(unsigned x, unsigned bits, unsigned last_bits, F from) {
    fvec<N> r;
    unsigned shift = 0;
    for (int i = 0; i < N; ++i) {
        unsigned b = i == N - 1 ? last_bits : bits;
        r[i] = from((x >> shift) & ((1u << b) - 1u), b);
        shift += b;
    }
    return r;
}
SM_INLINE fvec<4> srgb_encode(fvec<4> v) {
    return fvec<4>{linear_to_srgb(v.x), linear_to_srgb(v.y), linear_to_srgb(v.z), v.w};
}
SM_INLINE fvec<4> srgb_decode(fvec<4> v) {
    return fvec<4>{srgb_to_linear(v.x), srgb_to_linear(v.y), srgb_to_linear(v.z), v.w};
}
} // namespace pack
} // namespace sm

namespace metal {
// float / half -> packed uint.
SM_INLINE uint pack_float_to_unorm4x8(float4 v) { return sm::pack::pack_fields<4>(v, 8, 8, sm::pack::to_unorm); }
SM_INLINE uint pack_float_to_snorm4x8(float4 v) { return sm::pack::pack_fields<4>(v, 8, 8, sm::pack::to_snorm); }
SM_INLINE uint pack_float_to_unorm2x16(float2 v) { return sm::pack::pack_fields<2>(v, 16, 16, sm::pack::to_unorm); }
SM_INLINE uint pack_float_to_snorm2x16(float2 v) { return sm::pack::pack_fields<2>(v, 16, 16, sm::pack::to_snorm); }
SM_INLINE uint pack_float_to_srgb_unorm4x8(float4 v) { return pack_float_to_unorm4x8(sm::pack::srgb_encode(v)); }
SM_INLINE uint pack_float_to_unorm10a2(float4 v) { return sm::pack::pack_fields<4>(v, 10, 2, sm::pack::to_unorm); }
SM_INLINE uint pack_half_to_unorm4x8(half4 v) { return pack_float_to_unorm4x8(__builtin_convertvector(v, float4)); }
SM_INLINE uint pack_half_to_snorm4x8(half4 v) { return pack_float_to_snorm4x8(__builtin_convertvector(v, float4)); }
SM_INLINE uint pack_half_to_unorm2x16(half2 v) { return pack_float_to_unorm2x16(__builtin_convertvector(v, float2)); }
SM_INLINE uint pack_half_to_snorm2x16(half2 v) { return pack_float_to_snorm2x16(__builtin_convertvector(v, float2)); }
SM_INLINE uint pack_half_to_srgb_unorm4x8(half4 v) { return pack_float_to_srgb_unorm4x8(__builtin_convertvector(v, float4)); }
SM_INLINE uint pack_half_to_unorm10a2(half4 v) { return pack_float_to_unorm10a2(__builtin_convertvector(v, float4)); }

// packed uint -> float / half.
SM_INLINE float4 unpack_unorm4x8_to_float(uint x) { return sm::pack::unpack_fields<4>(x, 8, 8, sm::pack::from_unorm); }
SM_INLINE float4 unpack_snorm4x8_to_float(uint x) { return sm::pack::unpack_fields<4>(x, 8, 8, sm::pack::from_snorm); }
SM_INLINE float2 unpack_unorm2x16_to_float(uint x) { return sm::pack::unpack_fields<2>(x, 16, 16, sm::pack::from_unorm); }
SM_INLINE float2 unpack_snorm2x16_to_float(uint x) { return sm::pack::unpack_fields<2>(x, 16, 16, sm::pack::from_snorm); }
SM_INLINE float4 unpack_unorm4x8_srgb_to_float(uint x) { return sm::pack::srgb_decode(unpack_unorm4x8_to_float(x)); }
SM_INLINE float4 unpack_unorm10a2_to_float(uint x) { return sm::pack::unpack_fields<4>(x, 10, 2, sm::pack::from_unorm); }
SM_INLINE half4 unpack_unorm4x8_to_half(uint x) { return __builtin_convertvector(unpack_unorm4x8_to_float(x), half4); }
SM_INLINE half4 unpack_snorm4x8_to_half(uint x) { return __builtin_convertvector(unpack_snorm4x8_to_float(x), half4); }
SM_INLINE half2 unpack_unorm2x16_to_half(uint x) { return __builtin_convertvector(unpack_unorm2x16_to_float(x), half2); }
SM_INLINE half2 unpack_snorm2x16_to_half(uint x) { return __builtin_convertvector(unpack_snorm2x16_to_float(x), half2); }
SM_INLINE half4 unpack_unorm4x8_srgb_to_half(uint x) { return __builtin_convertvector(unpack_unorm4x8_srgb_to_float(x), half4); }
SM_INLINE half4 unpack_unorm10a2_to_half(uint x) { return __builtin_convertvector(unpack_unorm10a2_to_float(x), half4); }
} // namespace metal

#endif
