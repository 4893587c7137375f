// Turns clang's output into Metal-shaped diagnostics ("program_source:LINE:COL: error: ...").
//
// Lines pointing into the prelude or generated code are dropped, except errors: those are re-pinned
// to the nearest note that points into the user's source, or reported as a "softmetal: error:" line,
// so an error is never lost.
#pragma once

#include <string>

namespace softmetal {
namespace detail {

// `user_source` is the original MSL: source excerpts in the log show the user's text, not ours.
std::string filter_clang_output(const std::string &clang_output, bool compile_failed, int exit_code,
                                const std::string &user_source);

} // namespace detail
} // namespace softmetal
