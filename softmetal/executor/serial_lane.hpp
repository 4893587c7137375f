// An ordered lane of work with a thread of its own: one per MTLCommandQueue, so that the command
// buffers of one queue run and complete in commit order while several queues run concurrently.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace softmetal {

class serial_lane {
public:
    // How the scheduler treats the lane's thread. `batch` suits a lane that runs work submitted in bursts
    // by one other thread (a queue's command buffers): while the lane wakes up on the core the submitting
    // thread was on, it is a SCHED_BATCH thread, which does not preempt that thread, so the work queues
    // up and runs in batches; while it wakes up on another core it is an ordinary thread again, so that
    // it starts at once there even when another process runs on that core (serial_lane.cpp says why).
    // Threads the lane's tasks create inherit its policy of the moment.
    enum class policy { ordinary, batch };

    // `after_batch`, when given, runs on the lane's thread after each batch of tasks it took at once
    // (the tasks submitted while it ran the previous batch): a command queue drains the autorelease pool
    // its command buffers share there, instead of making and draining one per command buffer.
    // `run_here`: run_here_if_idle may run work on its caller's thread. Only then does the lane count
    // its tasks and take order_mutex_ around them (an atomic that both the submitting thread and the
    // lane write, and a mutex: on two cores, a cache line moving back and forth for every task).
    explicit serial_lane(policy scheduling = policy::ordinary, void (*after_batch)() = nullptr, bool run_here = false);
    // Runs every task already submitted, then joins the lane's thread. Must not be called from a task.
    ~serial_lane();
    serial_lane(const serial_lane&) = delete;
    serial_lane& operator=(const serial_lane&) = delete;

    // Queues `task` to run on the lane's thread after every task submitted before it. Thread-safe;
    // a task may submit further tasks to its own lane. A task must not throw (std::terminate).
    void submit(std::function<void()> task);

    // Runs `work` on the calling thread, now, in the lane's order, when the lane is idle: nothing submitted
    // is waiting or running. Tasks submitted while `work` runs start after it returns, as if `work` had
    // been the lane's next task. Returns false, without running `work`, when the lane is not idle (the
    // caller then submits it) or was not made with `run_here`. Must not be called from one of the lane's
    // tasks.
    //
    // Why: a small command buffer committed to an idle queue runs in about a microsecond; handing it to
    // the lane's thread costs as much again on the same core, and several times that when the lane's
    // thread sleeps or runs on another core (a futex wake-up, an inter-processor interrupt, and every
    // cache line of the command buffer moving between the cores).
    template <class Work>
    bool run_here_if_idle(Work&& work) {
        if (!run_here_) return false;
        std::uint64_t idle = 0;
        if (!outstanding_.compare_exchange_strong(idle, 1, std::memory_order_acquire, std::memory_order_relaxed)) return false;
        {
            // Held while `work` runs: a task submitted meanwhile waits for it on the lane (drain).
            std::lock_guard<std::mutex> order(order_mutex_);
            work();
        }
        outstanding_.fetch_sub(1, std::memory_order_release);
        return true;
    }

private:
    void drain(void (*after_batch)());

    std::mutex mutex_;
    std::condition_variable wake_;
    // Submitted and not yet taken. The lane takes them all at once (one locked section per batch, not
    // per task) by swapping with a vector of its own, so both keep their capacity: no allocation per task.
    std::vector<std::function<void()>> tasks_;
    bool stopping_ = false;
    bool sleeping_ = false;                  // the lane waits on wake_: submit must notify (under mutex_)
    std::atomic<std::uint64_t> submitted_{0};  // what the lane polls while it spins, without the mutex
    bool follows_submitter_ = false;           // policy::batch: submit records its core in submitter_cpu_
    std::atomic<int> submitter_cpu_{-1};
    // Tasks submitted and not yet finished, plus a run_here_if_idle in progress: 0 means idle. The lane
    // runs its tasks holding order_mutex_, which a run_here_if_idle holds while its work runs; it counts
    // a batch's tasks off after letting the mutex go.
    const bool run_here_;
    std::atomic<std::uint64_t> outstanding_{0};
    std::mutex order_mutex_;
    std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace softmetal
