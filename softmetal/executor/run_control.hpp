// What a dispatch (or a whole command buffer's sequence of dispatches) shares with the workers running
// it and with the watchdog: the first kernel fault, and the flag that tells workers to start no further
// threadgroups. On a GPU a faulting kernel or a timeout ends its command buffer, not the process; this
// is where that end is recorded.
#pragma once

#include "kernel_abi.h"

#include <atomic>
#include <cstdint>
#include <optional>

namespace softmetal {

enum class fault_kind : std::uint8_t {
    page_fault,           // SIGSEGV / SIGBUS: a wild, null or out-of-bounds (guard page) access
    stack_overflow,       // a kernel thread ran off its stack (fiber guard page, or the worker's own stack)
    arithmetic,           // SIGFPE: integer division by zero, INT_MIN / -1
    illegal_instruction,  // SIGILL: __builtin_trap(), unreachable code reached
    timeout,              // stopped by the watchdog
    unseen_barrier,       // threadgroup_barrier() reached in a group run as one loop (the compiler did not see
                          // it: a call through a function pointer, say): the results would be wrong
    out_of_bounds,        // shader validation (SOFTMETAL_SHADER_VALIDATION=1): an access outside its bound range
};

// What shader validation knew about an out-of-bounds access (sm_bounds_violation, copied: the kernel's
// frame is gone when the fault is reported).
struct bounds_detail {
    std::uint32_t line = 0, column = 0;  // 0: unknown (then the return address is symbolized)
    std::int32_t binding = -1;           // n of [[buffer(n)]] / [[threadgroup(n)]]; -1: an array
    std::uint32_t space = 0;             // SM_SPACE_*
    std::int64_t offset = 0;             // bytes from the bound range's start; for an array, the index
    std::uint64_t access_size = 0;
    std::uint64_t length = 0;
    char array_type[96] = {};            // for an array: its type as clang spells it
    std::uintptr_t return_address = 0;
};

struct kernel_fault {
    fault_kind kind = fault_kind::page_fault;
    int signal = 0;               // the signal that reported it; 0 for a timeout
    int signal_code = 0;          // its si_code
    std::uintptr_t address = 0;   // si_addr: the faulting data address (SIGSEGV/SIGBUS) or instruction
    std::uintptr_t pc = 0;        // where the kernel was
    bool group_known = false;
    sm_size3 threadgroup{};       // threadgroup_position_in_grid
    sm_size3 threads_per_threadgroup{};  // the launch's nominal group size, to give the grid position
    bool thread_known = false;
    sm_size3 thread{};            // thread_position_in_threadgroup
    bounds_detail bounds;         // for out_of_bounds
};

class run_control {
public:
    // Keeps the first fault; later ones (other workers faulting in the same kernel) are dropped.
    // Either way, workers start no further groups. Not for signal handlers.
    void record(const kernel_fault& fault) noexcept {
        int expected = empty;
        if (state_.compare_exchange_strong(expected, writing, std::memory_order_acq_rel)) {
            fault_ = fault;
            state_.store(recorded, std::memory_order_release);
        }
        stopped_.store(true, std::memory_order_relaxed);
    }

    // The watchdog's verdict: workers are stopped by signal at their next point in kernel code.
    void time_out() noexcept {
        timed_out_.store(true, std::memory_order_relaxed);
        stopped_.store(true, std::memory_order_relaxed);
    }

    bool stopped() const noexcept { return stopped_.load(std::memory_order_relaxed); }
    bool timed_out() const noexcept { return timed_out_.load(std::memory_order_relaxed); }

    // The recorded fault, once the workers that may record one are done.
    std::optional<kernel_fault> fault() const noexcept {
        if (state_.load(std::memory_order_acquire) != recorded) return std::nullopt;
        return fault_;
    }

private:
    static constexpr int empty = 0, writing = 1, recorded = 2;
    std::atomic<int> state_{empty};
    std::atomic<bool> stopped_{false};
    std::atomic<bool> timed_out_{false};
    kernel_fault fault_{};
};

}  // namespace softmetal
