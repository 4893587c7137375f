// Stage 2 of the compiler: preprocessed MSL -> C++ for OpenCL source for clang, plus what the loader
// needs to know.
//
// What the library contains (kernels, instantiations, function constants, bindings) is read from the
// preprocessed text. What clang compiles is the user's own text under `#line N "program_source"`,
// lightly edited (threadgroup variables moved to the group's arena, function constants given their
// values, MSL attributes blanked), so clang's line:column point into the user's MSL; address spaces
// and the other MSL keywords are macros of the prelude (msl_keywords.h). A generated kernel table
// follows (see kernel_entry.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/compiler.hpp"
#include "compiler/msl_preprocessor.hpp"
#include "compiler/operand_repair.hpp"

namespace softmetal {
namespace detail {

struct translation {
    bool ok = false;
    std::string cpp;  // the translated C++ (valid when ok)
    std::string cpp_fibers; // non-empty when `cpp` splits barrier kernels into regions: the same without that
    std::string log;  // translator diagnostics, "program_source:L:C: error: ..."
    std::vector<std::string> kernel_names;            // exported names, table order
    std::vector<bool> meets_threads;                  // per kernel_names entry: it meets other threads (barriers, SIMD-group functions)
    std::vector<size_t> split_bytes;                  // per kernel_names entry: its split function's text (0: none)
    std::vector<function_constant_info> constants;    // declared function constants
    // Which partial specialisation of a type some split kernel means, asked of the compiler
    // (specialisation_choice.hpp): code to compile after the fiber-only source; the kernels that
    // asked stay on fibers until translate_msl is given the answers.
    std::vector<std::string> specialisation_probes;
    // Set by a compile attempt whose split source did not build although the fiber-only one does: the
    // kernels clang's errors concern -> the first error for each; the next translation leaves their
    // split out (translate_msl's `unsplit`).
    std::map<std::string, std::string> split_failed;
};

// `source` has been through preprocess_msl (stage 1). `repairs`: operands an earlier compile
// found refused for MSL conversions C++ lacks (operand_repair.hpp), wrapped so they convert as in MSL.
// `specialisation_choices`: the compiler's answers to an earlier translation's specialisation_probes.
// `unsplit`: kernels (by name) whose split function did not build before, each with clang's error:
// they keep their fiber (or plain) form, with a remark saying why.
translation translate_msl(const preprocessed_msl &source, const compile_options &options,
                          const std::vector<function_constant_value> &constants,
                          const std::vector<operand_repair> &repairs = {},
                          const std::map<std::string, int> &specialisation_choices = {},
                          const std::map<std::string, std::string> &unsplit = {});

} // namespace detail
} // namespace softmetal
