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
constexpr unsigned slot = 32; // bytes per lane for an argument or a result
// The type of an argument as a value (no reference, address space or const): decltype(value_of(x)).
template <class T> T value_of(T v);

// One SIMD group's arguments as a compute function sees them: lanes [0, n), `mask` the live ones.
template <class T> struct lanes_of {
    using value_type = T; // results are written through value_type * (not deduced: it has an address space)
    T v[simd::width];
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
    const bool whole = g.n == simd::width;
    if (whole) __builtin_memcpy(g.v, args + sizeof(T) * base, sizeof(T) * simd::width);
    else __builtin_memcpy(g.v, args + sizeof(T) * base, sizeof(T) * g.n);
    if (second) {
        if (whole) __builtin_memcpy(g.arg, second + base, sizeof(unsigned) * simd::width);
        else __builtin_memcpy(g.arg, second + base, sizeof(unsigned) * g.n);
    }
    R out[simd::width];
    f(g, out);
    if (whole) __builtin_memcpy(results + sizeof(R) * base, out, sizeof(R) * simd::width);
    else __builtin_memcpy(results + sizeof(R) * base, out, sizeof(R) * g.n);
}
// Thread t's result.
template <class R> SM_INLINE R result(const unsigned char *results, unsigned t) {
    R r;
    __builtin_memcpy(&r, results + sizeof(R) * t, sizeof(R));
    return r;
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
// Which lane a shuffle reads (C++ for OpenCL takes no function pointer as a template argument).
enum class source { absolute, up, down, exclusive_or, rotate_up, rotate_down };
template <source S> SM_INLINE unsigned source_lane(unsigned lane, unsigned arg) {
    switch (S) {
    case source::absolute: return metal::sm_detail::lane_absolute(lane, arg);
    case source::up: return metal::sm_detail::lane_up(lane, arg);
    case source::down: return metal::sm_detail::lane_down(lane, arg);
    case source::exclusive_or: return metal::sm_detail::lane_xor(lane, arg);
    case source::rotate_up: return metal::sm_detail::lane_rotate_up(lane, arg);
    case source::rotate_down: return metal::sm_detail::lane_rotate_down(lane, arg);
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
