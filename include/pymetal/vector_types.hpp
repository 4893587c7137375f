/// \file
/// Host-side vectors with MSL's layout, for structs that host code and kernels share:
///
/// \code
///   struct particle { pymetal::float3 position; float mass; pymetal::packed_float3 velocity; };
///   // MSL: struct particle { float3 position; float mass; packed_float3 velocity; };  same 48 bytes
/// \endcode
///
/// As in MSL, a 3-vector takes the room of a 4-vector (float3: 16 bytes, aligned 16); packed_float3 is
/// three floats (12 bytes, aligned 4). Vectors are N*sizeof(T) bytes and aligned to their size (3 as 4);
/// packed vectors N*sizeof(T) aligned to T. MSL's `long` is 64-bit: pymetal::long2 holds std::int64_t.
/// `half` vectors are absent: C++17 has no half type. Plain aggregates: `float3{1, 2, 3}`, .x/.y/.z/.w
/// and [i]; trivially copyable, so they go into buffers and pymetal::value() as they are.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pymetal {

namespace detail {
template <class T, std::size_t N, std::size_t Align>
struct alignas(Align) msl_vector;
template <class T, std::size_t Align>
struct alignas(Align) msl_vector<T, 2, Align> {
    T x, y;
    constexpr T& operator[](std::size_t i) { return i == 0 ? x : y; }
    constexpr const T& operator[](std::size_t i) const { return i == 0 ? x : y; }
};
template <class T, std::size_t Align>
struct alignas(Align) msl_vector<T, 3, Align> {
    T x, y, z;
    constexpr T& operator[](std::size_t i) { return i == 0 ? x : i == 1 ? y : z; }
    constexpr const T& operator[](std::size_t i) const { return i == 0 ? x : i == 1 ? y : z; }
};
template <class T, std::size_t Align>
struct alignas(Align) msl_vector<T, 4, Align> {
    T x, y, z, w;
    constexpr T& operator[](std::size_t i) { return i == 0 ? x : i == 1 ? y : i == 2 ? z : w; }
    constexpr const T& operator[](std::size_t i) const { return i == 0 ? x : i == 1 ? y : i == 2 ? z : w; }
};
template <class T, std::size_t N, std::size_t A>
constexpr bool operator==(const msl_vector<T, N, A>& a, const msl_vector<T, N, A>& b) {
    for (std::size_t i = 0; i < N; ++i)
        if (!(a[i] == b[i])) return false;
    return true;
}
template <class T, std::size_t N, std::size_t A>
constexpr bool operator!=(const msl_vector<T, N, A>& a, const msl_vector<T, N, A>& b) {
    return !(a == b);
}
}  // namespace detail

/// MSL's vector of N T: N*sizeof(T) bytes (4*sizeof(T) for N = 3), aligned to that size.
template <class T, std::size_t N>
using vec = detail::msl_vector<T, N, sizeof(T) * (N == 3 ? 4 : N)>;
/// MSL's packed_TN: N*sizeof(T) bytes, aligned to T.
template <class T, std::size_t N>
using packed_vec = detail::msl_vector<T, N, alignof(T)>;

/// Declares MSL's vector types of one element type: name2, name3, name4 (aligned as in MSL) and packed_name2,
/// packed_name3, packed_name4.
#define PYMETAL_VECTOR_TYPES(name, T)                                                            \
    using name##2 = vec<T, 2>;                                                                   \
    using name##3 = vec<T, 3>;                                                                   \
    using name##4 = vec<T, 4>;                                                                   \
    using packed_##name##2 = packed_vec<T, 2>;                                                   \
    using packed_##name##3 = packed_vec<T, 3>;                                                   \
    using packed_##name##4 = packed_vec<T, 4>;
PYMETAL_VECTOR_TYPES(float, float)
PYMETAL_VECTOR_TYPES(int, std::int32_t)
PYMETAL_VECTOR_TYPES(uint, std::uint32_t)
PYMETAL_VECTOR_TYPES(short, std::int16_t)
PYMETAL_VECTOR_TYPES(ushort, std::uint16_t)
PYMETAL_VECTOR_TYPES(char, std::int8_t)
PYMETAL_VECTOR_TYPES(uchar, std::uint8_t)
PYMETAL_VECTOR_TYPES(long, std::int64_t)
PYMETAL_VECTOR_TYPES(ulong, std::uint64_t)
#undef PYMETAL_VECTOR_TYPES

}  // namespace pymetal
