#include "executor/threadgroup_arenas.hpp"

#include <unistd.h>

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

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool address_sanitizer = true;
#else
constexpr bool address_sanitizer = false;
#endif
#else
constexpr bool address_sanitizer = false;
#endif

// The unit an arena's start and length are rounded to: whole pages of its own. Carved from the worker
// thread's malloc arena at 64 bytes, a tile landed next to whatever that thread allocated before, and
// the 16x16-tiled blur of bench_kernels ran at 0.5 or 2.2 GB/s (one thread, CPU time) depending on
// where: bimodal from one process to the next, 2.1-2.25 every time on pages of its own (whatever the
// offset in the page; the neighbour that slowed it was not found). Under AddressSanitizer the 64-byte
// rounding stays, so that a kernel running past its threadgroup memory is caught.
std::uint64_t arena_granularity() {
    if (address_sanitizer) return threadgroup_memory_alignment;
    static const std::uint64_t page = [] {
        const long queried = sysconf(_SC_PAGESIZE);
        return queried >= long(threadgroup_memory_alignment) ? std::uint64_t(queried) : std::uint64_t{4096};
    }();
    return page;
}

}  // namespace

void* threadgroup_arenas::reserve(arena& arena, std::uint64_t length) {
    if (length == 0) return nullptr;
    if (length > arena.capacity) {
        std::free(arena.memory);
        arena.memory = nullptr;
        arena.capacity = 0;
        const std::uint64_t unit = arena_granularity();
        if (length > UINT64_MAX - unit) {
            std::fprintf(stderr, "softmetal: cannot allocate %llu bytes of threadgroup memory\n", static_cast<unsigned long long>(length));
            std::abort();
        }
        // aligned_alloc wants a size that is a multiple of the alignment.
        const std::uint64_t rounded = (length + unit - 1) / unit * unit;
        void* memory = std::aligned_alloc(static_cast<std::size_t>(unit), static_cast<std::size_t>(rounded));
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
