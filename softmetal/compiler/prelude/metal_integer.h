// softmetal prelude: MSL's integer functions (metal_integer): bit counting and bit fields, saturating
// and high-half arithmetic, halving adds, rotates. Scalars and vectors of every integer type, 8 to
// 64 bits; a scalar argument next to a vector applies to every lane, as elsewhere in the prelude.
// Each is defined on one element here and applied lane by lane with sm::zip.
#ifndef SOFTMETAL_PRELUDE_METAL_INTEGER_H
#define SOFTMETAL_PRELUDE_METAL_INTEGER_H

#include "metal_types.h"
#include "metal_traits.h"

namespace sm {
namespace integer {
template <class E> constexpr int bits = 8 * (int)sizeof(E);
template <class E> constexpr bool is_signed = __is_signed(E);
template <class E> constexpr E max_of() {
    if constexpr (is_signed<E>) return (E)(((unsigned long)1 << (bits<E> - 1)) - 1);
    else return (E)~(E)0;
}
template <class E> constexpr E min_of() { return is_signed<E> ? (E)(-max_of<E>() - 1) : (E)0; }
// The unsigned type of E's width, and a type twice as wide (for high halves and saturation).
template <class E> using unsigned_of = typename metal::make_unsigned<E>::type;
template <class E> struct wide { using type = long; };
template <> struct wide<long> { using type = __int128; };
template <> struct wide<unsigned long> { using type = unsigned __int128; };
template <class E> using wide_t = typename wide<E>::type;
template <class E, class W> SM_INLINE E saturate(W v) {
    return v < (W)min_of<E>() ? min_of<E>() : (v > (W)max_of<E>() ? max_of<E>() : (E)v);
}

template <class E> SM_INLINE E absdiff(E x, E y) {
    using U = unsigned_of<E>;
    return (E)(x > y ? (U)((U)x - (U)y) : (U)((U)y - (U)x));
}
template <class E> SM_INLINE E addsat(E x, E y) {
    E r;
    if (!__builtin_add_overflow(x, y, &r)) return r;
    return is_signed<E> && y < 0 ? min_of<E>() : max_of<E>();
}
template <class E> SM_INLINE E subsat(E x, E y) {
    E r;
    if (!__builtin_sub_overflow(x, y, &r)) return r;
    return is_signed<E> && y < 0 ? max_of<E>() : min_of<E>();
}
template <class E> SM_INLINE E mulhi(E x, E y) {
    using W = wide_t<E>;
    return (E)(((W)x * (W)y) >> bits<E>);
}
template <class E> SM_INLINE E madsat(E a, E b, E c) {
    using W = wide_t<E>;
    return saturate<E>((W)a * (W)b + (W)c);
}
// Halving adds without overflow: floor((x + y) / 2) and floor((x + y + 1) / 2).
template <class E> SM_INLINE E hadd(E x, E y) { return (E)((x >> 1) + (y >> 1) + (x & y & 1)); }
template <class E> SM_INLINE E rhadd(E x, E y) { return (E)((x >> 1) + (y >> 1) + ((x | y) & 1)); }
template <class E> SM_INLINE E rotate(E v, E by) {
    using U = unsigned_of<E>;
    const unsigned n = (unsigned)((U)by % (unsigned)bits<E>);
    const U u = (U)v;
    return n == 0 ? v : (E)(U)((U)(u << n) | (U)(u >> (bits<E> - n)));
}
template <class E> SM_INLINE E reverse_bits(E v) {
    using U = unsigned_of<E>;
    if constexpr (bits<E> == 8) return (E)__builtin_bitreverse8((U)v);
    else if constexpr (bits<E> == 16) return (E)__builtin_bitreverse16((U)v);
    else if constexpr (bits<E> == 32) return (E)__builtin_bitreverse32((U)v);
    else return (E)__builtin_bitreverse64((U)v);
}
// Bits [offset, offset + count) of x in the low bits: zero-extended for unsigned types, sign-extended
// from the field's top bit for signed ones; count 0 gives 0.
template <class E> SM_INLINE E extract_bits(E x, unsigned offset, unsigned count) {
    if (count == 0) return 0;
    unsigned long field = ((unsigned long)(unsigned_of<E>)x >> offset) << (64 - count);
    if constexpr (is_signed<E>) return (E)((long)field >> (64 - count));
    else return (E)(field >> (64 - count));
}
// base with bits [offset, offset + count) replaced by the low count bits of insert.
template <class E> SM_INLINE E insert_bits(E base, E insert, unsigned offset, unsigned count) {
    if (count == 0) return base;
    unsigned long mask = (~0ul >> (64 - count)) << offset;
    unsigned long b = (unsigned long)(unsigned_of<E>)base, i = (unsigned long)(unsigned_of<E>)insert;
    return (E)(unsigned_of<E>)((b & ~mask) | ((i << offset) & mask));
}
} // namespace integer
} // namespace sm

namespace metal {
#define SM_INT_ARGS(...) sm::enable_if_t<sm::all_int<__VA_ARGS__>> = 0

template <class T, SM_INT_ARGS(T)> SM_INLINE sm::remove_cvref_t<T> popcount(T v) {
    return sm::zip<sm::remove_cvref_t<T>>([](auto e) { return sm::target::popcount(e); }, v);
}
template <class T, SM_INT_ARGS(T)> SM_INLINE sm::remove_cvref_t<T> clz(T v) {
    return sm::zip<sm::remove_cvref_t<T>>([](auto e) { return sm::target::clz(e); }, v);
}
template <class T, SM_INT_ARGS(T)> SM_INLINE sm::remove_cvref_t<T> ctz(T v) {
    return sm::zip<sm::remove_cvref_t<T>>([](auto e) { return sm::target::ctz(e); }, v);
}
template <class T, SM_INT_ARGS(T)> SM_INLINE sm::remove_cvref_t<T> reverse_bits(T v) {
    return sm::zip<sm::remove_cvref_t<T>>([](auto e) { return sm::integer::reverse_bits(e); }, v);
}

#define SM_INT2(name)                                                                                              \
    template <class A, class B, SM_INT_ARGS(A, B)> SM_INLINE sm::common_t<A, B> name(A a, B b) {                   \
        return sm::zip<sm::common_t<A, B>>([](auto x, auto y) { return sm::integer::name(x, y); }, a, b);            \
    }
SM_INT2(absdiff)
SM_INT2(addsat)
SM_INT2(subsat)
SM_INT2(mulhi)
SM_INT2(hadd)
SM_INT2(rhadd)
SM_INT2(rotate)
#undef SM_INT2

template <class A, class B, class C, SM_INT_ARGS(A, B, C)> SM_INLINE sm::common_t<A, B, C> madhi(A a, B b, C c) {
    return sm::zip<sm::common_t<A, B, C>>([](auto x, auto y, auto z) { return (decltype(x))(sm::integer::mulhi(x, y) + z); }, a, b, c);
}
template <class A, class B, class C, SM_INT_ARGS(A, B, C)> SM_INLINE sm::common_t<A, B, C> madsat(A a, B b, C c) {
    return sm::zip<sm::common_t<A, B, C>>([](auto x, auto y, auto z) { return sm::integer::madsat(x, y, z); }, a, b, c);
}
// 24-bit multiplies (int and uint): the operands are meant to fit in 24 bits, where the full 32-bit
// product is exact, so a plain (wrapping) multiply gives Metal's result.
template <class A, class B, SM_INT_ARGS(A, B)> SM_INLINE sm::common_t<A, B> mul24(A a, B b) {
    return sm::zip<sm::common_t<A, B>>([](auto x, auto y) { return (decltype(x))((unsigned)x * (unsigned)y); }, a, b);
}
template <class A, class B, class C, SM_INT_ARGS(A, B, C)> SM_INLINE sm::common_t<A, B, C> mad24(A a, B b, C c) {
    return sm::zip<sm::common_t<A, B, C>>([](auto x, auto y, auto z) { return (decltype(x))((unsigned)x * (unsigned)y + (unsigned)z); }, a, b, c);
}

// Bit fields: offset and count are uint scalars for scalars and vectors alike.
template <class T, SM_INT_ARGS(T)> SM_INLINE sm::remove_cvref_t<T> extract_bits(T x, uint offset, uint count) {
    using R = sm::remove_cvref_t<T>;
    return sm::zip<R>([offset, count](auto e) { return sm::integer::extract_bits(e, offset, count); }, x);
}
template <class A, class B, SM_INT_ARGS(A, B)> SM_INLINE sm::common_t<A, B> insert_bits(A base, B insert, uint offset, uint count) {
    return sm::zip<sm::common_t<A, B>>([offset, count](auto b, auto i) { return sm::integer::insert_bits(b, i, offset, count); }, base, insert);
}
#undef SM_INT_ARGS
} // namespace metal

#endif
