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
    // The position after `position` in this order (past the last group: z == groups.z). Inline, with
    // the position passed by value underneath, so that run_range keeps it in registers: out of line,
    // its fields went back through memory, stored one by one and reloaded whole, a load that cannot take
    // its value from the stores and so waits until every older store has reached the cache. After a
    // group of a streaming kernel those are the group's own output stores, still waiting for their cache
    // lines, and each group started only once the previous one had drained: a copy kernel in 32x8 groups
    // on one core ran at 13 GB/s against 25 for the same kernel called group by group in a tight loop.
    void advance(sm_size3& position) const {
        if (banded_) {
            position = next_in_band(position);
        } else if (++position.x == groups_.x) {
            position.x = 0;
            if (++position.y == groups_.y) position.y = 0, ++position.z;
        }
    }

    bool banded() const { return banded_; }
    // Whether a grid of `groups` is wide and high enough for bands at all (run_range asks this before
    // looking at the dispatch's threadgroup memory: one-group dispatches skip that scan).
    static bool may_band(sm_size3 groups) { return groups.y > 1 && groups.x > band_width; }

private:
    sm_size3 next_in_band(sm_size3 position) const;

    sm_size3 groups_;
    bool banded_;
};

}  // namespace softmetal::detail
