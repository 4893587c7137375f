#include "executor/threadgroup_arenas.hpp"

#include <cstdio>
#include <cstdlib>
#include <new>

namespace softmetal::detail {

threadgroup_arenas::~threadgroup_arenas() {
    std::free(static_arena_.memory);
    for (arena& slot : slots_) std::free(slot.memory);
}

void threadgroup_arenas::bind(sm_group& group, std::uint64_t static_length,
                              const std::uint64_t (&slot_lengths)[SM_MAX_THREADGROUP_BINDINGS]) {
    group.static_threadgroup_memory = reserve(static_arena_, static_length);
    group.static_threadgroup_memory_length = static_length;
    // Most kernels have no threadgroup arguments: a zero length is settled here, without a call.
    for (unsigned n = 0; n < SM_MAX_THREADGROUP_BINDINGS; ++n)
        group.threadgroup_memory[n] = slot_lengths[n] == 0 ? nullptr : reserve(slots_[n], slot_lengths[n]);
}

void* threadgroup_arenas::reserve(arena& arena, std::uint64_t length) {
    if (length == 0) return nullptr;
    if (length > arena.capacity) {
        std::free(arena.memory);
        arena.memory = nullptr;
        arena.capacity = 0;
        // aligned_alloc wants a size that is a multiple of the alignment.
        const std::uint64_t rounded = (length + threadgroup_memory_alignment - 1) / threadgroup_memory_alignment * threadgroup_memory_alignment;
        void* memory = std::aligned_alloc(threadgroup_memory_alignment, static_cast<std::size_t>(rounded));
        if (!memory) {
            std::fprintf(stderr, "softmetal: cannot allocate %llu bytes of threadgroup memory\n", static_cast<unsigned long long>(length));
            std::abort();
        }
        arena.memory = memory;
        arena.capacity = rounded;
    }
    return arena.memory;
}

}  // namespace softmetal::detail
