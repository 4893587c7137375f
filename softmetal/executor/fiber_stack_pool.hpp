// Stacks for the fibers that run kernel threads with barriers. Mapping a stack costs a few system
// calls, a group of 1024 threads needs 1024 of them, and a dispatch may have thousands of groups, so
// each worker thread keeps the stacks it has used and hands them out again.
//
// Every stack has an inaccessible guard page below it, so a kernel thread that overflows its stack
// faults at once instead of silently writing over its neighbour's stack.
#pragma once

#include <cstddef>
#include <vector>

namespace softmetal::detail {

struct fiber_stack {
    void* top = nullptr;     // highest address: stacks grow down from here
    std::size_t size = 0;    // usable bytes below `top` (the guard page is below that); at most
                             // 4 KiB less than fiber_stack_pool::stack_size(), see acquire()
    void* bottom() const { return static_cast<char*>(top) - size; }
};

// Usable size of each fiber stack: SOFTMETAL_FIBER_STACK (bytes, or with a k/m suffix) if set, else
// 64 KiB, or 256 KiB under AddressSanitizer whose redzones make every frame several times larger.
// Rounded up to whole pages. Read once per process.
std::size_t fiber_stack_size();

// Not thread-safe: one per worker thread.
class fiber_stack_pool {
public:
    explicit fiber_stack_pool(std::size_t stack_size = fiber_stack_size());
    ~fiber_stack_pool();
    fiber_stack_pool(const fiber_stack_pool&) = delete;
    fiber_stack_pool& operator=(const fiber_stack_pool&) = delete;

    // A stack of stack_size() bytes: a pooled one, or a freshly mapped one. Aborts if mapping fails
    // (out of address space or of memory mappings, see vm.max_map_count).
    fiber_stack acquire();
    // Gives a stack from acquire() back for reuse. Never allocates.
    void release(const fiber_stack& stack);

    std::size_t stack_size() const { return stack_size_; }
    // The inaccessible bytes just below each stack's bottom().
    std::size_t guard_size() const { return guard_size_; }
    std::size_t pooled() const { return free_.size(); }

private:
    std::size_t stack_size_;
    std::size_t guard_size_;
    std::size_t mapped_ = 0;
    std::vector<fiber_stack> free_;
};

}  // namespace softmetal::detail
