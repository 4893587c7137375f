// The watchdog: a command buffer that runs longer than a limit ends with MTLCommandBufferErrorTimeout,
// as Metal's GPU watchdog ends one that hogs the GPU, and waitUntilCompleted returns.
//
// The limit is SOFTMETAL_WATCHDOG_MS (milliseconds; 0 turns the watchdog off), read once per process.
// The default, 10 s, is a little longer than the few seconds macOS allows a compute command buffer while
// a display is attached, because a CPU runs the same kernel many times slower than a GPU.
//
// One thread for the process wakes at the earliest deadline, or every 50 ms while command buffers keep
// coming (so that watching one costs a lock of the watching thread's own entry, not a wake-up; it parks
// after 2 s without any, and is then woken by the next). When a deadline passes it marks the command
// buffer's run_control timed out (no further threadgroups start) and sends watchdog_signal() to every
// worker running a kernel of it, again every few milliseconds until the command buffer is done: the
// fault handler stops a kernel only when the signal lands in the kernel's own code (so never inside
// malloc or a lock), so a spinning kernel is caught at its next instruction there.
#pragma once

#include "executor/run_control.hpp"

#include <chrono>

namespace softmetal {

namespace detail {
struct watch_slot;
}  // namespace detail

// SOFTMETAL_WATCHDOG_MS, or 10 s; zero: no limit.
std::chrono::milliseconds watchdog_limit();

// Watches `control` while it lives: the watchdog times it out `limit` after construction.
class watchdog_watch {
public:
    explicit watchdog_watch(run_control& control, std::chrono::milliseconds limit = watchdog_limit());
    // The same, counting from `started` (a steady_clock reading the caller already has: one clock read
    // less per command buffer).
    watchdog_watch(run_control& control, std::chrono::steady_clock::time_point started,
                   std::chrono::milliseconds limit = watchdog_limit());
    ~watchdog_watch();
    watchdog_watch(const watchdog_watch&) = delete;
    watchdog_watch& operator=(const watchdog_watch&) = delete;

private:
    run_control* control_ = nullptr;  // null when not watched (no limit)
    detail::watch_slot* slot_ = nullptr;  // the calling thread's entry that holds the watch (watchdog.cpp)
};

}  // namespace softmetal
