#include "executor/serial_lane.hpp"

#include <chrono>
#include <cstdlib>
#include <utility>
#include <sched.h>

namespace softmetal {

serial_lane::serial_lane() : thread_([this] { drain(); }) {}

serial_lane::~serial_lane() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    submitted_.fetch_add(1, std::memory_order_release);  // ends a spin at once
    wake_.notify_one();
    thread_.join();
}

void serial_lane::submit(std::function<void()> task) {
    bool wake = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        tasks_.push_back(std::move(task));
        // One wake-up per sleep: tasks submitted before the woken lane gets the mutex need none of their own.
        wake = sleeping_;
        sleeping_ = false;
    }
    submitted_.fetch_add(1, std::memory_order_release);
    // A lane that is running or spinning finds the task itself: no futex call on the way in.
    if (wake) wake_.notify_one();
}

namespace {

// How long an idle lane polls for the next task before it sleeps (SOFTMETAL_LANE_SPIN_US; default 0,
// sleep at once). Spinning spares a command buffer committed right after the previous one the lane's
// wake-up, but on our 2-core machines shared by several processes it measured worse, not better: 20 us
// of spin doubled one dispatch + wait (8.6 -> 16 us: the spinning lane holds the core the waiting thread
// needs) and 50 us made 10,000 small command buffers 6x slower. Where cores are idle it may pay.
std::chrono::nanoseconds spin_time() {
    static const std::chrono::nanoseconds t = [] {
        long us = 0;
        if (const char* text = std::getenv("SOFTMETAL_LANE_SPIN_US")) {
            char* end = nullptr;
            const long v = std::strtol(text, &end, 10);
            if (end != text && *end == 0 && v >= 0 && v <= 100000) us = v;
        }
        return std::chrono::nanoseconds(us * 1000);
    }();
    return t;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace

void serial_lane::drain() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (tasks_.empty() && !stopping_) {
            const std::uint64_t seen = submitted_.load(std::memory_order_acquire);
            lock.unlock();
            const auto deadline = std::chrono::steady_clock::now() + spin_time();
            for (unsigned i = 0; submitted_.load(std::memory_order_acquire) == seen; ++i) {
                if (std::getenv("SM_YIELD")) sched_yield(); else cpu_relax();
                if ((i & 63) == 63 && std::chrono::steady_clock::now() >= deadline) break;
            }
            lock.lock();
            sleeping_ = true;
            wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
            sleeping_ = false;
        }
        if (tasks_.empty()) return;  // stopping, and everything submitted has run
        std::function<void()> task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        task();
        task = nullptr;  // destroy captures outside the lock, before taking it again
        lock.lock();
    }
}

}  // namespace softmetal
