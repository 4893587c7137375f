// SOFTMETAL_REMARKS=1: why the source with kernels split into barrier regions or SIMD lanes
// (barrier_regions.hpp, lane_loops.hpp) did not build, from clang's own output. The compiler then
// translates the library again without the split of the kernels the errors concern
// (split_failure_kernels; each gets a remark of its own), or, when it cannot tell which, quietly builds
// the fiber-only source, whose diagnostics are the user's; without these remarks the split's errors,
// which are softmetal's (a shape the split misjudged), are never seen.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace softmetal {
namespace detail {

// Lines "softmetal: remark: ..." (each ending in '\n'): the kernels concerned (split_failure_kernels;
// every split kernel when it says of none), then clang's first `max_errors` error lines
// (file:line:col: error: message, each cut at 400 characters) and how many more there were.
// `clang_output` is clang's output for `split_cpp`, the split source.
std::string split_failure_remark(const std::string &clang_output, const std::string &split_cpp,
                                 std::size_t max_errors = 20);

// The kernels clang's errors for the split source concern, each with its first error line (file:line:col:
// error: message, cut at 400 characters): those whose split function holds an error's line of
// program_source, with the text clang shows for it where it shows one, or, when no line tells, those
// whose `sm_regions_<kernel>` function the output names (with its first error). Empty when it says of none: then
// no kernel can be told from the others. (The compiler translates the library again without those
// kernels' split: compiler.cpp, retry_without_failed_splits.)
std::map<std::string, std::string> split_failure_kernels(const std::string &clang_output, const std::string &split_cpp);

} // namespace detail
} // namespace softmetal
