// softmetal prelude: metal::, metal::fast:: and metal::precise:: math, plus the relational functions.
#ifndef SOFTMETAL_PRELUDE_METAL_MATH_H
#define SOFTMETAL_PRELUDE_METAL_MATH_H

#include "metal_types.h"

namespace metal {
#include "math_functions.inc"
namespace fast {
#include "math_functions.inc"
}
namespace precise {
#pragma float_control(precise, on, push)
#include "math_functions.inc"
#pragma float_control(pop)
}

// Relational functions. NaN/Inf tests look at the bits, and never pass a float by value on the way:
// under -ffast-math clang marks float parameters "never NaN/Inf" and would fold the tests away.
namespace sm_detail {
enum class fp_class { nan, inf, finite, negative };
template <fp_class C, class E> SM_INLINE bool classify(const E &e) {
    constexpr bool h = sizeof(E) == 2;
    unsigned bits;
    if constexpr (h) bits = __builtin_bit_cast(unsigned short, e);
    else bits = __builtin_bit_cast(unsigned, e);
    unsigned magnitude = bits & (h ? 0x7fffu : 0x7fffffffu), inf = h ? 0x7c00u : 0x7f800000u;
    if constexpr (C == fp_class::nan) return magnitude > inf;
    else if constexpr (C == fp_class::inf) return magnitude == inf;
    else if constexpr (C == fp_class::finite) return magnitude < inf;
    else return (bits >> (h ? 15 : 31)) != 0;
}
template <fp_class C, class T> SM_INLINE auto test(T v) {
    if constexpr (sm::lanes<T> == 0) {
        return classify<C>(v);
    } else {
        vec<int, sm::lanes<T>> r;
        for (int i = 0; i < sm::lanes<T>; ++i) {
            sm::elem_t<T> e = v[i];
            r[i] = classify<C>(e) ? -1 : 0;
        }
        return r;
    }
}
} // namespace sm_detail
template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto isnan(T v) { return sm_detail::test<sm_detail::fp_class::nan>(v); }
template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto isinf(T v) { return sm_detail::test<sm_detail::fp_class::inf>(v); }
template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto isfinite(T v) { return sm_detail::test<sm_detail::fp_class::finite>(v); }
template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto signbit(T v) { return sm_detail::test<sm_detail::fp_class::negative>(v); }
template <class T, sm::enable_if_t<sm::is_arith<T>> = 0> SM_INLINE bool all(T v) {
    if constexpr (sm::lanes<T> == 0) return v != 0;
    else {
        bool r = true;
        for (int i = 0; i < sm::lanes<T>; ++i) r = r && (v[i] != 0);
        return r;
    }
}
template <class T, sm::enable_if_t<sm::is_arith<T>> = 0> SM_INLINE bool any(T v) {
    if constexpr (sm::lanes<T> == 0) return v != 0;
    else {
        bool r = false;
        for (int i = 0; i < sm::lanes<T>; ++i) r = r || (v[i] != 0);
        return r;
    }
}
// select(a, b, c): c ? b : a, lane by lane; a scalar condition picks whole vectors.
template <class A, class B, class C, sm::enable_if_t<sm::all_arith<A, B, C>> = 0>
SM_INLINE sm::common_t<A, B> select(A a, B b, C c) {
    using R = sm::common_t<A, B>;
    if constexpr (sm::lanes<C> == 0) {
        return c ? (R)b : (R)a;
    } else {
        R r;
        for (int i = 0; i < sm::lanes<R>; ++i) r[i] = c[i] ? sm::lane(b, i) : sm::lane(a, i);
        return r;
    }
}
} // namespace metal

#endif
