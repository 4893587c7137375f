// Runs one threadgroup of a kernel with barriers: every thread of the group is a fiber (Boost.Context
// over fcontext) on the calling worker thread, and threadgroup_barrier() switches to the next thread.
//
// A barrier round goes through the live threads in index order: thread i, on reaching the barrier or
// returning, switches straight to the next live thread after it (one switch per thread per barrier),
// and the last one switches back to the scheduler, which starts the next round at the first live
// thread. When the last live thread reaches the barrier, every other live thread has reached it
// already, so the round is complete. A thread whose function has returned is no longer live and no
// longer waited for: Metal kernels may return early while the rest of the group still uses barriers.
//
// Divergent barriers (threads waiting at different barrier calls) are undefined in Metal; here they
// simply count as the same barrier.
//
// SIMD-group functions are meetings of the 32 lanes of a SIMD group (simd_meet_hook). A lane waiting
// at one is blocked like a lane at a barrier. When no thread of the group can run, the meetings are
// resolved first: in each SIMD group, the lanes waiting at the call site of its lowest waiting lane
// exchange their values and run on (lanes that returned, wait at a barrier, or wait at another site
// are not part of that meeting, as inactive lanes on a GPU); only when no lane waits at a meeting is
// the barrier released.
#pragma once

#include "kernel_abi.h"
#include "executor/fiber_stack_pool.hpp"

#include <boost/context/fiber.hpp>

#include <cstdint>
#include <vector>

namespace softmetal::detail {

// Not thread-safe: one per worker thread, sharing that worker's stack pool.
//
// The fibers persist: fiber t runs thread t of one group, then parks until the next group (of this or a
// later dispatch) needs a thread t. A fiber is created the first time a group has that many threads and
// ends only when the scheduler is destroyed (its worker thread exits). This saves creating a fiber per
// kernel thread and, under AddressSanitizer, creating and tearing down a fake stack per kernel thread
// (about 1 ms each with clang's detect_stack_use_after_return, which LLVM 15+ enables by default).
class fiber_group_scheduler {
public:
    explicit fiber_group_scheduler(fiber_stack_pool& stacks);
    // Ends every parked fiber, giving its stack back to the pool (which must outlive this).
    ~fiber_group_scheduler();
    fiber_group_scheduler(const fiber_group_scheduler&) = delete;
    fiber_group_scheduler& operator=(const fiber_group_scheduler&) = delete;

    // Runs fn(&group, position) for every thread position of group.size, each on a fiber of its own,
    // and returns when all of them have returned.
    void run(sm_thread_fn fn, const sm_group& group);

    // Whether run() was left by a contained fault (siglongjmp) instead of returning.
    bool interrupted() const noexcept { return group_ != nullptr; }
    // After a contained fault escaped out of run(): forgets every fiber and gives its stack back to the
    // pool. The contexts are dropped without ~fiber(), which would resume each one to unwind it: the
    // faulting fiber's frames are gone and the others' kernel frames must not run again.
    void abandon_after_fault() noexcept;

    // For the fault handler (async-signal-safe: plain reads of the calling OS thread's scheduler).
    // The thread_position_in_threadgroup of the kernel thread whose fiber runs now, if one does.
    static bool current_thread_position(sm_size3& position) noexcept;
    // Whether `address` lies in the guard page below the stack of the fiber running now.
    static bool guard_page_hit(std::uintptr_t address) noexcept;

private:
    friend void threadgroup_barrier_hook();
    friend sm_simd_meeting simd_meet_hook(const void* value, void* gathered, std::uint32_t size);
    // If the calling thread is a fiber of a group being run on this OS thread, suspends it until every
    // live thread of its group has arrived and returns true. Returns false, doing nothing, when called
    // from anything other than such a fiber.
    static bool arrive_at_barrier();
    // The SIMD-group meeting of simd_meet_hook, on a fiber; false when not called from one.
    static bool meet_simdgroup(const void* site, const void* value, void* gathered, std::uint32_t size, sm_simd_meeting& out);

private:
    // Index 0 of the per-context arrays is the scheduler (the worker's own stack); thread t is t + 1.
    static constexpr std::uint32_t scheduler = 0;

    // Boost's StackAllocator concept for fibers built on a preallocated stack: when a fiber ends,
    // Boost hands its stack back here.
    struct stack_returner {
        fiber_stack_pool* pool;
        void deallocate(boost::context::stack_context& stack) noexcept { pool->release(fiber_stack{stack.sp, stack.size}); }
    };
    struct fiber_main {
        fiber_group_scheduler* owner;
        std::uint32_t slot;
        boost::context::fiber operator()(boost::context::fiber&& from) const { return owner->run_fiber(slot, std::move(from)); }
    };

    boost::context::fiber run_fiber(std::uint32_t slot, boost::context::fiber&& from);
    void spawn(std::uint32_t slot);
    void switch_to(std::uint32_t target);
    // Stores the context that just switched to us, so it can be resumed later.
    void keep_context_of_switcher(boost::context::fiber&& from, const void* from_bottom, std::size_t from_size);
    // The running fiber cannot go on (it waits, or its thread returned): runs the next runnable thread,
    // resolving meetings or the barrier when there is none; returns at once if that is the caller.
    void run_next();
    std::uint32_t next_runnable_after(std::uint32_t slot) const;
    // Completes SIMD-group meetings, or else releases the barrier. False when nothing waits.
    bool resolve();
    sm_size3 position_of(std::uint32_t slot) const;

    fiber_stack_pool& stacks_;
    sm_thread_fn fn_ = nullptr;
    const sm_group* group_ = nullptr;
    std::uint32_t threads_ = 0;  // threads in the group being run: slots 1..threads_
    std::uint32_t live_ = 0;     // of those, threads whose function has not returned yet
    std::uint32_t current_ = scheduler;  // slot running now
    std::uint32_t from_ = scheduler;     // slot that switched to the one running now
    bool ending_ = false;
    fiber_group_scheduler* outer_ = nullptr;  // running_scheduler before run(), restored after a fault        // set by the destructor: parked fibers return instead of running a thread
    // Per slot: the suspended context (empty while it runs, or before it is spawned), its stack, whether
    // its thread of the current group is live.
    std::vector<boost::context::fiber> contexts_;
    std::vector<fiber_stack> stacks_of_;
    std::vector<unsigned char> live_flags_;
    enum class wait : unsigned char { none, barrier, simd };
    struct simd_request {
        const void* site;
        const void* value;
        void* gathered;
        std::uint32_t size;
        sm_simd_meeting* result;
    };
    std::vector<wait> waits_;             // per slot: what its thread waits for
    std::vector<simd_request> requests_;  // per slot, while waits_ is simd
};

// The runtime's simd_meet hook: on a fiber, the meeting above; elsewhere (a group of one thread) the
// caller is lane 0 and alone.
sm_simd_meeting simd_meet_hook(const void* value, void* gathered, std::uint32_t size);

// The runtime's threadgroup_barrier hook given to compiled modules. On a fiber: waits for the group's
// live threads. Elsewhere: see barrier_outside_fibers() in group_runner.hpp.
void threadgroup_barrier_hook();

}  // namespace softmetal::detail
