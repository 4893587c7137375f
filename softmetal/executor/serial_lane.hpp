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
    explicit serial_lane(policy scheduling = policy::ordinary, void (*after_batch)() = nullptr);
    // Runs every task already submitted, then joins the lane's thread. Must not be called from a task.
    ~serial_lane();
    serial_lane(const serial_lane&) = delete;
    serial_lane& operator=(const serial_lane&) = delete;

    // Queues `task` to run on the lane's thread after every task submitted before it. Thread-safe;
    // a task may submit further tasks to its own lane. A task must not throw (std::terminate).
    void submit(std::function<void()> task);

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
    std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace softmetal
