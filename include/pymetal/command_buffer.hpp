/// \file
/// pymetal::command_buffer: a committed MTLCommandBuffer, the waitable handle of asynchronous work.
///
/// \code
///   auto done = k.run_async({in, out}, groups, threads);
///   ... other work ...
///   done.wait();                   // throws command_error if Metal reports the command buffer failed
/// \endcode
///
/// Thread safety: any thread may wait on, poll or read the times of a command buffer, also several at
/// once (waitUntilCompleted and status are safe to call concurrently in Metal). Copies share the one
/// MTLCommandBuffer.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include <time.h>  // nanosleep: <thread> only for sleep_for costs every includer compile time

#include "autorelease_pool.hpp"
#include "block.hpp"
#include "detail/light_std.hpp"
#include "foundation.hpp"
#include "metal_error.hpp"
#include "metal_types.hpp"
#include "object.hpp"

namespace pymetal {

namespace detail {
/// Sleeps about `us` microseconds (at most a second: wait_for's pauses are far shorter).
inline void sleep_microseconds(long us) {
    timespec pause{0, (us < 0 ? 0 : us > 999999 ? 999999 : us) * 1000};
    nanosleep(&pause, nullptr);
}
}  // namespace detail

/// One MTLCommandBuffer: a reference-counted handle to committed work, to wait for it and read its status,
/// error and GPU times. Returned by dispatches and command_list::commit().
class command_buffer {
public:
    command_buffer() noexcept = default;
    /// Wraps an MTLCommandBuffer we do not own yet: retains it.
    static command_buffer retain(id mtl_command_buffer) { return command_buffer(object::retain(mtl_command_buffer)); }

    /// The MTLCommandBuffer (not retained), nullptr when empty.
    id native() const noexcept { return object_.get(); }
    /// Whether this handle holds a command buffer.
    explicit operator bool() const noexcept { return static_cast<bool>(object_); }

    /// Its MTLCommandBufferStatus now.
    command_buffer_status status() const {
        return static_cast<command_buffer_status>(msg_send<ns_uinteger()>(object_, "status"));
    }
    /// Finished, successfully or not.
    bool is_done() const {
        const command_buffer_status s = status();
        return s == command_buffer_status::completed || s == command_buffer_status::error;
    }
    /// Whether it ended with an error (status() is error).
    bool failed() const { return status() == command_buffer_status::error; }

    /// Blocks until the GPU has finished it, then throws command_error if it failed.
    void wait() const {
        msg_send<void()>(object_, "waitUntilCompleted");
        check();  // status is final only after the wait
    }
    /// Waits at most `timeout`; true (after check(), which throws if it failed) once it has finished,
    /// false if it is still running. Metal has no timed wait, so this polls its status, ever less often.
    template <class Rep, class Period>
    bool wait_for(std::chrono::duration<Rep, Period> timeout) const {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        long pause_us = 20;
        while (!is_done()) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) return false;
            const auto left_us = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count();
            detail::sleep_microseconds(left_us < pause_us ? static_cast<long>(left_us) + 1 : pause_us);
            pause_us = pause_us * 2 < 2000 ? pause_us * 2 : 2000;
        }
        check();
        return true;
    }
    /// Throws command_error if it failed; does not wait.
    void check() const {
        if (failed()) throw failure();
    }
    /// The failure as an exception object (for completion handlers that report rather than throw).
    command_error failure() const {
        autorelease_pool pool;  // domain and description may be autoreleased
        const command_buffer_status s = status();
        id ns_error = msg_send<id()>(object_, "error");
        if (!ns_error)
            return command_error(command_buffer_error_domain, 0, "Metal reported status " +
                                 std::to_string(static_cast<ns_uinteger>(s)) + " without an NSError", s);
        objc_error e = make_objc_error(ns_error);
        return command_error(e.domain(), e.code(), e.description(), s);
    }

    /// GPU timestamps in seconds (CFTimeInterval), valid once it has completed.
    double gpu_start_time() const { return msg_send<double()>(object_, "GPUStartTime"); }
    /// When the GPU finished it (GPUEndTime, seconds; 0 until completed).
    double gpu_end_time() const { return msg_send<double()>(object_, "GPUEndTime"); }
    /// GPU time it took in seconds (gpu_end_time() - gpu_start_time()).
    double gpu_duration() const { return gpu_end_time() - gpu_start_time(); }

private:
    explicit command_buffer(object mtl_command_buffer) noexcept : object_(std::move(mtl_command_buffer)) {}
    object object_;
};

/// Called once the command buffer has completed or failed (check with .failed() / .check()). It runs
/// on Metal's completion thread, inside an autorelease pool of its own; it must not throw (an escaping
/// exception calls std::terminate) and should hand long work to another thread.
using completion_handler = std::function<void(const command_buffer&)>;

namespace detail {

/// addCompletedHandler: takes a block. Metal copies the block (Block ABI copy), which copies the handler
/// with it, so the pymetal::block here may end with this call.
/// A template (Handler is always completion_handler) so that only a program that adds a handler compiles
/// the block and std::function's machinery for it.
template <class Handler>
void add_completed_handler(id mtl_command_buffer, Handler handler) {
    block<void(id)> on_completed([handler = std::move(handler)](id completed) noexcept {
        autorelease_pool pool;
        handler(command_buffer::retain(completed));
    });
    msg_send<void(id)>(mtl_command_buffer, "addCompletedHandler:", on_completed.get());
}

/// The std::future forms (kernel::dispatch_threads_future, command_list::commit_future) are member
/// templates that reach std::future only through future_support<future_tag>, which <pymetal/future.hpp>
/// defines: <future> costs every translation unit that includes it about 0.1 s of compile time, so only
/// the ones that use it pay for it.
struct future_tag {};
template <class Tag>
struct future_support {
    static_assert(sizeof(Tag) == 0, "pymetal: the std::future forms need #include <pymetal/future.hpp>");
};

}  // namespace detail
}  // namespace pymetal
