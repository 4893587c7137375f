// softmetal prelude: SIMD-group and quad-group functions, simd_vote, simdgroup_matrix.
//
// A SIMD group is 32 threads in thread_index_in_threadgroup order; a quad group is 4 of them. Every
// function here is one meeting of the caller's SIMD group (sm::target::simd_meet): the lanes that
// reach the same call together each get all of their values and compute the result themselves, over
// the lanes that took part (active_mask). Lanes that returned, or that are in the other arm of a
// branch, are not active, as on a GPU. Reading an inactive lane (a shuffle from it) gives the
// caller's own value: unspecified in Metal, and never a crash.
#ifndef SOFTMETAL_PRELUDE_METAL_SIMDGROUP_H
#define SOFTMETAL_PRELUDE_METAL_SIMDGROUP_H

#include "metal_math.h"
#include "metal_sync.h"
#include "shader_validation.h"

namespace sm {
namespace simd {
constexpr unsigned width = 32;

template <class T> struct meeting {
    T all[width];
    sm_simd_meeting who;
    SM_INLINE explicit meeting(T own) { who = target::simd_meet(&own, all, sizeof(T)); }
    SM_INLINE bool active(unsigned lane) const { return lane < width && ((who.active_mask >> lane) & 1u); }
    // Lane `l`'s value, or the caller's own if `l` did not take part.
    SM_INLINE T at(unsigned l) const { return active(l) ? all[l] : all[who.lane]; }
};

template <class T, class F> SM_INLINE T reduce(T v, F f) {
    meeting<T> m(v);
    T r = m.all[m.who.lane];
    for (unsigned l = 0; l < width; ++l)
        if (l != m.who.lane && m.active(l)) r = f(r, m.all[l]);
    return r;
}
// Over the active lanes below the caller's (exclusive) or up to it (inclusive).
template <class T, class F> SM_INLINE T prefix(T v, T identity, bool inclusive, F f) {
    meeting<T> m(v);
    T r = identity;
    const unsigned end = inclusive ? m.who.lane + 1 : m.who.lane;
    for (unsigned l = 0; l < end; ++l)
        if (m.active(l)) r = f(r, m.all[l]);
    return r;
}
// The same within the caller's quad (lanes 4q .. 4q+3).
template <class T, class F> SM_INLINE T quad_reduce(T v, F f) {
    meeting<T> m(v);
    const unsigned base = m.who.lane & ~3u;
    T r = m.all[m.who.lane];
    for (unsigned l = base; l < base + 4; ++l)
        if (l != m.who.lane && m.active(l)) r = f(r, m.all[l]);
    return r;
}
template <class T, class F> SM_INLINE T quad_prefix(T v, T identity, bool inclusive, F f) {
    meeting<T> m(v);
    const unsigned base = m.who.lane & ~3u, end = inclusive ? m.who.lane + 1 : m.who.lane;
    T r = identity;
    for (unsigned l = base; l < end; ++l)
        if (m.active(l)) r = f(r, m.all[l]);
    return r;
}

struct add { template <class T> SM_INLINE T operator()(T a, T b) const { return a + b; } };
struct mul { template <class T> SM_INLINE T operator()(T a, T b) const { return a * b; } };
struct lesser { template <class T> SM_INLINE T operator()(T a, T b) const { return metal::min(a, b); } };
struct greater { template <class T> SM_INLINE T operator()(T a, T b) const { return metal::max(a, b); } };
// Bitwise reductions of floating-point values work on their bits (Apple's builtins accept them).
template <class T> struct bits_of { using type = T; };
template <> struct bits_of<float> { using type = unsigned int; };
template <> struct bits_of<half> { using type = unsigned short; };
template <> struct bits_of<__bf16> { using type = unsigned short; };
template <class E, int N> struct bits_of<E __attribute__((ext_vector_type(N)))> {
    using type = typename bits_of<E>::type __attribute__((ext_vector_type(N)));
};
template <class T, class F> SM_INLINE T on_bits(T a, T b, F f) {
    using B = typename bits_of<T>::type;
    return __builtin_bit_cast(T, B(f(__builtin_bit_cast(B, a), __builtin_bit_cast(B, b))));
}
struct bit_and { template <class T> SM_INLINE T operator()(T a, T b) const { return on_bits(a, b, [](auto x, auto y) { return x & y; }); } };
struct bit_or { template <class T> SM_INLINE T operator()(T a, T b) const { return on_bits(a, b, [](auto x, auto y) { return x | y; }); } };
struct bit_xor { template <class T> SM_INLINE T operator()(T a, T b) const { return on_bits(a, b, [](auto x, auto y) { return x ^ y; }); } };

template <class T> SM_INLINE T shuffle_from(T v, unsigned (*source)(unsigned lane, unsigned arg), unsigned arg) {
    meeting<T> m(v);
    return m.at(source(m.who.lane, arg));
}
} // namespace simd
} // namespace sm

namespace metal {

// simd_vote: one bit per lane of the SIMD group (Metal's vote_t is 64 bits wide).
struct simd_vote {
    typedef unsigned long vote_t;
    vote_t v = 0;
    simd_vote() = default;
    SM_INLINE explicit simd_vote(vote_t bits) : v(bits) {}
    SM_INLINE explicit operator vote_t() const { return v; }
    SM_INLINE bool all() const { return v == 0xffffffffu; }
    SM_INLINE bool any() const { return v != 0; }
};
typedef simd_vote quad_vote;

// Each function takes Metal's scalar and vector types only (Apple declares an overload per type), so
// that a library's own overload for a type of its own (candle's `simd_shuffle_down(indexed<T>, ushort)`)
// is the one chosen, not a template of ours that cannot work on it.
#define SM_SIMD_REDUCTION(name, op)                                                                               \
    template <class T, sm::enable_if_t<sm::is_arith<T>> = 0> SM_INLINE T simd_##name(T v) { return sm::simd::reduce(v, sm::simd::op{}); } \
    template <class T, sm::enable_if_t<sm::is_arith<T>> = 0> SM_INLINE T quad_##name(T v) { return sm::simd::quad_reduce(v, sm::simd::op{}); }
SM_SIMD_REDUCTION(sum, add)
SM_SIMD_REDUCTION(product, mul)
SM_SIMD_REDUCTION(min, lesser)
SM_SIMD_REDUCTION(max, greater)
SM_SIMD_REDUCTION(and, bit_and)
SM_SIMD_REDUCTION(or, bit_or)
SM_SIMD_REDUCTION(xor, bit_xor)
#undef SM_SIMD_REDUCTION

#define SM_SIMD_PREFIX(name, op, identity, inclusive)                                                             \
    template <class T, sm::enable_if_t<sm::is_arith<T>> = 0> SM_INLINE T simd_prefix_##name(T v) { return sm::simd::prefix(v, T(identity), inclusive, sm::simd::op{}); } \
    template <class T, sm::enable_if_t<sm::is_arith<T>> = 0> SM_INLINE T quad_prefix_##name(T v) { return sm::simd::quad_prefix(v, T(identity), inclusive, sm::simd::op{}); }
SM_SIMD_PREFIX(inclusive_sum, add, 0, true)
SM_SIMD_PREFIX(exclusive_sum, add, 0, false)
SM_SIMD_PREFIX(inclusive_product, mul, 1, true)
SM_SIMD_PREFIX(exclusive_product, mul, 1, false)
#undef SM_SIMD_PREFIX

namespace sm_detail {
SM_INLINE unsigned lane_absolute(unsigned, unsigned arg) { return arg; }
SM_INLINE unsigned lane_up(unsigned lane, unsigned d) { return d <= lane ? lane - d : lane; }
SM_INLINE unsigned lane_down(unsigned lane, unsigned d) { return lane + d < 32u ? lane + d : lane; }
SM_INLINE unsigned lane_xor(unsigned lane, unsigned mask) { return (lane ^ mask) & 31u; }
SM_INLINE unsigned lane_rotate_up(unsigned lane, unsigned d) { return (lane + 32u - (d & 31u)) & 31u; }
SM_INLINE unsigned lane_rotate_down(unsigned lane, unsigned d) { return (lane + d) & 31u; }
SM_INLINE unsigned quad_absolute(unsigned lane, unsigned arg) { return (lane & ~3u) | (arg & 3u); }
SM_INLINE unsigned quad_up(unsigned lane, unsigned d) { return d <= (lane & 3u) ? lane - d : lane; }
SM_INLINE unsigned quad_down(unsigned lane, unsigned d) { return (lane & 3u) + d < 4u ? lane + d : lane; }
SM_INLINE unsigned quad_xor(unsigned lane, unsigned mask) { return (lane & ~3u) | ((lane ^ mask) & 3u); }
SM_INLINE unsigned quad_rotate_up(unsigned lane, unsigned d) { return (lane & ~3u) | ((lane + 4u - (d & 3u)) & 3u); }
SM_INLINE unsigned quad_rotate_down(unsigned lane, unsigned d) { return (lane & ~3u) | ((lane + d) & 3u); }
} // namespace sm_detail

#define SM_SIMD_SHUFFLE(name, source)                                                                             \
    template <class T, class I, sm::enable_if_t<sm::is_arith<T>> = 0> SM_INLINE T name(T v, I arg) { return sm::simd::shuffle_from(v, &sm_detail::source, (unsigned)arg); }
SM_SIMD_SHUFFLE(simd_shuffle, lane_absolute)
SM_SIMD_SHUFFLE(simd_broadcast, lane_absolute)
SM_SIMD_SHUFFLE(simd_shuffle_up, lane_up)
SM_SIMD_SHUFFLE(simd_shuffle_down, lane_down)
SM_SIMD_SHUFFLE(simd_shuffle_xor, lane_xor)
SM_SIMD_SHUFFLE(simd_shuffle_rotate_up, lane_rotate_up)
SM_SIMD_SHUFFLE(simd_shuffle_rotate_down, lane_rotate_down)
SM_SIMD_SHUFFLE(quad_shuffle, quad_absolute)
SM_SIMD_SHUFFLE(quad_broadcast, quad_absolute)
SM_SIMD_SHUFFLE(quad_shuffle_up, quad_up)
SM_SIMD_SHUFFLE(quad_shuffle_down, quad_down)
SM_SIMD_SHUFFLE(quad_shuffle_xor, quad_xor)
SM_SIMD_SHUFFLE(quad_shuffle_rotate_up, quad_rotate_up)
SM_SIMD_SHUFFLE(quad_shuffle_rotate_down, quad_rotate_down)
#undef SM_SIMD_SHUFFLE

// Shuffles that shift in `fill`'s values where the source lane falls off the end (of the SIMD group,
// or of a `modulo`-wide window), as the MSL specification describes.
template <class T> SM_INLINE T simd_shuffle_and_fill_up(T data, T fill, unsigned short delta, unsigned short modulo = 32) {
    struct pair { T d, f; };
    sm::simd::meeting<pair> m(pair{data, fill});
    const unsigned lane = m.who.lane, w = modulo ? modulo : 32u, base = lane - lane % w, in = lane % w;
    if (in >= delta) return m.at(base + in - delta).d;
    return m.at(base + w - delta + in).f;
}
template <class T> SM_INLINE T simd_shuffle_and_fill_down(T data, T fill, unsigned short delta, unsigned short modulo = 32) {
    struct pair { T d, f; };
    sm::simd::meeting<pair> m(pair{data, fill});
    const unsigned lane = m.who.lane, w = modulo ? modulo : 32u, base = lane - lane % w, in = lane % w;
    if (in + delta < w) return m.at(base + in + delta).d;
    return m.at(base + in + delta - w).f;
}
template <class T> SM_INLINE T quad_shuffle_and_fill_up(T data, T fill, unsigned short delta, unsigned short modulo = 4) {
    return simd_shuffle_and_fill_up(data, fill, delta, modulo);
}
template <class T> SM_INLINE T quad_shuffle_and_fill_down(T data, T fill, unsigned short delta, unsigned short modulo = 4) {
    return simd_shuffle_and_fill_down(data, fill, delta, modulo);
}

template <class T> SM_INLINE T simd_broadcast_first(T v) {
    sm::simd::meeting<T> m(v);
    return m.all[__builtin_ctz(m.who.active_mask)];
}
template <class T> SM_INLINE T quad_broadcast_first(T v) {
    sm::simd::meeting<T> m(v);
    const unsigned quad = (m.who.active_mask >> (m.who.lane & ~3u)) & 15u;
    return m.all[(m.who.lane & ~3u) + __builtin_ctz(quad)];
}

SM_INLINE simd_vote simd_ballot(bool predicate) {
    sm::simd::meeting<bool> m(predicate);
    unsigned long bits = 0;
    for (unsigned l = 0; l < 32; ++l)
        if (m.active(l) && m.all[l]) bits |= 1ul << l;
    return simd_vote(bits);
}
SM_INLINE quad_vote quad_ballot(bool predicate) {
    sm::simd::meeting<bool> m(predicate);
    const unsigned base = m.who.lane & ~3u;
    unsigned long bits = 0;
    for (unsigned l = base; l < base + 4; ++l)
        if (m.active(l) && m.all[l]) bits |= 1ul << (l - base);
    return quad_vote(bits);
}
SM_INLINE simd_vote simd_active_threads_mask() {
    sm::simd::meeting<bool> m(true);
    return simd_vote(m.who.active_mask);
}
SM_INLINE quad_vote quad_active_threads_mask() {
    sm::simd::meeting<bool> m(true);
    return quad_vote((m.who.active_mask >> (m.who.lane & ~3u)) & 15u);
}
SM_INLINE bool simd_all(bool p) { return sm::simd::reduce(p, sm::simd::bit_and{}); }
SM_INLINE bool simd_any(bool p) { return sm::simd::reduce(p, sm::simd::bit_or{}); }
SM_INLINE bool quad_all(bool p) { return sm::simd::quad_reduce(p, sm::simd::bit_and{}); }
SM_INLINE bool quad_any(bool p) { return sm::simd::quad_reduce(p, sm::simd::bit_or{}); }
SM_INLINE bool simd_is_first() {
    sm::simd::meeting<bool> m(true);
    return m.who.lane == unsigned(__builtin_ctz(m.who.active_mask));
}
SM_INLINE bool quad_is_first() {
    sm::simd::meeting<bool> m(true);
    const unsigned quad = (m.who.active_mask >> (m.who.lane & ~3u)) & 15u;
    return (m.who.lane & 3u) == unsigned(__builtin_ctz(quad));
}

// simdgroup_matrix<T, 8, 8>: a matrix the SIMD group holds together. In a kernel split into regions
// (barrier_regions.hpp) its statements run once per SIMD group on one copy; on fibers every lane
// holds all of it: loads, stores and products give each lane the same whole matrix, which is what
// every lane's share of it would be on a GPU. thread_elements() gives the lane its two elements in Apple's
// layout (lane l: row (l / 16) * 4 + ((l / 2) % 4)... see `element_of`).
template <class T, int Rows, int Cols> struct simdgroup_matrix {
    static_assert(Rows == 8 && Cols == 8, "softmetal: simdgroup_matrix is 8x8");
    alignas(2 * sizeof(T)) T e[Rows][Cols]; // (so that each lane's pair of neighbours is an aligned vec<T, 2>)
    simdgroup_matrix() = default;
    SM_INLINE explicit simdgroup_matrix(T diagonal) {
        for (int r = 0; r < Rows; ++r)
            for (int c = 0; c < Cols; ++c) e[r][c] = r == c ? diagonal : T(0);
    }
    // The element pair of lane `lane` (thread_elements): rows and columns as Apple's GPUs lay them out.
    static SM_INLINE void element_of(unsigned lane, int &row, int &col) {
        const unsigned q = lane / 4;
        row = int((q & 4u) + (lane / 2) % 4);
        col = int((q & 2u) * 2 + (lane % 2) * 2);
    }
    // The lane's two elements, by reference, as Apple's `thread vec<T, 2>&`: code writes
    // `thread auto& acc = m.thread_elements(); acc[0] *= alpha;` (MLX's and candle's GEMM epilogues).
    // A lane's pair is two neighbours of one row (its column is even), so it is a vec<T, 2> in place.
    SM_INLINE __private vec<T, 2> &thread_elements() {
        sm::simd::meeting<bool> who(true);
        int row = 0, col = 0;
        element_of(who.who.lane, row, col);
        return *(__private vec<T, 2> *)(void *)&e[row][col];
    }
    // The pair of lane `lane`: thread_elements() in a kernel split into regions (barrier_regions.hpp),
    // where the SIMD group's lanes share one copy of the matrix and each reaches its own elements.
    SM_INLINE __private vec<T, 2> &sm_lane_elements(unsigned lane) {
        int row = 0, col = 0;
        element_of(lane, row, col);
        return *(__private vec<T, 2> *)(void *)&e[row][col];
    }
    SM_INLINE __private const vec<T, 2> &sm_lane_elements(unsigned lane) const {
        int row = 0, col = 0;
        element_of(lane, row, col);
        return *(__private const vec<T, 2> *)(const void *)&e[row][col];
    }
    // On a const (or `constant`) matrix: the same pair, read-only.
    SM_INLINE __private const vec<T, 2> &thread_elements() const {
        sm::simd::meeting<bool> who(true);
        int row = 0, col = 0;
        element_of(who.who.lane, row, col);
        return *(__private const vec<T, 2> *)(const void *)&e[row][col];
    }
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;
typedef simdgroup_matrix<half, 8, 8> simdgroup_half8x8;

// make_filled_simdgroup_matrix<T, Cols, Rows>(value), as MSL declares it.
template <class T, int Cols = 8, int Rows = 8, class V> SM_INLINE simdgroup_matrix<T, Rows, Cols> make_filled_simdgroup_matrix(V value) {
    simdgroup_matrix<T, Rows, Cols> m;
    for (int r = 0; r < Rows; ++r)
        for (int c = 0; c < Cols; ++c) m.e[r][c] = T(value);
    return m;
}

// Loads and stores: `elements_per_row` is the source's row pitch, `origin` (column, row) the first
// element, `transpose` swaps rows and columns. U may differ from T (a half matrix from float memory).
// Element (r, c) of the matrix is at this offset from the source, in elements.
SM_INLINE unsigned long simdgroup_element_offset(int r, int c, unsigned long pitch, vec<unsigned long, 2> origin, bool transpose) {
    return (origin.y + (unsigned long)(transpose ? c : r)) * pitch + origin.x + (unsigned long)(transpose ? r : c);
}
// On fibers every lane holds a whole copy of each matrix, and a lane's copy is right about its own
// pair of elements (what thread_elements() wrote there) and about the others only until their lanes
// write theirs. So an operation that mixes elements of different lanes (a product, a store) first
// takes every live lane's pair from that lane (two meetings: the lane, then the pairs). In a kernel
// split into regions the SIMD group's lanes share one copy and the split calls the sm_group_
// versions below; a meeting there is the caller alone (lane 0 gets its own pair back: no change).
namespace sm_detail {
template <class A, class B, class C> struct three_pairs {
    vec<A, 2> a;
    vec<B, 2> b;
    vec<C, 2> c;
};
template <class A, class B, class C>
SM_INLINE void gather_pairs(simdgroup_matrix<A, 8, 8> &a, simdgroup_matrix<B, 8, 8> &b, simdgroup_matrix<C, 8, 8> &c) {
    const sm::simd::meeting<bool> who(true);
    const unsigned lane = who.who.lane;
    const sm::simd::meeting<three_pairs<A, B, C>> m(three_pairs<A, B, C>{a.sm_lane_elements(lane), b.sm_lane_elements(lane),
                                                                         c.sm_lane_elements(lane)});
    for (unsigned l = 0; l < 32; ++l)
        if (m.active(l)) {
            a.sm_lane_elements(l) = m.all[l].a;
            b.sm_lane_elements(l) = m.all[l].b;
            c.sm_lane_elements(l) = m.all[l].c;
        }
}
} // namespace sm_detail
#ifndef SM_SHADER_VALIDATION
template <class T, class U, class I = unsigned long>
SM_INLINE void simdgroup_load(simdgroup_matrix<T, 8, 8> &d, const U *src, I elements_per_row = 8,
                              vec<unsigned long, 2> origin = 0, bool transpose = false) {
    const unsigned long pitch = (unsigned long)elements_per_row;
    const U *p = src + origin.y * pitch + origin.x;
    // Two loops, not one with the choice inside: a row of the untransposed load is 8 contiguous elements.
    if (!transpose) {
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c) d.e[r][c] = T(p[(unsigned long)r * pitch + (unsigned long)c]);
    } else {
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c) d.e[r][c] = T(p[(unsigned long)c * pitch + (unsigned long)r]);
    }
}
template <class T, class U, class I = unsigned long>
SM_INLINE void sm_group_store(simdgroup_matrix<T, 8, 8> a, U *dst, I elements_per_row = 8, vec<unsigned long, 2> origin = 0,
                              bool transpose = false) {
    const unsigned long pitch = (unsigned long)elements_per_row;
    // Every lane holds the whole matrix, so every lane writes the same values.
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c) dst[simdgroup_element_offset(r, c, pitch, origin, transpose)] = (sm::remove_cvref_t<U>)a.e[r][c];
}
template <class T, class U, class I = unsigned long>
SM_INLINE void simdgroup_store(simdgroup_matrix<T, 8, 8> a, U *dst, I elements_per_row = 8, vec<unsigned long, 2> origin = 0,
                               bool transpose = false) {
    sm_detail::gather_pairs(a, a, a);
    sm_group_store(a, dst, elements_per_row, origin, transpose);
}
#else
// Shader validation: every element moved is checked against the source's range, in row order, at the
// call's line and column (default arguments, evaluated at the call). A plain pointer (a threadgroup
// array, `&in[k]`) takes the range it points into.
template <class T, class U, class I = unsigned long>
SM_INLINE void simdgroup_load(simdgroup_matrix<T, 8, 8> &d, const sm::checked<U> &src, I elements_per_row = 8,
                              vec<unsigned long, 2> origin = 0, bool transpose = false, unsigned line = __builtin_LINE(),
                              unsigned column = __builtin_COLUMN()) {
    const unsigned long pitch = (unsigned long)elements_per_row;
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c) {
            const unsigned long at = simdgroup_element_offset(r, c, pitch, origin, transpose);
            src.check((long)at, line, column);
            d.e[r][c] = T(src.p[at]);
        }
}
template <class T, class U, class I = unsigned long>
SM_INLINE void simdgroup_load(simdgroup_matrix<T, 8, 8> &d, const U *src, I elements_per_row = 8,
                              vec<unsigned long, 2> origin = 0, bool transpose = false, unsigned line = __builtin_LINE(),
                              unsigned column = __builtin_COLUMN()) {
    simdgroup_load(d, sm::checked<const U>(src), elements_per_row, origin, transpose, line, column);
}
template <class T, class U, class I = unsigned long>
SM_INLINE void sm_group_store(simdgroup_matrix<T, 8, 8> a, const sm::checked<U> &dst, I elements_per_row = 8,
                              vec<unsigned long, 2> origin = 0, bool transpose = false, unsigned line = __builtin_LINE(),
                              unsigned column = __builtin_COLUMN()) {
    const unsigned long pitch = (unsigned long)elements_per_row;
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c) {
            const unsigned long at = simdgroup_element_offset(r, c, pitch, origin, transpose);
            dst.check((long)at, line, column);
            dst.p[at] = (sm::remove_cvref_t<U>)a.e[r][c];
        }
}
template <class T, class U, class I = unsigned long>
SM_INLINE void sm_group_store(simdgroup_matrix<T, 8, 8> a, U *dst, I elements_per_row = 8, vec<unsigned long, 2> origin = 0,
                              bool transpose = false, unsigned line = __builtin_LINE(), unsigned column = __builtin_COLUMN()) {
    sm_group_store(a, sm::checked<U>(dst), elements_per_row, origin, transpose, line, column);
}
// On fibers, each lane's pair of elements is taken from its lane first (above).
template <class T, class U, class I = unsigned long>
SM_INLINE void simdgroup_store(simdgroup_matrix<T, 8, 8> a, const sm::checked<U> &dst, I elements_per_row = 8,
                               vec<unsigned long, 2> origin = 0, bool transpose = false, unsigned line = __builtin_LINE(),
                               unsigned column = __builtin_COLUMN()) {
    sm_detail::gather_pairs(a, a, a);
    sm_group_store(a, dst, elements_per_row, origin, transpose, line, column);
}
template <class T, class U, class I = unsigned long>
SM_INLINE void simdgroup_store(simdgroup_matrix<T, 8, 8> a, U *dst, I elements_per_row = 8, vec<unsigned long, 2> origin = 0,
                               bool transpose = false, unsigned line = __builtin_LINE(), unsigned column = __builtin_COLUMN()) {
    simdgroup_store(a, sm::checked<U>(dst), elements_per_row, origin, transpose, line, column);
}
#endif
namespace sm_detail {
typedef float row8 __attribute__((ext_vector_type(8)));
template <class T> SM_INLINE row8 row_of(const T (&r)[8]) {
    row8 v;
    for (int j = 0; j < 8; ++j) v[j] = float(r[j]);
    return v;
}
} // namespace sm_detail
template <class T, class A, class B, class C>
SM_INLINE void sm_group_multiply_accumulate(simdgroup_matrix<T, 8, 8> &d, simdgroup_matrix<A, 8, 8> a, simdgroup_matrix<B, 8, 8> b,
                                            simdgroup_matrix<C, 8, 8> c) {
    // Rows as 8-wide float vectors: row i of the result is c's row plus a[i][k] times b's row k, k in
    // order (each element sums in the order of a dot product; half and bfloat accumulate in float).
    // Spelled with vectors and k outermost, LLVM keeps the eight result rows in registers and makes
    // each step one broadcast multiply-add; the scalar spelling it rearranged with shuffles, and ran
    // the bench's 8x8-tile GEMM about 1.4 times slower. Both loops unrolled whole: rolled, LLVM kept k a
    // variable, stored the eight rows of a to the stack on every step to broadcast a[i][k] back from
    // memory; unrolled, each broadcast is a register permute. bench_metal_simdgroup's GEMM, alternating
    // with the rolled build: 0.99-1.03x -> 1.30-1.34x the 16x16-tiled one (about 100 -> 150 GFLOP/s).
    sm_detail::row8 rb[8], ra[8], s[8];
    for (int k = 0; k < 8; ++k) rb[k] = sm_detail::row_of(b.e[k]);
    for (int i = 0; i < 8; ++i) ra[i] = sm_detail::row_of(a.e[i]);
    for (int i = 0; i < 8; ++i) s[i] = sm_detail::row_of(c.e[i]);
#pragma clang loop unroll(full)
    for (int k = 0; k < 8; ++k)
#pragma clang loop unroll(full)
        for (int i = 0; i < 8; ++i) s[i] += ra[i][k] * rb[k];
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) d.e[i][j] = T(s[i][j]);
}
template <class T, class A, class B, class C>
SM_INLINE void simdgroup_multiply_accumulate(simdgroup_matrix<T, 8, 8> &d, simdgroup_matrix<A, 8, 8> a, simdgroup_matrix<B, 8, 8> b,
                                             simdgroup_matrix<C, 8, 8> c) {
    sm_detail::gather_pairs(a, b, c);
    sm_group_multiply_accumulate(d, a, b, c);
}
template <class T, class A, class B>
SM_INLINE void sm_group_multiply(simdgroup_matrix<T, 8, 8> &d, simdgroup_matrix<A, 8, 8> a, simdgroup_matrix<B, 8, 8> b) {
    sm_group_multiply_accumulate(d, a, b, simdgroup_matrix<T, 8, 8>(T(0)));
}
template <class T, class A, class B>
SM_INLINE void simdgroup_multiply(simdgroup_matrix<T, 8, 8> &d, simdgroup_matrix<A, 8, 8> a, simdgroup_matrix<B, 8, 8> b) {
    sm_detail::gather_pairs(a, b, b);
    sm_group_multiply(d, a, b);
}

// Arithmetic on whole matrices: products, sums, differences, scaling.
template <class T, int R, int C> SM_INLINE simdgroup_matrix<T, R, C> operator*(simdgroup_matrix<T, R, C> a, simdgroup_matrix<T, R, C> b) {
    simdgroup_matrix<T, R, C> d;
    simdgroup_multiply(d, a, b);
    return d;
}
template <class T, int R, int C> SM_INLINE simdgroup_matrix<T, R, C> operator+(simdgroup_matrix<T, R, C> a, simdgroup_matrix<T, R, C> b) {
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) a.e[r][c] += b.e[r][c];
    return a;
}
template <class T, int R, int C> SM_INLINE simdgroup_matrix<T, R, C> operator-(simdgroup_matrix<T, R, C> a, simdgroup_matrix<T, R, C> b) {
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) a.e[r][c] -= b.e[r][c];
    return a;
}
template <class T, int R, int C, class S> SM_INLINE simdgroup_matrix<T, R, C> operator*(simdgroup_matrix<T, R, C> a, S s) {
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) a.e[r][c] *= T(s);
    return a;
}

} // namespace metal

#endif
