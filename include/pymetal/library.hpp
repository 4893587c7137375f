// pymetal::library: compiled MSL (an MTLLibrary), made by device::compile. Kernels come out of it by name.
//
//   auto lib = device.compile(source);                       // throws compile_error with line/column
//   auto add = lib.kernel("add");                            // throws function_not_found, listing names
//   auto blur = lib.kernel("blur", pymetal::function_constants().set(0, 5u));
//
// Thread safety: a library is immutable once compiled; kernel() may be called from several threads at
// once (Metal's MTLLibrary and MTLDevice are thread-safe). Copies share the one MTLLibrary.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autorelease_pool.hpp"
#include "detail/device_state.hpp"
#include "foundation.hpp"
#include "function_constants.hpp"
#include "kernel.hpp"
#include "metal_error.hpp"
#include "object.hpp"

namespace pymetal {

class device;

class library {
public:
    library() noexcept = default;

    id native() const noexcept { return object_.get(); }
    explicit operator bool() const noexcept { return static_cast<bool>(object_); }

    // Warnings Metal reported while compiling (empty when none).
    const std::string& compile_log() const noexcept { return log_; }

    std::vector<std::string> function_names() const {
        autorelease_pool pool;  // functionNames is autoreleased
        return string_array(msg_send<id()>(object_, "functionNames"));
    }

    // The function `name`, specialised with `constants` if any, with its compute pipeline state.
    pymetal::kernel kernel(std::string_view name, const function_constants& constants = {}) const {
        if (!object_) throw error("pymetal: kernel lookup in an empty library handle");
        autorelease_pool pool;  // NSErrors come back autoreleased
        object ns_name = make_string(name);
        object function;
        if (constants.empty()) {
            function = object::adopt(msg_send<id(id)>(object_, "newFunctionWithName:", ns_name.get()));
        } else {
            object values = constants.make_native();
            id ns_error = nullptr;
            function = object::adopt(msg_send<id(id, id, id*)>(object_, "newFunctionWithName:constantValues:error:",
                                                                 ns_name.get(), values.get(), &ns_error));
            if (!function && ns_error) {
                objc_error e = make_objc_error(ns_error);
                if (!(e.domain() == library_error_domain &&
                      e.code() == static_cast<long>(library_error::function_not_found)))
                    throw e;
            }
        }
        if (!function) throw function_not_found(std::string(name), function_names());

        id ns_error = nullptr;
        object pipeline = object::adopt(msg_send<id(id, id*)>(device_->device, "newComputePipelineStateWithFunction:error:",
                                                              function.get(), &ns_error));
        if (!pipeline) {
            if (ns_error) throw make_objc_error(ns_error);
            throw error("pymetal: Metal could not make a compute pipeline for '" + std::string(name) + "'");
        }
        return pymetal::kernel(device_, std::move(function), std::move(pipeline), std::string(name));
    }

private:
    friend class device;
    library(std::shared_ptr<detail::device_state> device, object mtl_library, std::string log)
        : device_(std::move(device)), object_(std::move(mtl_library)), log_(std::move(log)) {}

    std::shared_ptr<detail::device_state> device_;
    object object_;
    std::string log_;
};

}  // namespace pymetal
