// pymetal::command_list: several dispatches encoded into one command buffer, committed together.
//
//   pymetal::command_list list(device);                 // or command_list(queue)
//   list.dispatch_threads(scale, {x, pymetal::value(2.0f)}, n)
//       .dispatch_threads(sum, {x, total}, n);          // runs after scale: one serial encoder
//   list.on_completed([](const pymetal::command_buffer& cb) { ... });
//   auto done = list.commit();                          // or list.run() to commit and wait
//
// Dispatches in one list run in the order encoded, each seeing the previous one's writes (Metal's
// serial compute encoder). A list destroyed without commit discards what it encoded.
//
// Thread safety: a command_list is for one thread at a time (it is an open Metal encoder); build
// lists on as many threads as you like, each its own. It is movable, not copyable.
#pragma once

#include <utility>

#include "command_buffer.hpp"
#include "command_queue.hpp"
#include "detail/encoding_session.hpp"
#include "kernel.hpp"

namespace pymetal {

class command_list {
public:
    explicit command_list(const command_queue& queue) : session_(queue.native()) {}

    // The MTLCommandBuffer being filled, and its open MTLComputeCommandEncoder (nil once committed),
    // for encoding something pymetal does not wrap between dispatches.
    id native() const noexcept { return session_.command_buffer_native(); }
    id native_encoder() const noexcept { return session_.encoder_native(); }

    // dispatchThreadgroups:threadsPerThreadgroup:, refused (dispatch_error, nothing encoded) when invalid.
    command_list& dispatch(const kernel& k, argument_list args, const size3& threadgroups,
                           const size3& threads_per_threadgroup) {
        detail::validate(checked(k), args, threads_per_threadgroup);
        session_.encode(k.info(), args, detail::grid_kind::threadgroups, threadgroups, threads_per_threadgroup);
        return *this;
    }
    // dispatchThreads:threadsPerThreadgroup:, the threadgroup chosen by the kernel when not given.
    command_list& dispatch_threads(const kernel& k, argument_list args, const size3& grid) {
        return dispatch_threads(k, args, grid, k.threadgroup_for(grid));
    }
    command_list& dispatch_threads(const kernel& k, argument_list args, const size3& grid,
                                   const size3& threads_per_threadgroup) {
        detail::validate(checked(k), args, threads_per_threadgroup);
        session_.encode(k.info(), args, detail::grid_kind::threads, grid, threads_per_threadgroup);
        return *this;
    }
    // Runs `handler` on Metal's completion thread when the command buffer finishes (see completion_handler).
    command_list& on_completed(completion_handler handler) {
        session_.add_completed_handler(std::move(handler));
        return *this;
    }

    // Submits without waiting. The list is spent afterwards.
    command_buffer commit() { return session_.commit(); }
    // Submits, waits, and throws command_error if it failed.
    command_buffer run() {
        command_buffer done = session_.commit();
        done.wait();
        return done;
    }

private:
    static const detail::pipeline_info& checked(const kernel& k) {
        if (!k) throw error("pymetal: dispatch of an empty kernel handle");
        return k.info();
    }

    detail::encoding_session session_;
};

}  // namespace pymetal
