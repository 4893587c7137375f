// softmetal prelude: the glue between a translated kernel function and the executor's ABI.
//
// The translator describes each kernel parameter only by its binding (buffer n, threadgroup n, a
// position attribute, or the hidden group pointer); the parameter *types* are deduced here from the
// kernel's function type, so the translator never has to understand MSL types.
#ifndef SOFTMETAL_PRELUDE_KERNEL_ENTRY_H
#define SOFTMETAL_PRELUDE_KERNEL_ENTRY_H

#include "metal_types.h"
#include "metal_texture.h"
#include "shader_validation.h"

namespace sm {
namespace entry {

// Where a thread is, computed once per thread by run_thread / run_group.
struct thread_ctx {
    const sm_group *group;
    unsigned x, y, z;    // thread_position_in_threadgroup
    unsigned gx, gy, gz; // thread_position_in_grid
};

// The executor hands out generic `void *`; kernels see `device T *`, `threadgroup T *`, `constant T &`.
// OpenCL forbids casts between disjoint address spaces, but here all of them are one flat memory, so
// the pointer's bits are reinterpreted (a no-op for LLVM, unlike a round trip through an integer).
template <class P> SM_INLINE P address_cast(void *p) { return __builtin_bit_cast(P, p); }

template <class T> struct strip_ref { using type = T; static constexpr bool is_ref = false; };
template <class T> struct strip_ref<T &> { using type = T; static constexpr bool is_ref = true; };

#ifdef SM_SHADER_VALIDATION
template <class P> constexpr bool is_checked_v = ::sm::is_checked<P>::value;
#else
template <class P> constexpr bool is_checked_v = false;
#endif

// Metal's rule for a buffer argument's offset: aligned to its data type's size, at most 16 bytes.
// Here the type's alignment (what a load of it assumes), capped the same way.
template <class E> constexpr unsigned char offset_alignment_of() {
    if constexpr (__is_same(remove_cvref_t<E>, void)) return 1;
    else return alignof(E) > 16 ? 16 : (unsigned char)alignof(E);
}
template <class T> constexpr unsigned char buffer_offset_alignment() {
    using P = remove_cvref_t<T>;
    if constexpr (strip_ref<T>::is_ref) return offset_alignment_of<typename strip_ref<T>::type>();
    else if constexpr (__is_pointer(P)) return offset_alignment_of<__remove_pointer(P)>();
    else if constexpr (is_checked_v<P>) return offset_alignment_of<__remove_pointer(decltype(P::p))>();
    else return offset_alignment_of<P>();
}

// MTLDataType of a scalar or vector type, for reflection: 1 (struct) for a class type, 0 for a type
// Metal has no name for.
template <class T> constexpr unsigned data_type() {
    using P = remove_cvref_t<T>;
    using E = elem_t<P>;
    constexpr int n = lanes<P>;
    constexpr unsigned k = n == 0 ? 0u : (unsigned)n - 1u; // scalar, 2, 3, 4 lanes: +0 .. +3
    if constexpr (n > 4) return 0u;
    else if constexpr (is_same<E, float>::value) return 3u + k;
    else if constexpr (is_same<E, half>::value) return 16u + k;
    else if constexpr (is_same<E, int>::value) return 29u + k;
    else if constexpr (is_same<E, unsigned>::value) return 33u + k;
    else if constexpr (is_same<E, short>::value) return 37u + k;
    else if constexpr (is_same<E, unsigned short>::value) return 41u + k;
    else if constexpr (is_same<E, char>::value || is_same<E, signed char>::value) return 45u + k;
    else if constexpr (is_same<E, unsigned char>::value) return 49u + k;
    else if constexpr (is_same<E, bool>::value && n == 0) return 53u;
    else if constexpr (is_same<E, long>::value) return 81u + k;
    else if constexpr (is_same<E, unsigned long>::value) return 85u + k;
    else if constexpr (__is_class(P)) return 1u;
    else return 0u;
}
// The type a buffer or threadgroup parameter points to or refers to (a value's own type).
template <class T, bool R = strip_ref<T>::is_ref, bool Ptr = __is_pointer(remove_cvref_t<T>)> struct pointee {
    using type = remove_cvref_t<T>;
};
template <class T, bool Ptr> struct pointee<T, true, Ptr> { using type = remove_cvref_t<typename strip_ref<T>::type>; };
template <class T> struct pointee<T, false, true> { using type = remove_cvref_t<__remove_pointer(remove_cvref_t<T>)>; };
#ifdef SM_SHADER_VALIDATION
// A checked pointer (shader validation) points to what its raw pointer points to.
template <class T> struct pointee<T, false, false> {
    using P = remove_cvref_t<T>;
    template <class X, bool C = is_checked_v<X>> struct of { using type = X; };
    template <class X> struct of<X, true> { using type = remove_cvref_t<__remove_pointer(decltype(X::p))>; };
    using type = typename of<P>::type;
};
#endif
template <class T> constexpr unsigned pointee_size() {
    using E = typename pointee<T>::type;
    if constexpr (__is_void(E)) return 0u;
    else return (unsigned)sizeof(E);
}
template <class T> constexpr unsigned pointee_alignment() {
    using E = typename pointee<T>::type;
    if constexpr (__is_void(E)) return 0u;
    else return (unsigned)alignof(E);
}
template <class T> constexpr unsigned pointee_data_type() {
    using E = typename pointee<T>::type;
    if constexpr (__is_void(E)) return 0u;
    else return data_type<E>();
}

// A `constant T &` argument (MSL's `constant` is `__generic const` here, see msl_keywords.h) refers to
// memory that no one may change while the dispatch runs. run_group reads it into a private copy once
// per group and binds the reference to the copy: a copy whose address only the kernel sees cannot be
// written through the kernel's device pointers, so LLVM hoists its loads out of the thread loop and
// may load it even where the kernel's control flow does not (`if (x == 0 || y == h - 1)` reads `h`
// for every lane instead of as a masked gather). Bounded so that a big table stays where it is; the
// dispatch has already checked that the buffer holds at least sizeof(T) bytes (buffer_min_length).
template <class T> struct constant_reference { static constexpr unsigned copy_size = 0; };
template <class X> struct constant_reference<__generic const X &> {
    static constexpr unsigned copy_size =
        __is_trivially_copyable(X) && sizeof(X) <= 256 && alignof(X) <= 16 ? (unsigned)sizeof(X) : 0u; // copies are 16-aligned
};

// [[buffer(N)]]: pointers are cast, references bound to the buffer's first bytes, values copied.
template <unsigned N> struct sm_buffer {
    template <class T> static SM_INLINE T get(const thread_ctx &c) {
        void *p = c.group->launch->buffers[N];
        using P = remove_cvref_t<T>;
        if constexpr (strip_ref<T>::is_ref) return *address_cast<typename strip_ref<T>::type *>(p);
        else if constexpr (__is_pointer(P)) return address_cast<P>(p);
#ifdef SM_SHADER_VALIDATION
        else if constexpr (is_checked_v<P>) {
            using E = decltype(P::p);
            return P{address_cast<E>(p), address_cast<E>(p), c.group->launch->buffer_lengths[N], N};
        }
#endif
        else return *address_cast<const P *>(p);
    }
    // The translator reports a literal index past the table in Metal's words at its line; this catches
    // an index given as a constant expression.
    static_assert(N < SM_MAX_BUFFER_BINDINGS, "'buffer' attribute parameter is out of bounds: must be between 0 and 30");
    template <class T> static constexpr unsigned char offset_alignment() { return buffer_offset_alignment<T>(); }
    static constexpr unsigned buffer_bit = 1u << N;
    static constexpr unsigned threadgroup_bit = 0;
    static constexpr unsigned texture_bit = 0, sampler_bit = 0;
    static constexpr int texture_index = -1;
    template <class T> static constexpr unsigned texture_kind() { return 0; }
    template <class T> static constexpr unsigned long min_length() {
        using P = remove_cvref_t<T>;
        if constexpr (__is_pointer(P) || is_checked_v<P>) return 0;
        else return sizeof(typename strip_ref<T>::type);
    }
    static constexpr int index = (int)N;
};

// Which arguments run_group copies (constant_reference): `constant T &` buffer arguments only.
template <class B, class T> struct constant_copy { static constexpr unsigned size = 0, padded = 0, index = 0; };
template <unsigned N, class T> struct constant_copy<sm_buffer<N>, T> {
    static constexpr unsigned size = constant_reference<T>::copy_size, padded = (size + 15u) & ~15u, index = N;
};
// Room for a group's copies; never zero bytes (an empty array is not C++).
template <unsigned Bytes> struct constant_copies {
    alignas(16) unsigned char bytes[Bytes ? Bytes : 1];
};
template <class B, class T> SM_INLINE void copy_constant(sm_launch &l, unsigned char *store, unsigned &offset) {
    using C = constant_copy<B, T>;
    if constexpr (C::size != 0) {
        __builtin_memcpy(store + offset, l.buffers[C::index], C::size);
        l.buffers[C::index] = store + offset;
        offset += C::padded;
    }
}

// [[threadgroup(N)]]: the executor's per-group block for slot N.
template <unsigned N> struct sm_threadgroup {
    template <class T> static SM_INLINE T get(const thread_ctx &c) {
        void *p = c.group->threadgroup_memory[N];
        if constexpr (strip_ref<T>::is_ref) return *address_cast<typename strip_ref<T>::type *>(p);
#ifdef SM_SHADER_VALIDATION
        else if constexpr (is_checked_v<remove_cvref_t<T>>) {
            using P = remove_cvref_t<T>;
            using E = decltype(P::p);
            return P{address_cast<E>(p), address_cast<E>(p), c.group->launch->threadgroup_memory_lengths[N], N};
        }
#endif
        else return address_cast<remove_cvref_t<T>>(p);
    }
    static constexpr unsigned buffer_bit = 0;
    static constexpr unsigned threadgroup_bit = 1u << N;
    static constexpr unsigned texture_bit = 0, sampler_bit = 0;
    static constexpr int texture_index = -1;
    template <class T> static constexpr unsigned texture_kind() { return 0; }
    template <class T> static constexpr unsigned long min_length() { return 0; }
    template <class T> static constexpr unsigned char offset_alignment() { return 1; }
    static constexpr int index = -1;
};

// [[texture(N)]]: a texture1d/.../texture_buffer holding the runtime's description of the bound texture.
template <unsigned N> struct sm_texture_binding {
    static_assert(N < SM_MAX_TEXTURE_BINDINGS, "softmetal: texture index out of range (0 to 30)");
    template <class T> static SM_INLINE T get(const thread_ctx &c) {
        remove_cvref_t<T> t;
        t.sm_t = c.group->launch->textures[N];
        return t;
    }
    static constexpr unsigned buffer_bit = 0;
    static constexpr unsigned threadgroup_bit = 0;
    static constexpr unsigned texture_bit = 1u << N, sampler_bit = 0;
    static constexpr int texture_index = (int)N;
    template <class T> static constexpr unsigned texture_kind() {
        using X = remove_cvref_t<T>;
        return X::sm_kind | (data_type<typename X::sm_elem>() << 16);
    }
    template <class T> static constexpr unsigned long min_length() { return 0; }
    template <class T> static constexpr unsigned char offset_alignment() { return 1; }
    static constexpr int index = -1;
};

// [[sampler(N)]]: a copy of the bound sampler state.
template <unsigned N> struct sm_sampler_binding {
    static_assert(N < SM_MAX_SAMPLER_BINDINGS, "softmetal: sampler index out of range (0 to 15)");
    template <class T> static SM_INLINE T get(const thread_ctx &c) { return metal::sampler(*c.group->launch->samplers[N]); }
    static constexpr unsigned buffer_bit = 0;
    static constexpr unsigned threadgroup_bit = 0;
    static constexpr unsigned texture_bit = 0, sampler_bit = 1u << N;
    static constexpr int texture_index = -1;
    template <class T> static constexpr unsigned texture_kind() { return 0; }
    template <class T> static constexpr unsigned long min_length() { return 0; }
    template <class T> static constexpr unsigned char offset_alignment() { return 1; }
    static constexpr int index = -1;
};

// Position attributes, converted to whatever the kernel declared (uint, ushort, uint2, ushort3, ...).
enum class attr {
    thread_position_in_grid,
    thread_position_in_threadgroup,
    threadgroup_position_in_grid,
    threads_per_threadgroup,
    threadgroups_per_grid,
    threads_per_grid,
    thread_index_in_threadgroup,
    thread_index_in_simdgroup,
    simdgroup_index_in_threadgroup,
    threads_per_simdgroup,
    simdgroups_per_threadgroup,
    thread_index_in_quadgroup,
    quadgroup_index_in_threadgroup,
    quadgroups_per_threadgroup,
    grid_origin,
};
constexpr unsigned simd_width = 32;

template <class T, class V> SM_INLINE T convert_position(V v) {
    using P = remove_cvref_t<T>;
    if constexpr (lanes<P> == 0) return (P)v.x;
    else if constexpr (lanes<P> == 2) return __builtin_convertvector(v.xy, P);
    else return __builtin_convertvector(v, P);
}

template <attr A> struct sm_position {
    template <class T> static SM_INLINE T get(const thread_ctx &c) {
        typedef unsigned u3 __attribute__((ext_vector_type(3)));
        const sm_group &g = *c.group;
        const sm_launch &l = *g.launch;
        u3 tid = {c.x, c.y, c.z};
        unsigned linear = c.x + c.y * g.size.x + c.z * g.size.x * g.size.y;
        u3 v = 0;
        if constexpr (A == attr::thread_position_in_grid) v = u3{c.gx, c.gy, c.gz};
        else if constexpr (A == attr::thread_position_in_threadgroup) v = tid;
        else if constexpr (A == attr::threadgroup_position_in_grid) v = u3{g.position.x, g.position.y, g.position.z};
        else if constexpr (A == attr::threads_per_threadgroup) v = u3{g.size.x, g.size.y, g.size.z};
        else if constexpr (A == attr::threadgroups_per_grid)
            v = u3{l.threadgroups_per_grid.x, l.threadgroups_per_grid.y, l.threadgroups_per_grid.z};
        else if constexpr (A == attr::threads_per_grid) v = u3{l.threads_per_grid.x, l.threads_per_grid.y, l.threads_per_grid.z};
        else if constexpr (A == attr::thread_index_in_threadgroup) v = linear;
        else if constexpr (A == attr::thread_index_in_simdgroup) v = linear % simd_width;
        else if constexpr (A == attr::simdgroup_index_in_threadgroup) v = linear / simd_width;
        else if constexpr (A == attr::threads_per_simdgroup) v = simd_width;
        else if constexpr (A == attr::simdgroups_per_threadgroup)
            v = (g.size.x * g.size.y * g.size.z + simd_width - 1) / simd_width;
        else if constexpr (A == attr::thread_index_in_quadgroup) v = linear % 4;
        else if constexpr (A == attr::quadgroup_index_in_threadgroup) v = linear / 4;
        else if constexpr (A == attr::quadgroups_per_threadgroup) v = (g.size.x * g.size.y * g.size.z + 3) / 4;
        else if constexpr (A == attr::grid_origin) v = 0;
        return convert_position<T>(v);
    }
    static constexpr unsigned buffer_bit = 0;
    static constexpr unsigned threadgroup_bit = 0;
    static constexpr unsigned texture_bit = 0, sampler_bit = 0;
    static constexpr int texture_index = -1;
    template <class T> static constexpr unsigned texture_kind() { return 0; }
    template <class T> static constexpr unsigned long min_length() { return 0; }
    template <class T> static constexpr unsigned char offset_alignment() { return 1; }
    static constexpr int index = -1;
};

// A parameter whose [[function_constant(c)]] is false in this specialisation: nothing is bound.
struct sm_absent {
    template <class T> static SM_INLINE T get(const thread_ctx &) {
        using P = remove_cvref_t<T>;
        if constexpr (__is_pointer(P)) return nullptr;
        else return *address_cast<typename strip_ref<T>::type *>(nullptr); // never read: the constant is false
    }
    static constexpr unsigned buffer_bit = 0;
    static constexpr unsigned threadgroup_bit = 0;
    static constexpr unsigned texture_bit = 0, sampler_bit = 0;
    static constexpr int texture_index = -1;
    template <class T> static constexpr unsigned texture_kind() { return 0; }
    template <class T> static constexpr unsigned long min_length() { return 0; }
    template <class T> static constexpr unsigned char offset_alignment() { return 1; }
    static constexpr int index = -1;
};

// The group: the last parameter of the sm_regions_ function the translator makes of a kernel.
struct sm_group_binding {
    template <class T> static SM_INLINE T get(const thread_ctx &c) { return c.group; }
    static constexpr unsigned buffer_bit = 0;
    static constexpr unsigned threadgroup_bit = 0;
    static constexpr unsigned texture_bit = 0, sampler_bit = 0;
    static constexpr int texture_index = -1;
    template <class T> static constexpr unsigned texture_kind() { return 0; }
    template <class T> static constexpr unsigned long min_length() { return 0; }
    template <class T> static constexpr unsigned char offset_alignment() { return 1; }
    static constexpr int index = -1;
};

template <class... B> struct bindings {};

// Whether a kernel takes any of its positions (given by type) as a vector (uint2, ushort3, ...), i.e.
// thinks in 2-D or 3-D groups: only then do the copies of thread loops for rows of a constant width
// run, a split kernel's regions' (SM_THREAD_ROW: the split's `sm_rows`, barrier_regions.cpp) and
// run_group's (SM_GROUP_ROW); a 1-D kernel's are folded away unoptimized (compile time).
template <class... T> constexpr bool multi_dimensional() { return (false || ... || !__is_scalar(T)); }

// Whether a binding is a position attribute ([[thread_position_in_grid]] and the like).
template <class B> constexpr bool is_position_binding = false;
template <attr A> constexpr bool is_position_binding<sm_position<A>> = true;

template <class Fn> struct fn_signature;
template <class... Args> struct fn_signature<void(Args...)> {
    template <auto F, class... B> static SM_INLINE void call(bindings<B...>, const thread_ctx &c) {
        static_assert(sizeof...(B) == sizeof...(Args), "softmetal: binding list does not match the kernel");
#ifdef SM_SHADER_VALIDATION
        // The checks make a kernel bigger than clang's inliner likes; a call per thread (with its checked
        // pointers passed in memory) would cost more than the checks themselves. Inlined as without them.
        [[clang::always_inline]] F(B::template get<Args>(c)...);
#else
        F(B::template get<Args>(c)...);
#endif
    }
    // run_group and run_group_regions: the kernel (or its split function R) inlined into the caller
    // whatever its size. In run_group, a kernel bigger than clang's inliner likes (the plain 5x5 blur of
    // bench_kernels: 25 clamped taps once its loops are unrolled) stayed a call in the thread loop, so
    // its threads ran one at a time, never vectorized. R, as a call, had `constant T &` parameters LLVM
    // could not tell from the threadgroup memory its regions store to, so their loads stayed in the
    // thread loops, without the loop's parallel-access mark (GVN re-creates them), and such a loop (a
    // lanes loop staging a tile with gathers: the blur's `for (i = lid; i < 400; i += 256) tile[..] =
    // in[..]`) was not vectorized ("cannot identify array bounds"). Inlined, they read the private
    // copies the caller made (constant_copies), which nothing in the group can reach: the loads leave
    // the loops. R has no other caller; a plain kernel's body is compiled once more, in run_group.
    template <auto F, class... B> static SM_INLINE void call_inlined(bindings<B...>, const thread_ctx &c) {
        static_assert(sizeof...(B) == sizeof...(Args), "softmetal: binding list does not match the kernel");
        [[clang::always_inline]] F(B::template get<Args>(c)...);
    }
    // run_group: the bytes of the group's private copies of `constant T &` arguments, and the copying.
    template <class... B> static constexpr unsigned constant_bytes(bindings<B...>) { return (0u + ... + constant_copy<B, Args>::padded); }
    template <class... B> static SM_INLINE void copy_constants(bindings<B...>, sm_launch &l, unsigned char *store) {
        unsigned offset = 0;
        (copy_constant<B, Args>(l, store, offset), ...);
    }
    // multi_dimensional over the kernel's position parameters.
    template <class... B> static constexpr bool vector_positions(bindings<B...>) {
        return (false || ... || (is_position_binding<B> && multi_dimensional<remove_cvref_t<Args>>()));
    }
    template <class... B> static constexpr sm_kernel_info info(bindings<B...>) {
        sm_kernel_info k{};
        k.buffer_bindings_used = (0u | ... | B::buffer_bit);
        k.threadgroup_bindings_used = (0u | ... | B::threadgroup_bit);
        k.texture_bindings_used = (0u | ... | B::texture_bit);
        k.sampler_bindings_used = (0u | ... | B::sampler_bit);
        const int tidx[] = {B::texture_index..., -1};
        const unsigned tkind[] = {B::template texture_kind<Args>()..., 0u};
        for (unsigned i = 0; i < sizeof...(B); ++i)
            if (tidx[i] >= 0) k.texture_argument_kind[tidx[i]] = tkind[i];
        const int idx[] = {B::index..., -1};
        const unsigned tg_bit[] = {B::threadgroup_bit..., 0u};
        const unsigned s_bit[] = {B::sampler_bit..., 0u};
        const unsigned long len[] = {B::template min_length<Args>()..., 0ul};
        const unsigned char offset_align[] = {B::template offset_alignment<Args>()..., (unsigned char)1};
        for (unsigned n = 0; n < SM_MAX_BUFFER_BINDINGS; ++n) k.buffer_offset_alignment[n] = 1;
        const unsigned size[] = {pointee_size<Args>()..., 0u};
        const unsigned align[] = {pointee_alignment<Args>()..., 0u};
        const unsigned type[] = {pointee_data_type<Args>()..., 0u};
        for (unsigned i = 0; i < sizeof...(B) && i < 255; ++i) {
            // For reflection: which parameter each binding is, and what it points to.
            if (idx[i] >= 0) {
                k.buffer_min_length[idx[i]] = len[i];
                k.buffer_offset_alignment[idx[i]] = offset_align[i];
                k.buffer_parameter[idx[i]] = (unsigned char)(i + 1);
                k.buffer_data_size[idx[i]] = size[i];
                k.buffer_alignment[idx[i]] = align[i];
                k.buffer_data_type[idx[i]] = type[i];
            }
            if (tg_bit[i]) {
                const unsigned n = (unsigned)__builtin_ctz(tg_bit[i]);
                k.threadgroup_parameter[n] = (unsigned char)(i + 1);
                k.threadgroup_data_size[n] = size[i];
                k.threadgroup_alignment[n] = align[i];
            }
            if (tidx[i] >= 0) k.texture_parameter[tidx[i]] = (unsigned char)(i + 1);
            if (s_bit[i]) k.sampler_parameter[__builtin_ctz(s_bit[i])] = (unsigned char)(i + 1);
        }
        return k;
    }
};

// From the kernel's function pointer type. In C++ for OpenCL a pattern `void (*)(Args...)` does not
// match a function pointer (the pointee picks up an address space), so the pointer is removed first.
template <class F> struct signature : fn_signature<__remove_pointer(F)> {};

SM_INLINE sm_size3 group_origin(const sm_group *g) {
    const sm_size3 n = g->launch->threads_per_threadgroup;
    return sm_size3{g->position.x * n.x, g->position.y * n.y, g->position.z * n.z};
}

// One thread (the fiber path).
template <class B, auto F> void run_thread(const sm_group *g, sm_size3 t) {
    const sm_size3 o = group_origin(g);
    signature<decltype(F)>::template call<F>(B{}, thread_ctx{g, t.x, t.y, t.z, o.x + t.x, o.y + t.y, o.z + t.z});
}
// A whole group as a plain loop, x innermost, so clang can vectorise the kernel body. The loop
// variables are the grid positions themselves, bounded by `end`: that tells LLVM they never wrap,
// which it needs to turn `buffer[thread_position_in_grid]` into vector loads.
// `Atomics`: the kernel reaches an atomic_* function (the translator's reaches_atomics). Its loop asks
// for no vectorization: with the hint, LLVM 19's outer-loop vectorizer widened a kernel's counted loop
// around `atomic_fetch_add_explicit` and dropped the atomic (counts stayed 0); without it, LLVM's
// ordinary vectorizer may still take an innermost loop, and refuses atomics itself.
// `RowCopy` (never with Atomics): the kernel body is small (the translator's bound: compile time), and
// a kernel that takes its position as a vector also gets a copy of the loop for rows SM_GROUP_ROW wide
// (target_cpu.h says why); a 1-D kernel's rows are its whole group, whose loop overhead is paid once.
template <class B, auto F, bool Atomics = false, bool RowCopy = false> void run_group(const sm_group *shared) {
    // Private copies: stores through the kernel's device pointers could otherwise alias the launch
    // record, forcing every buffer pointer to be reloaded per thread (and no vectorisation).
    sm_launch launch = *shared->launch;
    constant_copies<signature<decltype(F)>::constant_bytes(B{})> constants;
    signature<decltype(F)>::copy_constants(B{}, launch, constants.bytes);
    sm_group group = *shared;
    group.launch = &launch;
    const sm_group *g = &group;
    const sm_size3 o = group_origin(g), s = g->size;
    const unsigned ex = o.x + s.x, ey = o.y + s.y, ez = o.z + s.z;
    if constexpr (Atomics) {
        for (unsigned gz = o.z; gz < ez; ++gz)
            for (unsigned gy = o.y; gy < ey; ++gy)
                for (unsigned gx = o.x; gx < ex; ++gx)
                    signature<decltype(F)>::template call_inlined<F>(B{}, thread_ctx{g, gx - o.x, gy - o.y, gz - o.z, gx, gy, gz});
    } else {
        if constexpr (RowCopy && signature<decltype(F)>::vector_positions(B{})) {
            if (s.x == SM_GROUP_ROW) {
                for (unsigned gz = o.z; gz < ez; ++gz)
                    for (unsigned gy = o.y; gy < ey; ++gy)
                        SM_THREAD_LOOP
                        for (unsigned x = 0; x < SM_GROUP_ROW; ++x)
                            signature<decltype(F)>::template call_inlined<F>(B{}, thread_ctx{g, x, gy - o.y, gz - o.z, o.x + x, gy, gz});
                return;
            }
        }
        for (unsigned gz = o.z; gz < ez; ++gz)
            for (unsigned gy = o.y; gy < ey; ++gy)
                SM_THREAD_LOOP
                for (unsigned gx = o.x; gx < ex; ++gx)
                    signature<decltype(F)>::template call_inlined<F>(B{}, thread_ctx{g, gx - o.x, gy - o.y, gz - o.z, gx, gy, gz});
    }
}

// What every kernel's entry holds; run_group is the caller's, which decides what runs a whole group.
template <class B, auto F> SM_INLINE sm_kernel_info kernel_entry_common(__constant const char *name, unsigned long static_tg) {
    sm_kernel_info k = signature<decltype(F)>::info(B{});
    // String literals live in OpenCL's constant space, which no generic pointer may point into;
    // on this target every address space is the same memory, so the address converts as an integer.
    k.name = (const char *)(__SIZE_TYPE__)name;
    k.run_group = nullptr;
    k.run_thread = &run_thread<B, F>;
    k.static_threadgroup_memory_length = static_tg;
    k.uses_barriers = 0u;
    k.function_type = SM_FUNCTION_TYPE_KERNEL;
    return k;
}

// Barriers is a template argument, not a value: run_group<B, F> (the kernel's body inlined into the
// vectorised loop over a group's threads) is instantiated only for a kernel that uses it. Taking its
// address under a run-time condition made clang compile that copy for every kernel, fiber ones
// included: twice the code generation for MLX's quantized matrix kernels, whose bodies unroll fully.
template <class B, auto F, bool Barriers, bool Atomics = false, bool RowCopy = false>
SM_INLINE sm_kernel_info kernel_info(__constant const char *name, unsigned long static_tg) {
    sm_kernel_info k = kernel_entry_common<B, F>(name, static_tg);
    if constexpr (Barriers) k.uses_barriers = 1u;
    else k.run_group = &run_group<B, F, Atomics, RowCopy>;
    return k;
}


// Kernels split at their barriers (the translator's barrier_regions): R, generated next to the kernel F
// with the same parameters, runs the whole group itself, one loop over the group's threads per
// region. It is called once, with the group's first thread's bindings; it computes each thread's
// position attributes itself (thread_at). No fibers: the kernel reports no barriers to the executor.
template <class BR, auto R> void run_group_regions(const sm_group *shared) {
    sm_launch launch = *shared->launch; // private copies, as in run_group
    constant_copies<signature<decltype(R)>::constant_bytes(BR{})> constants;
    signature<decltype(R)>::copy_constants(BR{}, launch, constants.bytes);
    sm_group group = *shared;
    group.launch = &launch;
    const sm_size3 o = group_origin(&group);
    signature<decltype(R)>::template call_inlined<R>(BR{}, thread_ctx{&group, 0, 0, 0, o.x, o.y, o.z});
}
// B: the kernel's bindings; BR: the same plus the group, for R.
template <class B, class BR, auto F, auto R>
SM_INLINE sm_kernel_info kernel_info_regions(__constant const char *name, unsigned long static_tg) {
    sm_kernel_info k = kernel_entry_common<B, F>(name, static_tg);
    k.run_group = &run_group_regions<BR, R>;
    return k;
}
// Vertex and fragment functions: listed by the library, never run (no compute pipeline takes them).
SM_INLINE sm_kernel_info graphics_function_info(__constant const char *name, unsigned function_type) {
    sm_kernel_info k{};
    k.name = (const char *)(__SIZE_TYPE__)name;
    k.function_type = function_type;
    return k;
}
SM_INLINE thread_ctx thread_at(const sm_group *g, unsigned x, unsigned y, unsigned z) {
    const sm_size3 o = group_origin(g);
    return thread_ctx{g, x, y, z, o.x + x, o.y + y, o.z + z};
}
SM_INLINE thread_ctx thread_at(const sm_group *g, unsigned linear) {
    const unsigned x = linear % g->size.x, yz = linear / g->size.x;
    return thread_at(g, x, yz % g->size.y, yz / g->size.y);
}

// Threadgroup variables declared in a kernel body live in one struct per kernel, placed in the
// group's static arena; every thread of the group gets the same address.
template <class S> SM_INLINE __local S &threadgroup_vars(const sm_group *g) {
    return *address_cast<__local S *>(g->static_threadgroup_memory);
}

// Function constant values arrive as raw bytes (what setConstantValue:type: copied).
// `T name = fc_bytes<N>{{...}};` converts them to the declared type, which the translator need not
// spell (a declaration may take its type and specifiers from a macro, MLX's STEEL_CONST). A bool is
// the truth of its byte, whatever byte was set.
template <unsigned N> struct fc_bytes {
    unsigned char b[N];
    template <class T> constexpr operator T() const {
        static_assert(sizeof(T) == N, "softmetal: function constant value has a different size than its declaration");
        if constexpr (__is_same(T, bool)) return b[0] != 0;
        else return __builtin_bit_cast(T, *this);
    }
};

} // namespace entry
} // namespace sm

#define SM_EXPORT extern "C" __attribute__((visibility("default")))

#endif
