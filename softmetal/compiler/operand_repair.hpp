// Operands that MSL accepts and C++ for OpenCL refuses for reasons of type, which only the compiler
// knows; so the compiler answers: clang's errors, with their source ranges, name each such operand,
// the translator wraps it in a prelude helper, and the library is compiled again. Sources that
// compile the first time never pay for this. Two kinds:
// - loose_scalar: MSL converts a scalar operand to the element type of the vector it meets
//   (`half4 * 2.0f`, `uchar4 + 1`); clang refuses when the scalar's type ranks above the element's
//   ("scalar operand type has greater rank than the type of the vector element"). Wrapped in
//   `::sm::loose(...)` (metal_types.h), whose operators convert as MSL does.
// - thread_temporary: an argument that must be converted to bind a `thread const T&` parameter
//   (an `int` passed as `thread const short&`, as candle's GEMM does). MSL makes the temporary in
//   thread memory; clang makes it outside `__private` and refuses ("cannot bind to a temporary
//   object because of address space mismatch"). Wrapped in `::sm::thread_temporary(...)`
//   (metal_types.h), which converts to the parameter's type in storage of its own.
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

enum class repair_kind { loose_scalar, thread_temporary };

struct operand_repair {
    source_range range;
    repair_kind kind = repair_kind::loose_scalar;
    bool operator<(const operand_repair &o) const;
    bool operator==(const operand_repair &o) const;
};

// Starts a line of the translated text whose columns are not the user's (lane_loops.hpp's line_sync):
// no repair is read there.
constexpr const char *columns_not_kept = "/*softmetal:columns-not-kept*/";

// What the translator writes before the operand (a ")" closes it).
const char *repair_opening(repair_kind kind);

// The operands of those errors in clang's raw output (compiled with
// -fdiagnostics-print-source-range-info) for `compiled`, the translated text, each once, in the user's
// source only. Clang gives ranges in the compiled file's own lines; its #line directives (the
// translator's, which keep each token's column) say which user line each one is.
std::vector<operand_repair> operand_repairs(const std::string &clang_output, const std::string &compiled);

// The output without the `{L:C-L:C}` ranges clang prints after a diagnostic's location.
std::string strip_source_ranges(const std::string &clang_output);

} // namespace detail
} // namespace softmetal
