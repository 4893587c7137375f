#include "executor/serial_lane.hpp"

#include "executor/spin_wait.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>

namespace softmetal {

namespace {
bool batch_policy_allowed();
}  // namespace

serial_lane::serial_lane(policy scheduling, void (*after_batch)(), bool run_here)
    : follows_submitter_(scheduling == policy::batch && batch_policy_allowed()),
      run_here_(run_here),
      thread_([this, after_batch] { drain(after_batch); }) {}

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
        if (run_here_) outstanding_.fetch_add(1, std::memory_order_relaxed);  // under mutex_: before the lane takes it
        // One wake-up per sleep: tasks submitted before the woken lane gets the mutex need none of their own.
        wake = sleeping_;
        sleeping_ = false;
    }
    if (follows_submitter_) submitter_cpu_.store(sched_getcpu(), std::memory_order_relaxed);  // rseq: no system call
    submitted_.fetch_add(1, std::memory_order_release);
    // A lane that is running or spinning finds the task itself: no futex call on the way in.
    if (wake) wake_.notify_one();
}

namespace {

// How long an idle lane polls for the next task before it sleeps (SOFTMETAL_LANE_SPIN_US; default 3 us,
// 0: sleep at once).
//
// Why poll: when the committing thread and the lane run on two cores, a lane that sleeps as soon as its
// queue is empty is woken by nearly every burst of commits, and the wake-up (a futex call, and on our VMs
// an inter-processor interrupt into an idle, halted vCPU) cost the committing thread more than the
// command buffers themselves: that placement was the "slow mode" (about twice the CPU time per command
// buffer of the one where both threads share a core, and 3-5 us each instead of 1.6). A committer that
// is running commits again within a microsecond or two, so a short poll finds the next task.
//
// Why only pauses, briefly, and with a back-off: an earlier poll of 10 us that yielded after a few
// pauses made the same loop 2-4x slower at a load average of 10, because a sched_yield on a loaded core
// hands it away for a whole time slice, and polls that never succeed (both threads on one core, where
// the committer cannot run while the lane polls) are pure waste. So the poll never yields, and after a
// poll that found nothing the lane sleeps at once for the next 1, 2, 4, ... 64 times before it tries again.
std::chrono::nanoseconds poll_time() {
    static const std::chrono::nanoseconds t = [] {
        long us = 3;
        if (const char* text = std::getenv("SOFTMETAL_LANE_SPIN_US")) {
            char* end = nullptr;
            const long v = std::strtol(text, &end, 10);
            if (end != text && *end == 0 && v >= 0 && v <= 100000) us = v;
        }
        return std::chrono::nanoseconds(us * 1000);
    }();
    return t;
}

constexpr unsigned most_skipped_polls = 64;

// A batch lane changes its policy after this many wake-ups in a row on the other side (its submitter's
// core, or another one): often enough to follow the scheduler's placement, rarely enough that a
// placement that changes back and forth costs few system calls.
constexpr int policy_streak = 4;

void set_policy(int policy) {
    sched_param param{};
    param.sched_priority = 0;
    (void)sched_setscheduler(0, policy, &param);  // refused: the lane runs under the policy it has
}

// SOFTMETAL_LANE_BATCH=0 keeps batch lanes ordinary threads (for measuring what the policy does).
bool batch_policy_allowed() {
    static const bool allowed = [] {
        const char* text = std::getenv("SOFTMETAL_LANE_BATCH");
        return !(text && text[0] == '0' && text[1] == 0);
    }();
    return allowed;
}

}  // namespace

void serial_lane::drain(void (*after_batch)()) {
    // A batch lane woken on the core of the thread that submitted to it (where Linux's wake-affine
    // placement usually puts it) is a batch thread to the scheduler: it waits until that thread blocks
    // or its slice ends instead of preempting it at once. A committing thread then fills the queue, the
    // lane runs the queued command buffers in one go, and a loop of 10,000 commits costs about 160
    // context switches instead of a thousand or more (one per preemption: about 1.9 us per command
    // buffer instead of 1.4 on our 2-core machines). Woken on another core, a batch thread would not
    // preempt another process running there either, and each wake-up would wait for that process's time
    // slice (on our loaded machines a loop of command buffers ran twice as long so): there the lane is an
    // ordinary thread. The policies keep the thread's nice value and need no privilege.
    bool batch_now = false;
    int streak = 0;  // wake-ups in a row on the side that calls for the other policy
    if (follows_submitter_) {
        set_policy(SCHED_BATCH);
        batch_now = true;
    }
    auto woke_up = [&] {
        const int here = sched_getcpu(), there = submitter_cpu_.load(std::memory_order_relaxed);
        if (here < 0 || there < 0) return;
        const bool wants_batch = here == there;
        streak = wants_batch == batch_now ? 0 : streak + 1;
        if (streak < policy_streak) return;
        set_policy(wants_batch ? SCHED_BATCH : SCHED_OTHER);
        batch_now = wants_batch;
        streak = 0;
    };
    std::vector<std::function<void()>> batch;
    unsigned polls_to_skip = 0, next_skip = 1;  // the poll's back-off (poll_time)
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (tasks_.empty() && !stopping_) {
            const std::chrono::nanoseconds poll = poll_time();
            if (poll.count() > 0 && polls_to_skip == 0) {
                const std::uint64_t seen = submitted_.load(std::memory_order_acquire);
                lock.unlock();
                const bool found = poll_until([&] { return submitted_.load(std::memory_order_acquire) != seen; }, poll);
                lock.lock();
                if (found) {
                    next_skip = 1;
                } else {
                    polls_to_skip = next_skip;
                    next_skip = std::min(next_skip * 2, most_skipped_polls);
                }
            } else if (polls_to_skip > 0) {
                --polls_to_skip;
            }
            if (tasks_.empty() && !stopping_) {
                sleeping_ = true;
                wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
                sleeping_ = false;
                if (follows_submitter_) woke_up();
            }
        }
        if (tasks_.empty()) return;  // stopping, and everything submitted has run
        batch.swap(tasks_);
        lock.unlock();
        {
            // Not while a run_here_if_idle runs: its work came first in the lane's order.
            std::unique_lock<std::mutex> order(order_mutex_, std::defer_lock);
            if (run_here_) order.lock();
            for (std::function<void()>& task : batch) {
                task();
                task = nullptr;  // destroy captures before the next task runs (and outside the lock)
            }
        }
        // Counted off only once order_mutex_ is let go: a run_here_if_idle that finds the lane idle then
        // never waits for the mutex, which a lane preempted on a busy core could hold for a time slice.
        if (run_here_) outstanding_.fetch_sub(batch.size(), std::memory_order_release);
        batch.clear();
        if (after_batch) after_batch();
        lock.lock();
    }
}

}  // namespace softmetal
