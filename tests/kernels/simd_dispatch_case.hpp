// What the SIMD-group kernel headers (simd_loop_kernels.hpp, uniform_choice_kernels.hpp,
// simd_shape_kernels.hpp) share: a 1-D dispatch's shape, its SIMD groups as Metal forms them (32
// threads of a threadgroup in index order, the last one of a group short), and a run's buffers with
// the contents the host reference wants. Each header writes its own kernels, shapes and references.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

namespace simd_dispatch {

// A 1-D dispatch of `grid` threads in threadgroups of `tg` (the last one partial when tg does not
// divide grid); what `n` means (threads at it and past it returning first, adding nothing...) is
// each kernel's own.
struct shape {
    uint32_t grid, tg, n;
};

// The SIMD groups of a dispatch: [begin, end) in grid positions.
inline std::vector<std::pair<uint32_t, uint32_t>> simd_groups(const shape &d) {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (uint32_t g = 0; g < d.grid; g += d.tg)
        for (uint32_t s = g; s < std::min(g + d.tg, d.grid); s += 32) out.push_back({s, std::min({s + 32, g + d.tg, d.grid})});
    return out;
}

template <class T> std::vector<unsigned char> bytes_of(const std::vector<T> &v) {
    std::vector<unsigned char> b(v.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}

// A kernel's buffers for one dispatch (by index) and the contents the host reference wants in its outputs.
struct run_case {
    std::vector<std::vector<unsigned char>> buffers;
    std::map<std::size_t, std::vector<unsigned char>> want;
};

} // namespace simd_dispatch
