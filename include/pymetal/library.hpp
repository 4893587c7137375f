/// \file
/// pymetal::library: compiled MSL (an MTLLibrary), made by device::compile. Kernels come out of it by name.
///
/// \code
///   auto lib = device.compile(source);                       // throws compile_error with line/column
///   auto add = lib.kernel("add");                            // throws function_not_found, listing names
///   auto blur = lib.kernel("blur", pymetal::function_constants().set(0, 5u));
/// \endcode
///
/// Thread safety: a library is immutable once compiled; kernel() may be called from several threads at
/// once (Metal's MTLLibrary and MTLDevice are thread-safe). Copies share the one MTLLibrary.
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

/// One MTLLibrary: compiled or loaded kernels, made by device::compile, device::load_library or
/// device::default_library. A reference-counted handle, shared between threads.
class library {
public:
    library() noexcept = default;

    /// The MTLLibrary (not retained), nullptr when empty.
    id native() const noexcept { return object_.get(); }
    /// Whether this handle holds a library.
    explicit operator bool() const noexcept { return static_cast<bool>(object_); }

    /// Warnings Metal reported while compiling (empty when none).
    const std::string& compile_log() const noexcept { return log_; }

    /// The names of the library's functions (functionNames).
    std::vector<std::string> function_names() const {
        autorelease_pool pool;  // functionNames is autoreleased
        return string_array(msg_send<id()>(object_, "functionNames"));
    }

    /// The function `name`, specialised with `constants` if any, with its compute pipeline state.
    /// The constants are checked against the function's declarations first (functionConstantsDictionary),
    /// by Metal's rules: a value is matched by index, then by name; one that matches nothing is ignored;
    /// a wrong type or a missing required constant throws function_constant_error naming the constant.
    pymetal::kernel kernel(std::string_view name, const function_constants& constants = {}) const {
        if (!object_) throw error("pymetal: kernel lookup in an empty library handle");
        autorelease_pool pool;  // NSErrors and the reflection come back autoreleased
        object ns_name = make_string(name);
        // Not specialised: cheap on every Metal, and it reflects the declared constants.
        object function = object::adopt(msg_send<id(id)>(object_, "newFunctionWithName:", ns_name.get()));
        if (!function) throw function_not_found(std::string(name), function_names());
        // Each declared constant is checked as it is read: no std::vector<declared_constant>, whose
        // members every program that looks up a kernel would otherwise compile (issue #14).
        id declared = detail::declared_constant_array(function.get());
        const ns_uinteger declared_count = declared ? array_count(declared) : 0;
        for (ns_uinteger i = 0; i < declared_count; ++i)
            constants.check_constant(std::string(name), detail::declared_constant_of(array_at(declared, i)));
        if (declared_count > 0) {
            object values = constants.make_native();
            id ns_error = nullptr;
            function = object::adopt(msg_send<id(id, id, id*)>(object_, "newFunctionWithName:constantValues:error:",
                                                                 ns_name.get(), values.get(), &ns_error));
            if (!function) {
                if (ns_error) throw make_objc_error(ns_error);
                throw function_not_found(std::string(name), function_names());
            }
        }

        // Argument information and buffer type sizes, for the checks made before each dispatch.
        constexpr ns_uinteger argument_info = 1, buffer_type_info = 2;
        id ns_error = nullptr, reflection = nullptr;
        object pipeline = object::adopt(msg_send<id(id, ns_uinteger, id*, id*)>(
            device_->device, "newComputePipelineStateWithFunction:options:reflection:error:", function.get(),
            argument_info | buffer_type_info, &reflection, &ns_error));
        if (!pipeline) {
            if (ns_error) throw make_objc_error(ns_error);
            throw error("pymetal: Metal could not make a compute pipeline for '" + std::string(name) + "'");
        }
        return pymetal::kernel(device_, std::move(function), std::move(pipeline), std::string(name),
                               detail::read_reflection(reflection));
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
