#include "executor/thread_pool.hpp"

#include <sched.h>

#include <algorithm>

namespace softmetal::detail {

thread_pool::thread_pool(unsigned threads) {
    threads_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { worker_loop(); });
}

thread_pool::~thread_pool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    work_available_.notify_all();
    for (std::thread& thread : threads_) thread.join();
}

void thread_pool::share(job& j, unsigned helpers_wanted) {
    helpers_wanted = std::min(helpers_wanted, thread_count());
    if (helpers_wanted > 0) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            jobs_.push_back(&j);
        }
        // Wake only as many as there is work for; busy workers find the job when they come back.
        if (helpers_wanted == thread_count()) {
            work_available_.notify_all();
        } else {
            for (unsigned i = 0; i < helpers_wanted; ++i) work_available_.notify_one();
        }
    }
    j.work();
    if (helpers_wanted > 0) {
        std::unique_lock<std::mutex> lock(mutex_);
        forget(j);
        // j lives in the caller's frame: no worker may still be inside j.work() when we return. Workers
        // leave under the mutex and signal while holding it, so once we see 0 none touches j again.
        j.all_left_.wait(lock, [&] { return j.joined_workers_ == 0; });
    }
}

void thread_pool::forget(job& j) {
    auto it = std::find(jobs_.begin(), jobs_.end(), &j);
    if (it != jobs_.end()) jobs_.erase(it);
}

void thread_pool::worker_loop() {
    // Workers are ordinary threads whichever thread started the pool: the shared executor is usually
    // created by a command queue's first dispatch, on the queue's lane, whose batch policy
    // (serial_lane.hpp) suits the lane but not helpers that must start as soon as a dispatch wakes them.
    if (sched_getscheduler(0) == SCHED_BATCH) {
        sched_param param{};
        param.sched_priority = 0;
        (void)sched_setscheduler(0, SCHED_OTHER, &param);
    }
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        work_available_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and nothing left to help with
        job& j = *jobs_.front();
        ++j.joined_workers_;
        lock.unlock();
        j.work();
        lock.lock();
        // work() returned, so nothing of j is left to hand out: don't send other workers to it.
        forget(j);
        if (--j.joined_workers_ == 0) j.all_left_.notify_one();
    }
}

}  // namespace softmetal::detail
