#include "executor/fiber_stack_pool.hpp"

#include "executor/sanitizer_fiber.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace softmetal::detail {
namespace {

std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

std::size_t round_up(std::size_t value, std::size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

// Parses "65536", "64k", "1M"; returns 0 for anything else.
std::size_t parse_size(const char* text) {
    if (!text || !*text) return 0;
    char* end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text) return 0;
    if (*end == 'k' || *end == 'K') {
        value *= 1024, ++end;
    } else if (*end == 'm' || *end == 'M') {
        value *= 1024 * 1024, ++end;
    }
    if (*end == 'b' || *end == 'B') ++end;  // "64KB"
    return *end ? 0 : static_cast<std::size_t>(value);
}

std::size_t compute_fiber_stack_size() {
    const std::size_t minimum = 16 * 1024;
    std::size_t size = parse_size(std::getenv("SOFTMETAL_FIBER_STACK"));
    if (size == 0) size = running_under_asan ? 256 * 1024 : 64 * 1024;
    if (size < minimum) size = minimum;
    return round_up(size, page_size());
}

}  // namespace

std::size_t fiber_stack_size() {
    static const std::size_t size = compute_fiber_stack_size();
    return size;
}

fiber_stack_pool::fiber_stack_pool(std::size_t stack_size)
    : stack_size_(round_up(stack_size, page_size())), guard_size_(page_size()) {}

fiber_stack_pool::~fiber_stack_pool() {
    for (const fiber_stack& stack : free_) {
        // ASan keeps shadow memory across munmap: clear our frames' poison so that whatever is mapped
        // here next (another thread's stack, say) does not inherit it.
        asan_unpoison(stack.bottom(), stack.size);
        munmap(static_cast<char*>(stack.bottom()) - guard_size_, guard_size_ + stack_size_);
    }
}

fiber_stack fiber_stack_pool::acquire() {
    if (!free_.empty()) {
        fiber_stack stack = free_.back();
        free_.pop_back();
        asan_unpoison(stack.bottom(), stack.size);
        return stack;
    }
    // release() runs inside Boost's noexcept fiber teardown, so it must not allocate: keep room for
    // every stack this pool has ever mapped.
    free_.reserve(++mapped_);
    const std::size_t total = guard_size_ + stack_size_;
    // MAP_NORESERVE: a 1024-thread group maps 64 MiB of stacks but touches only a few pages of each.
    void* base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED) {
        std::fprintf(stderr, "softmetal: cannot map a %zu-byte fiber stack: %s\n", total, std::strerror(errno));
        std::abort();
    }
    if (mprotect(base, guard_size_, PROT_NONE) != 0) {
        std::fprintf(stderr, "softmetal: cannot protect a fiber stack's guard page: %s\n", std::strerror(errno));
        std::abort();
    }
    // Stagger the tops of successive stacks by 256 bytes over 4 KiB (Boost aligns the fiber's start to
    // 256 bytes anyway). Otherwise every fiber's hot frames sit at the same address modulo 4 KiB, all in
    // one L1 cache set, and a barrier round over 256 fibers misses L1 on every switch.
    const std::size_t stagger = (mapped_ % 16) * 256;
    const fiber_stack stack{static_cast<char*>(base) + total - stagger, stack_size_ - stagger};
    // Fresh pages, but ASan's shadow may still hold poison from frames of an earlier mapping at the
    // same address (the stacks of an exited worker).
    asan_unpoison(stack.bottom(), stack.size);
    return stack;
}

void fiber_stack_pool::release(const fiber_stack& stack) {
    free_.push_back(stack);
}

}  // namespace softmetal::detail
