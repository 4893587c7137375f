/// \file
/// pymetal::compile_options: how Metal compiles MSL source (MTLCompileOptions). Anything not set keeps
/// Metal's default (fast math on, the newest language version, no macros).
///
/// \code
///   device.compile(source, pymetal::compile_options()
///                              .fast_math(false)
///                              .language_version(3, 0)
///                              .define("TILE", 16)            // #define TILE 16
///                              .define("ACTIVATION", "relu")) // #define ACTIVATION relu
/// \endcode
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "foundation.hpp"
#include "metal_types.hpp"
#include "object.hpp"

namespace pymetal {

/// Options for device::compile (MTLCompileOptions): fast math, language version, preprocessor macros. A plain
/// value; each setter returns *this for chaining.
class compile_options {
public:
    /// Whether the compiler may use fast math (default on, as in Metal).
    compile_options& fast_math(bool enabled) {
        fast_math_ = enabled;
        return *this;
    }
    /// The MSL version, e.g. (3, 1); throws compile_error for one Metal does not have.
    compile_options& language_version(unsigned major, unsigned minor) {
        language_version_ = pymetal::language_version(major, minor);
        return *this;
    }
    /// A preprocessor macro with a string value (inserted as written), or an integer one.
    compile_options& define(std::string name, std::string value) {
        macros_.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    /// Defines macro `name` as the text `value`.
    compile_options& define(std::string name, const char* value) { return define(std::move(name), std::string(value)); }
    /// Defines macro `name` as the integer `value`.
    compile_options& define(std::string name, long long value) {
        macros_.emplace_back(std::move(name), value);
        return *this;
    }
    /// Defines macro `name` as the integer `value`.
    compile_options& define(std::string name, int value) { return define(std::move(name), static_cast<long long>(value)); }
    /// Defines macro `name` as the integer `value`.
    compile_options& define(std::string name, unsigned value) { return define(std::move(name), static_cast<long long>(value)); }
    /// Defines macro `name` as the integer `value`.
    compile_options& define(std::string name, long value) { return define(std::move(name), static_cast<long long>(value)); }
    /// `#define name 1`, as -Dname does.
    compile_options& define(std::string name) { return define(std::move(name), 1LL); }

    /// A new MTLCompileOptions, or nil when everything is left at Metal's defaults.
    object make_native() const {
        if (!fast_math_ && !language_version_ && macros_.empty()) return {};
        static const Class options_class = class_named("MTLCompileOptions");
        object options = object::adopt(msg_send<id()>(options_class, "new"));
        if (!options) throw error("pymetal: Metal could not create MTLCompileOptions");
        if (fast_math_) msg_send<void(objc_bool)>(options, "setFastMathEnabled:", static_cast<objc_bool>(*fast_math_));
        if (language_version_) msg_send<void(ns_uinteger)>(options, "setLanguageVersion:", *language_version_);
        if (!macros_.empty()) {
            std::vector<std::pair<object, object>> entries;
            for (const auto& [name, value] : macros_) {
                object key = make_string(name);
                object text = std::holds_alternative<std::string>(value) ? make_string(std::get<std::string>(value))
                                                                         : make_number(std::get<long long>(value));
                entries.emplace_back(std::move(key), std::move(text));
            }
            object dictionary = make_dictionary(entries);  // copied by the setter
            msg_send<void(id)>(options, "setPreprocessorMacros:", dictionary.get());
        }
        return options;
    }

private:
    std::optional<bool> fast_math_;
    std::optional<ns_uinteger> language_version_;
    std::vector<std::pair<std::string, std::variant<std::string, long long>>> macros_;
};

}  // namespace pymetal
