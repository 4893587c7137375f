#include "executor/watchdog.hpp"

#include "executor/fault_containment.hpp"

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace softmetal {
namespace {

using clock = std::chrono::steady_clock;

// How often a timed-out command buffer's workers are signalled until they have all left its kernel.
constexpr std::chrono::milliseconds resend_interval{5};
// How often the thread looks at its command buffers while they keep coming, and how long it goes on
// doing so after the last one (then it sleeps until woken). A deadline is honoured within one tick.
constexpr std::chrono::milliseconds tick{50};
constexpr std::chrono::seconds park_after{2};

std::chrono::milliseconds read_limit() {
    if (const char* text = std::getenv("SOFTMETAL_WATCHDOG_MS")) {
        char* end = nullptr;
        errno = 0;
        const unsigned long long value = std::strtoull(text, &end, 10);
        // A day at most: anything longer is "off" in practice and would overflow time_point arithmetic.
        if (errno == 0 && end != text && *end == '\0' && value <= 86'400'000ull)
            return std::chrono::milliseconds(static_cast<long long>(value));
    }
    return std::chrono::milliseconds(10'000);
}

class watchdog {
public:
    static watchdog& shared() {
        // Never destroyed, like the executor: command buffers may still run while static destructors do.
        static watchdog* const instance = new watchdog;
        return *instance;
    }

    // `now`: a recent clock reading of the caller's (the watch's start), so that watching costs no clock read here.
    void watch(run_control& control, clock::time_point deadline, clock::time_point now) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!started_) {
            std::thread([this] { loop(); }).detach();
            started_ = true;
        }
        entries_.push_back(entry{&control, deadline, false});
        last_watch_ = std::max(last_watch_, now);
        // Waking the thread for every command buffer would cost a context switch each: it is woken only
        // when it sleeps past the new deadline (parked after a quiet spell, or a shorter limit than its
        // tick), else it sees the entry at its next tick.
        if (deadline < sleeping_until_) wake_.notify_one();
    }

    void unwatch(run_control& control) {
        // Under the mutex: once this returns, loop() never signals on behalf of `control` again.
        std::lock_guard<std::mutex> lock(mutex_);
        entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.control == &control; }),
                       entries_.end());
    }

private:
    struct entry {
        run_control* control;
        clock::time_point deadline;
        bool expired;
    };

    void loop() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            const clock::time_point now = clock::now();
            clock::time_point next = clock::time_point::max();
            for (entry& e : entries_) {
                if (!e.expired && now >= e.deadline) {
                    e.expired = true;
                    e.control->time_out();
                }
                if (e.expired) {
                    detail::signal_workers_of(*e.control);
                    next = std::min(next, now + resend_interval);
                } else {
                    next = std::min(next, e.deadline);
                }
            }
            // Tick while command buffers come and go, so that watch() need not wake us; park after a
            // quiet spell, so that an idle process is not woken at all.
            if (!entries_.empty() || now - last_watch_ < park_after) next = std::min(next, now + tick);
            sleeping_until_ = next;
            if (next == clock::time_point::max()) {
                wake_.wait(lock);
            } else {
                wake_.wait_until(lock, next);
            }
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<entry> entries_;
    bool started_ = false;
    clock::time_point sleeping_until_ = clock::time_point::min();  // when loop() wakes next by itself
    clock::time_point last_watch_{};
};

}  // namespace

std::chrono::milliseconds watchdog_limit() {
    static const std::chrono::milliseconds limit = read_limit();
    return limit;
}

watchdog_watch::watchdog_watch(run_control& control, std::chrono::milliseconds limit) {
    if (limit.count() <= 0) return;
    detail::install_fault_handlers();
    const clock::time_point now = clock::now();
    watchdog::shared().watch(control, now + limit, now);
    control_ = &control;
}

watchdog_watch::watchdog_watch(run_control& control, clock::time_point started, std::chrono::milliseconds limit) {
    if (limit.count() <= 0) return;
    detail::install_fault_handlers();
    watchdog::shared().watch(control, started + limit, started);
    control_ = &control;
}

watchdog_watch::~watchdog_watch() {
    if (control_) watchdog::shared().unwatch(*control_);
}

}  // namespace softmetal
