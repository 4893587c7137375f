// Stage 1 of the compiler: the C preprocessor, run before anything reads the MSL.
//
// Kernels defined by macros, explicit instantiations spelled inside macros and code in `#if` arms are
// only visible after preprocessing, so the translator finds kernels in clang's preprocessed output
// (with its line markers, which give every token's user line). The source clang finally compiles is
// still the user's own text (stage 2 edits it lightly), so diagnostics keep exact columns and point
// at a macro's use, as Metal's do.
#pragma once

#include <string>

#include "compiler/clang_driver.hpp"
#include "compiler/compiler.hpp"

namespace softmetal {
namespace detail {

// The macros every MSL library sees before its first line (both when preprocessed here and when
// compiled): __METAL_VERSION__, the options' macros, and the OpenCL identification macros removed.
std::string msl_predefined_macros(const compile_options &options);

struct preprocessed_msl {
    bool ok = false;
    std::string prepared; // the user's source with `#include <metal_...>` lines blanked (same lines, same columns)
    std::string text;     // clang -E output of `prepared`, with line markers naming "program_source"
    std::string log;      // Metal-shaped diagnostics when !ok
};

// Refuses every #include / #import / #embed except Metal's own headers (kernel source is untrusted:
// it may not read the host's files), then preprocesses in the kernel language mode. `work_dir` is a
// private directory for the input file.
preprocessed_msl preprocess_msl(const std::string &source, const compile_options &options, const compiler_identity &cc,
                                const std::string &work_dir);

} // namespace detail
} // namespace softmetal
