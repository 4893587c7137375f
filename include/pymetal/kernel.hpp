/// \file
/// pymetal::kernel: a compute function and its compiled pipeline state, ready to dispatch.
///
/// \code
///   auto add = device.compile(source).kernel("add");
///   add.run({in, out}, {1, 1, 1}, {1, 1, 1});                 // threadgroups x threads per threadgroup
///   add.dispatch_threads({in, out}, n);                         // n threads, threadgroup chosen for you
///   auto done = add.dispatch_threads_async({in, out}, n);       // ... done.wait();
/// \endcode
///
/// The one-call forms encode one dispatch into a command buffer of the device's default queue. To put
/// several dispatches into one command buffer, use command_list.
///
/// Thread safety: a kernel is immutable after creation and MTLComputePipelineState is thread-safe, so
/// one kernel (or its copies) may be dispatched from any number of threads at once; each call encodes
/// its own command buffer. Compile once, share everywhere.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "argument.hpp"
#include "command_buffer.hpp"
#include "command_queue.hpp"
#include "detail/device_state.hpp"
#include "detail/dispatch.hpp"
#include "detail/encoding_session.hpp"
#include "object.hpp"
#include "size.hpp"

namespace pymetal {

class library;

/// One argument of a kernel as the pipeline's reflection reports it (see detail/dispatch.hpp).
using kernel_argument = detail::reflected_argument;
using detail::argument_access;
using detail::argument_type;

/// One compute kernel: its MTLFunction and compute pipeline state, ready to dispatch. Made by
/// library::kernel; a reference-counted handle, shared between threads. Dispatches throw dispatch_error for
/// bad arguments (before anything runs) and command_error when the GPU work fails.
class kernel {
public:
    kernel() noexcept = default;

    /// The MTLComputePipelineState; native_function() is the MTLFunction it was built from.
    id native() const noexcept { return pipeline_.get(); }
    /// The MTLFunction (not retained).
    id native_function() const noexcept { return function_.get(); }
    /// Whether this handle holds a kernel.
    explicit operator bool() const noexcept { return static_cast<bool>(pipeline_); }

    /// The kernel's function name.
    const std::string& name() const noexcept { return info_.name; }
    /// The kernel's [[buffer(n)]], [[threadgroup(n)]], [[texture(n)]] and [[sampler(n)]] arguments, as the
    /// pipeline's reflection reports them (kernel_argument: name, type, index, access, buffer data
    /// size/alignment/type, texture type and texel data type); dispatches are checked against these
    /// before anything is encoded.
    const std::vector<kernel_argument>& arguments() const noexcept { return info_.arguments; }
    /// The pipeline's maxTotalThreadsPerThreadgroup.
    ns_uinteger max_total_threads_per_threadgroup() const noexcept { return info_.max_total_threads; }
    /// The pipeline's threadExecutionWidth (the SIMD-group width).
    ns_uinteger thread_execution_width() const noexcept { return info_.execution_width; }
    /// The pipeline's staticThreadgroupMemoryLength in bytes.
    ns_uinteger static_threadgroup_memory_length() const noexcept { return info_.static_threadgroup_memory; }

    /// The threadgroup dispatch_threads uses for `grid` when none is given.
    size3 threadgroup_for(const size3& grid) const { return detail::choose_threadgroup(info_, grid); }

    /// dispatchThreadgroups: `threadgroups` groups of `threads_per_threadgroup` threads; waits, and
    /// throws command_error if the command buffer failed. Returns it (for its GPU times).
    command_buffer run(argument_list args, const size3& threadgroups, const size3& threads_per_threadgroup) const {
        return waited(submit(args, detail::grid_kind::threadgroups, threadgroups, threads_per_threadgroup));
    }
    /// The same without waiting; `on_completed` (optional) runs on Metal's completion thread.
    ///
    /// The forms that take a completion handler are member templates only so that their bodies (the
    /// handler's block, std::function's machinery) are compiled where they are called, not in every
    /// translation unit that includes the header (issue #14); `Deferred` is never given.
    template <class Deferred = void>
    command_buffer run_async(argument_list args, const size3& threadgroups, const size3& threads_per_threadgroup,
                             completion_handler on_completed = {}) const {
        return submit(args, detail::grid_kind::threadgroups, threadgroups, threads_per_threadgroup,
                      std::move(on_completed));
    }

    /// dispatchThreads: exactly `grid` threads (edge threadgroups may be partial), in threadgroups of
    /// `threads_per_threadgroup`, or of threadgroup_for(grid) when not given. Waits and checks.
    command_buffer dispatch_threads(argument_list args, const size3& grid) const {
        return dispatch_threads(args, grid, threadgroup_for(grid));
    }
    /// Runs `grid` threads in threadgroups of `threads_per_threadgroup` on the default queue and waits.
    command_buffer dispatch_threads(argument_list args, const size3& grid, const size3& threads_per_threadgroup) const {
        return waited(submit(args, detail::grid_kind::threads, grid, threads_per_threadgroup));
    }
    /// The one-call forms on a queue of the caller's choice (the others use the device's default queue).
    command_buffer run(const command_queue& queue, argument_list args, const size3& threadgroups,
                       const size3& threads_per_threadgroup) const {
        return waited(submit_on(queue, args, detail::grid_kind::threadgroups, threadgroups, threads_per_threadgroup));
    }
    /// Runs `grid` threads on `queue` and waits.
    command_buffer dispatch_threads(const command_queue& queue, argument_list args, const size3& grid) const {
        return waited(submit_on(queue, args, detail::grid_kind::threads, grid, threadgroup_for(grid)));
    }
    /// Commits `grid` threads on `queue` without waiting; `on_completed` runs on Metal's completion thread.
    template <class Deferred = void>
    command_buffer dispatch_threads_async(const command_queue& queue, argument_list args, const size3& grid,
                                          completion_handler on_completed = {}) const {
        return submit_on(queue, args, detail::grid_kind::threads, grid, threadgroup_for(grid), std::move(on_completed));
    }
    /// dispatch_threads without waiting, as a std::future<command_buffer>: get() returns the command
    /// buffer once it has completed, or throws its command_error. Needs `#include <pymetal/future.hpp>`.
    template <class Tag = detail::future_tag>
    auto dispatch_threads_future(argument_list args, const size3& grid) const {
        return detail::future_support<Tag>::dispatch_threads(*this, std::move(args), grid);
    }

    /// Commits `grid` threads on the default queue without waiting.
    template <class Deferred = void>
    command_buffer dispatch_threads_async(argument_list args, const size3& grid,
                                          completion_handler on_completed = {}) const {
        return dispatch_threads_async(args, grid, threadgroup_for(grid), std::move(on_completed));
    }
    /// Commits `grid` threads in threadgroups of `threads_per_threadgroup` on the default queue without
    /// waiting.
    template <class Deferred = void>
    command_buffer dispatch_threads_async(argument_list args, const size3& grid, const size3& threads_per_threadgroup,
                                          completion_handler on_completed = {}) const {
        return submit(args, detail::grid_kind::threads, grid, threads_per_threadgroup, std::move(on_completed));
    }

private:
    friend class library;
    friend class command_list;

    kernel(std::shared_ptr<detail::device_state> device, object function, object pipeline, std::string name,
           std::vector<detail::reflected_argument> arguments)
        : device_(std::move(device)), function_(std::move(function)), pipeline_(std::move(pipeline)) {
        info_.arguments = std::move(arguments);
        // Fixed for the pipeline's life: read once, not on every dispatch.
        info_.pipeline = pipeline_.get();
        info_.name = std::move(name);
        info_.max_total_threads = msg_send<ns_uinteger()>(pipeline_, "maxTotalThreadsPerThreadgroup");
        info_.execution_width = msg_send<ns_uinteger()>(pipeline_, "threadExecutionWidth");
        info_.static_threadgroup_memory = msg_send<ns_uinteger()>(pipeline_, "staticThreadgroupMemoryLength");
        info_.device_max_threads = device_->max_threads_per_threadgroup;
        info_.device_max_threadgroup_memory = device_->max_threadgroup_memory_length;
    }

    static command_buffer waited(command_buffer done) {
        done.wait();
        return done;
    }

    /// Validates first (a refused dispatch costs no command buffer), then encodes and commits.
    template <class Handler>
    command_buffer submit(argument_list args, detail::grid_kind kind, const size3& grid, const size3& threads,
                          Handler on_completed) const {
        if (!pipeline_) throw error("pymetal: dispatch of an empty kernel handle");
        return submit_on(device_->default_queue(), args, kind, grid, threads, std::move(on_completed));
    }
    command_buffer submit(argument_list args, detail::grid_kind kind, const size3& grid, const size3& threads) const {
        if (!pipeline_) throw error("pymetal: dispatch of an empty kernel handle");
        return submit_on(device_->default_queue(), args, kind, grid, threads);
    }
    template <class Handler>
    command_buffer submit_on(const command_queue& queue, argument_list args, detail::grid_kind kind, const size3& grid,
                             const size3& threads, Handler on_completed) const {
        if (!on_completed) return submit_on(queue, args, kind, grid, threads);
        detail::encoding_session session = encoded(queue, args, kind, grid, threads);
        session.add_completed_handler(std::move(on_completed));
        return session.commit();
    }
    // The waiting forms take this overload, which never names the handler machinery (std::function,
    // blocks), so a program that never passes a handler does not compile it.
    command_buffer submit_on(const command_queue& queue, argument_list args, detail::grid_kind kind, const size3& grid,
                             const size3& threads) const {
        return encoded(queue, args, kind, grid, threads).commit();
    }
    detail::encoding_session encoded(const command_queue& queue, argument_list args, detail::grid_kind kind,
                                     const size3& grid, const size3& threads) const {
        if (!pipeline_) throw error("pymetal: dispatch of an empty kernel handle");
        if (!queue) throw error("pymetal: dispatch on an empty command_queue handle");
        detail::validate(info_, args, threads);
        detail::encoding_session session(queue.native());
        session.encode(info_, args, kind, grid, threads);
        return session;
    }

    const detail::pipeline_info& info() const noexcept { return info_; }

    std::shared_ptr<detail::device_state> device_;
    object function_;
    object pipeline_;
    detail::pipeline_info info_;
};

}  // namespace pymetal
