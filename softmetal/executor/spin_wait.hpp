// A bounded wait without the kernel: poll a condition for a short while before sleeping on a futex.
//
// Handing work between an application thread and a queue's lane costs a futex wake-up each way when the
// other side sleeps (a system call, an inter-processor interrupt, and on a VM an exit), several
// microseconds when a command buffer itself takes one or two. Polling first spares that when the other
// side answers soon. It is bounded, so an idle wait still ends in a sleep; and after a few pauses it
// yields instead, so that on a busy machine (or with both threads on one core) the thread being waited
// for gets the core rather than losing it to the poller.
#pragma once

#include <sched.h>

#include <atomic>
#include <chrono>

namespace softmetal {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Polls `ready` for up to `limit` (the clock is read every few polls); true once it returned true.
template <class Ready>
bool spin_until(Ready&& ready, std::chrono::nanoseconds limit) {
    if (ready()) return true;
    if (limit.count() <= 0) return false;
    // Pauses first: on Zen 5 one costs about 75 ns, so these cover the first microsecond or so.
    constexpr unsigned pauses = 16;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (unsigned i = 1;; ++i) {
        if (i <= pauses) {
            cpu_relax();
        } else {
            sched_yield();
        }
        if (ready()) return true;
        if ((i & 7) == 0 && std::chrono::steady_clock::now() >= deadline) return false;
    }
}

// Polls `ready` with pauses only, never yielding, for up to `limit`; true once it returned true. For a
// thread whose poll either succeeds within a few microseconds or is not tried again soon (the caller
// backs off): a sched_yield on a loaded core gives the core away for a whole time slice (milliseconds),
// far longer than the sleep and wake-up it was meant to spare.
template <class Ready>
bool poll_until(Ready&& ready, std::chrono::nanoseconds limit) {
    if (ready()) return true;
    if (limit.count() <= 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (unsigned i = 1;; ++i) {
        cpu_relax();
        if (ready()) return true;
        if ((i & 15) == 0 && std::chrono::steady_clock::now() >= deadline) return false;
    }
}

// A lock for sections of a few moves, taken by threads on different cores (a lane and a committing
// thread): a std::mutex whose holder is found busy puts the other thread to sleep on a futex at once.
// After a short spin it yields, so that a holder preempted on the spinner's own core gets to finish.
class spin_lock {
public:
    void lock() noexcept {
        for (unsigned spins = 0; busy_.test_and_set(std::memory_order_acquire); ++spins) {
            if (spins < 64) cpu_relax();
            else sched_yield();
        }
    }
    void unlock() noexcept { busy_.clear(std::memory_order_release); }

private:
    std::atomic_flag busy_ = ATOMIC_FLAG_INIT;
};

}  // namespace softmetal
