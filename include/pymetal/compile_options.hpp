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

#include <string>
#include <utility>
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
        fast_math_ = enabled ? setting::on : setting::off;
        return *this;
    }
    /// The MSL version, e.g. (3, 1); throws compile_error for one Metal does not have.
    compile_options& language_version(unsigned major, unsigned minor) {
        language_version_ = pymetal::language_version(major, minor);
        has_language_version_ = true;
        return *this;
    }
    /// A preprocessor macro with a string value (inserted as written), or an integer one.
    compile_options& define(std::string name, std::string value) {
        macros_.push_back(macro{std::move(name), std::move(value), 0, false});
        return *this;
    }
    /// Defines macro `name` as the text `value`.
    compile_options& define(std::string name, const char* value) { return define(std::move(name), std::string(value)); }
    /// Defines macro `name` as the integer `value`.
    compile_options& define(std::string name, long long value) {
        macros_.push_back(macro{std::move(name), std::string(), value, true});
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
        if (fast_math_ == setting::unset && !has_language_version_ && macros_.empty()) return {};
        static const Class options_class = class_named("MTLCompileOptions");
        object options = object::adopt(msg_send<id()>(options_class, "new"));
        if (!options) throw error("pymetal: Metal could not create MTLCompileOptions");
        if (fast_math_ != setting::unset)
            msg_send<void(objc_bool)>(options, "setFastMathEnabled:", static_cast<objc_bool>(fast_math_ == setting::on));
        if (has_language_version_) msg_send<void(ns_uinteger)>(options, "setLanguageVersion:", language_version_);
        if (!macros_.empty()) {
            // Keys in the first half, values in the second: one vector of ids, the type the rest of the
            // header already uses, instead of a vector of object pairs compiled into every program.
            const std::size_t count = macros_.size();
            std::vector<id> keys_then_values(2 * count);
            autorelease_pool pool;  // holds the strings and numbers until the dictionary retains them
            for (std::size_t i = 0; i < count; ++i) {
                const macro& m = macros_[i];
                keys_then_values[i] = detail::autoreleased(make_string(m.name));
                keys_then_values[count + i] = detail::autoreleased(m.is_number ? make_number(m.number) : make_string(m.text));
            }
            object dictionary = detail::dictionary_of(keys_then_values.data() + count, keys_then_values.data(), count);
            msg_send<void(id)>(options, "setPreprocessorMacros:", dictionary.get());  // copied by the setter
        }
        return options;
    }

private:
    // Plain members rather than std::optional and std::variant: those headers cost every translation
    // unit that includes metal.hpp compile time, for three fields.
    enum class setting : unsigned char { unset, off, on };
    struct macro {
        std::string name;
        std::string text;       // the replacement text, unless is_number
        long long number = 0;
        bool is_number = false;
    };
    setting fast_math_ = setting::unset;
    bool has_language_version_ = false;
    ns_uinteger language_version_ = 0;
    std::vector<macro> macros_;
};

}  // namespace pymetal
