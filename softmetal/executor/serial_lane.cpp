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

// How long an idle lane polls for the next task before it sleeps (SOFTMETAL_LANE_SPIN_US; default 10,
// 0: sleep at once). A loop of small command buffers commits the next one a microsecond or two after the
// previous one ends: a lane that sleeps at once costs the committing thread a futex wake-up (and both a
// context switch) per command buffer. Measured on our 2-core VMs, 200,000 one-dispatch command buffers
// took 1.7 us of CPU each with 10 us of polling against 3.1 us without, and about 20 voluntary context
// switches in all instead of 60,000. Polling here yields the core after about a microsecond (spin_wait.hpp): an earlier version
// that only paused made things worse on a loaded machine (the lane kept the core the committing thread
// needed). Idle, the lane polls at most 10 us after its last task, then sleeps.
std::chrono::nanoseconds spin_time() {
    static const std::chrono::nanoseconds t = [] {
        long us = 10;
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
