// The lane side of a command buffer: wait for its commit, run its commands in encoding order (compute
// dispatches through the executor, each checked first; blits; event signals and waits; all but event
// waits under the watchdog), then report: status, error, times. Handlers
// run on the queue's handler lane (and the command buffer's resources are released there after them),
// so that a handler may wait for command buffers of its own queue.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "executor/executor.hpp"
#include "executor/watchdog.hpp"
#include "objects/command_buffer.hpp"
#include "objects/command_queue.hpp"
#include "objects/dispatch_validation.hpp"
#include "objects/gnustep_thread.hpp"
#include "objects/kernel_fault_text.hpp"

namespace softmetal::objects {

namespace {

// The command buffer as a handler failure names it: its label, else its address.
std::string command_buffer_name(id command_buffer) {
    char address[32];
    std::snprintf(address, sizeof address, "%p", static_cast<void*>(command_buffer));
    const std::string label = string_text(pymetal::msg_send<id>(command_buffer, "label"));
    return label.empty() ? std::string("command buffer ") + address : "command buffer '" + label + "' (" + address + ")";
}

void run_handlers(std::vector<void*>& handlers, id command_buffer, const char* kind) {
    for (void* handler : handlers) {
        try {
            // The handler may autorelease objects; the lane thread has no pool of the caller's.
            pymetal::autorelease_pool pool;
            pymetal::block_abi::invoke<void, id>(handler, command_buffer);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "softmetal: a %s handler of %s threw: %s (the queue carries on)\n", kind,
                         command_buffer_name(command_buffer).c_str(), e.what());
        } catch (...) {
            std::fprintf(stderr, "softmetal: a %s handler of %s threw an exception (the queue carries on)\n", kind,
                         command_buffer_name(command_buffer).c_str());
        }
        pymetal::block_abi::release(handler);
    }
    handlers.clear();
}

std::optional<validation_failure> run_command(const recorded_command& command, softmetal::run_control& control) {
    if (command.dispatch) return run_dispatch(*command.dispatch, control);
    return command.run(control);
}

// Runs the commands until one fails (validation, a fault, the watchdog); returns the failure, if any.
// The watchdog watches each stretch of commands between event waits: time spent waiting for another
// queue is not the command buffer running.
// `started`: when the first stretch starts (the clock read the caller made anyway).
std::optional<validation_failure> run_commands(const std::vector<recorded_command>& commands,
                                               std::chrono::steady_clock::time_point started) {
    std::size_t next = 0;
    bool first = true;
    while (next < commands.size()) {
        if (commands[next].waits_for_event) {
            softmetal::run_control unwatched;
            if (auto failure = run_command(commands[next++], unwatched)) return failure;
            first = false;
            continue;
        }
        softmetal::run_control control;
        softmetal::watchdog_watch watch(control, first ? started : std::chrono::steady_clock::now());
        first = false;
        for (; next < commands.size() && !commands[next].waits_for_event; ++next)
            if (auto failure = run_command(commands[next], control)) return failure;
    }
    return std::nullopt;
}

// dispatchThreadgroupsWithIndirectBuffer: the grid is read now, when the command runs, so that an
// earlier command of the same command buffer may have written it.
std::optional<validation_failure> resolve_indirect_grid(recorded_dispatch& dispatch) {
    const indirect_grid& source = dispatch.indirect;
    constexpr std::uint64_t arguments_size = 3 * sizeof(std::uint32_t);  // MTLDispatchThreadgroupsIndirectArguments
    if (source.offset > source.length || source.length - source.offset < arguments_size || source.offset % 4 != 0) {
        return validation_failure{static_cast<ns_integer>(pymetal::command_buffer_error::invalid_resource),
                                  "dispatch " + std::to_string(dispatch.dispatch_index) + " of encoder " +
                                      std::to_string(dispatch.encoder_index) + ": indirectBufferOffset " +
                                      std::to_string(source.offset) + " leaves no 4-byte aligned " +
                                      "MTLDispatchThreadgroupsIndirectArguments (12 bytes) in the buffer of length " +
                                      std::to_string(source.length)};
    }
    std::uint32_t groups[3];
    std::memcpy(groups, source.base + source.offset, sizeof groups);
    dispatch.grid = pymetal::mtl_size{groups[0], groups[1], groups[2]};
    return std::nullopt;
}

}  // namespace

std::optional<validation_failure> run_dispatch(const recorded_dispatch& recorded, softmetal::run_control& control) {
    const recorded_dispatch* dispatch = &recorded;
    recorded_dispatch resolved;  // a copy only for indirect dispatches, whose grid is filled in now
    if (recorded.indirect.base) {
        resolved = recorded;
        if (auto failure = resolve_indirect_grid(resolved)) return failure;
        dispatch = &resolved;
    }
    softmetal::dispatch_work work;
    if (auto failure = prepare_dispatch(*dispatch, work)) return failure;
    const sm_size3& groups = work.launch.threadgroups_per_grid;
    if (groups.x == 0 || groups.y == 0 || groups.z == 0) return std::nullopt;  // an empty grid runs nothing
    work.control = &control;
    if (auto fault = softmetal::executor::shared().run(work)) return fault_failure(*dispatch, *fault);
    if (control.timed_out()) return timeout_failure(*dispatch);
    return std::nullopt;
}

void execute_command_buffer(const std::shared_ptr<command_buffer_core>& shared,
                            const std::chrono::steady_clock::time_point* committed_at) {
    command_buffer_core& core = *shared;
    const bool on_lane = committed_at == nullptr;
    if (on_lane) open_lane_autorelease_pool();  // drained after this batch of the lane's tasks (gnustep_thread.hpp)
    std::vector<void*> scheduled_handlers;
    id self = nullptr;
    softmetal::serial_lane* handler_lane = nullptr;
    std::string misuse;
    bool wake_waiters = false;
    // One clock read for the scheduled time, the GPU start time and the watchdog: steady_clock is
    // CLOCK_MONOTONIC, the clock of monotonic_seconds() (foundation_values.cpp).
    std::chrono::steady_clock::time_point started;
    double scheduled_at = 0;
    {
        std::unique_lock<std::mutex> lock(core.mutex);
        core.changed.wait(lock, [&] { return core.committed || core.abandoned; });
        if (!core.committed) return;  // released without a commit: nothing to run
        self = core.self;
        handler_lane = core.handler_lane;
        misuse = core.misuse;
        core.status = status_scheduled;
        // The lane starts the work as soon as it is scheduled (a clock read costs ~90 ns on our VMs, a
        // tenth of a small command buffer's time on the lane).
        // Run by commit, the command buffer is scheduled as it is committed: commit's reading serves.
        started = on_lane ? std::chrono::steady_clock::now() : *committed_at;
        scheduled_at = std::chrono::duration<double>(started.time_since_epoch()).count();
        core.kernel_end_time = scheduled_at;
        core.progress.store(progress_scheduled, std::memory_order_release);
        scheduled_handlers.swap(core.scheduled_handlers);
        wake_waiters = core.scheduled_waiters > 0;
    }
    if (wake_waiters) core.changed.notify_all();
    const bool had_scheduled_handlers = !scheduled_handlers.empty();
    if (had_scheduled_handlers) {
        handler_lane->submit([self, handlers = std::move(scheduled_handlers)]() mutable {
            run_handlers(handlers, self, "scheduled");
        });
    }

    std::optional<validation_failure> failure;
    const double gpu_start = scheduled_at;
    if (!misuse.empty()) {
        failure = validation_failure{static_cast<ns_integer>(pymetal::command_buffer_error::not_permitted), "softmetal: " + misuse};
    } else {
        try {
            failure = run_commands(core.commands, started);  // no encoder appends after commit: read without the lock
        } catch (const std::exception& e) {
            failure = validation_failure{static_cast<ns_integer>(pymetal::command_buffer_error::internal),
                                         std::string("softmetal: ") + e.what()};
        }
    }
    const double gpu_end = monotonic_seconds();

    // The end of the work, in one locked section when it succeeded (this runs for every command buffer).
    // Without handlers to run first, the references are taken out in the same section (finish below
    // would otherwise lock once more for them).
    bool has_handlers = had_scheduled_handlers;
    held_references taken_at_end;
    bool taken = false;
    auto record_end_locked = [&](pymetal::object error) {
        core.gpu_start_time = gpu_start;
        core.gpu_end_time = gpu_end;
        core.error = std::move(error);
        core.status = failure ? status_error : status_completed;
        core.progress.store(progress_completed, std::memory_order_release);
        wake_waiters = core.completed_waiters > 0 || core.scheduled_waiters > 0;
        has_handlers = has_handlers || !core.completed_handlers.empty();  // none can be added after commit
        if (!has_handlers) {
            core.take_references_locked(taken_at_end);
            taken = true;
        }
    };
    {
        std::lock_guard<std::mutex> lock(core.mutex);
        // A second commit while the work ran is reported as the command buffer's error.
        if (!failure && !core.misuse.empty())
            failure = validation_failure{static_cast<ns_integer>(pymetal::command_buffer_error::not_permitted), "softmetal: " + core.misuse};
        if (!failure) record_end_locked(pymetal::object());
    }
    if (failure) {
        pymetal::object error;
        try {
            // Off the lane (run by commit), the caller's thread need not have a pool of its own.
            std::optional<pymetal::autorelease_pool> pool;
            if (!on_lane) pool.emplace();
            error = pymetal::object::retain(autoreleased_error(command_buffer_error_domain(), failure->code, failure->message));
        } catch (...) {
            // Without an NSError the status still says Error.
        }
        std::lock_guard<std::mutex> lock(core.mutex);  // the NSError is made outside the lock
        record_end_locked(std::move(error));
    }
    if (wake_waiters) core.changed.notify_all();  // waiters inside handlers need no more than the status

    // The end of a command buffer: its completed handlers, then its resources and the commit's reference.
    // On the handler lane when there are handlers (they may wait for this queue's later command buffers,
    // and a scheduled handler may still be running there), else here: a hop to another thread would
    // cost a wake-up on every command buffer.
    // (Run here, it is inside the lane's autorelease pool, or the committing thread's when commit ran the
    // command buffer itself; on the handler lane, inside one of its own.)
    // `already_taken`: the references, when record_end_locked took them (no handlers); else null and
    // they are taken here.
    auto finish = [shared, self](held_references* already_taken) {
        command_buffer_core& core = *shared;
        std::vector<void*> handlers;
        held_references own;
        held_references& held = already_taken ? *already_taken : own;
        if (!already_taken) {
            std::lock_guard<std::mutex> lock(core.mutex);
            handlers.swap(core.completed_handlers);
            core.take_references_locked(held);  // kept until the handlers have run
        }
        run_handlers(handlers, self, "completed");
        // Resources go before waitUntilCompleted returns, so a buffer the caller then releases is freed at once.
        held.release();
        bool waiting = false;
        std::shared_ptr<command_queue_slots> slots;
        {
            std::lock_guard<std::mutex> lock(core.mutex);
            core.finished = true;
            command_buffers_in_flight().fetch_sub(1, std::memory_order_relaxed);
            core.self = nullptr;
            core.progress.store(progress_finished, std::memory_order_release);
            waiting = core.scheduled_waiters + core.completed_waiters + core.finished_waiters > 0;
            slots.swap(core.slots);  // given back once (give_back_slot)
        }
        if (waiting) core.changed.notify_all();
        if (slots && slots->spares) {
            // Emptied by release() above; their storage serves the queue's next command buffers.
            slots->spares->give_back(command_storage{std::move(held.commands), std::move(held.resources)});
        }
        if (slots) slots->give_back();
        release(self);  // the commit's reference; may deallocate the command buffer (and its queue) here
    };
    if (has_handlers) {
        handler_lane->submit([finish = std::move(finish)] {
            pymetal::autorelease_pool pool;
            finish(nullptr);
        });
    } else {
        finish(taken ? &taken_at_end : nullptr);
    }
}

}  // namespace softmetal::objects
