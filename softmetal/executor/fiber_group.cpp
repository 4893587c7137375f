#include "executor/fiber_group.hpp"

#include "executor/group_runner.hpp"
#include "executor/sanitizer_fiber.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace softmetal::detail {
namespace ctx = boost::context;

// Why the barrier path is force-inlined down to Boost's jump_fcontext: jump_fcontext leaves by an
// indirect jump, not a return, so every switch leaves the CPU's return-stack predictor one entry off,
// and each function return between the kernel and the switch then mispredicts. With the whole path in
// threadgroup_barrier_hook, only its own return does. Measured on an idle 16-core x86-64 box
// (bench/executor): 55-80 ns per thread per barrier with four out-of-line levels, 22-30 ns inlined,
// against about 6 ns for a bare Boost switch.
#define SOFTMETAL_ALWAYS_INLINE inline __attribute__((always_inline))

namespace {
// The scheduler whose group is running on this OS thread, for the barrier hook. Fibers never move
// between OS threads, so a thread-local is safe to read from inside them.
// initial-exec: read on every barrier, and the default model for -fPIC code calls __tls_get_addr.
// Eight bytes of static TLS are fine even when libsoftmetal.so is dlopen'ed (glibc keeps a surplus).
thread_local fiber_group_scheduler* running_scheduler __attribute__((tls_model("initial-exec"))) = nullptr;
}  // namespace

fiber_group_scheduler::fiber_group_scheduler(fiber_stack_pool& stacks) : stacks_(stacks) {
    contexts_.resize(1);
    stacks_of_.resize(1);
    live_flags_.resize(1, 0);
    waits_.resize(1, wait::none);
    requests_.resize(1);
}

fiber_group_scheduler::~fiber_group_scheduler() {
    // Resume every parked fiber once; seeing ending_, it returns, and Boost frees its stack.
    ending_ = true;
    for (std::uint32_t slot = 1; slot < contexts_.size(); ++slot) {
        if (contexts_[slot]) switch_to(slot);
    }
}

void fiber_group_scheduler::run(sm_thread_fn fn, const sm_group& group) {
    const std::uint64_t count = std::uint64_t(group.size.x) * group.size.y * group.size.z;
    if (count == 0) return;
    fn_ = fn;
    group_ = &group;
    threads_ = static_cast<std::uint32_t>(count);
    live_ = threads_;
    if (contexts_.size() < threads_ + 1u) {
        const std::uint32_t spawned = static_cast<std::uint32_t>(contexts_.size());
        contexts_.resize(threads_ + 1);
        stacks_of_.resize(threads_ + 1);
        live_flags_.resize(threads_ + 1);
        waits_.resize(threads_ + 1, wait::none);
        requests_.resize(threads_ + 1);
        for (std::uint32_t slot = spawned; slot <= threads_; ++slot) spawn(slot);
    }
    std::fill(live_flags_.begin() + 1, live_flags_.begin() + threads_ + 1, 1);
    std::fill(waits_.begin() + 1, waits_.begin() + threads_ + 1, wait::none);

    outer_ = std::exchange(running_scheduler, this);
    while (live_ > 0) {
        // Fibers come back here only when no thread is left to run: every live one waits.
        std::uint32_t first = next_runnable_after(scheduler);
        if (first == scheduler && resolve()) first = next_runnable_after(scheduler);
        if (first == scheduler) break; // cannot happen: resolve() always frees a waiting thread
        switch_to(first);
    }
    running_scheduler = outer_;
    group_ = nullptr;
}

void fiber_group_scheduler::abandon_after_fault() noexcept {
    // AddressSanitizer was last told that this thread runs on the faulting fiber's stack; siglongjmp
    // brought it back to the worker's own. Tell it so, as if the fiber had switched back.
    if (running_under_asan && current_ != scheduler && stacks_of_[scheduler].top) {
        const void* bottom = nullptr;
        std::size_t size = 0;
        asan_start_switch(nullptr, stacks_of_[scheduler].bottom(), stacks_of_[scheduler].size);
        asan_finish_switch(nullptr, &bottom, &size);
    }
    for (std::uint32_t slot = 0; slot < contexts_.size(); ++slot) {
        // Ends the context's lifetime without its destructor: ~fiber() would resume it to unwind.
        new (&contexts_[slot]) ctx::fiber();
        if (slot != scheduler) stacks_.release(stacks_of_[slot]);
    }
    contexts_.resize(1);
    stacks_of_.resize(1);
    live_flags_.assign(1, 0);
    waits_.assign(1, wait::none);
    requests_.resize(1);
    running_scheduler = outer_;
    current_ = from_ = scheduler;
    group_ = nullptr;
    fn_ = nullptr;
    threads_ = live_ = 0;
}

bool fiber_group_scheduler::current_thread_position(sm_size3& position) noexcept {
    const fiber_group_scheduler* owner = running_scheduler;
    if (!owner || !owner->group_ || owner->current_ == scheduler) return false;
    position = owner->position_of(owner->current_);
    return true;
}

bool fiber_group_scheduler::guard_page_hit(std::uintptr_t address) noexcept {
    const fiber_group_scheduler* owner = running_scheduler;
    if (!owner || owner->current_ == scheduler || owner->current_ >= owner->stacks_of_.size()) return false;
    const auto bottom = reinterpret_cast<std::uintptr_t>(owner->stacks_of_[owner->current_].bottom());
    return address < bottom && address + owner->stacks_.guard_size() >= bottom;
}

void fiber_group_scheduler::spawn(std::uint32_t slot) {
    const fiber_stack stack = stacks_.acquire();
    stacks_of_[slot] = stack;
    ctx::stack_context context_stack;
    context_stack.sp = stack.top;
    context_stack.size = stack.size;
    contexts_[slot] = ctx::fiber(std::allocator_arg, ctx::preallocated(stack.top, stack.size, context_stack),
                                 stack_returner{&stacks_}, fiber_main{this, slot});
}


SOFTMETAL_ALWAYS_INLINE std::uint32_t fiber_group_scheduler::next_runnable_after(std::uint32_t slot) const {
    for (std::uint32_t next = slot + 1; next <= threads_; ++next)
        if (live_flags_[next] && waits_[next] == wait::none) return next;
    for (std::uint32_t next = 1; next <= slot && next <= threads_; ++next)
        if (live_flags_[next] && waits_[next] == wait::none) return next;
    return scheduler;
}

void threadgroup_barrier_hook() {
    if (fiber_group_scheduler::arrive_at_barrier()) return;
    barrier_outside_fibers();
}

SOFTMETAL_ALWAYS_INLINE bool fiber_group_scheduler::arrive_at_barrier() {
    fiber_group_scheduler* owner = running_scheduler;
    if (!owner || owner->current_ == scheduler) return false;
    owner->waits_[owner->current_] = wait::barrier;
    // The common case inline (see the top of this file): another thread is still on its way here.
    const std::uint32_t next = owner->next_runnable_after(owner->current_);
    if (next != scheduler && next > owner->current_) owner->switch_to(next);
    else owner->run_next();
    return true;
}

sm_simd_meeting simd_meet_hook(const void* value, void* gathered, std::uint32_t size) {
    sm_simd_meeting out{1u, 0u};
    if (fiber_group_scheduler::meet_simdgroup(__builtin_return_address(0), value, gathered, size, out)) return out;
    if (size) std::memcpy(gathered, value, size);
    return out;
}

bool fiber_group_scheduler::meet_simdgroup(const void* site, const void* value, void* gathered, std::uint32_t size,
                                           sm_simd_meeting& out) {
    fiber_group_scheduler* owner = running_scheduler;
    if (!owner || owner->current_ == scheduler) return false;
    const std::uint32_t slot = owner->current_;
    owner->requests_[slot] = simd_request{site, value, gathered, size, &out};
    owner->waits_[slot] = wait::simd;
    owner->run_next();
    return true;
}

void fiber_group_scheduler::run_next() {
    std::uint32_t next = next_runnable_after(current_);
    if (next == scheduler && live_ > 0 && resolve()) next = next_runnable_after(current_ == scheduler ? scheduler : current_ - 1);
    if (next == current_) return; // the meeting or barrier just resolved lets this very thread go on
    switch_to(next);
}

bool fiber_group_scheduler::resolve() {
    constexpr std::uint32_t width = 32;
    bool met = false;
    for (std::uint32_t first = 1; first <= threads_; first += width) {
        const std::uint32_t last = std::min(threads_, first + width - 1);
        const void* site = nullptr;
        for (std::uint32_t slot = first; slot <= last && !site; ++slot)
            if (live_flags_[slot] && waits_[slot] == wait::simd) site = requests_[slot].site;
        if (!site) continue;
        std::uint32_t mask = 0;
        for (std::uint32_t slot = first; slot <= last; ++slot)
            if (live_flags_[slot] && waits_[slot] == wait::simd && requests_[slot].site == site) mask |= 1u << (slot - first);
        for (std::uint32_t slot = first; slot <= last; ++slot) {
            if (!(mask >> (slot - first) & 1u)) continue;
            const simd_request& to = requests_[slot];
            for (std::uint32_t from = first; from <= last; ++from) {
                const simd_request& r = requests_[from];
                // Calls at one site in one kernel have one type: the sizes agree.
                if ((mask >> (from - first) & 1u) && r.size == to.size && to.size)
                    std::memcpy(static_cast<char*>(to.gathered) + std::size_t(from - first) * to.size, r.value, to.size);
            }
            *to.result = sm_simd_meeting{mask, slot - first};
            waits_[slot] = wait::none;
        }
        met = true;
    }
    if (met) return true;
    bool released = false;
    for (std::uint32_t slot = 1; slot <= threads_; ++slot)
        if (live_flags_[slot] && waits_[slot] == wait::barrier) waits_[slot] = wait::none, released = true;
    return released;
}

ctx::fiber fiber_group_scheduler::run_fiber(std::uint32_t slot, ctx::fiber&& from) {
    const void* from_bottom = nullptr;
    std::size_t from_size = 0;
    asan_finish_switch(nullptr, &from_bottom, &from_size);
    keep_context_of_switcher(std::move(from), from_bottom, from_size);

    while (!ending_) {
        fn_(group_, position_of(slot));
        live_flags_[slot] = 0;
        waits_[slot] = wait::none;
        --live_;
        // Park: hand over to the next runnable thread (or the scheduler when none is left); resumed by
        // the next group that has a thread for this slot, or by the destructor.
        std::uint32_t next = next_runnable_after(slot);
        if (next == scheduler && live_ > 0 && resolve()) next = next_runnable_after(slot);
        switch_to(next);
    }

    from_ = slot;
    current_ = scheduler;
    // nullptr: this fiber never runs again, so ASan may free its fake stack.
    asan_start_switch(nullptr, stacks_of_[scheduler].bottom(), stacks_of_[scheduler].size);
    // Boost switches to the scheduler and then, on its stack, gives this fiber's stack back to the pool.
    return std::move(contexts_[scheduler]);
}

SOFTMETAL_ALWAYS_INLINE void fiber_group_scheduler::switch_to(std::uint32_t target) {
    from_ = current_;
    current_ = target;
    void* fake_stack = nullptr;
    asan_start_switch(&fake_stack, stacks_of_[target].bottom(), stacks_of_[target].size);
    ctx::fiber from = std::move(contexts_[target]).resume();
    // Resumed: someone switched back to us and has set current_ to our slot.
    const void* from_bottom = nullptr;
    std::size_t from_size = 0;
    asan_finish_switch(fake_stack, &from_bottom, &from_size);
    keep_context_of_switcher(std::move(from), from_bottom, from_size);
}

SOFTMETAL_ALWAYS_INLINE void fiber_group_scheduler::keep_context_of_switcher(ctx::fiber&& from, const void* from_bottom, std::size_t from_size) {
    // `from` is empty when the switcher's fiber ended.
    contexts_[from_] = std::move(from);
    if (from_ == scheduler && from_bottom) {
        stacks_of_[scheduler] = fiber_stack{const_cast<char*>(static_cast<const char*>(from_bottom)) + from_size, from_size};
    }
}

sm_size3 fiber_group_scheduler::position_of(std::uint32_t slot) const {
    const std::uint32_t index = slot - 1, width = group_->size.x, height = group_->size.y;
    return sm_size3{index % width, (index / width) % height, index / (width * height)};
}

}  // namespace softmetal::detail
