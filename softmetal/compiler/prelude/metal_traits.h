// softmetal prelude: metal_type_traits and metal_utility, the public `metal::` traits that templated MSL
// code (MLX, ggml, candle) leans on.
//
// They are written on clang's type-trait builtins, not on <type_traits>: the prelude includes no C++
// standard library (see target_cpu.h). A trait about kinds of numbers (is_integral, is_floating_point,
// is_signed, is_unsigned, is_arithmetic, make_signed/make_unsigned) looks through vectors at the element
// type, so templates written for "float or floatN" work with either; is_scalar is true only for scalars
// and is_vector only for vectors. half and bfloat are floating-point types.
//
// Address spaces: in MSL a local variable's type is plain (`decltype(x)` is `float`), while C++ for
// OpenCL gives it `__private float`, and a reference `__generic`. So is_same treats thread (__private)
// and generic as no address space at all, and remove_cv / remove_cvref / decay take them off; device,
// threadgroup and constant stay part of the type (`is_same_v<device float, float>` is false), and
// remove_address_space takes off any of them.
//
// Only public names live here. The prelude's own plumbing stays in sm::, so user code that says
// `using namespace metal;` may still have its own `detail` namespace or traits of its own.
#ifndef SOFTMETAL_PRELUDE_METAL_TRAITS_H
#define SOFTMETAL_PRELUDE_METAL_TRAITS_H

#include "metal_types.h"

namespace sm {
// What MSL would write as the plain type: __private and __generic taken off (see above).
template <class T> struct plain { using type = T; };
template <class T> struct plain<__private T> { using type = T; };
template <class T> struct plain<__generic T> { using type = T; };
template <class T> using plain_t = typename plain<T>::type;

// The signed and unsigned integer of a size (make_signed / make_unsigned).
template <class T> struct int_of_size;
template <> struct int_of_size<char> { using s = signed char; using u = unsigned char; };
template <> struct int_of_size<signed char> { using s = signed char; using u = unsigned char; };
template <> struct int_of_size<unsigned char> { using s = signed char; using u = unsigned char; };
template <> struct int_of_size<short> { using s = short; using u = unsigned short; };
template <> struct int_of_size<unsigned short> { using s = short; using u = unsigned short; };
template <> struct int_of_size<int> { using s = int; using u = unsigned int; };
template <> struct int_of_size<unsigned int> { using s = int; using u = unsigned int; };
template <> struct int_of_size<long> { using s = long; using u = unsigned long; };
template <> struct int_of_size<unsigned long> { using s = long; using u = unsigned long; };
} // namespace sm

namespace metal {

template <class T, T v> struct integral_constant {
    static constexpr T value = v;
    using value_type = T;
    using type = integral_constant;
    constexpr operator value_type() const { return value; }
    constexpr value_type operator()() const { return value; }
};
template <bool B> using bool_constant = integral_constant<bool, B>;
using true_type = bool_constant<true>;
using false_type = bool_constant<false>;

template <bool B, class T = void> struct enable_if {};
template <class T> struct enable_if<true, T> { using type = T; };
template <bool B, class T = void> using enable_if_t = typename enable_if<B, T>::type;

template <bool B, class T, class F> struct conditional { using type = T; };
template <class T, class F> struct conditional<false, T, F> { using type = F; };
template <bool B, class T, class F> using conditional_t = typename conditional<B, T, F>::type;

template <class T> struct type_identity { using type = T; };
template <class T> using type_identity_t = typename type_identity<T>::type;
// No void_t and no is_empty: Apple's library has neither, and MLX defines both itself inside
// `namespace metal` (steel/utils/type_traits.h), which a second definition would break.

// ---- cv, references, pointers, address spaces ----
template <class T> struct remove_const { using type = T; };
template <class T> struct remove_const<const T> { using type = T; };
template <class T> struct remove_volatile { using type = T; };
template <class T> struct remove_volatile<volatile T> { using type = T; };
template <class T> struct remove_cv {
    using type = sm::plain_t<typename remove_volatile<typename remove_const<sm::plain_t<T>>::type>::type>;
};
// A reference variable's decltype can carry __private on the reference itself: plain first.
template <class T> struct remove_reference { using type = sm::plain_t<__remove_reference_t(T)>; };
template <class T> struct remove_cvref { using type = typename remove_cv<typename remove_reference<T>::type>::type; };
template <class T> struct remove_pointer { using type = T; };
template <class T> struct remove_pointer<T *> { using type = T; };
template <class T> struct remove_pointer<T *const> { using type = T; };
template <class T> struct remove_pointer<T *volatile> { using type = T; };
template <class T> struct remove_pointer<T *const volatile> { using type = T; };
template <class T> struct remove_address_space { using type = typename sm::remove_space<T>::type; };
template <class T> struct remove_extent { using type = T; };
template <class T> struct remove_extent<T[]> { using type = T; };
template <class T, size_t N> struct remove_extent<T[N]> { using type = T; };
template <class T> struct add_const { using type = const T; };
template <class T> struct add_volatile { using type = volatile T; };
template <class T> struct add_cv { using type = const volatile T; };
template <class T> struct add_pointer { using type = typename remove_reference<T>::type *; };
template <class T> struct add_lvalue_reference { using type = T &; };
template <class T> struct add_rvalue_reference { using type = T &&; };
template <class T> using remove_const_t = typename remove_const<T>::type;
template <class T> using remove_volatile_t = typename remove_volatile<T>::type;
template <class T> using remove_cv_t = typename remove_cv<T>::type;
template <class T> using remove_reference_t = typename remove_reference<T>::type;
template <class T> using remove_cvref_t = typename remove_cvref<T>::type;
template <class T> using remove_pointer_t = typename remove_pointer<T>::type;
template <class T> using remove_address_space_t = typename remove_address_space<T>::type;
template <class T> using remove_extent_t = typename remove_extent<T>::type;
template <class T> using add_const_t = typename add_const<T>::type;
template <class T> using add_volatile_t = typename add_volatile<T>::type;
template <class T> using add_cv_t = typename add_cv<T>::type;
template <class T> using add_pointer_t = typename add_pointer<T>::type;
template <class T> using add_lvalue_reference_t = typename add_lvalue_reference<T>::type;
template <class T> using add_rvalue_reference_t = typename add_rvalue_reference<T>::type;

template <class T> typename add_rvalue_reference<T>::type declval() noexcept;

// ---- relations and categories (clang builtins) ----
template <class A, class B> struct is_same : bool_constant<__is_same(sm::plain_t<A>, sm::plain_t<B>)> {};
template <class From, class To> struct is_convertible : bool_constant<__is_convertible_to(From, To)> {};
template <class Base, class Derived> struct is_base_of : bool_constant<__is_base_of(Base, Derived)> {};
template <class T> struct is_void : is_same<typename remove_cv<T>::type, void> {};
template <class T> struct is_const : false_type {};
template <class T> struct is_const<const T> : true_type {};
template <class T> struct is_volatile : false_type {};
template <class T> struct is_volatile<volatile T> : true_type {};
template <class T> struct is_lvalue_reference : bool_constant<__is_lvalue_reference(T)> {};
template <class T> struct is_rvalue_reference : bool_constant<__is_rvalue_reference(T)> {};
template <class T> struct is_reference : bool_constant<__is_reference(T)> {};
template <class T> struct is_pointer : bool_constant<__is_pointer(T)> {};
template <class T> struct is_array : bool_constant<__is_array(T)> {};
template <class T> struct is_enum : bool_constant<__is_enum(T)> {};
template <class T> struct is_class : bool_constant<__is_class(T)> {};
template <class T> struct is_union : bool_constant<__is_union(T)> {};
template <class T> struct is_function : bool_constant<__is_function(T)> {};
template <class T> struct is_trivially_copyable : bool_constant<__is_trivially_copyable(T)> {};
template <class T> struct is_trivial : bool_constant<__is_trivial(T)> {};
template <class T> struct is_standard_layout : bool_constant<__is_standard_layout(T)> {};
template <class T, class... A> struct is_constructible : bool_constant<__is_constructible(T, A...)> {};
template <class T, class U> struct is_assignable : bool_constant<__is_assignable(T, U)> {};

// Vectors: is_vector, and a vector's element type and length (make_scalar, vec_elements; 1 for scalars).
template <class T> struct is_vector : false_type {};
template <class E, int N> struct is_vector<E __attribute__((ext_vector_type(N)))> : true_type {};
template <class T> struct is_vector<const T> : is_vector<T> {};
template <class T> struct is_vector<volatile T> : is_vector<T> {};
template <class T> struct is_vector<const volatile T> : is_vector<T> {};
template <class T> struct make_scalar { using type = T; };
template <class E, int N> struct make_scalar<E __attribute__((ext_vector_type(N)))> { using type = E; };
template <class T> using make_scalar_t = typename make_scalar<T>::type;
template <class T> struct vec_elements : integral_constant<int, 1> {};
template <class E, int N> struct vec_elements<E __attribute__((ext_vector_type(N)))> : integral_constant<int, N> {};

// Kinds of numbers look at the element of a vector (an ext_vector_type of E answers as E does).
template <class T> struct is_integral : bool_constant<__is_integral(typename make_scalar<typename remove_cv<T>::type>::type)> {};
template <class T> struct is_floating_point
    : bool_constant<__is_floating_point(typename make_scalar<typename remove_cv<T>::type>::type)> {};
template <class T> struct is_arithmetic : bool_constant<is_integral<T>::value || is_floating_point<T>::value> {};
template <class T> struct is_signed
    : bool_constant<is_arithmetic<T>::value && __is_signed(typename make_scalar<typename remove_cv<T>::type>::type)> {};
template <class T> struct is_unsigned
    : bool_constant<is_arithmetic<T>::value && __is_unsigned(typename make_scalar<typename remove_cv<T>::type>::type)> {};
// A scalar in C++'s sense (numbers, enums, pointers), never a vector.
template <class T> struct is_scalar : bool_constant<__is_scalar(T) && !is_vector<T>::value> {};
template <class T> struct is_fundamental : bool_constant<__is_fundamental(T) && !is_vector<T>::value> {};

// make_signed / make_unsigned: same size, other signedness; vectors lane by lane; cv kept.
template <class T> struct make_signed { using type = typename sm::int_of_size<T>::s; };
template <class T> struct make_unsigned { using type = typename sm::int_of_size<T>::u; };
template <class E, int N> struct make_signed<E __attribute__((ext_vector_type(N)))> {
    using type = typename make_signed<E>::type __attribute__((ext_vector_type(N)));
};
template <class E, int N> struct make_unsigned<E __attribute__((ext_vector_type(N)))> {
    using type = typename make_unsigned<E>::type __attribute__((ext_vector_type(N)));
};
template <class T> struct make_signed<const T> { using type = const typename make_signed<T>::type; };
template <class T> struct make_unsigned<const T> { using type = const typename make_unsigned<T>::type; };
template <class T> struct make_signed<volatile T> { using type = volatile typename make_signed<T>::type; };
template <class T> struct make_unsigned<volatile T> { using type = volatile typename make_unsigned<T>::type; };
template <class T> using make_signed_t = typename make_signed<T>::type;
template <class T> using make_unsigned_t = typename make_unsigned<T>::type;

// decay: what a by-value parameter makes of T (references and cv dropped, arrays and functions to pointers).
template <class T> struct decay {
    using U = typename remove_reference<T>::type;
    using type = typename conditional<
        is_array<U>::value, typename remove_extent<U>::type *,
        typename conditional<is_function<U>::value, U *, typename remove_cv<U>::type>::type>::type;
};
template <class T> using decay_t = typename decay<T>::type;

template <class... B> struct conjunction : true_type {};
template <class B, class... R> struct conjunction<B, R...> : conditional<bool(B::value), conjunction<R...>, B>::type {};
template <class... B> struct disjunction : false_type {};
template <class B, class... R> struct disjunction<B, R...> : conditional<bool(B::value), B, disjunction<R...>>::type {};
// The names Apple's headers use for these, which libraries (MLX) spell directly.
template <class... B> using _conjunction = conjunction<B...>;
template <class... B> using _disjunction = disjunction<B...>;
template <class B> struct negation : bool_constant<!bool(B::value)> {};

template <class A, class B> constexpr bool is_same_v = is_same<A, B>::value;
template <class F, class T> constexpr bool is_convertible_v = is_convertible<F, T>::value;
template <class B, class D> constexpr bool is_base_of_v = is_base_of<B, D>::value;
template <class T> constexpr bool is_void_v = is_void<T>::value;
template <class T> constexpr bool is_const_v = is_const<T>::value;
template <class T> constexpr bool is_volatile_v = is_volatile<T>::value;
template <class T> constexpr bool is_reference_v = is_reference<T>::value;
template <class T> constexpr bool is_pointer_v = is_pointer<T>::value;
template <class T> constexpr bool is_array_v = is_array<T>::value;
template <class T> constexpr bool is_enum_v = is_enum<T>::value;
template <class T> constexpr bool is_class_v = is_class<T>::value;
template <class T> constexpr bool is_function_v = is_function<T>::value;
template <class T> constexpr bool is_trivially_copyable_v = is_trivially_copyable<T>::value;
template <class T, class... A> constexpr bool is_constructible_v = is_constructible<T, A...>::value;
template <class T> constexpr bool is_vector_v = is_vector<T>::value;
template <class T> constexpr bool is_integral_v = is_integral<T>::value;
template <class T> constexpr bool is_floating_point_v = is_floating_point<T>::value;
template <class T> constexpr bool is_arithmetic_v = is_arithmetic<T>::value;
template <class T> constexpr bool is_signed_v = is_signed<T>::value;
template <class T> constexpr bool is_unsigned_v = is_unsigned<T>::value;
template <class T> constexpr bool is_scalar_v = is_scalar<T>::value;
template <class T> constexpr bool is_fundamental_v = is_fundamental<T>::value;
template <class T> constexpr int vec_elements_v = vec_elements<T>::value;
template <class... B> constexpr bool conjunction_v = conjunction<B...>::value;
template <class... B> constexpr bool disjunction_v = disjunction<B...>::value;
template <class B> constexpr bool negation_v = negation<B>::value;

// Apple's internal trait for the types SIMD-group functions take, which candle's reductions ask:
// scalars and vectors of float, half and the 8-, 16- and 32-bit integers. Not bool, bfloat or the
// 64-bit integers: for those candle defines shuffles of its own.
template <class T> struct __is_valid_simdgroup_type {
    using E = sm::elem_t<T>;
    static constexpr bool value =
        sm::is_same<E, float>::value || sm::is_same<E, half>::value || sm::is_same<E, int>::value ||
        sm::is_same<E, uint>::value || sm::is_same<E, short>::value || sm::is_same<E, ushort>::value ||
        sm::is_same<E, char>::value || sm::is_same<E, signed char>::value || sm::is_same<E, uchar>::value;
};

} // namespace metal

#endif
