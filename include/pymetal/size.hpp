/// \file
/// pymetal::size3: a grid or threadgroup extent whose unspecified dimensions are 1, so `1024`,
/// `{64, 64}` and `{1, 1, 1}` all mean what they say (mtl_size's missing fields would be 0).
#pragma once

#include <string>
#include <type_traits>

#include "metal_types.hpp"

namespace pymetal {

/// A 1-, 2- or 3-D size (grid or threadgroup), each dimension 1 unless given; converts to and from MTLSize.
struct size3 {
    ns_uinteger width = 1;  ///< threads along x
    ns_uinteger height = 1;  ///< threads along y
    ns_uinteger depth = 1;  ///< threads along z

    constexpr size3() noexcept = default;
    /// Any integer types, so `{width, height}` with int variables is not a narrowing error.
    template <class W, class H = ns_uinteger, class D = ns_uinteger,
              class = std::enable_if_t<std::is_integral_v<W> && std::is_integral_v<H> && std::is_integral_v<D>>>
    constexpr size3(W w, H h = 1, D d = 1) noexcept
        : width(static_cast<ns_uinteger>(w)), height(static_cast<ns_uinteger>(h)), depth(static_cast<ns_uinteger>(d)) {}
    /// From an MTLSize.
    constexpr size3(const mtl_size& s) noexcept : width(s.width), height(s.height), depth(s.depth) {}

    /// As an MTLSize.
    constexpr operator mtl_size() const noexcept { return mtl_size{width, height, depth}; }
    /// width * height * depth (the caller checks overflow where it matters).
    constexpr ns_uinteger total() const noexcept { return width * height * depth; }
    /// Whether any dimension is 0.
    constexpr bool empty() const noexcept { return width == 0 || height == 0 || depth == 0; }

    /// "64x1x1", for messages.
    std::string str() const {
        return std::to_string(width) + "x" + std::to_string(height) + "x" + std::to_string(depth);
    }

    /// Whether all three dimensions are equal.
    friend constexpr bool operator==(const size3& a, const size3& b) noexcept {
        return a.width == b.width && a.height == b.height && a.depth == b.depth;
    }
    /// Whether any dimension differs.
    friend constexpr bool operator!=(const size3& a, const size3& b) noexcept { return !(a == b); }
};

}  // namespace pymetal
