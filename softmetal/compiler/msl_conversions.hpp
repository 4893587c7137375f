// Stage 1b helper: MSL's explicit conversions, written the C way, made to mean what Metal means.
//
// In MSL `(float4)h` and `float4(h)` with a `half4 h` convert each element's value, and so do casts
// through a typedef or a template parameter (`(q4_t)x`, `T4(x)`). Clang's vector extension, which
// softmetal's vectors are, reinterprets the bits of a same-size vector and refuses other sizes. The
// translator therefore writes every such cast as a call into the prelude (`::sm::msl_cast<T>(x)`,
// `::sm::msl_construct<T>(a, ...)`, metal_types.h), which converts the way Metal does and falls back
// to the C++ cast for anything that is not a vector.
//
// Literal vector names used as functions (`float4(a, b)`) are the prelude's macros already; what is
// found here is the rest: C-style casts to a type name, and functional casts through type names the
// source declares (typedef, using, template type parameters).
#pragma once

#include "compiler/msl_tokenizer.hpp"

#include <string>
#include <vector>

namespace softmetal {
namespace detail {

struct text_replacement {
    size_t offset;
    size_t length;
    std::string text;
};

// `code` lists the indices into `toks` of the tokens outside preprocessor lines, in source order.
std::vector<text_replacement> vector_conversion_edits(const std::string &source, const std::vector<token> &toks,
                                                      const std::vector<size_t> &code);

} // namespace detail
} // namespace softmetal
