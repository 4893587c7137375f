/// \file
/// The std::future forms of pymetal's dispatches: kernel::dispatch_threads_future and
/// command_list::commit_future. They live in a header of their own because <future> costs every
/// translation unit that includes it about 0.1 s of compile time; metal.hpp leaves it out.
///
/// \code
///   #include <pymetal/metal.hpp>
///   #include <pymetal/future.hpp>
///   std::future<pymetal::command_buffer> done = add.dispatch_threads_future({a, b, sum}, n);
///   done.get();                    // the command buffer, or its command_error thrown
/// \endcode
#pragma once

#include <exception>
#include <future>
#include <memory>
#include <utility>

#include "command_buffer.hpp"
#include "command_list.hpp"
#include "kernel.hpp"

namespace pymetal::detail {

/// A completion handler that fulfils `promise`: with the command buffer, or with its command_error.
inline completion_handler fulfil(std::shared_ptr<std::promise<command_buffer>> promise) {
    return [promise = std::move(promise)](const command_buffer& done) {
        if (done.failed()) promise->set_exception(std::make_exception_ptr(done.failure()));
        else promise->set_value(done);
    };
}

template <>
struct future_support<future_tag> {
    static std::future<command_buffer> dispatch_threads(const kernel& k, argument_list args, const size3& grid) {
        auto promise = std::make_shared<std::promise<command_buffer>>();
        std::future<command_buffer> result = promise->get_future();
        k.dispatch_threads_async(std::move(args), grid, fulfil(std::move(promise)));
        return result;
    }
    static std::future<command_buffer> commit(command_list& list) {
        auto promise = std::make_shared<std::promise<command_buffer>>();
        std::future<command_buffer> result = promise->get_future();
        list.on_completed(fulfil(std::move(promise)));
        list.commit();
        return result;
    }
};

}  // namespace pymetal::detail
