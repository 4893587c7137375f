// softmetal prelude: memory flags and barriers.
#ifndef SOFTMETAL_PRELUDE_METAL_SYNC_H
#define SOFTMETAL_PRELUDE_METAL_SYNC_H

#include "target_cpu.h"

namespace metal {
enum class mem_flags : unsigned {
    mem_none = 0,
    mem_device = 1,
    mem_threadgroup = 2,
    mem_texture = 4,
    mem_threadgroup_imageblock = 8,
    mem_object_data = 16,
};
SM_INLINE constexpr mem_flags operator|(mem_flags a, mem_flags b) { return (mem_flags)((unsigned)a | (unsigned)b); }
SM_INLINE constexpr mem_flags operator&(mem_flags a, mem_flags b) { return (mem_flags)((unsigned)a & (unsigned)b); }

// Every thread of the group meets here. The fence makes device and threadgroup writes made before
// the barrier visible after it, whatever the flags say (stronger than Metal requires, never weaker).
SM_INLINE void threadgroup_barrier(mem_flags = mem_flags::mem_none) {
    sm::target::memory_fence();
    sm::target::threadgroup_barrier();
    sm::target::memory_fence();
}
// The executor has no SIMD-group scheduling yet: a whole-group barrier is a correct superset as long
// as every thread of the group reaches it (as in kernels that are written for one SIMD-group).
SM_INLINE void simdgroup_barrier(mem_flags f = mem_flags::mem_none) { threadgroup_barrier(f); }
} // namespace metal

#endif
