// softmetal prelude: metal::, metal::fast:: and metal::precise:: math, plus the relational functions.
#ifndef SOFTMETAL_PRELUDE_METAL_MATH_H
#define SOFTMETAL_PRELUDE_METAL_MATH_H

#include "metal_types.h"

namespace sm {
// Relational functions. NaN/Inf tests look at the bits, and never pass a float by value on the way:
// under -ffast-math clang marks float parameters "never NaN/Inf" and would fold the tests away.
enum class fp_class { nan, inf, finite, normal, negative, ordered, unordered };
// Bit layout of each floating-point element type: sign at the top, then the exponent field.
template <class E> struct fp_layout {
    using bits = unsigned;
    static constexpr unsigned inf = 0x7f800000u, min_normal = 0x00800000u;
};
template <> struct fp_layout<half> {
    using bits = unsigned short;
    static constexpr unsigned inf = 0x7c00u, min_normal = 0x0400u;
};
template <> struct fp_layout<__bf16> {
    using bits = unsigned short;
    static constexpr unsigned inf = 0x7f80u, min_normal = 0x0080u;
};
template <fp_class C, class E> SM_INLINE bool classify(const E &e) {
    using L = fp_layout<remove_cvref_t<E>>;
    constexpr int sign = 8 * (int)sizeof(E) - 1;
    unsigned bits = __builtin_bit_cast(typename L::bits, e);
    unsigned magnitude = bits & ((1u << sign) - 1u);
    if constexpr (C == fp_class::nan) return magnitude > L::inf;
    else if constexpr (C == fp_class::inf) return magnitude == L::inf;
    else if constexpr (C == fp_class::finite) return magnitude < L::inf;
    else if constexpr (C == fp_class::normal) return magnitude >= L::min_normal && magnitude < L::inf;
    else return (bits >> sign) != 0;
}
// Two-argument classes: whether none / any of the arguments is NaN.
template <fp_class C, class E> SM_INLINE bool classify(const E &a, const E &b) {
    bool nan = classify<fp_class::nan>(a) || classify<fp_class::nan>(b);
    return C == fp_class::unordered ? nan : !nan;
}
// Scalars give bool; vectors an int mask (-1 true), as MSL's boolN.
template <fp_class C, class T, class... U> SM_INLINE auto test(T v, U ...w) {
    if constexpr (lanes<T> == 0) {
        return classify<C>(v, w...);
    } else {
        metal::vec<int, lanes<T>> r;
        for (int i = 0; i < lanes<T>; ++i) {
            elem_t<T> e = v[i];
            r[i] = classify<C>(e, (elem_t<T>)w[i]...) ? -1 : 0;
        }
        return r;
    }
}
} // namespace sm

namespace metal {
#include "math_functions.inc"
namespace fast {
#include "math_functions.inc"
}
namespace precise {
#define SM_PRECISE_MATH 1
#pragma float_control(precise, on, push)
#include "math_functions.inc"
#pragma float_control(pop)
#undef SM_PRECISE_MATH
}

template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto isnan(T v) { return sm::test<sm::fp_class::nan>(v); }
template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto isinf(T v) { return sm::test<sm::fp_class::inf>(v); }
template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto isfinite(T v) { return sm::test<sm::fp_class::finite>(v); }
template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto signbit(T v) { return sm::test<sm::fp_class::negative>(v); }
template <class T, sm::enable_if_t<sm::is_float_elem<T>> = 0> SM_INLINE auto isnormal(T v) { return sm::test<sm::fp_class::normal>(v); }
// Ordered: neither argument is NaN.
template <class A, class B, sm::enable_if_t<sm::is_float_elem<A> && sm::is_float_elem<B>> = 0> SM_INLINE auto isordered(A a, B b) {
    using R = sm::common_t<A, B>;
    return sm::test<sm::fp_class::ordered>((R)a, (R)b);
}
template <class A, class B, sm::enable_if_t<sm::is_float_elem<A> && sm::is_float_elem<B>> = 0> SM_INLINE auto isunordered(A a, B b) {
    using R = sm::common_t<A, B>;
    return sm::test<sm::fp_class::unordered>((R)a, (R)b);
}
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
