// MSL converts a scalar operand to the element type of the vector it meets (`half4 * 2.0f`,
// `uchar4 + 1`); C++ for OpenCL refuses when the scalar's type ranks above the element's ("scalar
// operand type has greater rank than the type of the vector element"). Which operand is the scalar
// is a question of types, which only the compiler knows, so the compiler answers it: clang's errors,
// with their source ranges, name each such operand; the translator wraps it in the prelude's
// `::sm::loose(...)` (metal_types.h) and the library is compiled again. Sources that compile the first
// time never pay for this.
#pragma once

#include <string>
#include <vector>

namespace softmetal {
namespace detail {

// [start, end) in the user's source, 1-based lines and byte columns, as clang's range info gives them.
struct source_range {
    int line = 0, column = 0, end_line = 0, end_column = 0;
    bool operator<(const source_range &o) const;
    bool operator==(const source_range &o) const;
};

// The scalar operands of those errors in clang's raw output (compiled with
// -fdiagnostics-print-source-range-info) for `compiled`, the translated text, each once, in the user's
// source only. Clang gives ranges in the compiled file's own lines; its #line directives (the
// translator's, which keep each token's column) say which user line each one is.
std::vector<source_range> scalar_operands_to_loosen(const std::string &clang_output, const std::string &compiled);

// The output without the `{L:C-L:C}` ranges clang prints after a diagnostic's location.
std::string strip_source_ranges(const std::string &clang_output);

} // namespace detail
} // namespace softmetal
