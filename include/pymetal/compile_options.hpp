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

#include <cstdint>
#include <string>
#include <utility>

#include "detail/packed_records.hpp"
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
        // Each macro: its kind, its name, then its text or its number's bits.
        macros_.add_number(text_macro);
        macros_.add_text(name);
        macros_.add_text(value);
        ++macro_count_;
        return *this;
    }
    /// Defines macro `name` as the text `value`.
    compile_options& define(std::string name, const char* value) { return define(std::move(name), std::string(value)); }
    /// Defines macro `name` as the integer `value`.
    compile_options& define(std::string name, long long value) {
        macros_.add_number(number_macro);
        macros_.add_text(name);
        macros_.add_number(static_cast<std::uint64_t>(value));
        ++macro_count_;
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
            // Filled one macro at a time (a later definition of a name replaces an earlier one), with no
            // array of ids to build first.
            static const Class dictionary_class = class_named("NSMutableDictionary");
            object dictionary = object::adopt(msg_send<id(ns_uinteger)>(msg_send<id()>(dictionary_class, "alloc"),
                                                                        "initWithCapacity:", macro_count_));
            if (!dictionary) throw error("pymetal: Foundation could not create an NSMutableDictionary");
            autorelease_pool pool;  // for whatever the dictionary's setter autoreleases
            for (detail::packed_records::reader r = macros_.read(); !r.done();) {
                const bool is_number = r.number() == number_macro;
                object key = make_string(r.text());
                object value = is_number ? make_number(static_cast<long long>(r.number())) : make_string(r.text());
                msg_send<void(id, id)>(dictionary, "setObject:forKey:", value.get(), key.get());  // copies the key
            }
            msg_send<void(id)>(options, "setPreprocessorMacros:", dictionary.get());  // copied by the setter
        }
        return options;
    }

private:
    // Plain members rather than std::optional and std::variant: those headers cost every translation
    // unit that includes metal.hpp compile time, for three fields.
    enum class setting : unsigned char { unset, off, on };
    static constexpr std::uint64_t text_macro = 0, number_macro = 1;
    setting fast_math_ = setting::unset;
    bool has_language_version_ = false;
    ns_uinteger language_version_ = 0;
    detail::packed_records macros_;  // not a std::vector of structs: see packed_records.hpp
    ns_uinteger macro_count_ = 0;
};

}  // namespace pymetal
