// SOFTMETAL_REMARKS=1: why a kernel's threads were or were not vectorized, from clang's optimization
// record (-fsave-optimization-record, loop-vectorize pass), told per kernel in the library's log.
#pragma once

#include <string>

namespace softmetal {
namespace detail {

// From the YAML record of one build: one "program_source:LINE: remark: kernel 'k': ..." line per
// loop of each kernel's group function (its thread loop, or a region's, and the kernel's own loops).
std::string vectorization_report(const std::string &optimization_record);

} // namespace detail
} // namespace softmetal
