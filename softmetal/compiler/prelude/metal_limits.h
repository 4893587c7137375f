// softmetal prelude: metal::numeric_limits (metal_limits) for every MSL scalar type.
//
// The members are those of C++'s numeric_limits. Floating-point values are written as bit patterns
// (IEEE binary32, binary16, and bfloat, which is binary32 cut to its upper 16 bits), so they are exact
// and survive -ffast-math. Integers are derived from size and signedness, so char, signed char and
// the rest cannot drift apart.
#ifndef SOFTMETAL_PRELUDE_METAL_LIMITS_H
#define SOFTMETAL_PRELUDE_METAL_LIMITS_H

#include "metal_types.h"
#include "metal_bfloat.h"

namespace metal {

enum float_round_style { round_indeterminate = -1, round_toward_zero = 0, round_to_nearest = 1 };
enum float_denorm_style { denorm_indeterminate = -1, denorm_absent = 0, denorm_present = 1 };

// The limits live in _numeric_limits_impl, and numeric_limits<T> derives from it, as in Apple's
// metal_limits: code written for Metal (candle's reductions) specializes _numeric_limits_impl for its
// own types and then asks numeric_limits.
// Anything that is not a number: is_specialized is false and every value is T().
template <class T> struct _numeric_limits_impl {
    static constexpr bool is_specialized = false, is_signed = false, is_integer = false, is_exact = false;
    static constexpr bool has_infinity = false, has_quiet_NaN = false, has_signaling_NaN = false;
    static constexpr float_denorm_style has_denorm = denorm_absent;
    static constexpr bool has_denorm_loss = false, is_iec559 = false, is_bounded = false, is_modulo = false;
    static constexpr bool traps = false, tinyness_before = false;
    static constexpr float_round_style round_style = round_toward_zero;
    static constexpr int digits = 0, digits10 = 0, max_digits10 = 0, radix = 0;
    static constexpr int min_exponent = 0, min_exponent10 = 0, max_exponent = 0, max_exponent10 = 0;
    static constexpr T min() { return T(); }
    static constexpr T max() { return T(); }
    static constexpr T lowest() { return T(); }
    static constexpr T epsilon() { return T(); }
    static constexpr T round_error() { return T(); }
    static constexpr T infinity() { return T(); }
    static constexpr T quiet_NaN() { return T(); }
    static constexpr T signaling_NaN() { return T(); }
    static constexpr T denorm_min() { return T(); }
};
template <class T> struct numeric_limits : _numeric_limits_impl<T> {};
template <class T> struct numeric_limits<const T> : numeric_limits<T> {};
template <class T> struct numeric_limits<volatile T> : numeric_limits<T> {};
template <class T> struct numeric_limits<const volatile T> : numeric_limits<T> {};

} // namespace metal

namespace sm {
// Integers (bool included): two's complement, wrapping only when unsigned.
template <class T> struct int_limits {
    static constexpr bool is_specialized = true, is_signed = __is_signed(T), is_integer = true, is_exact = true;
    static constexpr bool has_infinity = false, has_quiet_NaN = false, has_signaling_NaN = false;
    static constexpr metal::float_denorm_style has_denorm = metal::denorm_absent;
    static constexpr bool has_denorm_loss = false, is_iec559 = false, is_bounded = true;
    static constexpr bool is_modulo = !__is_signed(T) && !__is_same(T, bool);
    static constexpr bool traps = false, tinyness_before = false;
    static constexpr metal::float_round_style round_style = metal::round_toward_zero;
    static constexpr int digits = __is_same(T, bool) ? 1 : 8 * (int)sizeof(T) - (__is_signed(T) ? 1 : 0);
    // floor(digits * log10(2)); 643/2136 is close enough to log10(2) for digits <= 64.
    static constexpr int digits10 = digits * 643 / 2136, max_digits10 = 0, radix = 2;
    static constexpr int min_exponent = 0, min_exponent10 = 0, max_exponent = 0, max_exponent10 = 0;
    static constexpr T max() {
        if constexpr (__is_same(T, bool)) return true;
        else return (T)(((unsigned long)1 << (digits - 1)) - 1 + ((unsigned long)1 << (digits - 1)));
    }
    static constexpr T min() { return __is_signed(T) ? (T)(-max() - 1) : (T)0; }
    static constexpr T lowest() { return min(); }
    static constexpr T epsilon() { return T(); }
    static constexpr T round_error() { return T(); }
    static constexpr T infinity() { return T(); }
    static constexpr T quiet_NaN() { return T(); }
    static constexpr T signaling_NaN() { return T(); }
    static constexpr T denorm_min() { return T(); }
};
// Floating point from the bit patterns of a format with `mant` stored mantissa bits (B: the bits type).
template <class T, class B, int mant, int emin, int emax, int d10, int md10, int e10min, int e10max>
struct float_limits {
    static constexpr bool is_specialized = true, is_signed = true, is_integer = false, is_exact = false;
    static constexpr bool has_infinity = true, has_quiet_NaN = true, has_signaling_NaN = true;
    static constexpr metal::float_denorm_style has_denorm = metal::denorm_present;
    static constexpr bool has_denorm_loss = false, is_iec559 = true, is_bounded = true, is_modulo = false;
    static constexpr bool traps = false, tinyness_before = false;
    static constexpr metal::float_round_style round_style = metal::round_to_nearest;
    static constexpr int digits = mant + 1, digits10 = d10, max_digits10 = md10, radix = 2;
    static constexpr int min_exponent = emin, min_exponent10 = e10min, max_exponent = emax, max_exponent10 = e10max;
    static constexpr int bits = 8 * (int)sizeof(T);
    static constexpr T from(unsigned long b) { return __builtin_bit_cast(T, (B)b); }
    static constexpr unsigned long inf_bits = ((1ul << (bits - 1 - mant)) - 1) << mant;
    static constexpr T min() { return from(1ul << mant); }
    static constexpr T max() { return from(inf_bits - 1); }
    static constexpr T lowest() { return from((1ul << (bits - 1)) | (inf_bits - 1)); }
    static constexpr T epsilon() { return from((unsigned long)(emax - 1 - mant) << mant); } // 2^-mant
    static constexpr T round_error() { return from((unsigned long)(emax - 2) << mant); }    // 0.5
    static constexpr T infinity() { return from(inf_bits); }
    static constexpr T quiet_NaN() { return from(inf_bits | (1ul << (mant - 1))); }
    static constexpr T signaling_NaN() { return from(inf_bits | (1ul << (mant - 2))); }
    static constexpr T denorm_min() { return from(1); }
};
} // namespace sm

namespace metal {
template <> struct _numeric_limits_impl<bool> : sm::int_limits<bool> {};
template <> struct _numeric_limits_impl<char> : sm::int_limits<char> {};
template <> struct _numeric_limits_impl<signed char> : sm::int_limits<signed char> {};
template <> struct _numeric_limits_impl<unsigned char> : sm::int_limits<unsigned char> {};
template <> struct _numeric_limits_impl<short> : sm::int_limits<short> {};
template <> struct _numeric_limits_impl<unsigned short> : sm::int_limits<unsigned short> {};
template <> struct _numeric_limits_impl<int> : sm::int_limits<int> {};
template <> struct _numeric_limits_impl<unsigned int> : sm::int_limits<unsigned int> {};
template <> struct _numeric_limits_impl<long> : sm::int_limits<long> {};
template <> struct _numeric_limits_impl<unsigned long> : sm::int_limits<unsigned long> {};
template <> struct _numeric_limits_impl<float> : sm::float_limits<float, unsigned int, 23, -125, 128, 6, 9, -37, 38> {};
template <> struct _numeric_limits_impl<half> : sm::float_limits<half, unsigned short, 10, -13, 16, 3, 5, -4, 4> {};
template <> struct _numeric_limits_impl<bfloat> : sm::float_limits<bfloat, unsigned short, 7, -125, 128, 2, 4, -37, 38> {};
} // namespace metal

// The limit macros of MSL's metal_limits that metal_types.h does not already define (FLT_MAX, INT_MAX, ...).
#define CHAR_BIT 8
#define SCHAR_MAX 127
#define SCHAR_MIN (-127 - 1)
#define UCHAR_MAX 255
#define CHAR_MAX SCHAR_MAX
#define CHAR_MIN SCHAR_MIN
#define USHRT_MAX 65535
#define SHRT_MAX 32767
#define SHRT_MIN (-32767 - 1)
#define ULONG_MAX 18446744073709551615ul
#define LONG_MAX 9223372036854775807l
#define LONG_MIN (-9223372036854775807l - 1)
#define FLT_DIG 6
#define FLT_MANT_DIG 24
#define FLT_MAX_10_EXP 38
#define FLT_MAX_EXP 128
#define FLT_MIN_10_EXP (-37)
#define FLT_MIN_EXP (-125)
#define FLT_RADIX 2
#define HUGE_VALF __builtin_huge_valf()
#define HALF_DIG 3
#define HALF_MANT_DIG 11
#define HALF_MAX_10_EXP 4
#define HALF_MAX_EXP 16
#define HALF_MIN_10_EXP (-4)
#define HALF_MIN_EXP (-13)
#define HALF_RADIX 2
#define HUGE_VALH ((half)__builtin_huge_valf())
#define MAXHALF HALF_MAX
#define M_E_H ((half)M_E_F)
#define M_LOG2E_H ((half)M_LOG2E_F)
#define M_LOG10E_H ((half)M_LOG10E_F)
#define M_LN2_H ((half)M_LN2_F)
#define M_LN10_H ((half)M_LN10_F)
#define M_PI_2_H ((half)M_PI_2_F)
#define M_PI_4_H ((half)M_PI_4_F)
#define M_1_PI_H ((half)M_1_PI_F)
#define M_2_PI_H ((half)M_2_PI_F)
#define M_2_SQRTPI_F 1.12837916709551257390f
#define M_2_SQRTPI_H ((half)M_2_SQRTPI_F)
#define M_SQRT2_H ((half)M_SQRT2_F)
#define M_SQRT1_2_H ((half)M_SQRT1_2_F)

#endif
