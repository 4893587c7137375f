// softmetal prelude: bfloat (MSL 3.1), the 16-bit brain floating-point type: float's sign and 8-bit
// exponent with a 7-bit mantissa.
//
// bfloat is clang's __bf16, an arithmetic type: it converts implicitly to and from float and the
// integers, and mixed with float it promotes to float, as Metal's does. Conversions from float round
// to nearest even (target_cpu.h supplies the conversion routine where the CPU has no instruction).
// bfloat <-> half conversions go through float (exact both ways round), in vector constructors and
// in the math functions; a bare C-style cast between the two scalars is refused by clang.
#ifndef SOFTMETAL_PRELUDE_METAL_BFLOAT_H
#define SOFTMETAL_PRELUDE_METAL_BFLOAT_H

#include "metal_types.h"

namespace metal {
typedef __bf16 bfloat;
// `bfloat(x)` (a macro in metal_stdlib.h, as for the vectors): also from half, which clang refuses to
// convert directly. `half(b)` has no such bridge: write `half(float(b))`.
template <class... A> SM_INLINE constexpr bfloat sm_make_bfloat(A ...a) {
    static_assert(sizeof...(A) <= 1, "bfloat(x) takes one value");
    if constexpr (sizeof...(A) == 0) return (bfloat)0.0f;
    else return sm::cvt<bfloat>(a...);
}
typedef __bf16 bfloat2 __attribute__((ext_vector_type(2)));
typedef __bf16 bfloat3 __attribute__((ext_vector_type(3)));
typedef __bf16 bfloat4 __attribute__((ext_vector_type(4)));
template <class... A> SM_INLINE constexpr bfloat2 sm_make_bfloat2(A ...a) { return sm::make_vec<bfloat2>(a...); }
template <class... A> SM_INLINE constexpr bfloat3 sm_make_bfloat3(A ...a) { return sm::make_vec<bfloat3>(a...); }
template <class... A> SM_INLINE constexpr bfloat4 sm_make_bfloat4(A ...a) { return sm::make_vec<bfloat4>(a...); }
typedef packed_vec<bfloat, 2> packed_bfloat2;
typedef packed_vec<bfloat, 3> packed_bfloat3;
typedef packed_vec<bfloat, 4> packed_bfloat4;
} // namespace metal

// bfloat's infinity, as HUGE_VALF and HUGE_VALH are float's and half's (candle starts its bfloat max and
// min reductions from it).
#define HUGE_VALBF ((metal::bfloat)__builtin_huge_valf())

#endif
