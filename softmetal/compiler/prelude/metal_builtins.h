// softmetal prelude: the `__metal_*` builtins of Apple's metal_stdlib that libraries call directly
// (MLX's bfloat16 math and SIMD overloads do), each mapped onto the public function it implements.
// The math-mode argument (__METAL_FAST_MATH__, ...) picks fast:: or precise:: as on Apple's compiler.
#ifndef SOFTMETAL_PRELUDE_METAL_BUILTINS_H
#define SOFTMETAL_PRELUDE_METAL_BUILTINS_H

#include "metal_math.h"
#include "metal_simdgroup.h"

namespace sm {
enum class math_mode { fast, precise, maybe_fast };
} // namespace sm

#define __METAL_FAST_MATH__ ::sm::math_mode::fast
#define __METAL_PRECISE_MATH__ ::sm::math_mode::precise
#define __METAL_MAYBE_FAST_MATH__ ::sm::math_mode::maybe_fast
#define __METAL_MEMORY_SCOPE_DEVICE__ 2
#define __METAL_MEMORY_SCOPE_THREADGROUP__ 1
#define __METAL_MEMORY_SCOPE_SIMDGROUP__ 4
#define __METAL_MEMORY_SCOPE_SYSTEM__ 3

#define SM_BUILTIN_1(name)                                                                                          \
    template <class T> SM_INLINE auto __metal_##name(T x, ::sm::math_mode m = ::sm::math_mode::maybe_fast) {        \
        return m == ::sm::math_mode::precise ? ::metal::precise::name(x) : ::metal::name(x);                       \
    }
#define SM_BUILTIN_2(name)                                                                                          \
    template <class T, class U>                                                                                     \
    SM_INLINE auto __metal_##name(T x, U y, ::sm::math_mode m = ::sm::math_mode::maybe_fast) {                    \
        return m == ::sm::math_mode::precise ? ::metal::precise::name(x, y) : ::metal::name(x, y);                 \
    }
SM_BUILTIN_1(fabs) SM_BUILTIN_1(acos) SM_BUILTIN_1(acosh) SM_BUILTIN_1(asin) SM_BUILTIN_1(asinh) SM_BUILTIN_1(atan)
SM_BUILTIN_1(atanh) SM_BUILTIN_1(ceil) SM_BUILTIN_1(cos) SM_BUILTIN_1(cosh) SM_BUILTIN_1(cospi) SM_BUILTIN_1(exp)
SM_BUILTIN_1(exp10) SM_BUILTIN_1(exp2) SM_BUILTIN_1(floor) SM_BUILTIN_1(fract) SM_BUILTIN_1(log) SM_BUILTIN_1(log10)
SM_BUILTIN_1(log2) SM_BUILTIN_1(rint) SM_BUILTIN_1(round) SM_BUILTIN_1(rsqrt) SM_BUILTIN_1(sin) SM_BUILTIN_1(sinh)
SM_BUILTIN_1(sinpi) SM_BUILTIN_1(sqrt) SM_BUILTIN_1(tan) SM_BUILTIN_1(tanh) SM_BUILTIN_1(tanpi) SM_BUILTIN_1(trunc)
SM_BUILTIN_2(atan2) SM_BUILTIN_2(fmax) SM_BUILTIN_2(fmin) SM_BUILTIN_2(fmod) SM_BUILTIN_2(pow) SM_BUILTIN_2(powr)
SM_BUILTIN_2(nextafter) SM_BUILTIN_2(ldexp)
#undef SM_BUILTIN_1
#undef SM_BUILTIN_2
// Apple's frexp builtin returns the exponent through a pointer.
template <class T, class I> SM_INLINE auto __metal_frexp(T x, I *exponent, ::sm::math_mode = ::sm::math_mode::maybe_fast) {
    return ::metal::frexp(x, *exponent);
}
template <class T> SM_INLINE T __metal_divide(T x, T y, ::sm::math_mode = ::sm::math_mode::maybe_fast) { return x / y; }
template <class T> SM_INLINE T __metal_fma(T a, T b, T c, ::sm::math_mode = ::sm::math_mode::maybe_fast) { return ::metal::fma(a, b, c); }
template <class T> SM_INLINE T __metal_fmin3(T a, T b, T c, ::sm::math_mode = ::sm::math_mode::maybe_fast) { return ::metal::fmin3(a, b, c); }
template <class T> SM_INLINE T __metal_fmax3(T a, T b, T c, ::sm::math_mode = ::sm::math_mode::maybe_fast) { return ::metal::fmax3(a, b, c); }
template <class T> SM_INLINE T __metal_fmedian3(T a, T b, T c, ::sm::math_mode = ::sm::math_mode::maybe_fast) {
    return ::metal::fmedian3(a, b, c);
}

#define SM_SIMD_BUILTIN(name)                                                                                       \
    template <class T, class... A> SM_INLINE T __metal_##name(T v, A... a) { return ::metal::name(v, a...); }
SM_SIMD_BUILTIN(simd_sum) SM_SIMD_BUILTIN(simd_product) SM_SIMD_BUILTIN(simd_min) SM_SIMD_BUILTIN(simd_max)
SM_SIMD_BUILTIN(simd_and) SM_SIMD_BUILTIN(simd_or) SM_SIMD_BUILTIN(simd_xor) SM_SIMD_BUILTIN(simd_broadcast)
SM_SIMD_BUILTIN(simd_shuffle) SM_SIMD_BUILTIN(simd_shuffle_up) SM_SIMD_BUILTIN(simd_shuffle_down)
SM_SIMD_BUILTIN(simd_shuffle_xor) SM_SIMD_BUILTIN(simd_shuffle_rotate_up) SM_SIMD_BUILTIN(simd_shuffle_rotate_down)
SM_SIMD_BUILTIN(simd_shuffle_and_fill_up) SM_SIMD_BUILTIN(simd_shuffle_and_fill_down)
SM_SIMD_BUILTIN(simd_prefix_inclusive_sum) SM_SIMD_BUILTIN(simd_prefix_exclusive_sum)
SM_SIMD_BUILTIN(simd_prefix_inclusive_product) SM_SIMD_BUILTIN(simd_prefix_exclusive_product)
#undef SM_SIMD_BUILTIN
// The caller's lane and the SIMD width, without a kernel attribute (a meeting of the group tells).
template <class T = unsigned short> SM_INLINE T __metal_get_thread_index_in_simdgroup(T = T()) {
    ::sm::simd::meeting<bool> m(true);
    return T(m.who.lane);
}
template <class T = unsigned short> SM_INLINE T __metal_get_simdgroup_size(T = T()) { return T(32); }

#endif
