// softmetal prelude: MSL matrices (floatCxR / halfCxR: C columns of R-element vectors, column-major,
// with the padding of the column vector type, as on Apple GPUs: float3x3 is 48 bytes).
#ifndef SOFTMETAL_PRELUDE_METAL_MATRIX_H
#define SOFTMETAL_PRELUDE_METAL_MATRIX_H

#include "metal_types.h"

namespace metal {

template <class T, int C, int R> struct matrix {
    vec<T, R> columns[C];
    matrix() = default;
    // Value conversion from a matrix of another element type, as Metal's `(float4x4)h` and `float4x4(h)`
    // convert a half4x4 (or a user's bfloat matrix) element by element.
    template <class U> SM_INLINE constexpr explicit matrix(matrix<U, C, R> m) : columns{} {
        for (int i = 0; i < C; ++i) columns[i] = sm::make_vec<vec<T, R>>(m.columns[i]);
    }
    SM_INLINE constexpr vec<T, R> &operator[](int i) { return columns[i]; }
    SM_INLINE constexpr vec<T, R> operator[](int i) const { return columns[i]; }
};

} // namespace metal
namespace sm { // not metal::detail, which would clash with the user's `detail` (see metal_atomic.h)
template <class T> struct matrix_traits { static constexpr bool is_matrix = false; };
template <class T, int C, int R> struct matrix_traits<metal::matrix<T, C, R>> {
    using elem = T;
    static constexpr int cols = C, rows = R;
    static constexpr bool is_matrix = true;
};
} // namespace sm
namespace metal {

// floatCxR(): zero; floatCxR(s): s on the diagonal; floatCxR(col0, ..., colC-1); or C*R scalars,
// column by column. A constant expression (program-scope constants), so columns are made whole from
// arrays of lanes (metal_types.h: clang cannot store one lane of a vector in a constant expression).
template <class M, class... A> SM_INLINE constexpr M make_matrix(A ...a) {
    using T = typename sm::matrix_traits<M>::elem;
    constexpr int C = sm::matrix_traits<M>::cols, R = sm::matrix_traits<M>::rows;
    M m{};
    if constexpr (sizeof...(A) == 1 && (sm::matrix_traits<sm::remove_cvref_t<A>>::is_matrix && ...)) {
        return M(a...);
    } else if constexpr (sizeof...(A) == 0) {
        for (int i = 0; i < C; ++i) m[i] = vec<T, R>(0);
    } else if constexpr (sizeof...(A) == 1 && ((sm::lanes<A> == 0) && ...)) {
        for (int i = 0; i < C; ++i) {
            sm::lane_array<T, R> column{};
            if (i < R) column.v[i] = (T)(a, ...);
            m[i] = sm::from_lanes<vec<T, R>>(column);
        }
    } else if constexpr (sizeof...(A) == C && ((sm::lanes<A> == R) && ...)) {
        int i = 0;
        ((m[i++] = __builtin_convertvector(a, vec<T, R>)), ...);
    } else {
        static_assert(sizeof...(A) == C * R, "matrix constructor: give C column vectors or C*R scalars");
        const T v[C * R] = {(T)a...};
        for (int i = 0; i < C; ++i) {
            sm::lane_array<T, R> column{};
            for (int j = 0; j < R; ++j) column.v[j] = v[i * R + j];
            m[i] = sm::from_lanes<vec<T, R>>(column);
        }
    }
    return m;
}

template <class T, int C, int R> SM_INLINE vec<T, R> operator*(matrix<T, C, R> m, vec<T, C> v) {
    vec<T, R> r = m[0] * v[0];
    for (int i = 1; i < C; ++i) r += m[i] * v[i];
    return r;
}
template <class T, int C, int R> SM_INLINE vec<T, C> operator*(vec<T, R> v, matrix<T, C, R> m) {
    vec<T, C> r;
    for (int i = 0; i < C; ++i) {
        vec<T, R> p = v * m[i];
        T s = 0;
        for (int j = 0; j < R; ++j) s += p[j];
        r[i] = s;
    }
    return r;
}
template <class T, int K, int C, int R> SM_INLINE matrix<T, C, R> operator*(matrix<T, K, R> a, matrix<T, C, K> b) {
    matrix<T, C, R> r;
    for (int j = 0; j < C; ++j) r[j] = a * b[j];
    return r;
}
#define SM_MATRIX_ELEMENTWISE(op)                                                                                  \
    template <class T, int C, int R> SM_INLINE matrix<T, C, R> operator op(matrix<T, C, R> a, matrix<T, C, R> b) { \
        matrix<T, C, R> r;                                                                                          \
        for (int i = 0; i < C; ++i) r[i] = a[i] op b[i];                                                            \
        return r;                                                                                                   \
    }
SM_MATRIX_ELEMENTWISE(+)
SM_MATRIX_ELEMENTWISE(-)
#undef SM_MATRIX_ELEMENTWISE
template <class T, int C, int R, class S, sm::enable_if_t<sm::lanes<S> == 0> = 0>
SM_INLINE matrix<T, C, R> operator*(matrix<T, C, R> a, S s) {
    matrix<T, C, R> r;
    for (int i = 0; i < C; ++i) r[i] = a[i] * (T)s;
    return r;
}
template <class T, int C, int R, class S, sm::enable_if_t<sm::lanes<S> == 0> = 0>
SM_INLINE matrix<T, C, R> operator*(S s, matrix<T, C, R> a) { return a * s; }
template <class T, int C, int R> SM_INLINE matrix<T, C, R> &operator*=(matrix<T, C, R> &a, matrix<T, C, C> b) { return a = a * b; }
template <class T, int C, int R> SM_INLINE matrix<T, C, R> &operator+=(matrix<T, C, R> &a, matrix<T, C, R> b) { return a = a + b; }

template <class T, int C, int R> SM_INLINE matrix<T, R, C> transpose(matrix<T, C, R> m) {
    matrix<T, R, C> r;
    for (int i = 0; i < C; ++i)
        for (int j = 0; j < R; ++j) r[j][i] = m[i][j];
    return r;
}
template <class T> SM_INLINE T determinant(matrix<T, 2, 2> m) { return m[0][0] * m[1][1] - m[1][0] * m[0][1]; }
template <class T> SM_INLINE T determinant(matrix<T, 3, 3> m) {
    return m[0][0] * (m[1][1] * m[2][2] - m[2][1] * m[1][2]) - m[1][0] * (m[0][1] * m[2][2] - m[2][1] * m[0][2]) +
           m[2][0] * (m[0][1] * m[1][2] - m[1][1] * m[0][2]);
}
template <class T> SM_INLINE T determinant(matrix<T, 4, 4> m) {
    T d = 0;
    for (int c = 0; c < 4; ++c) { // expansion along the first row
        matrix<T, 3, 3> minor;
        for (int i = 0, k = 0; i < 4; ++i) {
            if (i == c) continue;
            minor[k++] = vec<T, 3>{m[i][1], m[i][2], m[i][3]};
        }
        d += (c % 2 ? -1 : 1) * m[c][0] * determinant(minor);
    }
    return d;
}

#define SM_MATRIX_TYPES(T, E)                                                                                      \
    typedef matrix<E, 2, 2> T##2x2;                                                                                 \
    typedef matrix<E, 2, 3> T##2x3;                                                                                 \
    typedef matrix<E, 2, 4> T##2x4;                                                                                 \
    typedef matrix<E, 3, 2> T##3x2;                                                                                 \
    typedef matrix<E, 3, 3> T##3x3;                                                                                 \
    typedef matrix<E, 3, 4> T##3x4;                                                                                 \
    typedef matrix<E, 4, 2> T##4x2;                                                                                 \
    typedef matrix<E, 4, 3> T##4x3;                                                                                 \
    typedef matrix<E, 4, 4> T##4x4;                                                                                 \
    template <class... A> SM_INLINE constexpr T##2x2 sm_make_##T##2x2(A ...a) { return make_matrix<T##2x2>(a...); }   \
    template <class... A> SM_INLINE constexpr T##2x3 sm_make_##T##2x3(A ...a) { return make_matrix<T##2x3>(a...); }   \
    template <class... A> SM_INLINE constexpr T##2x4 sm_make_##T##2x4(A ...a) { return make_matrix<T##2x4>(a...); }   \
    template <class... A> SM_INLINE constexpr T##3x2 sm_make_##T##3x2(A ...a) { return make_matrix<T##3x2>(a...); }   \
    template <class... A> SM_INLINE constexpr T##3x3 sm_make_##T##3x3(A ...a) { return make_matrix<T##3x3>(a...); }   \
    template <class... A> SM_INLINE constexpr T##3x4 sm_make_##T##3x4(A ...a) { return make_matrix<T##3x4>(a...); }   \
    template <class... A> SM_INLINE constexpr T##4x2 sm_make_##T##4x2(A ...a) { return make_matrix<T##4x2>(a...); }   \
    template <class... A> SM_INLINE constexpr T##4x3 sm_make_##T##4x3(A ...a) { return make_matrix<T##4x3>(a...); }   \
    template <class... A> SM_INLINE constexpr T##4x4 sm_make_##T##4x4(A ...a) { return make_matrix<T##4x4>(a...); }
SM_MATRIX_TYPES(float, float)
SM_MATRIX_TYPES(half, half)
#undef SM_MATRIX_TYPES

} // namespace metal

#endif
