// The worker threads that help the calling thread run a dispatch's threadgroups.
//
// A caller shares a job: it queues the job, wakes only as many sleeping workers as the job has work
// for, works on the job itself, and then waits for the workers that joined. Small jobs therefore cost
// no wake-up at all, and the caller's core is never idle while it waits. Several callers (one per
// command queue) may share jobs at once; workers take the oldest job that still has work.
//
// A job hands out its own work (the executor's dispatches use an atomic counter of threadgroup chunks),
// so the pool's mutex is taken only when a worker joins or leaves a job, never per piece of work.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace softmetal::detail {

class thread_pool {
public:
    class job {
    public:
        // Does pieces of the job until none are left to start. Called by the sharing thread and by every
        // worker that joins, concurrently; must be safe to call after all work has been handed out.
        virtual void work() = 0;

    protected:
        ~job() = default;

    private:
        friend class thread_pool;
        unsigned joined_workers_ = 0;       // guarded by the pool's mutex
        std::condition_variable all_left_;  // signalled when joined_workers_ drops to 0
    };

    // Starts `threads` worker threads (0 is allowed: every job then runs on its caller alone).
    explicit thread_pool(unsigned threads);
    // Stops and joins the workers. No job may be shared concurrently.
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    // Runs j.work() on the calling thread and on up to `helpers_wanted` workers; returns once every
    // call of j.work() has returned. Thread-safe.
    void share(job& j, unsigned helpers_wanted);

    unsigned thread_count() const { return static_cast<unsigned>(threads_.size()); }

private:
    void worker_loop();
    // With mutex_ held.
    void forget(job& j);

    std::mutex mutex_;
    std::condition_variable work_available_;
    std::deque<job*> jobs_;  // jobs that may still have work to hand out, oldest first
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace softmetal::detail
