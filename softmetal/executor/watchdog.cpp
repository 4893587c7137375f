#include "executor/watchdog.hpp"

#include "executor/fault_containment.hpp"
#include "executor/spin_wait.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace softmetal {

namespace detail {

// A thread's own entry in the watchdog's list, made at its first watch and kept until the thread exits.
// Watching a command buffer fills it under its own lock, which no other thread takes but the watchdog's,
// at its ticks (every 50 ms while command buffers come). Before, every watch and unwatch of every queue's
// lane and every committing thread took the process-wide mutex and inserted into and erased from one
// shared vector: two locks per command buffer of a cache line that moved between cores.
struct watch_slot {
    spin_lock lock;
    run_control* control = nullptr;  // the command buffer watched now; null when none (all under lock)
    std::chrono::steady_clock::time_point deadline{};
    bool expired = false;
};

}  // namespace detail

namespace {

using detail::watch_slot;

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

    // `now`: a recent clock reading of the caller's (the watch's start), so that watching costs no clock
    // read here. Returns the slot that holds the watch (unwatch's argument), or null when it went to the
    // shared list (this thread's slot was taken: a watch inside a watch).
    watch_slot* watch(run_control& control, clock::time_point deadline, clock::time_point now) {
        watch_slot* slot = own_slot();
        if (slot) {
            slot->lock.lock();
            if (slot->control) {
                slot->lock.unlock();
                slot = nullptr;
            } else {
                slot->control = &control;
                slot->deadline = deadline;
                slot->expired = false;
                slot->lock.unlock();
            }
        }
        if (!slot) {
            std::lock_guard<std::mutex> lock(mutex_);
            entries_.push_back(entry{&control, deadline, false});
        }
        noticed(deadline, now);
        return slot;
    }

    void unwatch(run_control& control, watch_slot* slot) {
        // Under the slot's lock (or the mutex): once this returns, loop() never signals on behalf of
        // `control` again.
        if (slot) {
            slot->lock.lock();
            slot->control = nullptr;
            slot->lock.unlock();
            return;
        }
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

    // The calling thread's slot, registered at its first watch and dropped when the thread exits; null
    // if it could not be made (then the shared list serves).
    watch_slot* own_slot() {
        struct owner {
            watch_slot* slot = nullptr;
            ~owner() {
                if (slot) watchdog::shared().forget(slot);
            }
        };
        thread_local owner mine;
        if (!mine.slot) {
            watch_slot* slot = new (std::nothrow) watch_slot;
            if (!slot) return nullptr;
            std::lock_guard<std::mutex> lock(mutex_);
            try {
                slots_.push_back(slot);
            } catch (...) {
                delete slot;
                return nullptr;
            }
            mine.slot = slot;
        }
        return mine.slot;
    }
    void forget(watch_slot* slot) {
        {
            std::lock_guard<std::mutex> lock(mutex_);  // loop() reads slots under it
            slots_.erase(std::remove(slots_.begin(), slots_.end(), slot), slots_.end());
        }
        delete slot;
    }

    // After a watch: starts the thread, keeps it ticking (last_watch_) and wakes it when it would sleep
    // past `deadline`. sleeping_until_ is `awake` while loop() looks at the watches, and what it sleeps
    // until after; a watch it may have missed in its look either finds the time it sleeps until no later
    // than its deadline, or wakes it through the mutex, which loop() holds until it sleeps.
    void noticed(clock::time_point deadline, clock::time_point now) {
        if (!started_.load(std::memory_order_acquire)) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!started_.load(std::memory_order_relaxed)) {
                std::thread([this] { loop(); }).detach();
                started_.store(true, std::memory_order_release);
            }
        }
        // Written at most once a millisecond: the park decision needs no finer reading, and a line that
        // every watch wrote would move between cores again.
        const clock::rep at = now.time_since_epoch().count();
        if (at - last_watch_.load(std::memory_order_relaxed) > clock::rep(std::chrono::nanoseconds(std::chrono::milliseconds(1)).count()))
            last_watch_.store(at, std::memory_order_relaxed);
        if (deadline.time_since_epoch().count() < sleeping_until_.load(std::memory_order_seq_cst)) {
            { std::lock_guard<std::mutex> lock(mutex_); }
            wake_.notify_one();
        }
    }

    void loop() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            sleeping_until_.store(awake, std::memory_order_seq_cst);
            const clock::time_point now = clock::now();
            clock::time_point next = clock::time_point::max();
            bool watching = false;
            auto look_at = [&](run_control& control, clock::time_point deadline, bool& expired) {
                watching = true;
                if (!expired && now >= deadline) {
                    expired = true;
                    control.time_out();
                }
                if (expired) {
                    detail::signal_workers_of(control);
                    next = std::min(next, now + resend_interval);
                } else {
                    next = std::min(next, deadline);
                }
            };
            for (watch_slot* slot : slots_) {
                slot->lock.lock();
                if (slot->control) look_at(*slot->control, slot->deadline, slot->expired);
                slot->lock.unlock();
            }
            for (entry& e : entries_) look_at(*e.control, e.deadline, e.expired);
            // Tick while command buffers come and go, so that watch() need not wake us; park after a
            // quiet spell, so that an idle process is not woken at all.
            const clock::time_point last_watch{clock::duration(last_watch_.load(std::memory_order_relaxed))};
            if (watching || now - last_watch < park_after) next = std::min(next, now + tick);
            sleeping_until_.store(next.time_since_epoch().count(), std::memory_order_seq_cst);
            if (next == clock::time_point::max()) {
                wake_.wait(lock);
            } else {
                wake_.wait_until(lock, next);
            }
        }
    }

    static constexpr clock::rep awake = std::numeric_limits<clock::rep>::max();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<watch_slot*> slots_;  // every thread's that has watched (under mutex_)
    std::vector<entry> entries_;      // watches inside watches (under mutex_)
    std::atomic<bool> started_{false};
    std::atomic<clock::rep> sleeping_until_{std::numeric_limits<clock::rep>::min()};  // see noticed()
    std::atomic<clock::rep> last_watch_{0};
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
    slot_ = watchdog::shared().watch(control, now + limit, now);
    control_ = &control;
}

watchdog_watch::watchdog_watch(run_control& control, clock::time_point started, std::chrono::milliseconds limit) {
    if (limit.count() <= 0) return;
    detail::install_fault_handlers();
    slot_ = watchdog::shared().watch(control, started + limit, started);
    control_ = &control;
}

watchdog_watch::~watchdog_watch() {
    if (control_) watchdog::shared().unwatch(*control_, slot_);
}

}  // namespace softmetal
