// softmetal prelude: shader validation (SOFTMETAL_SHADER_VALIDATION=1, as Metal's MTL_SHADER_VALIDATION).
//
// Only compiled when SM_SHADER_VALIDATION is defined (the compile flags say so, and so the cache key).
// Then the translator writes each pointer type in device, constant or threadgroup memory that user code
// spells (`device float* out`) as `::sm::checked<device float>`: a kernel's parameters, the parameters
// of helper functions and function templates, local variables, struct members, arrays of pointers, and
// the targets of casts (`(device float4*)in`, `reinterpret_cast<device uchar*>(p)`). A checked pointer
// carries the range bound to its argument and checks every access through it (`out[i]`, `*out`,
// `out->x`) against that range; arithmetic (`out + i`, `++out`) and casts keep the range, so the checked
// type follows the pointer through every conversion the program spells. A plain pointer that becomes a
// checked one (`&out[i]`, a threadgroup array, `tile + 4`) gets the range it points into, found among
// the dispatch's bindings (range_of): the check is by construction, not by recognising expressions.
// A checked pointer made from an array (a threadgroup array, a thread array, a program-scope `constant`
// table) is bounded by that array alone. Overloads on address spaces keep plain parameters (the
// translator gives their bodies checked copies of them). `thread` pointers not made from an array carry
// no range and are not checked. Fixed-size arrays indexed directly (threadgroup arrays declared in a
// kernel, thread-local ones) are checked by clang's -fsanitize=array-bounds, whose report function is
// defined below. simdgroup_load/simdgroup_store check the 8x8 elements they move.
//
// The first access outside its range calls the runtime's bounds_violation (kernel_abi.h), which ends
// the dispatch and its command buffer the way a contained fault does; it never returns.
#ifndef SOFTMETAL_PRELUDE_SHADER_VALIDATION_H
#define SOFTMETAL_PRELUDE_SHADER_VALIDATION_H

#ifdef SM_SHADER_VALIDATION

#include "target_cpu.h"
#include "metal_atomic.h"

namespace sm {

namespace validation {

// The memory a pointee type lives in, from its address space (msl_keywords.h: device is __global,
// threadgroup __local, constant a generic const).
constexpr unsigned space_of(__global const volatile void *) { return SM_SPACE_DEVICE; }
constexpr unsigned space_of(__local const volatile void *) { return SM_SPACE_THREADGROUP; }
constexpr unsigned space_of(__private const volatile void *) { return SM_SPACE_THREAD; }
constexpr unsigned space_of(const volatile void *) { return SM_SPACE_CONSTANT; }

// Out of line and cold, so that a check costs a compare and a branch where it is inlined; the return
// address is in the kernel's own code, at the check (the runtime symbolizes it when no line is known).
[[noreturn, gnu::noinline, gnu::cold]] inline void report(unsigned binding, unsigned space, long offset, unsigned long size,
                                                         unsigned long length, unsigned line, unsigned column) {
    sm_bounds_violation v{};
    v.line = line;
    v.column = column;
    v.binding = (int)binding;
    v.space = space;
    v.offset = offset;
    v.access_size = size;
    v.length = length;
    v.array_type = nullptr;
    v.return_address = __builtin_return_address(0);
    target::runtime->bounds_violation(&v);
    __builtin_unreachable();
}

// The range a plain pointer into `space` points into: a [[buffer(n)]] or [[threadgroup(n)]] binding of
// the running dispatch, or the arena of the threadgroup variables declared in the kernel. A pointer one
// past the end belongs to its range (`&a[n]` as the end of a loop). None found: a device or threadgroup
// pointer into no bound memory gets an empty range (every access through it is reported, with its
// address); a constant one may point to a program-scope `constant` table, which no binding describes:
// it stays unchecked.
struct range {
    __SIZE_TYPE__ base;
    unsigned long length;
    unsigned binding;
};
[[gnu::noinline]] inline range range_of(__SIZE_TYPE__ address, unsigned space) {
    const sm_group *g = target::runtime->current_group();
    if (!g) return range{0, ~0ul, ~0u}; // no dispatch (a library's checks at build time): nothing to check against
    const auto within = [address](__SIZE_TYPE__ base, unsigned long length) {
        return base != 0 && address >= base && address - base <= length;
    };
    if (space == SM_SPACE_THREADGROUP) {
        for (unsigned n = 0; n < SM_MAX_THREADGROUP_BINDINGS; ++n)
            if (within((__SIZE_TYPE__)g->threadgroup_memory[n], g->launch->threadgroup_memory_lengths[n]))
                return range{(__SIZE_TYPE__)g->threadgroup_memory[n], g->launch->threadgroup_memory_lengths[n], n};
        if (within((__SIZE_TYPE__)g->static_threadgroup_memory, g->static_threadgroup_memory_length))
            return range{(__SIZE_TYPE__)g->static_threadgroup_memory, g->static_threadgroup_memory_length, (unsigned)SM_BINDING_ARENA};
        return range{0, 0, (unsigned)SM_BINDING_NONE};
    }
    for (unsigned n = 0; n < SM_MAX_BUFFER_BINDINGS; ++n)
        if (within((__SIZE_TYPE__)g->launch->buffers[n], g->launch->buffer_lengths[n]))
            return range{(__SIZE_TYPE__)g->launch->buffers[n], g->launch->buffer_lengths[n], n};
    if (space == SM_SPACE_CONSTANT) return range{0, ~0ul, ~0u};
    return range{0, 0, (unsigned)SM_BINDING_NONE};
}

template <class T> struct element_ref { using type = T &; };
template <> struct element_ref<void> { using type = void; };
template <> struct element_ref<const void> { using type = void; };

// Whether a `T *` converts to a `U *` without a cast.
template <class U> void takes_pointer(U *);
template <class U, class T, class = void> struct converts { static constexpr bool value = false; };
template <class U, class T> struct converts<U, T, decltype(takes_pointer<U>((T *)nullptr))> { static constexpr bool value = true; };
template <bool B> struct when {};
template <> struct when<true> { using type = void; };
// A pointer argument (`P` deduced by a forwarding reference, so that an array argument is not decayed
// to one and goes to the array overloads instead) and its pointee.
template <class P> struct pointer_argument {
    static constexpr bool value = __is_pointer(__remove_cvref(P));
};
template <class P> using pointee_of = __remove_pointer(__remove_cvref(P));

} // namespace validation

// An index as written in the kernel, with the line and column of the index expression: the default
// arguments are evaluated where the conversion happens, at the `[i]` of the user's code (whose
// positions the translator's #line directives keep). operator[] cannot have default arguments itself.
struct located_index {
    long value;
    unsigned line, column;
    template <class I, class = decltype(sizeof(char[__is_integral(I) || __is_enum(I) ? 1 : -1]))>
    SM_INLINE located_index(I i, unsigned l = __builtin_LINE(), unsigned c = __builtin_COLUMN())
        : value((long)i), line(l), column(c) {}
};

// A kernel argument's pointer with the range bound to it. `binding` is n of [[buffer(n)]] (or of
// [[threadgroup(n)]] for a threadgroup pointer); the runtime names the argument from it.
template <class T> struct checked {
    T *p;
    T *base;
    unsigned long length;
    unsigned binding;

    static constexpr unsigned space = validation::space_of((T *)nullptr);

    // A kernel argument (the bindings fill the fields), or any other checked pointer the program spells
    // (a helper's parameter, a local, a member, a cast's result): from a checked pointer it keeps that
    // range; from a plain one (`&out[i]`, a threadgroup array) it takes the range that pointer is in.
    SM_INLINE checked(T *p_, T *base_, unsigned long length_, unsigned binding_) : p(p_), base(base_), length(length_), binding(binding_) {}
    // Not yet set (`device float* both[2];`, a member of a struct declared without initializer): an
    // access before it is set is reported, as one through a null pointer.
    SM_INLINE checked() : p(nullptr), base(nullptr), length(0), binding((unsigned)SM_BINDING_NONE) {}
    template <class P, class = typename validation::when<validation::pointer_argument<P>::value &&
                                                         validation::converts<T, validation::pointee_of<P>>::value>::type>
    SM_INLINE checked(P &&raw) : p(raw) {
        from_plain();
    }
    // An array (a threadgroup array declared in the kernel, a thread array, a program-scope `constant`
    // table): exactly its own bytes, which its type says (a pointer made from it only knows the whole
    // range it points into).
    template <class U, __SIZE_TYPE__ N, class = typename validation::when<validation::converts<T, U>::value>::type>
    SM_INLINE constexpr checked(U (&a)[N]) : p(a), base(a), length(N * sizeof(U)), binding((unsigned)SM_BINDING_ARRAY) {}
    SM_INLINE constexpr checked(decltype(nullptr)) : p(nullptr), base(nullptr), length(0), binding((unsigned)SM_BINDING_NONE) {}
    // A program-scope `constant` pointer variable's value (validation::program_scope): no dispatch
    // exists when it is initialised, and no binding could hold what it points to (a program-scope
    // object), which is what from_plain finds at run time: a constant pointer is unchecked, another
    // (a device or threadgroup one into no bound memory) has an empty range. A constant expression.
    struct program_scope_tag {};
    SM_INLINE constexpr checked(T *raw, program_scope_tag)
        : p(raw), base(nullptr), length(space == SM_SPACE_CONSTANT ? ~0ul : 0),
          binding(space == SM_SPACE_CONSTANT ? ~0u : (unsigned)SM_BINDING_NONE) {}
    template <class U, class = typename validation::when<validation::converts<T, U>::value>::type>
    SM_INLINE checked(const checked<U> &o) : p(o.p), base(o.base), length(o.length), binding(o.binding) {}
    // A cast to another pointee type (`(device float4*)in`, `reinterpret_cast<device uchar*>(p)`): the
    // same bytes, so the same range (checks count bytes).
    template <class U, class = typename validation::when<!validation::converts<T, U>::value>::type, class = void>
    explicit SM_INLINE checked(const checked<U> &o) : p((T *)o.p), base((T *)o.base), length(o.length), binding(o.binding) {}
    template <class U, class = typename validation::when<!validation::converts<T, U>::value>::type, class = void>
    explicit SM_INLINE checked(U *raw) : p((T *)raw) {
        from_plain();
    }

    // `(device float*)address` from an integer: the range that address is in, as for a plain pointer.
    template <class I, class = typename validation::when<__is_integral(I)>::type, class = void, class = void>
    explicit SM_INLINE checked(I address) : p((T *)(__SIZE_TYPE__)address) {
        from_plain();
    }

    SM_INLINE void from_plain() {
        if constexpr (space == SM_SPACE_THREAD) {
            // A thread pointer not made from an array (`&x`, a pointer into a struct): no range is
            // known for it (only arrays carry their size), so it is not checked.
            base = nullptr;
            length = ~0ul;
            binding = ~0u;
            return;
        }
        const validation::range r = validation::range_of((__SIZE_TYPE__)p, space);
        base = (T *)r.base;
        length = r.length;
        binding = r.binding;
    }

    // `void` pointee (`device void*`, never indexed): one byte.
    static constexpr unsigned long access_size() {
        if constexpr (__is_void(T)) return 1;
        else return sizeof(T);
    }
    SM_INLINE void check(long index, unsigned line, unsigned column) const {
        long offset;
        const long here = (long)((__SIZE_TYPE__)p - (__SIZE_TYPE__)base);
        const bool wrapped = __builtin_mul_overflow(index, (long)access_size(), &offset) | __builtin_add_overflow(offset, here, &offset);
        if (__builtin_expect(wrapped || offset < 0 || (unsigned long)offset > length || length - (unsigned long)offset < access_size(), 0))
            validation::report(binding, space, offset, access_size(), length, line, column);
    }

    template <class E = T> SM_INLINE typename validation::element_ref<E>::type operator[](located_index i) const {
        check(i.value, i.line, i.column);
        return p[i.value];
    }
    // No index to carry a position: the runtime finds the line from the return address instead.
    template <class E = T> SM_INLINE typename validation::element_ref<E>::type operator*() const {
        check(0, 0, 0);
        return *p;
    }
    SM_INLINE T *operator->() const {
        check(0, 0, 0);
        return p;
    }

    // To a plain pointer (a helper's `device T*` parameter, `device const T*`, `device void*`): the
    // range is not carried further. A template, so that clang's built-in `ptr[i]` candidate (which
    // considers non-template conversions to pointers only) does not compete with operator[].
    template <class U, class = typename validation::when<validation::converts<U, T>::value>::type>
    SM_INLINE operator U *() const { return p; }
    // Any other pointer type (`(device float4*)in`) only by a cast, as for a plain pointer.
    template <class U, class = typename validation::when<!validation::converts<U, T>::value>::type, class = void>
    explicit SM_INLINE operator U *() const { return (U *)p; }
    explicit SM_INLINE operator bool() const { return p != nullptr; }
    // `(ulong)out`: the address, as for a plain pointer.
    template <class I, class = typename validation::when<__is_integral(I) && !__is_same(I, bool)>::type>
    explicit SM_INLINE operator I() const { return (I)(__SIZE_TYPE__)p; }

    template <class I> SM_INLINE checked operator+(I i) const { return checked{p + i, base, length, binding}; }
    template <class I> SM_INLINE checked operator-(I i) const { return checked{p - i, base, length, binding}; }
    SM_INLINE long operator-(const checked &o) const { return p - o.p; }
    template <class I> SM_INLINE checked &operator+=(I i) { p += i; return *this; }
    template <class I> SM_INLINE checked &operator-=(I i) { p -= i; return *this; }
    SM_INLINE checked &operator++() { ++p; return *this; }
    SM_INLINE checked &operator--() { --p; return *this; }
    SM_INLINE checked operator++(int) { checked old = *this; ++p; return old; }
    SM_INLINE checked operator--(int) { checked old = *this; --p; return old; }
    SM_INLINE bool operator==(const checked &o) const { return p == o.p; }
    SM_INLINE bool operator!=(const checked &o) const { return p != o.p; }
    SM_INLINE bool operator<(const checked &o) const { return p < o.p; }
    SM_INLINE bool operator>(const checked &o) const { return p > o.p; }
    SM_INLINE bool operator<=(const checked &o) const { return p <= o.p; }
    SM_INLINE bool operator>=(const checked &o) const { return p >= o.p; }
    SM_INLINE bool operator==(decltype(nullptr)) const { return p == nullptr; }
    SM_INLINE bool operator!=(decltype(nullptr)) const { return p != nullptr; }
};
template <class I, class T> SM_INLINE checked<T> operator+(I i, const checked<T> &c) { return c + i; }
// `const device float* in = ...;` in a body (the translator's spelling: no `const` token in the type).
template <class T> using checked_const = checked<const T>;

// `reinterpret_cast<device uchar*>(p)` and `static_cast<device float*>(v)` in validation mode (the
// translator names this instead): the result is checked, with p's range (or, from a plain pointer, the
// range it points into).
template <class P, class A> SM_INLINE checked<__remove_pointer(P)> pointer_cast(const A &a) { return checked<__remove_pointer(P)>(a); }

template <class T> struct is_checked { static constexpr bool value = false; };
template <class T> struct is_checked<checked<T>> { static constexpr bool value = true; };

// An argument of a function template's checked pointer parameter (the translator wraps it): a checked
// pointer as it is, a plain one (a threadgroup array, `&in[k]`) with the range it points into, so that
// `checked<device T>` deduces T from either.
template <class T> SM_INLINE const checked<T> &checked_of(const checked<T> &c) { return c; }
template <class P, class = typename validation::when<validation::pointer_argument<P>::value>::type>
SM_INLINE checked<validation::pointee_of<P>> checked_of(P &&raw) {
    return checked<validation::pointee_of<P>>(raw);
}
template <class U, __SIZE_TYPE__ N> SM_INLINE checked<U> checked_of(U (&a)[N]) { return checked<U>(a); }
template <class A> struct plain_argument {
    using D = __remove_cvref(A);
    static constexpr bool value = !__is_pointer(D) && !__is_array(D) && !is_checked<D>::value &&
                                  !__is_same(D, decltype(nullptr));
};
template <class A, class = typename validation::when<plain_argument<A>::value>::type> SM_INLINE A &&checked_of(A &&a) {
    return static_cast<A &&>(a);
}
// An argument of overloads that differ in a pointer's address space (their parameters stay plain): a
// checked pointer as its plain pointer, anything else as it is.
template <class T> SM_INLINE T *plain_of(const checked<T> &c) { return c.p; }
template <class A, class = typename validation::when<!is_checked<__remove_cvref(A)>::value>::type> SM_INLINE A &&plain_of(A &&a) {
    return static_cast<A &&>(a);
}

// The value of a program-scope `constant` pointer variable (`constant float* constant t = table + 2;`),
// whose type the translator makes checked and whose initializer (each element of a braced one) it
// passes here: made from a table it is bounded by that table, from nullptr it is null, from another
// pointer as checked's program-scope constructor says. Constant expressions, as MSL requires there
// (a library runs no code when it is loaded).
template <class T, class U, __SIZE_TYPE__ N> SM_INLINE constexpr checked<T> program_scope(U (&a)[N]) { return checked<T>(a); }
template <class T> SM_INLINE constexpr checked<T> program_scope(decltype(nullptr)) { return checked<T>(nullptr); }
template <class T> SM_INLINE constexpr checked<T> program_scope(T *raw) { return checked<T>(raw, typename checked<T>::program_scope_tag{}); }
template <class T> SM_INLINE constexpr checked<T> program_scope(const checked<T> &c) { return c; }

} // namespace sm

// metal::'s atomic functions deduce their type from a plain pointer (`device atomic_uint*`), which a
// checked one is not: these take the checked pointer, check the atomic object, and pass it on.
namespace metal {
#define SM_CHECKED_FORWARD(name)                                                                                         \
    template <class P, class... A>                                                                                  \
    SM_INLINE auto name(const ::sm::checked<P> &a, A... args)->decltype(name(a.p, args...)) {                       \
        a.check(0, 0, 0);                                                                                           \
        return name(a.p, args...);                                                                                  \
    }
SM_CHECKED_FORWARD(atomic_store_explicit)
SM_CHECKED_FORWARD(atomic_load_explicit)
SM_CHECKED_FORWARD(atomic_exchange_explicit)
SM_CHECKED_FORWARD(atomic_compare_exchange_weak_explicit)
SM_CHECKED_FORWARD(atomic_compare_exchange_strong_explicit)
SM_CHECKED_FORWARD(atomic_fetch_add_explicit)
SM_CHECKED_FORWARD(atomic_fetch_sub_explicit)
SM_CHECKED_FORWARD(atomic_fetch_and_explicit)
SM_CHECKED_FORWARD(atomic_fetch_or_explicit)
SM_CHECKED_FORWARD(atomic_fetch_xor_explicit)
SM_CHECKED_FORWARD(atomic_fetch_min_explicit)
SM_CHECKED_FORWARD(atomic_fetch_max_explicit)
#undef SM_CHECKED_FORWARD
} // namespace metal

// clang's -fsanitize=array-bounds report, for an index past a fixed-size array: the kernel module
// defines it (no sanitizer runtime is linked). Layouts as clang emits them (ubsan_handlers.h).
extern "C" {
struct sm_ubsan_source_location {
    const char *file;
    unsigned line, column;
};
struct sm_ubsan_type {
    unsigned short kind, info; // info, for integers: bit 0 signed, bits 1..: log2 of the width
    char name[1];
};
struct sm_ubsan_out_of_bounds {
    sm_ubsan_source_location location;
    const sm_ubsan_type *array_type;
    const sm_ubsan_type *index_type;
};
[[noreturn, gnu::noinline, gnu::cold]] static void sm_array_out_of_bounds(void *data, unsigned long index, const void *return_address) {
    const sm_ubsan_out_of_bounds *d = (const sm_ubsan_out_of_bounds *)data;
    sm_bounds_violation v{};
    v.line = d->location.line;
    v.column = d->location.column;
    v.binding = -1;
    v.space = d->array_type->name[1] == '_' && d->array_type->name[2] == '_' && d->array_type->name[3] == 'l' ? SM_SPACE_THREADGROUP
                                                                                                             : SM_SPACE_THREAD;
    v.offset = (d->index_type->info & 1) ? (long)index : (long)(index > 0x7fffffffffffffffUL ? 0x7fffffffffffffffUL : index);
    v.access_size = 0;
    v.length = 0;
    v.array_type = d->array_type->name;
    v.return_address = return_address;
    sm::target::runtime->bounds_violation(&v);
    __builtin_unreachable();
}
[[gnu::visibility("hidden"), gnu::noinline, gnu::cold]] void __ubsan_handle_out_of_bounds(void *data, unsigned long index) {
    sm_array_out_of_bounds(data, index, __builtin_return_address(0));
}
[[gnu::visibility("hidden"), gnu::noinline, gnu::cold]] void __ubsan_handle_out_of_bounds_abort(void *data, unsigned long index) {
    sm_array_out_of_bounds(data, index, __builtin_return_address(0));
}
}

#endif // SM_SHADER_VALIDATION

#endif
