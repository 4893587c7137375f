#include "objects/command_buffer.hpp"

#include <string>

#include "objects/blit_command_encoder.hpp"
#include "objects/class_registry.hpp"
#include "objects/command_queue.hpp"
#include "objects/compute_command_encoder.hpp"
#include "objects/event.hpp"
#include "executor/spin_wait.hpp"

#include <sched.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace softmetal::objects {

namespace {

command_buffer_state& state(id self) { return *pymetal::state_of<command_buffer_state>(self); }

// The command buffer's task on its queue's lane: its place in the queue's order is taken here.
void submit_to_lane(id self) {
    command_queue_state* queue = pymetal::state_of<command_queue_state>(state(self).queue.get());
    queue->lane->submit([core = state(self).core.get()] {
        // Set before the submit (mark_enqueued_locked), and read by this task alone.
        const std::shared_ptr<command_buffer_core> shared = std::move(core->lane_reference);
        try {
            execute_command_buffer(shared, nullptr);
        } catch (...) {
            // execute_command_buffer reports failures through the command buffer; nothing may escape a lane task.
        }
    });
}

// SOFTMETAL_INLINE_COMMIT: which command buffers commit may run on the committing thread when its queue
// is idle.
//   unset (or "auto"): only those provably short before they run (inline_mode::bounded, is_small);
//   "0": never (every command buffer goes to the queue's lane, as a GPU takes it);
//   N: any of at most N threads (all dispatches together), whatever its kernels do.
//
// Why not any small one by default: commit returns at once on a GPU, and a program may rely on it (a
// small kernel that spins until the host writes memory, or a long one the program means to overlap with
// its own work: pymetal's dispatch_async(...).wait(timeout) test waits for a TimeoutError from a
// one-thread kernel of 400 million iterations, and commit ran it to the end first). The translator tells
// a kernel whose work is bounded by its code's size (no loop, no recursion: straight_line_tokens in the
// kernel table) from one that may run long; a command buffer of such kernels over a small grid is over in
// microseconds, so running it before commit returns is not observable as anything but a fast GPU.
enum class inline_mode { never, bounded, threads };
struct inline_policy {
    inline_mode mode = inline_mode::bounded;
    std::uint64_t thread_limit = 0;  // inline_mode::threads
};

// inline_mode::bounded: the most work, threads times each kernel's straight_line_tokens summed over the
// command buffer's dispatches. 2^16 source tokens of straight-line code run in well under a millisecond
// (a token is at most a few instructions, or one call of a math function), and cover a one-thread
// kernel of a few dozen tokens up to a 1,024-thread one of 64.
constexpr std::uint64_t bounded_work_limit = std::uint64_t(1) << 16;

const inline_policy& inline_commit_policy() {
    static const inline_policy policy = [] {
        inline_policy p;
        const char* text = std::getenv("SOFTMETAL_INLINE_COMMIT");
        if (!text || !*text || std::strcmp(text, "auto") == 0) return p;
        char* end = nullptr;
        errno = 0;
        const unsigned long long v = std::strtoull(text, &end, 10);
        if (errno != 0 || end == text || *end != 0) {
            std::fprintf(stderr, "softmetal: SOFTMETAL_INLINE_COMMIT=%s is neither auto nor a number; auto is used\n", text);
            return p;
        }
        p.mode = v == 0 ? inline_mode::never : inline_mode::threads;
        p.thread_limit = v;
        return p;
    }();
    return policy;
}

// The threads a direct dispatch runs, saturated at UINT64_MAX (its checks come later, when it runs).
std::uint64_t dispatch_threads(const recorded_dispatch& d) {
    std::uint64_t total = 1;
    const ns_uinteger dims[3][2] = {{d.grid.width, d.threads_per_threadgroup.width},
                                    {d.grid.height, d.threads_per_threadgroup.height},
                                    {d.grid.depth, d.threads_per_threadgroup.depth}};
    for (const auto& dim : dims) {
        std::uint64_t threads = dim[0];
        if (!d.exact_grid && __builtin_mul_overflow(threads, std::uint64_t(dim[1]), &threads)) return UINT64_MAX;
        if (__builtin_mul_overflow(total, threads, &total)) return UINT64_MAX;
    }
    return total;
}

// Whether a committed command buffer is one that commit may run itself (run_inline): only direct compute
// dispatches, and only as many as inline_commit_policy() allows. Everything whose length cannot be told
// before it runs (an indirect grid, a blit, a kernel with a loop in bounded mode) or that waits for
// something else (an event) goes to the queue's lane, so that commit never blocks on it. Read after the
// commit: no command is added any more.
bool is_small(const command_buffer_core& core) {
    const inline_policy& policy = inline_commit_policy();
    if (policy.mode == inline_mode::never) return false;
    const std::uint64_t limit = policy.mode == inline_mode::threads ? policy.thread_limit : bounded_work_limit;
    std::uint64_t used = 0;
    for (const recorded_command& command : core.commands) {
        if (!command.dispatch || command.dispatch->indirect.base) return false;
        std::uint64_t n = dispatch_threads(*command.dispatch);
        if (policy.mode == inline_mode::bounded) {
            // No pipeline (a misuse the run reports) or a kernel not known to be bounded: the lane's.
            const sm_kernel_info* kernel = command.dispatch->pipeline.kernel;
            if (!kernel || kernel->straight_line_tokens == 0) return false;
            if (__builtin_mul_overflow(n, std::uint64_t(kernel->straight_line_tokens), &n)) return false;
        }
        if (n > limit - used) return false;
        used += n;
    }
    return true;
}

// A small command buffer committed to an idle queue runs here, on the committing thread, in the queue's
// order (serial_lane::run_here_if_idle says why): it is Completed (or Error) when commit returns, as
// it may be on a GPU that finishes it at once. Handlers still run on the queue's handler lane, waits
// from other threads, the watchdog and fault containment work as on the lane. False: not run (the
// queue is busy, or the command buffer is not small); then the caller hands it to the lane.
// `committed_at`: commit's clock reading, which is also when the command buffer is scheduled.
bool run_inline(id self, const std::chrono::steady_clock::time_point& committed_at) {
    command_buffer_core& core = *state(self).core;
    if (!is_small(core)) return false;
    command_queue_state* queue = pymetal::state_of<command_queue_state>(state(self).queue.get());
    return queue->lane->run_here_if_idle([&core, &committed_at] {
        const std::shared_ptr<command_buffer_core> shared = std::move(core.lane_reference);
        try {
            execute_command_buffer(shared, &committed_at);
        } catch (...) {
            // As on the lane: failures are reported through the command buffer.
        }
    });
}

// Call with core.mutex held and status NotEnqueued; then submit_to_lane once the mutex is released
// (the lane may start the task at once, and it takes the mutex first thing).
void mark_enqueued_locked(id self, command_buffer_core& core) {
    core.status = status_enqueued;
    core.handler_lane = pymetal::state_of<command_queue_state>(state(self).queue.get())->handler_lane.get();
    core.lane_reference = state(self).core;
}

void enqueue(id self) {
    command_buffer_core& core = *state(self).core;
    {
        std::lock_guard<std::mutex> lock(core.mutex);
        if (core.status != status_not_enqueued) return;
        mark_enqueued_locked(self, core);
    }
    submit_to_lane(self);
}

void commit(id self) {
    command_buffer_core& core = *state(self).core;
    bool submit = false;
    // Read before the lock (a clock read costs ~90 ns on our VMs): kernelStartTime, and when commit runs
    // the command buffer itself, its scheduled time too.
    const std::chrono::steady_clock::time_point committed_at = std::chrono::steady_clock::now();
    {
        std::lock_guard<std::mutex> lock(core.mutex);
        if (core.committed) {
            // Metal's validation layer asserts on a second commit. The work of the first still runs; if it
            // has not finished, it ends with the misuse as its error, else the misuse is only reported.
            const std::string what = "commit called on a command buffer that is already committed";
            if (!core.finished) {
                core.record_misuse_locked(what);
            } else {
                std::fprintf(stderr, "softmetal: %s (ignored: it has completed)\n", what.c_str());
            }
            return;
        }
        if (core.status == status_not_enqueued) {
            mark_enqueued_locked(self, core);
            submit = true;
        }
        core.committed = true;
        command_buffers_in_flight().fetch_add(1, std::memory_order_relaxed);  // until finished (the lane)
        core.status = status_committed;
        // steady_clock is CLOCK_MONOTONIC, the clock of monotonic_seconds() (foundation_values.cpp).
        core.kernel_start_time = std::chrono::duration<double>(committed_at.time_since_epoch()).count();
        core.self = retain(self);  // Metal keeps a committed command buffer alive until it completes
    }
    // Committed before it is submitted: the lane's task finds it ready and never waits for the commit.
    if (submit) {
        if (!run_inline(self, committed_at)) submit_to_lane(self);
    } else {
        core.changed.notify_all();
    }  // enqueued earlier: its task may be waiting for this commit
}

void wait_until(id self, bool completed) {
    command_buffer_core& core = *state(self).core;
    // From a handler, completion is enough: the handlers (this one among them) run on the handler lane,
    // so waiting for them to finish would wait for ourselves.
    const bool in_handler = on_handler_lane();
    auto done = [&] {
        return core.finished || (in_handler && core.status >= status_completed) ||
               (!completed && core.status >= status_scheduled);
    };
    std::unique_lock<std::mutex> lock(core.mutex);
    if (!core.committed) return;  // nothing will ever happen: waiting would hang forever
    if (done()) return;
    // A command buffer of a few microseconds is over before a sleep and a wake-up would be: poll first.
    // The acquire pairs with the lane's release, made after everything the stage vouches for.
    lock.unlock();
    const unsigned enough = !completed ? progress_scheduled : in_handler ? progress_completed : progress_finished;
    constexpr std::chrono::microseconds poll_for{20};
    // The queue's lane does not preempt the thread that woke it (serial_lane.hpp, policy::batch): when
    // both share a core, the lane runs the command buffer only once this thread gives the core up, so
    // give it up first, before the pauses (on an otherwise idle core this returns at once).
    if (core.progress.load(std::memory_order_acquire) < enough) sched_yield();
    if (softmetal::spin_until([&] { return core.progress.load(std::memory_order_acquire) >= enough; }, poll_for)) return;
    lock.lock();
    if (done()) return;
    // Counted while waiting, so that the lane wakes us only once our wait is over (command_buffer.hpp).
    unsigned& waiters = !completed ? core.scheduled_waiters : in_handler ? core.completed_waiters : core.finished_waiters;
    ++waiters;
    core.changed.wait(lock, done);
    --waiters;
}

void add_handler(id self, block_ptr handler, bool completed) {
    if (!handler) return;
    command_buffer_core& core = *state(self).core;
    void* copy = pymetal::block_abi::copy(handler);
    {
        std::lock_guard<std::mutex> lock(core.mutex);
        // Metal accepts handlers until commit; later ones are a programming error and are dropped here.
        if (!core.committed) {
            (completed ? core.completed_handlers : core.scheduled_handlers).push_back(copy);
            return;
        }
    }
    pymetal::block_abi::release(copy);
}

// The times are reported once the command buffer has finished, 0 before.
template <double command_buffer_core::*time>
double finished_time(id self, SEL) {
    command_buffer_core& core = *state(self).core;
    std::lock_guard<std::mutex> lock(core.mutex);
    return core.status >= status_completed ? core.*time : 0.0;
}

// encodeSignalEvent:value: / encodeWaitForEvent:value:. The wait blocks this queue's lane only: other
// queues have lanes of their own, so a wait that is never satisfied stalls just its own queue, as on a GPU.
void encode_event(id self, id event, std::uint64_t value, bool signal) {
    const char* call = signal ? "encodeSignalEvent:value:" : "encodeWaitForEvent:value:";
    command_buffer_core& core = *state(self).core;
    std::shared_ptr<event_core> target = event_core_of(event);
    {
        std::lock_guard<std::mutex> lock(core.mutex);
        if (core.committed) return;
        // Metal's validation layer asserts on both: events are encoded between encoders, and need an event.
        if (!target) {
            core.record_misuse_locked(std::string(call) + " without an MTLEvent");
            return;
        }
        if (core.encoder_open) {
            core.record_misuse_locked(std::string(call) + " called while an encoder is open (call endEncoding first)");
            return;
        }
        core.retain_resource(event);
    }
    recorded_command command;
    command.waits_for_event = !signal;
    if (signal) {
        command.run = [target, value](softmetal::run_control&) -> std::optional<validation_failure> {
            target->signal(value);
            return std::nullopt;
        };
    } else {
        command.run = [target, value](softmetal::run_control&) -> std::optional<validation_failure> {
            target->wait_until_reached(value);
            return std::nullopt;
        };
    }
    record_command(core, std::move(command));
}

}  // namespace

bool commit_may_run_command_buffers() { return inline_commit_policy().mode != inline_mode::never; }

std::atomic<unsigned>& command_buffers_in_flight() {
    static std::atomic<unsigned> count{0};
    return count;
}

void yield_to_busy_queues() {
    if (command_buffers_in_flight().load(std::memory_order_relaxed) > 0) sched_yield();
}

bool record_command(command_buffer_core& core, recorded_command command) {
    std::lock_guard<std::mutex> lock(core.mutex);
    if (core.committed) return false;
    core.commands.push_back(std::move(command));
    return true;
}

void command_buffer_core::give_back_slot() {
    std::shared_ptr<command_queue_slots> held;
    {
        std::lock_guard<std::mutex> lock(mutex);
        held.swap(slots);
    }
    if (held) held->give_back();
}

void command_buffer_core::retain_resource(id resource) {
    if (!retains_references || !resource) return;
    if (retained_index.empty()) {
        for (id held : retained_resources)
            if (held == resource) return;
        if (retained_resources.size() >= resource_scan_limit) retained_index.insert(retained_resources.begin(), retained_resources.end());
    } else if (retained_index.count(resource)) {
        return;
    }
    if (retained_resources.empty()) retained_resources.reserve(4);
    retained_resources.push_back(resource);
    retain(resource);  // one retain per entry of the vector, whatever the index holds
    if (!retained_index.empty()) retained_index.insert(resource);
}

void command_buffer_core::record_misuse_locked(const std::string& what) {
    if (misuse.empty()) misuse = what;
}

void command_buffer_core::record_misuse(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex);
    record_misuse_locked(what);
}

void command_buffer_core::take_references_locked(held_references& out) {
    out.resources.swap(retained_resources);
    out.index.swap(retained_index);
    out.handlers.swap(scheduled_handlers);
    out.handlers.insert(out.handlers.end(), completed_handlers.begin(), completed_handlers.end());
    completed_handlers.clear();
    out.commands.swap(commands);
}

void held_references::release() {
    commands.clear();  // their captures (modules, byte copies, events) go outside the lock
    for (void* handler : handlers) pymetal::block_abi::release(handler);
    handlers.clear();
    for (id resource : resources) objects::release(resource);
    resources.clear();
    index.clear();
}

void command_buffer_core::drop_references() {
    held_references held;
    {
        std::lock_guard<std::mutex> lock(mutex);
        take_references_locked(held);
    }
    held.release();
}

command_buffer_state::~command_buffer_state() {
    bool was_committed;
    {
        std::lock_guard<std::mutex> lock(core->mutex);
        was_committed = core->committed;
        if (!was_committed) core->abandoned = true;
    }
    core->changed.notify_all();
    // A committed command buffer is only deallocated after its task finished and dropped everything.
    if (!was_committed) {
        core->drop_references();
        core->give_back_slot();
    }
}

id new_command_buffer(id queue, bool retains_references) {
    // Blocks while maxCommandBufferCount command buffers of the queue are outstanding, as Metal does.
    std::shared_ptr<command_queue_slots> slots = pymetal::state_of<command_queue_state>(queue)->slots;
    slots->take();
    bool slot_attached = false;  // once attached, the state gives the slot back when it goes
    try {
        auto buffer = std::make_unique<command_buffer_state>();
        buffer->core->slots = slots;
        if (slots->spares) {
            command_storage storage = slots->spares->take();  // an earlier command buffer's capacity
            buffer->core->commands.swap(storage.commands);
            buffer->core->retained_resources.swap(storage.resources);
        }
        slot_attached = true;
        buffer->queue = pymetal::object::retain(queue);
        buffer->device = pymetal::state_of<command_queue_state>(queue)->device.get();
        buffer->core->retains_references = retains_references;
        return new_instance(classes().command_buffer, std::move(buffer));
    } catch (...) {
        if (!slot_attached) slots->give_back();
        return nullptr;
    }
}

Class register_command_buffer_class() {
    pymetal::class_builder builder("SoftMetalCommandBuffer");
    builder.state<command_buffer_state>();
    builder.method("computeCommandEncoder", [](id self, SEL) -> id {
        return autorelease(new_compute_command_encoder(self, static_cast<ns_uinteger>(pymetal::dispatch_type::serial)));
    });
    builder.method("computeCommandEncoderWithDispatchType:", [](id self, SEL, ns_uinteger type) -> id {
        return autorelease(new_compute_command_encoder(self, type));
    });
    builder.method("blitCommandEncoder", [](id self, SEL) -> id { return autorelease(new_blit_command_encoder(self)); });
    builder.method("encodeSignalEvent:value:",
                   [](id self, SEL, id event, std::uint64_t value) { encode_event(self, event, value, true); });
    builder.method("encodeWaitForEvent:value:",
                   [](id self, SEL, id event, std::uint64_t value) { encode_event(self, event, value, false); });
    builder.method("enqueue", [](id self, SEL) { enqueue(self); });
    builder.method("commit", [](id self, SEL) { commit(self); });
    builder.method("waitUntilScheduled", [](id self, SEL) { wait_until(self, false); });
    builder.method("waitUntilCompleted", [](id self, SEL) { wait_until(self, true); });
    builder.method("status", [](id self, SEL) -> ns_uinteger {
        command_buffer_core& core = *state(self).core;
        ns_uinteger status;
        {
            std::lock_guard<std::mutex> lock(core.mutex);
            status = core.status;
        }
        // Committed and not yet completed: the caller may be polling for completion (yield_to_busy_queues).
        if (status == status_committed || status == status_scheduled) sched_yield();
        return status;
    });
    builder.method("error", [](id self, SEL) -> id {
        command_buffer_core& core = *state(self).core;
        std::lock_guard<std::mutex> lock(core.mutex);
        return core.error.get();
    });
    builder.method("GPUStartTime", &finished_time<&command_buffer_core::gpu_start_time>);
    builder.method("GPUEndTime", &finished_time<&command_buffer_core::gpu_end_time>);
    builder.method("kernelStartTime", &finished_time<&command_buffer_core::kernel_start_time>);
    builder.method("kernelEndTime", &finished_time<&command_buffer_core::kernel_end_time>);
    builder.method("addCompletedHandler:", [](id self, SEL, block_ptr handler) { add_handler(self, handler, true); });
    builder.method("addScheduledHandler:", [](id self, SEL, block_ptr handler) { add_handler(self, handler, false); });
    builder.method("retainedReferences",
                   [](id self, SEL) -> objc_bool { return state(self).core->retains_references ? yes : no; });
    builder.method("device", [](id self, SEL) -> id { return state(self).device; });
    builder.method("commandQueue", [](id self, SEL) -> id { return state(self).queue.get(); });
    add_label_methods<command_buffer_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
