// MTLCompileOptions (Apple's public class name: callers create it with alloc/init or new): fast math,
// language version and preprocessor macros, turned into the compiler's compile_options.
#pragma once

#include "compiler/compiler.hpp"
#include "objects/foundation_values.hpp"

namespace softmetal::objects {

// MTLMathMode.
inline constexpr ns_integer math_mode_safe = 0;
inline constexpr ns_integer math_mode_relaxed = 1;  // fast math that keeps Inf and NaN
inline constexpr ns_integer math_mode_fast = 2;

struct compile_options_state {
    ns_integer math_mode = math_mode_fast;  // Metal's default: fast math on
    ns_integer math_floating_point_functions = 0;  // MTLMathFloatingPointFunctionsFast
    ns_uinteger language_version = 0;       // 0: not set, the newest is used
    ns_integer optimization_level = 0;      // MTLLibraryOptimizationLevelDefault
    pymetal::object preprocessor_macros;    // an NSDictionary copy, or nil
};

// The compiler's options for an MTLCompileOptions object (nil: Metal's defaults).
softmetal::compile_options to_compile_options(id options);

}  // namespace softmetal::objects
