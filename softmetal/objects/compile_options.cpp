#include "objects/compile_options.hpp"

#include "objects/class_registry.hpp"

namespace softmetal::objects {

using pymetal::msg_send;

namespace {

compile_options_state& state(id self) {
    auto* existing = pymetal::state_of<compile_options_state>(self);
    if (!existing) {
        // Instances come from +alloc/-init (NSObject's), not from softmetal: state is created on first use.
        existing = new compile_options_state;
        pymetal::set_state(self, existing);
    }
    return *existing;
}

// The newest MSL version softmetal reports when none was set: 3.2.
constexpr ns_uinteger newest_language_version = pymetal::language_version(3, 2);

// A macro value's replacement text: NSString as is, NSNumber (or anything else answering stringValue)
// as its stringValue, as Metal does.
std::string macro_text(id value) {
    if (is_kind_of(value, "NSString")) return string_text(value);
    if (msg_send<objc_bool(SEL)>(value, "respondsToSelector:", pymetal::selector("stringValue")))
        return string_text(msg_send<id>(value, "stringValue"));
    return string_text(msg_send<id>(value, "description"));
}

}  // namespace

softmetal::compile_options to_compile_options(id options) {
    softmetal::compile_options result;
    if (!options || pymetal::detail::runtime().object_get_class(options) != classes().compile_options) return result;
    const compile_options_state& s = state(options);
    // Relaxed is fast math that keeps infinities and NaNs, which is what the compiler's fast math is
    // (clang_driver.cpp's compile_flags says why Fast keeps them too).
    result.fast_math = s.math_mode == math_mode_fast || s.math_mode == math_mode_relaxed;
    result.language_version = s.language_version;
    if (id macros = s.preprocessor_macros.get()) {
        pymetal::autorelease_pool pool;
        id keys = msg_send<id>(macros, "allKeys");
        const ns_uinteger count = pymetal::array_count(keys);
        for (ns_uinteger i = 0; i < count; ++i) {
            id key = pymetal::array_at(keys, i);
            id value = msg_send<id(id)>(macros, "objectForKey:", key);
            result.macros.emplace_back(string_text(key), macro_text(value));
        }
    }
    return result;
}

Class register_compile_options_class() {
    pymetal::class_builder builder("MTLCompileOptions");
    builder.state<compile_options_state>();
    builder.method("fastMathEnabled", [](id self, SEL) -> objc_bool { return state(self).math_mode == math_mode_fast ? yes : no; });
    builder.method("setFastMathEnabled:", [](id self, SEL, objc_bool enabled) {
        state(self).math_mode = enabled ? math_mode_fast : math_mode_safe;
    });
    builder.method("mathMode", [](id self, SEL) -> ns_integer { return state(self).math_mode; });
    builder.method("setMathMode:", [](id self, SEL, ns_integer mode) { state(self).math_mode = mode; });
    builder.method("mathFloatingPointFunctions",
                   [](id self, SEL) -> ns_integer { return state(self).math_floating_point_functions; });
    builder.method("setMathFloatingPointFunctions:",
                   [](id self, SEL, ns_integer functions) { state(self).math_floating_point_functions = functions; });
    builder.method("languageVersion", [](id self, SEL) -> ns_uinteger {
        const ns_uinteger version = state(self).language_version;
        return version ? version : newest_language_version;
    });
    builder.method("setLanguageVersion:", [](id self, SEL, ns_uinteger version) { state(self).language_version = version; });
    builder.method("preprocessorMacros", [](id self, SEL) -> id { return state(self).preprocessor_macros.get(); });
    builder.method("setPreprocessorMacros:", [](id self, SEL, id macros) {
        // Copied, as Metal's property is: later changes to a mutable dictionary do not leak in.
        state(self).preprocessor_macros = pymetal::object::adopt(macros ? msg_send<id>(macros, "copy") : nullptr);
    });
    builder.method("optimizationLevel", [](id self, SEL) -> ns_integer { return state(self).optimization_level; });
    builder.method("setOptimizationLevel:", [](id self, SEL, ns_integer level) { state(self).optimization_level = level; });
    return builder.register_class();
}

}  // namespace softmetal::objects
