// softmetal prelude: SIMD-group functions in kernels split into regions (barrier_regions.hpp).
//
// There the group's threads run one after another in each region, so a SIMD-group call is a split
// point like a barrier: the region before stores each live thread's argument (32 bytes a lane), and in
// the region after, the first live lane of each SIMD group computes every lane's result at once; each
// lane then reads its own. No fibers, no switches. The results are those of metal_simdgroup.h's
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
    SM_INLINE unsigned first() const { return unsigned(__builtin_ctz(mask)); }
};

// The result of thread `t`, computing its SIMD group's results first if `t` is the group's first live
// lane (threads run in order within a region, so that lane comes first). `alive`: null when no
// thread of the kernel returns early.
template <class T, class R, class F>
SM_INLINE R meet(const unsigned char *args, const unsigned *second, unsigned char *results, unsigned t, unsigned count,
                 const unsigned char *alive, F compute) {
    static_assert(sizeof(T) <= slot && sizeof(R) <= slot, "softmetal: SIMD-group value wider than 32 bytes");
    const unsigned base = t & ~(simd::width - 1u), end = base + simd::width < count ? base + simd::width : count;
    unsigned first = base;
    while (first < end && alive && !alive[first]) ++first;
    if (t == first) {
        lanes_of<T> g;
        g.n = end - base;
        for (unsigned l = 0; l < g.n; ++l) {
            if (alive && !alive[base + l]) continue;
            g.mask |= 1u << l;
            __builtin_memcpy(&g.v[l], args + slot * (base + l), sizeof(T));
            g.arg[l] = second ? second[base + l] : 0u;
        }
        R out[simd::width];
        compute(g, out);
        for (unsigned l = 0; l < g.n; ++l)
            if (g.live(l)) __builtin_memcpy(results + slot * (base + l), &out[l], sizeof(R));
    }
    R r;
    __builtin_memcpy(&r, results + slot * t, sizeof(R));
    return r;
}

template <class Op> struct reduce {
    template <class T> SM_INLINE void operator()(const lanes_of<T> &g, typename lanes_of<T>::value_type *out) const {
        T r = g.v[g.first()];
        for (unsigned l = g.first() + 1; l < g.n; ++l)
            if (g.live(l)) r = Op{}(r, g.v[l]);
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
