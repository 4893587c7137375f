#include "executor/serial_lane.hpp"

#include "executor/spin_wait.hpp"

#include <chrono>
#include <cstdlib>
#include <utility>

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
// sleep at once). Polling spares a command buffer committed right after the previous one the lane's
// wake-up, and where cores are idle it pays: 10 us of it halved the CPU time of 200,000 one-dispatch
// command buffers (3.1 -> 1.7 us each) and removed nearly all context switches. But our 2-core machines
// are shared by several processes, and there it measured worse, not better: a polling lane is a CPU hog
// to the scheduler, which then favours other processes over it, and 10 us of polling (pausing, then
// yielding: spin_wait.hpp) made the same loop 2-4x slower in wall time at a load average of 10 (an
// earlier version that only paused doubled one dispatch + wait). Sleeping threads get the scheduler's
// wake-up preference instead. (0 used to poll 64 pauses anyway, about 5 us on Zen 5: now it means 0.)
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

}  // namespace

void serial_lane::drain() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (tasks_.empty() && !stopping_) {
            const std::uint64_t seen = submitted_.load(std::memory_order_acquire);
            const std::chrono::nanoseconds spin = spin_time();
            if (spin.count() > 0) {
                lock.unlock();
                spin_until([&] { return submitted_.load(std::memory_order_acquire) != seen; }, spin);
                lock.lock();
            }
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
