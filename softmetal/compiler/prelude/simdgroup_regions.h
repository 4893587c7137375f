// softmetal prelude: SIMD-group functions in kernels split into regions (barrier_regions.hpp).
//
// There the group's threads run one after another in each region, so a SIMD-group call is a split
// point like a barrier: the region before stores each live thread's argument (contiguous, so a SIMD
// group's 32 values are one vector), between the two regions each SIMD group's results are computed
// once (`compute`), and in the region after each lane reads its own (`result`, a load the thread
// loop can vectorize). No fibers, no switches. The results are those of metal_simdgroup.h's
// meetings: the same lanes take part (the live ones), with the same rules for inactive source lanes.
#ifndef SOFTMETAL_PRELUDE_SIMDGROUP_REGIONS_H
#define SOFTMETAL_PRELUDE_SIMDGROUP_REGIONS_H

#include "metal_simdgroup.h"

namespace sm {
namespace regions {
// A function template inlined into a split kernel (barrier_regions.cpp) gets the template arguments
// the call deduces as these: for a parameter `T x` / `const thread T& x`, the argument's type without
// reference, cv or address space; for `device const T* p` (or `T p[]`), what the argument points to
// (an array's element), likewise bare.
template <class T> using deduced_value_t = ::metal::remove_cv_t<::metal::remove_address_space_t<::metal::remove_cvref_t<T>>>;
template <class T>
using deduced_pointee_t = ::metal::remove_cv_t<
    ::metal::remove_address_space_t<::metal::remove_cv_t<::metal::remove_pointer_t<::metal::decay_t<::metal::remove_cvref_t<T>>>>>>;

// A variable of type T in the argument of such a call, where the variable itself is out of scope
// (only ever inside decltype).
template <class T> T &declval_of();

// `T name = (value);` on a per-thread copy living across a split: assigned, or, for a class without
// an assignment (a const data member: candle's BlockMMA), made from the value and copied in as bytes
// (the copy's storage is the thread's own; such a class holds scalars and matrices only).
template <class T, class V> SM_INLINE void assign_or_construct(T &slot, V &&value) {
    if constexpr (__is_assignable(T &, V &&)) {
        slot = static_cast<V &&>(value);
    } else {
        static_assert(__is_trivially_copyable(T), "softmetal: a per-thread copy of a class that has no assignment must be trivially copyable");
        const T made(static_cast<V &&>(value));
        __builtin_memcpy((void *)&slot, (const void *)&made, sizeof(T));
    }
}

// A simdgroup_matrix data member held apart from its object (barrier_regions.cpp, hold_matrices_apart),
// given as `decltype(object.member)`: its element type, and how many matrices it holds (1, or an array's
// extent).
template <class M> struct matrix_element;
template <class T, int R, int C> struct matrix_element<::metal::simdgroup_matrix<T, R, C>> {
    using type = T;
};
template <class M> struct matrix_element<M &> : matrix_element<M> {};
template <class M> struct matrix_element<const M> : matrix_element<M> {};
template <class M, unsigned long N> struct matrix_element<M[N]> : matrix_element<M> {};
template <class M> struct matrix_count {
    static constexpr unsigned long value = 1;
};
template <class M> struct matrix_count<M &> : matrix_count<M> {};
template <class M> struct matrix_count<const M> : matrix_count<M> {};
template <class M, unsigned long N> struct matrix_count<M[N]> {
    static constexpr unsigned long value = N;
};

// `T name;` living across a split is a per-thread copy declared before the regions; where the
// declaration was, a class type is default-initialized again (its default member initializers and
// default constructor run, as the declaration would); another type keeps its (indeterminate) value.
// (A class that cannot be made without arguments here, candle's `indexed<T>` whose one constructor
// is `threadgroup`, is never declared so by the kernel itself: such a copy is the inlining's return value.)
template <class T> SM_INLINE T default_initialized(T current) {
    if constexpr (__is_class(T) && __is_constructible(T)) {
        T fresh;
        return fresh;
    } else {
        return current;
    }
}

// Room for N values of T, not constructed: what a meeting holds is copied in as bytes (each lane
// stored its own), so values of a class that cannot be made without arguments in the thread address
// space (candle's `indexed<T>`, whose one constructor is `threadgroup`) meet as any other.
template <class T, unsigned N> struct uninitialized {
    alignas(T) unsigned char bytes[sizeof(T) * N];
    SM_INLINE T *data() { return (T *)bytes; }
    SM_INLINE const T *data() const { return (const T *)bytes; }
    SM_INLINE T &operator[](unsigned i) { return data()[i]; }
    SM_INLINE const T &operator[](unsigned i) const { return data()[i]; }
};
// What an inlined helper's return value starts as (barrier_regions.cpp's `sm_ret<N>`, assigned by its
// `return` before it is read): zero for a scalar or vector (no indeterminate bool is copied),
// default-initialized where a class can be made so, else unconstructed bytes.
template <class T> SM_INLINE T return_slot() {
    if constexpr (!__is_class(T)) {
        return T();
    } else if constexpr (__is_constructible(T)) {
        T fresh;
        return fresh;
    } else {
        uninitialized<T, 1> room;
        return room[0];
    }
}

constexpr unsigned slot = 32; // bytes per lane for an argument or a result
// The type of an argument as a value (no reference, address space or const): decltype(value_of(x)).
template <class T> T value_of(T v);

// One SIMD group's arguments as a compute function sees them: lanes [0, n), `mask` the live ones.
template <class T> struct lanes_of {
    using value_type = T; // results are written through value_type * (not deduced: it has an address space)
    uninitialized<T, simd::width> v;
    unsigned arg[simd::width]; // the second argument (a lane or a distance), for shuffles
    unsigned mask = 0, n = 0;
    SM_INLINE bool live(unsigned l) const { return l < n && ((mask >> l) & 1u); }
    SM_INLINE bool full() const { return mask == 0xffffffffu; }
    SM_INLINE unsigned first() const { return unsigned(__builtin_ctz(mask)); }
};

// The meeting itself, between the region that stored the arguments (thread t's at args + sizeof(T) * t,
// so a SIMD group's are contiguous) and the region that reads the results: the results of the SIMD
// group whose first thread is `base`, computed once for the group. `alive`: null when no thread of
// the kernel returns early. A group with no live lane is skipped (none of its threads reads).
template <class T, class R, class F>
SM_INLINE void compute(const unsigned char *args, const unsigned *second, unsigned char *results, unsigned base, unsigned count,
                       const unsigned char *alive, F f) {
    static_assert(sizeof(T) <= slot && sizeof(R) <= slot, "softmetal: SIMD-group value wider than 32 bytes");
    lanes_of<T> g;
    g.n = count - base < simd::width ? count - base : simd::width;
    if (alive) {
        for (unsigned l = 0; l < g.n; ++l)
            if (alive[base + l]) g.mask |= 1u << l;
    } else {
        g.mask = g.n == simd::width ? 0xffffffffu : (1u << g.n) - 1u;
    }
    if (!g.mask) return;
    // Lanes that returned never stored theirs: those bytes are copied but never read (live()). A whole
    // SIMD group (the common case) is copied with a constant size: inline vector moves, not a call.
    // `args` is null for functions without arguments (simd_is_first, simd_active_threads_mask).
    const bool whole = g.n == simd::width;
    if (args) {
        if (whole) __builtin_memcpy(g.v.data(), args + sizeof(T) * base, sizeof(T) * simd::width);
        else __builtin_memcpy(g.v.data(), args + sizeof(T) * base, sizeof(T) * g.n);
    }
    if (second) {
        if (whole) __builtin_memcpy(g.arg, second + base, sizeof(unsigned) * simd::width);
        else __builtin_memcpy(g.arg, second + base, sizeof(unsigned) * g.n);
    }
    uninitialized<R, simd::width> out;
    f(g, out.data());
    if (whole) __builtin_memcpy(results + sizeof(R) * base, out.data(), sizeof(R) * simd::width);
    else __builtin_memcpy(results + sizeof(R) * base, out.data(), sizeof(R) * g.n);
}
// Thread t's result.
template <class R> SM_INLINE R result(const unsigned char *results, unsigned t) {
    uninitialized<R, 1> r;
    __builtin_memcpy(r.data(), results + sizeof(R) * t, sizeof(R));
    return r[0];
}

template <class Op> struct reduce {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, typename lanes_of<T>::value_type *out) const {
        T r;
        if (g.full()) {
            // All 32 lanes: a pairwise tree, each step one operation on a vector of lanes.
            T v[simd::width];
            for (unsigned l = 0; l < simd::width; ++l) v[l] = g.v[l];
            for (unsigned w = simd::width / 2; w > 0; w /= 2)
                for (unsigned l = 0; l < w; ++l) v[l] = Op{}(v[l], v[l + w]);
            r = v[0];
        } else {
            r = g.v[g.first()];
            for (unsigned l = g.first() + 1; l < g.n; ++l)
                if (g.live(l)) r = Op{}(r, g.v[l]);
        }
        for (unsigned l = 0; l < g.n; ++l) out[l] = r;
    }
};
template <class Op, int Identity, bool Inclusive> struct prefix {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, typename lanes_of<T>::value_type *out) const {
        T acc = T(Identity);
        for (unsigned l = 0; l < g.n; ++l) {
            if (!g.live(l)) continue;
            if (Inclusive) acc = Op{}(acc, g.v[l]);
            out[l] = acc;
            if (!Inclusive) acc = Op{}(acc, g.v[l]);
        }
    }
};
// Quad-group reductions and scans: over the live lanes of each lane's quad (lanes 4q .. 4q+3).
template <class Op> struct quad_reduce {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, typename lanes_of<T>::value_type *out) const {
        for (unsigned q = 0; q < g.n; q += 4) {
            const unsigned end = q + 4 < g.n ? q + 4 : g.n;
            unsigned l = q;
            while (l < end && !g.live(l)) ++l;
            if (l == end) continue;
            T r = g.v[l];
            for (++l; l < end; ++l)
                if (g.live(l)) r = Op{}(r, g.v[l]);
            for (l = q; l < end; ++l) out[l] = r;
        }
    }
};
template <class Op, int Identity, bool Inclusive> struct quad_prefix {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, typename lanes_of<T>::value_type *out) const {
        T acc = T(Identity);
        for (unsigned l = 0; l < g.n; ++l) {
            if ((l & 3u) == 0) acc = T(Identity);
            if (!g.live(l)) continue;
            if (Inclusive) acc = Op{}(acc, g.v[l]);
            out[l] = acc;
            if (!Inclusive) acc = Op{}(acc, g.v[l]);
        }
    }
};
// Which lane a shuffle reads (C++ for OpenCL takes no function pointer as a template argument).
enum class source { absolute, up, down, exclusive_or, rotate_up, rotate_down,
                    quad_absolute, quad_up, quad_down, quad_exclusive_or, quad_rotate_up, quad_rotate_down };
template <source S> SM_INLINE unsigned source_lane(unsigned lane, unsigned arg) {
    switch (S) {
    case source::absolute: return metal::sm_detail::lane_absolute(lane, arg);
    case source::up: return metal::sm_detail::lane_up(lane, arg);
    case source::down: return metal::sm_detail::lane_down(lane, arg);
    case source::exclusive_or: return metal::sm_detail::lane_xor(lane, arg);
    case source::rotate_up: return metal::sm_detail::lane_rotate_up(lane, arg);
    case source::rotate_down: return metal::sm_detail::lane_rotate_down(lane, arg);
    case source::quad_absolute: return metal::sm_detail::quad_absolute(lane, arg);
    case source::quad_up: return metal::sm_detail::quad_up(lane, arg);
    case source::quad_down: return metal::sm_detail::quad_down(lane, arg);
    case source::quad_exclusive_or: return metal::sm_detail::quad_xor(lane, arg);
    case source::quad_rotate_up: return metal::sm_detail::quad_rotate_up(lane, arg);
    case source::quad_rotate_down: return metal::sm_detail::quad_rotate_down(lane, arg);
    }
    return lane;
}
template <source S> struct shuffle {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, typename lanes_of<T>::value_type *out) const {
        for (unsigned l = 0; l < g.n; ++l) {
            if (!g.live(l)) continue; // (its value was never stored)
            const unsigned from = source_lane<S>(l, g.arg[l]);
            out[l] = g.live(from) ? g.v[from] : g.v[l];
        }
    }
};
struct broadcast_first {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, typename lanes_of<T>::value_type *out) const {
        for (unsigned l = 0; l < g.n; ++l) out[l] = g.v[g.first()];
    }
};
// simd_shuffle_and_fill_up/down: each lane stores its data and fill values as one pair, and its
// delta and modulo as one word (delta | modulo << 16); the same lanes as metal_simdgroup.h's meeting.
template <class T> struct fill_pair {
    using value_type = T;
    T data, fill;
};
template <bool Up> struct shuffle_and_fill {
    template <class P> SM_INLINE void operator()(const lanes_of<P> &g, typename P::value_type *out) const {
        for (unsigned l = 0; l < g.n; ++l) {
            if (!g.live(l)) continue;
            const unsigned delta = g.arg[l] & 0xffffu, modulo = g.arg[l] >> 16, w = modulo ? modulo : simd::width;
            const unsigned base = l - l % w, in = l % w;
            unsigned from;
            bool data;
            if (Up) {
                data = in >= delta;
                from = data ? base + in - delta : base + w - delta + in;
            } else {
                data = in + delta < w;
                from = data ? base + in + delta : base + in + delta - w;
            }
            const P &p = g.live(from) ? g.v[from] : g.v[l];
            out[l] = data ? p.data : p.fill;
        }
    }
};
struct quad_broadcast_first {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, typename lanes_of<T>::value_type *out) const {
        for (unsigned q = 0; q < g.n; q += 4) {
            const unsigned end = q + 4 < g.n ? q + 4 : g.n;
            unsigned first = q;
            while (first < end && !g.live(first)) ++first;
            if (first == end) continue;
            for (unsigned l = q; l < end; ++l) out[l] = g.v[first];
        }
    }
};
// Functions without arguments: who is live is all they need.
struct is_first {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, bool *out) const {
        for (unsigned l = 0; l < g.n; ++l) out[l] = l == g.first();
    }
};
struct quad_is_first {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, bool *out) const {
        for (unsigned l = 0; l < g.n; ++l) {
            const unsigned quad = (g.mask >> (l & ~3u)) & 15u;
            out[l] = quad && (l & 3u) == unsigned(__builtin_ctz(quad));
        }
    }
};
struct active_threads_mask {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, metal::simd_vote *out) const {
        for (unsigned l = 0; l < g.n; ++l) out[l] = metal::simd_vote(g.mask);
    }
};
struct quad_active_threads_mask {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, metal::simd_vote *out) const {
        for (unsigned l = 0; l < g.n; ++l) out[l] = metal::simd_vote((g.mask >> (l & ~3u)) & 15u);
    }
};
struct quad_ballot {
    SM_INLINE void operator()(const lanes_of<bool> &g, metal::simd_vote *out) const {
        for (unsigned q = 0; q < g.n; q += 4) {
            const unsigned end = q + 4 < g.n ? q + 4 : g.n;
            unsigned long bits = 0;
            for (unsigned l = q; l < end; ++l)
                if (g.live(l) && g.v[l]) bits |= 1ul << (l - q);
            for (unsigned l = q; l < end; ++l) out[l] = metal::simd_vote(bits);
        }
    }
};
struct ballot {
    SM_INLINE void operator()(const lanes_of<bool> &g, metal::simd_vote *out) const {
        unsigned long bits = 0;
        for (unsigned l = 0; l < g.n; ++l)
            if (g.live(l) && g.v[l]) bits |= 1ul << l;
        for (unsigned l = 0; l < g.n; ++l) out[l] = metal::simd_vote(bits);
    }
};
} // namespace regions
} // namespace sm

#endif
