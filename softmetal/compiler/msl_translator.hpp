// Stage 1 of the compiler: MSL source -> C++ source for clang, plus what the loader needs to know.
//
// The user's text is kept in place under `#line N "program_source"` and edited mostly with
// same-length replacements (address-space keywords become blanks or `const`, MSL attributes become
// blanks), so clang's line:column point into the user's MSL. Each kernel gets a hidden last
// parameter (the group) and a generated entry in the module's kernel table (see kernel_entry.h).
#pragma once

#include <string>
#include <vector>

#include "compiler/compiler.hpp"

namespace softmetal {
namespace detail {

struct translation {
    bool ok = false;
    std::string cpp;  // the translated C++ (valid when ok)
    std::string cpp_fibers; // non-empty when `cpp` splits barrier kernels into regions: the same without that
    std::string log;  // translator diagnostics, "program_source:L:C: error: ..."
    std::vector<std::string> kernel_names;            // exported names, table order
    std::vector<function_constant_info> constants;    // declared function constants
};

translation translate_msl(const std::string &msl_source, const compile_options &options,
                          const std::vector<function_constant_value> &constants);

} // namespace detail
} // namespace softmetal
