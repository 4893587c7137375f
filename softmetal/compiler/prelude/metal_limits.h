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

// Anything that is not a number: is_specialized is false and every value is T().
template <class T> struct numeric_limits {
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
    static constexpr B exp_one = (B)((B)(emax - 1) << mant); // the biased exponent of 1.0
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
template <> struct numeric_limits<bool> : sm::int_limits<bool> {};
template <> struct numeric_limits<char> : sm::int_limits<char> {};
template <> struct numeric_limits<signed char> : sm::int_limits<signed char> {};
template <> struct numeric_limits<unsigned char> : sm::int_limits<unsigned char> {};
template <> struct numeric_limits<short> : sm::int_limits<short> {};
template <> struct numeric_limits<unsigned short> : sm::int_limits<unsigned short> {};
template <> struct numeric_limits<int> : sm::int_limits<int> {};
template <> struct numeric_limits<unsigned int> : sm::int_limits<unsigned int> {};
template <> struct numeric_limits<long> : sm::int_limits<long> {};
template <> struct numeric_limits<unsigned long> : sm::int_limits<unsigned long> {};
template <> struct numeric_limits<float> : sm::float_limits<float, unsigned int, 23, -125, 128, 6, 9, -37, 38> {};
template <> struct numeric_limits<half> : sm::float_limits<half, unsigned short, 10, -13, 16, 3, 5, -4, 4> {};
template <> struct numeric_limits<bfloat> : sm::float_limits<bfloat, unsigned short, 7, -125, 128, 2, 4, -37, 38> {};
} // namespace metal

#endif
