// softmetal prelude: MSL scalar, vector and packed vector types, vector constructors, and the internal
// traits (sm::) the rest of the prelude is written with. The public metal:: traits are in metal_traits.h.
//
// Vectors are clang ext_vector_type, which gives MSL's swizzles (rvalue and lvalue) and operators.
// What ext_vector_type lacks, MSL's constructors (`float4(f2, z, w)`), comes from function-like
// macros: `float4(...)` expands to `sm_make_float4(...)`, while `float4` alone stays the type.
// Boolean vectors are integer masks (comparisons on vectors yield -1/0 ints in clang), so
// `bool4 m = a < b;` compiles; any nonzero lane counts as true.
#ifndef SOFTMETAL_PRELUDE_METAL_TYPES_H
#define SOFTMETAL_PRELUDE_METAL_TYPES_H

#include "target_cpu.h"

typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
// MSL's fixed-width integer names, global as Apple's are and also as metal::uint8_t (below). The same
// types as <stdint.h> (which kernel_abi.h includes), so the two declarations agree.
typedef __INT8_TYPE__ int8_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __INT16_TYPE__ int16_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __INT32_TYPE__ int32_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INTPTR_TYPE__ intptr_t;
typedef __UINTPTR_TYPE__ uintptr_t;

namespace sm {
template <bool B, class T = int> struct enable_if {};
template <class T> struct enable_if<true, T> { using type = T; };
template <bool B, class T = int> using enable_if_t = typename enable_if<B, T>::type;
// Values have no address space: `device float` read through a pointer is a float. References first,
// then the address space, then const/volatile (one pattern each, so none is ambiguous).
template <class T> struct remove_ref { using type = T; };
template <class T> struct remove_ref<T &> { using type = T; };
template <class T> struct remove_ref<T &&> { using type = T; };
template <class T> struct remove_space { using type = T; };
template <class T> struct remove_space<__global T> { using type = T; };
template <class T> struct remove_space<__local T> { using type = T; };
template <class T> struct remove_space<__constant T> { using type = T; };
template <class T> struct remove_space<__private T> { using type = T; };
template <class T> struct remove_space<__generic T> { using type = T; };
template <class T> struct remove_cv { using type = T; };
template <class T> struct remove_cv<const T> { using type = T; };
template <class T> struct remove_cv<volatile T> { using type = T; };
template <class T> struct remove_cv<const volatile T> { using type = T; };
template <class T> struct remove_cvref {
    using type = typename remove_cv<typename remove_space<typename remove_ref<T>::type>::type>::type;
};
template <class T> using remove_cvref_t = typename remove_cvref<T>::type;
template <class A, class B> struct is_same { static constexpr bool value = false; };
template <class A> struct is_same<A, A> { static constexpr bool value = true; };
template <class T> T &&declval();

// vt<T>: element type and lane count (0 for scalars) of an arithmetic type.
template <class T> struct vt {
    using elem = T;
    static constexpr int n = 0;
};
template <class E, int N> struct vt<E __attribute__((ext_vector_type(N)))> {
    using elem = E;
    static constexpr int n = N;
};
template <class T> using elem_t = typename vt<remove_cvref_t<T>>::elem;
template <class T> constexpr int lanes = vt<remove_cvref_t<T>>::n;
template <class T> constexpr bool is_arith = __is_arithmetic(elem_t<T>);
template <class T> constexpr bool is_float_elem =
    is_same<elem_t<T>, float>::value || is_same<elem_t<T>, half>::value || is_same<elem_t<T>, __bf16>::value;

// Element conversion. C++ for OpenCL refuses half <-> __bf16 casts outright; Metal converts them as
// values, which going through float does exactly (float holds every half and every bfloat).
template <class To, class From> SM_INLINE constexpr To cvt(From x) {
    if constexpr ((is_same<To, __bf16>::value && is_same<From, half>::value) ||
                  (is_same<To, half>::value && is_same<From, __bf16>::value))
        return (To)(float)x;
    else
        return (To)x;
}
template <class T> constexpr bool is_int_elem = is_arith<T> && !is_float_elem<T>;
template <class... A> constexpr bool all_arith = (is_arith<A> && ...);
template <class... A> constexpr bool all_int = (is_int_elem<A> && ...);

// The result type of mixing MSL arguments: the first vector among them, else the scalars' common type.
template <class A, class B, bool av, bool bv> struct pick { using type = A; };
template <class A, class B> struct pick<A, B, false, true> { using type = B; };
template <class A, class B> struct pick<A, B, false, false> {
    using type = remove_cvref_t<decltype(declval<A>() + declval<B>())>; // C++'s usual arithmetic conversions
};
template <class A, class B> struct pick<A, B, true, false> { using type = A; };
template <class... A> struct common;
template <class A> struct common<A> { using type = remove_cvref_t<A>; };
template <class A, class B, class... R> struct common<A, B, R...> {
    using a = remove_cvref_t<A>;
    using b = typename common<B, R...>::type;
    using type = typename pick<a, b, (lanes<a> > 0) || is_same<a, b>::value, (lanes<b> > 0)>::type;
};
template <class... A> using common_t = typename common<A...>::type;

template <class X> SM_INLINE auto lane(X x, int i) {
    if constexpr (lanes<X> > 0) return x[i];
    else return x;
}
// Applies f lane by lane; arguments are converted to R's element type first (as MSL's overloads do).
template <class R, class F, class... A> SM_INLINE R zip(F f, A ...a) {
    using E = elem_t<R>;
    if constexpr (lanes<R> == 0) {
        return cvt<R>(f(cvt<E>(a)...));
    } else {
        R r;
        for (int i = 0; i < lanes<R>; ++i) r[i] = cvt<E>(f(cvt<E>(lane(a, i))...));
        return r;
    }
}

// Lanes of a constructor argument: packed vectors (metal::packed_vec) count as their length.
template <class T> struct packed_lanes { static constexpr int n = 0; };
template <class A> constexpr int arg_lanes = lanes<A> > 0 ? lanes<A> : packed_lanes<remove_cvref_t<A>>::n;

// Vectors built in constant expressions too: a program-scope `constant float3 c = float3(...);` must be
// initialised by the compiler, never by code run when the library loads (object_check.hpp refuses
// that). clang 19 evaluates vector braces, splats, shuffles and conversions as constants, but neither
// a lane read (v[i], .x) nor a lane store; a bit cast to an array is a constant expression, so lanes
// are read through one (a 3-vector's padding lane is indeterminate: it is widened to 4 first) and
// vectors are made by braces from an array of lanes.
template <class E, int N> struct lane_array { E v[N]; };
template <class T, T... I> struct integer_seq {};
template <class X> SM_INLINE constexpr lane_array<elem_t<X>, lanes<X>> lanes_of(X x) {
    using E = elem_t<X>;
    if constexpr (lanes<X> == 3) {
        const auto a = __builtin_bit_cast(lane_array<E, 4>, __builtin_shufflevector(x, x, 0, 1, 2, 2));
        return {{a.v[0], a.v[1], a.v[2]}};
    } else {
        return __builtin_bit_cast(lane_array<E, lanes<X>>, x);
    }
}
template <class V, int... I> SM_INLINE constexpr V from_lanes(const lane_array<elem_t<V>, lanes<V>> &l, integer_seq<int, I...>) {
    return V{l.v[I]...};
}
template <class V> SM_INLINE constexpr V from_lanes(const lane_array<elem_t<V>, lanes<V>> &l) {
    return from_lanes<V>(l, __make_integer_seq<integer_seq, int, lanes<V>>{});
}

// `float4 v = {a, b};` in MSL: the given elements in order, the rest zero (aggregate rules).
template <class V, class... A> SM_INLINE constexpr V brace_vector(A... a) {
    static_assert(sizeof...(A) <= lanes<V>, "too many elements in vector initialization");
    lane_array<elem_t<V>, lanes<V>> l{};
    int i = 0;
    ((l.v[i++] = (elem_t<V>)a), ...);
    return from_lanes<V>(l);
}

// Vector constructor: scalars splat, a same-length vector converts, otherwise the lanes of all
// arguments are concatenated in order (float4(f2, z, w), float4(f3, w), ...).
template <class V, class A> SM_INLINE constexpr void append(lane_array<elem_t<V>, lanes<V>> &out, int &k, A a) {
    if constexpr (arg_lanes<A> == 0) {
        out.v[k++] = cvt<elem_t<V>>(a);
    } else if constexpr (lanes<A> > 0) {
        const auto l = lanes_of(a);
        for (int i = 0; i < lanes<A>; ++i) out.v[k++] = cvt<elem_t<V>>(l.v[i]);
    } else {
        for (int i = 0; i < arg_lanes<A>; ++i) out.v[k++] = cvt<elem_t<V>>(a[i]); // a packed vector
    }
}
template <class V, class... A> SM_INLINE constexpr V make_vec(A ...a) {
    constexpr int n = lanes<V>;
    if constexpr (sizeof...(A) == 0) {
        return V(0);
    } else if constexpr (sizeof...(A) == 1 && ((arg_lanes<A> == 0) && ...)) {
        return V(cvt<elem_t<V>>((a, ...)));
    } else {
        static_assert(((arg_lanes<A> == 0 ? 1 : arg_lanes<A>) + ...) == n,
                      "vector constructor: the arguments' lanes must add up to the vector's length");
        lane_array<elem_t<V>, n> l{};
        int k = 0;
        (append<V>(l, k, a), ...);
        return from_lanes<V>(l);
    }
}

// MSL's explicit conversions (msl_conversions.hpp): the translator writes `(T)x` as msl_cast<T>(x) and,
// for type names the source declares, `T(a, ...)` as msl_construct<T>(a, ...). Between vectors of the
// same length each element's value converts, as in Metal (clang's vectors would reinterpret the bits
// or refuse); a scalar splats; anything else is C++'s own cast or constructor.
template <class T, class U> SM_INLINE constexpr T msl_cast(U v) {
    if constexpr (lanes<T> > 0 && lanes<U> > 0) {
        static_assert(lanes<T> == lanes<U>, "cannot convert between vectors of different lengths");
        if constexpr (is_same<elem_t<T>, elem_t<U>>::value) {
            return v;
        } else if constexpr (is_same<elem_t<T>, __bf16>::value || is_same<elem_t<U>, __bf16>::value) {
            return __builtin_convertvector(__builtin_convertvector(v, float __attribute__((ext_vector_type(lanes<T>)))), T);
        } else {
            return __builtin_convertvector(v, T);
        }
    } else if constexpr (lanes<T> > 0 && is_arith<U>) {
        return T(cvt<elem_t<T>>(v));
    } else if constexpr (is_arith<T> && is_arith<U>) {
        return cvt<T>(v);
    } else {
        return (T)v;
    }
}
template <class T, class... A> SM_INLINE constexpr T msl_construct(A... a) {
    if constexpr (lanes<T> > 0) return make_vec<T>(a...);
    else if constexpr (sizeof...(A) == 1 && (is_arith<A> && ...)) return msl_cast<T>(a...);
    else return T(a...);
}

// A scalar operand meeting a vector of narrower elements (`half4 * 2.0f`, `uchar4 + 1`, `c ? h4 : 0.5f`):
// MSL converts the scalar to the element type, C++ for OpenCL refuses it. When clang reports one, the
// compiler wraps that operand in loose() (operand_repair.hpp) and compiles again; these
// operators do what MSL does. ADL finds them through loose_scalar.
template <class S> struct loose_scalar {
    S value;
    template <class V, enable_if_t<(lanes<V> > 0)> = 0> SM_INLINE constexpr operator V() const { return V(cvt<elem_t<V>>(value)); }
};
template <class S> SM_INLINE constexpr loose_scalar<S> loose(S s) { return {s}; }
#define SM_LOOSE_OPERATOR(op)                                                                                             \
    template <class V, class S, enable_if_t<(lanes<V> > 0)> = 0> SM_INLINE auto operator op(V v, loose_scalar<S> s) {       \
        return v op cvt<elem_t<V>>(s.value);                                                                                \
    }                                                                                                                       \
    template <class V, class S, enable_if_t<(lanes<V> > 0)> = 0> SM_INLINE auto operator op(loose_scalar<S> s, V v) {       \
        return cvt<elem_t<V>>(s.value) op v;                                                                                \
    }
#define SM_LOOSE_ASSIGNMENT(op)                                                                                           \
    template <class V, class S, enable_if_t<(lanes<V> > 0)> = 0> SM_INLINE V &operator op(V &v, loose_scalar<S> s) {        \
        return v op cvt<elem_t<V>>(s.value);                                                                                \
    }
SM_LOOSE_OPERATOR(+) SM_LOOSE_OPERATOR(-) SM_LOOSE_OPERATOR(*) SM_LOOSE_OPERATOR(/) SM_LOOSE_OPERATOR(%)
SM_LOOSE_OPERATOR(&) SM_LOOSE_OPERATOR(|) SM_LOOSE_OPERATOR(^) SM_LOOSE_OPERATOR(<<) SM_LOOSE_OPERATOR(>>)
SM_LOOSE_OPERATOR(==) SM_LOOSE_OPERATOR(!=) SM_LOOSE_OPERATOR(<) SM_LOOSE_OPERATOR(>) SM_LOOSE_OPERATOR(<=)
SM_LOOSE_OPERATOR(>=) SM_LOOSE_OPERATOR(&&) SM_LOOSE_OPERATOR(||)
SM_LOOSE_ASSIGNMENT(+=) SM_LOOSE_ASSIGNMENT(-=) SM_LOOSE_ASSIGNMENT(*=) SM_LOOSE_ASSIGNMENT(/=) SM_LOOSE_ASSIGNMENT(%=)
SM_LOOSE_ASSIGNMENT(&=) SM_LOOSE_ASSIGNMENT(|=) SM_LOOSE_ASSIGNMENT(^=) SM_LOOSE_ASSIGNMENT(<<=) SM_LOOSE_ASSIGNMENT(>>=)
#undef SM_LOOSE_OPERATOR
#undef SM_LOOSE_ASSIGNMENT

// A template parameter whose type is a function-pointer alias (MLX's fft.h:
// `typedef void (*RadixFunc)(thread float2*, thread float2*); template <int r, RadixFunc f>`):
// C++ for OpenCL matches no function as such an argument, so the translator makes the parameter a
// reference to the function, passed and called the same way.
template <class P> using function_reference = __remove_pointer(P) &;

// An argument converted to bind a `thread const T&` parameter (`int` passed as `thread const short&`):
// MSL makes the temporary in thread memory; clang makes it outside __private and refuses. When clang
// reports one, the compiler wraps the argument in thread_temporary() (operand_repair.hpp): the
// parameter's type is deduced by the conversion, and the converted value lives in the wrapper's own
// storage, which lasts, as a temporary does, to the end of the call's full expression.
template <class V> struct thread_temporary_value {
    V value;
    alignas(16) mutable unsigned char storage[64];
    template <class U> SM_INLINE operator __private const U &() const {
        static_assert(sizeof(U) <= sizeof(storage) && __is_trivially_copyable(U),
                      "softmetal: a converted argument for a thread reference parameter must be a small value type");
        const U converted = U(value);
        __builtin_memcpy((void *)storage, (const void *)&converted, sizeof(U));
        return *(__private const U *)(const void *)storage;
    }
};
template <class V> SM_INLINE thread_temporary_value<remove_cvref_t<V>> thread_temporary(const V &v) { return {v, {}}; }
} // namespace sm

namespace metal {
using ::int8_t;
using ::uint8_t;
using ::int16_t;
using ::uint16_t;
using ::int32_t;
using ::uint32_t;
using ::int64_t;
using ::uint64_t;
using ::intptr_t;
using ::uintptr_t;
using ::size_t;
using ::ptrdiff_t;
typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
// `half` is the C++-for-OpenCL builtin 16-bit float (cl_khr_fp16 enabled by the compiler flags).

template <class T, int N> using vec = T __attribute__((ext_vector_type(N)));

#define SM_DECLARE_VECTORS(T, E)                                                                                   \
    typedef E T##2 __attribute__((ext_vector_type(2)));                                                             \
    typedef E T##3 __attribute__((ext_vector_type(3)));                                                             \
    typedef E T##4 __attribute__((ext_vector_type(4)));                                                             \
    template <class... A> SM_INLINE constexpr T##2 sm_make_##T##2(A ...a) { return sm::make_vec<T##2>(a...); } \
    template <class... A> SM_INLINE constexpr T##3 sm_make_##T##3(A ...a) { return sm::make_vec<T##3>(a...); } \
    template <class... A> SM_INLINE constexpr T##4 sm_make_##T##4(A ...a) { return sm::make_vec<T##4>(a...); }
SM_DECLARE_VECTORS(float, float)
SM_DECLARE_VECTORS(half, half)
SM_DECLARE_VECTORS(int, int)
SM_DECLARE_VECTORS(uint, unsigned int)
SM_DECLARE_VECTORS(short, short)
SM_DECLARE_VECTORS(ushort, unsigned short)
SM_DECLARE_VECTORS(char, signed char)
SM_DECLARE_VECTORS(uchar, unsigned char)
SM_DECLARE_VECTORS(long, long)
SM_DECLARE_VECTORS(ulong, unsigned long)
#undef SM_DECLARE_VECTORS
// Boolean vectors are masks (see the top of this file); true is stored as -1 like comparisons.
typedef int2 bool2;
typedef int3 bool3;
typedef int4 bool4;
template <class V, class... A> SM_INLINE constexpr V sm_make_bool_vec(A ...a) {
    return sm::make_vec<V>(a...) != 0;
}
template <class... A> SM_INLINE constexpr bool2 sm_make_bool2(A ...a) { return sm_make_bool_vec<bool2>(a...); }
template <class... A> SM_INLINE constexpr bool3 sm_make_bool3(A ...a) { return sm_make_bool_vec<bool3>(a...); }
template <class... A> SM_INLINE constexpr bool4 sm_make_bool4(A ...a) { return sm_make_bool_vec<bool4>(a...); }

} // namespace metal
namespace sm {
// The members of a packed vector: an array for [i], and .x .y .z .w over the same storage.
template <class E, int N> struct packed_storage;
template <class E> struct packed_storage<E, 2> {
    union {
        E v[2];
        struct { E x, y; };
    };
};
template <class E> struct packed_storage<E, 3> {
    union {
        E v[3];
        struct { E x, y, z; };
    };
};
template <class E> struct packed_storage<E, 4> {
    union {
        E v[4];
        struct { E x, y, z, w; };
    };
};
} // namespace sm
namespace metal {
// packed_floatN: MSL's tightly packed vectors (no padding, alignment of the element). They convert
// to and from the aligned vector, implicitly and by C-style cast (`(float4)p`, `(packed_float4)v`);
// arithmetic and comparisons go through that conversion. Components are .x .y .z .w and [i];
// swizzles need the aligned vector (`float4(p).xy`).
template <class E, int N> struct packed_vec : sm::packed_storage<E, N> {
    packed_vec() = default;
    template <class... A, sm::enable_if_t<(sizeof...(A) > 1)> = 0> SM_INLINE packed_vec(A ...a) {
        *this = sm::make_vec<vec<E, N>>(a...);
    }
    SM_INLINE packed_vec(vec<E, N> x) {
        for (int i = 0; i < N; ++i) this->v[i] = x[i];
    }
    SM_INLINE operator vec<E, N>() const {
        vec<E, N> r;
        for (int i = 0; i < N; ++i) r[i] = this->v[i];
        return r;
    }
    SM_INLINE E &operator[](int i) { return this->v[i]; }
    SM_INLINE E operator[](int i) const { return this->v[i]; }
#define SM_PACKED_ASSIGN(op)                                                                                       \
    template <class B> SM_INLINE packed_vec &operator op##=(B b) {                                                  \
        *this = packed_vec(vec<E, N>(*this) op b);                                                                  \
        return *this;                                                                                               \
    }
    SM_PACKED_ASSIGN(+)
    SM_PACKED_ASSIGN(-)
    SM_PACKED_ASSIGN(*)
    SM_PACKED_ASSIGN(/)
    SM_PACKED_ASSIGN(%)
    SM_PACKED_ASSIGN(&)
    SM_PACKED_ASSIGN(|)
    SM_PACKED_ASSIGN(^)
    SM_PACKED_ASSIGN(<<)
    SM_PACKED_ASSIGN(>>)
#undef SM_PACKED_ASSIGN
    SM_INLINE vec<E, N> operator-() const { return -vec<E, N>(*this); }
    SM_INLINE vec<E, N> operator+() const { return vec<E, N>(*this); }
};
} // namespace metal
namespace sm {
template <class E, int N> struct packed_lanes<metal::packed_vec<E, N>> { static constexpr int n = N; };
// The aligned vector of a packed one; anything else as it is.
template <class T> SM_INLINE T unpacked(T x) { return x; }
template <class E, int N> SM_INLINE metal::vec<E, N> unpacked(metal::packed_vec<E, N> x) { return x; }
} // namespace sm
namespace metal {
// Binary operators with a packed operand on either side (both sides: both unpacked). The packed side
// is matched by the parameter's form, not by enable_if, so that every other `+` in a kernel (which
// sees these through `using namespace metal`) is discarded at deduction, cheaply.
#define SM_PACKED_BINARY(op)                                                                                       \
    template <class E, int N, class B>                                                                              \
    SM_INLINE auto operator op(packed_vec<E, N> a, B b)->decltype(vec<E, N>(a) op sm::unpacked(b)) {               \
        return vec<E, N>(a) op sm::unpacked(b);                                                                     \
    }                                                                                                               \
    template <class A, class E, int N>                                                                              \
    SM_INLINE auto operator op(A a, packed_vec<E, N> b)->decltype(a op vec<E, N>(b)) {                              \
        return a op vec<E, N>(b);                                                                                   \
    }                                                                                                               \
    template <class E, int N, class F, int M>                                                                       \
    SM_INLINE auto operator op(packed_vec<E, N> a, packed_vec<F, M> b)->decltype(vec<E, N>(a) op vec<F, M>(b)) {    \
        return vec<E, N>(a) op vec<F, M>(b);                                                                        \
    }
SM_PACKED_BINARY(+)
SM_PACKED_BINARY(-)
SM_PACKED_BINARY(*)
SM_PACKED_BINARY(/)
SM_PACKED_BINARY(%)
SM_PACKED_BINARY(&)
SM_PACKED_BINARY(|)
SM_PACKED_BINARY(^)
SM_PACKED_BINARY(<<)
SM_PACKED_BINARY(>>)
SM_PACKED_BINARY(==)
SM_PACKED_BINARY(!=)
SM_PACKED_BINARY(<)
SM_PACKED_BINARY(>)
SM_PACKED_BINARY(<=)
SM_PACKED_BINARY(>=)
#undef SM_PACKED_BINARY
#define SM_PACKED(T, E)                                                                                            \
    typedef packed_vec<E, 2> packed_##T##2;                                                                         \
    typedef packed_vec<E, 3> packed_##T##3;                                                                         \
    typedef packed_vec<E, 4> packed_##T##4;
SM_PACKED(float, float)
SM_PACKED(half, half)
SM_PACKED(int, int)
SM_PACKED(uint, unsigned int)
SM_PACKED(short, short)
SM_PACKED(ushort, unsigned short)
SM_PACKED(char, signed char)
SM_PACKED(uchar, unsigned char)
#undef SM_PACKED

// uniform<T>: a value the same for every thread (a hint to a GPU's compiler); here it is the value.
template <class T> using uniform = T;
// constexpr: MLX spells `constexpr const uniform<int> n = make_uniform(N);` with a template argument N.
template <class T> SM_INLINE constexpr T make_uniform(T v) { return v; }

template <class T, class U> SM_INLINE constexpr T as_type(U u) {
    static_assert(sizeof(T) == sizeof(U), "as_type: source and destination must have the same size");
    return __builtin_bit_cast(T, u);
}

} // namespace metal

#define MAXFLOAT 3.40282347e+38f
#define FLT_MAX 3.40282347e+38f
#define FLT_MIN 1.17549435e-38f
#define FLT_EPSILON 1.19209290e-7f
#define HALF_MAX ((half)65504.0f)
#define HALF_MIN ((half)6.103515625e-05f)
#define HALF_EPSILON ((half)0.0009765625f)
#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
#define INT_MAX 2147483647
#define INT_MIN (-2147483647 - 1)
#define UINT_MAX 4294967295u
#define M_PI_F 3.14159265358979323846f
#define M_PI_2_F 1.57079632679489661923f
#define M_PI_4_F 0.78539816339744830962f
#define M_1_PI_F 0.31830988618379067154f
#define M_2_PI_F 0.63661977236758134308f
#define M_E_F 2.71828182845904523536f
#define M_LN2_F 0.69314718055994530942f
#define M_LN10_F 2.30258509299404568402f
#define M_LOG2E_F 1.44269504088896340736f
#define M_LOG10E_F 0.43429448190325182765f
#define M_SQRT2_F 1.41421356237309504880f
#define M_SQRT1_2_F 0.70710678118654752440f
#define M_PI_H ((half)3.14159265358979323846f)

#endif
