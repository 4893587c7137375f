#include "executor/group_order.hpp"

#include <algorithm>

namespace softmetal::detail {

group_order::group_order(const sm_kernel_info& kernel, bool dynamic_threadgroup_memory, sm_size3 groups)
    : groups_(groups),
      // Bands need more than one band across and more than one row down; otherwise both orders agree.
      banded_((kernel.static_threadgroup_memory_length != 0 || dynamic_threadgroup_memory) && may_band(groups)) {}

sm_size3 group_order::position_of(std::uint64_t index) const {
    const std::uint64_t plane = std::uint64_t(groups_.x) * groups_.y;
    const auto z = static_cast<std::uint32_t>(index / plane);
    const std::uint64_t in_plane = index % plane;
    if (!banded_) return sm_size3{static_cast<std::uint32_t>(in_plane % groups_.x), static_cast<std::uint32_t>(in_plane / groups_.x), z};
    // Every band but the last is band_width wide: index / (band_width * height) is the band.
    const std::uint64_t full_band = std::uint64_t(band_width) * groups_.y;
    const std::uint64_t band = in_plane / full_band;
    const std::uint64_t in_band = in_plane % full_band;
    const std::uint64_t first_x = band * band_width;
    const std::uint64_t width = std::min<std::uint64_t>(band_width, groups_.x - first_x);
    return sm_size3{static_cast<std::uint32_t>(first_x + in_band % width), static_cast<std::uint32_t>(in_band / width), z};
}

sm_size3 group_order::next_in_band(sm_size3 position) const {
    const std::uint32_t first_x = position.x - position.x % band_width;
    const std::uint32_t end_x = first_x + std::min<std::uint32_t>(band_width, groups_.x - first_x);
    if (++position.x < end_x) return position;
    position.x = first_x;
    if (++position.y < groups_.y) return position;
    position.y = 0;
    position.x = end_x;
    if (position.x == groups_.x) position.x = 0, ++position.z;
    return position;
}

}  // namespace softmetal::detail
