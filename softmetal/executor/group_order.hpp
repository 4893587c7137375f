// The order in which a dispatch's threadgroups are handed out: which group position a linear hand-out
// index stands for. Workers take chunks of consecutive indices, so this order decides which groups one
// core runs one after another, and so what its private L2 cache still holds from the previous group.
#pragma once

#include "kernel_abi.h"

#include <cstdint>

namespace softmetal::detail {

// Row order (x fastest, then y, then z) for most kernels. A kernel that stages tiles of its inputs in
// threadgroup memory on a grid of groups at least two groups high (tiled matrix products,
// convolutions) walks in bands `band_width` groups wide instead: down one band's whole height, then
// the next band. Groups of one column share the column's tiles (SGEMM's strip of B), groups of one row
// the row's (A's strip): in row order a core reads every column's strip once per row of groups, from
// L3; in a band, the band's few column strips stay in L2 all the way down and each row's strip is read
// band_width times in a row. Eight 64 KiB strips of B (16x16 tiles, n = 1024) and one of A fit a
// core's 1 MiB L2; tiled SGEMM 1024 on one core, CPU time: 40-41 -> 47-48 GFLOP/s with bands of 8
// (4: 42-47, 16: 42-44). Streaming kernels without threadgroup memory (stencils, element-wise) keep
// row order, which reads their rows front to back.
class group_order {
public:
    static constexpr std::uint32_t band_width = 8;

    // `dynamic_threadgroup_memory`: the dispatch sets threadgroup memory lengths of its own.
    group_order(const sm_kernel_info& kernel, bool dynamic_threadgroup_memory, sm_size3 groups);

    // The position of the group with linear index `index` (< the number of groups).
    sm_size3 position_of(std::uint64_t index) const;
    // The position after `position` in this order (past the last group: z == groups.z).
    void advance(sm_size3& position) const;

    bool banded() const { return banded_; }
    // Whether a grid of `groups` is wide and high enough for bands at all (run_range asks this before
    // looking at the dispatch's threadgroup memory: one-group dispatches skip that scan).
    static bool may_band(sm_size3 groups) { return groups.y > 1 && groups.x > band_width; }

private:
    sm_size3 groups_;
    bool banded_;
};

}  // namespace softmetal::detail
