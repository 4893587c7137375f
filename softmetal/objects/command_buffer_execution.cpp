// The lane side of a command buffer: wait for its commit, run its dispatches in order through the
// executor (each checked first), then report: status, error, times, handlers, released resources.
#include <exception>
#include <string>

#include "executor/executor.hpp"
#include "objects/command_buffer.hpp"
#include "objects/dispatch_validation.hpp"

namespace softmetal::objects {

namespace {

void run_handlers(std::vector<void*>& handlers, id command_buffer) {
    for (void* handler : handlers) {
        {
            // The handler may autorelease objects; the lane thread has no pool of the caller's.
            pymetal::autorelease_pool pool;
            pymetal::block_abi::invoke<void, id>(handler, command_buffer);
        }
        pymetal::block_abi::release(handler);
    }
    handlers.clear();
}

// Runs the dispatches until one fails validation; returns the failure, if any.
std::optional<validation_failure> run_dispatches(const std::vector<recorded_dispatch>& dispatches) {
    for (const recorded_dispatch& dispatch : dispatches) {
        softmetal::dispatch_work work;
        if (auto failure = prepare_dispatch(dispatch, work)) return failure;
        const sm_size3& groups = work.launch.threadgroups_per_grid;
        if (groups.x == 0 || groups.y == 0 || groups.z == 0) continue;  // an empty grid runs nothing
        softmetal::executor::shared().run(work);
    }
    return std::nullopt;
}

}  // namespace

void execute_command_buffer(const std::shared_ptr<command_buffer_core>& shared) {
    command_buffer_core& core = *shared;
    pymetal::autorelease_pool pool;
    std::vector<void*> handlers;
    id self = nullptr;
    {
        std::unique_lock<std::mutex> lock(core.mutex);
        core.changed.wait(lock, [&] { return core.committed || core.abandoned; });
        if (!core.committed) return;  // released without a commit: nothing to run
        self = core.self;
        core.status = status_scheduled;
        core.kernel_end_time = monotonic_seconds();
        handlers.swap(core.scheduled_handlers);
    }
    core.changed.notify_all();
    run_handlers(handlers, self);

    std::optional<validation_failure> failure;
    const double gpu_start = monotonic_seconds();
    try {
        failure = run_dispatches(core.dispatches);  // no encoder appends after commit: read without the lock
    } catch (const std::exception& e) {
        failure = validation_failure{static_cast<ns_integer>(pymetal::command_buffer_error::internal),
                                     std::string("softmetal: ") + e.what()};
    }
    const double gpu_end = monotonic_seconds();

    pymetal::object error;
    if (failure) {
        try {
            error = pymetal::object::retain(autoreleased_error(command_buffer_error_domain(), failure->code, failure->message));
        } catch (...) {
            // Without an NSError the status still says Error.
        }
    }
    {
        std::lock_guard<std::mutex> lock(core.mutex);
        core.gpu_start_time = gpu_start;
        core.gpu_end_time = gpu_end;
        core.error = std::move(error);
        core.status = failure ? status_error : status_completed;
        handlers.swap(core.completed_handlers);
    }
    run_handlers(handlers, self);
    // Resources go before waitUntilCompleted returns, so a buffer the caller then releases is freed at once.
    core.drop_references();
    {
        std::lock_guard<std::mutex> lock(core.mutex);
        core.finished = true;
        core.self = nullptr;
    }
    core.changed.notify_all();
    release(self);  // the commit's reference; may deallocate the command buffer (and its queue) here
}

}  // namespace softmetal::objects
