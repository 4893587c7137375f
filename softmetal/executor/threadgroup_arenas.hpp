// Threadgroup memory for the group a worker is running: one arena for the threadgroup variables
// declared in the kernel body (sm_group.static_threadgroup_memory) and one per [[threadgroup(n)]]
// argument (sm_group.threadgroup_memory[n]). A worker runs one group at a time, so it keeps one set of
// arenas and reuses them for every group; they only grow. Metal leaves threadgroup memory undefined at
// group start, so nothing is cleared between groups.
//
// Each slot is a separate allocation of whole pages of its own (grown, never shrunk; threadgroup_arenas.cpp
// says why); under AddressSanitizer, of the requested size rounded up to 64 bytes, so that it catches a
// kernel that runs well past the end of its threadgroup memory.
#pragma once

#include "kernel_abi.h"

#include <cstddef>
#include <cstdint>

namespace softmetal::detail {

// Alignment of every arena: a cache line, which is also more than any MSL type needs.
inline constexpr std::size_t threadgroup_memory_alignment = 64;

// Not thread-safe: one per worker thread.
class threadgroup_arenas {
public:
    threadgroup_arenas() = default;
    ~threadgroup_arenas();
    threadgroup_arenas(const threadgroup_arenas&) = delete;
    threadgroup_arenas& operator=(const threadgroup_arenas&) = delete;

    // Points group.static_threadgroup_memory and group.threadgroup_memory[n] at arenas of at least the
    // given sizes; a length of 0 gives nullptr. Valid until the next call.
    void bind(sm_group& group, std::uint64_t static_length, const std::uint64_t (&slot_lengths)[SM_MAX_THREADGROUP_BINDINGS]);

private:
    struct arena {
        void* memory = nullptr;
        std::uint64_t capacity = 0;
    };
    static void* reserve(arena& arena, std::uint64_t length);

    arena static_arena_;
    arena slots_[SM_MAX_THREADGROUP_BINDINGS];
};

}  // namespace softmetal::detail
