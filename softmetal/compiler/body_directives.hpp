// Preprocessor lines inside kernel bodies, for the split at barriers (barrier_regions.hpp).
//
// The splitter reads the translated text, which is the user's own text with its directives still in
// it (the analysis read clang -E's output, the rewrite edits the user's text). A body with
// `#ifndef GGML_METAL_HAS_TENSOR ... #else ... #endif` (ggml's mul_mm) holds the code of both arms, and
// one with `#define NWG (FC_nwg) ... #undef NWG` (ggml's flash-attention reduce) uses a macro that the
// split function, emitted after the whole program, would no longer see. Both are made plain here:
// - the conditional groups whose live arm the preprocessor's own output shows are resolved (the other
//   arms and the directive lines blanked, newlines kept, so every offset and line stays where it was);
// - the object-like macros a body defines are expanded at their uses in that body, and their
//   `#define`/`#undef` lines blanked.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace softmetal {
namespace detail {

// `translated` with each conditional group (`#if`, `#ifdef`, `#ifndef`, `#elif`, `#else`, `#endif`)
// resolved whose live arm is certain: the arm holding a token on one of `active_lines` (the user lines
// clang -E kept, the translator's active_lines) is live and the others are not; an arm with no token
// kept and no `#define`/`#undef` in it produces nothing either way, so it is blanked too. A group with
// an arm that cannot be decided (directives only, or a `#line` the rewrite put inside it) is left as
// it is. Same length as `translated`, newlines where they were. Lines are counted as clang counts
// them, following the text's own `#line` directives; text under another file name is never active.
std::string resolve_conditionals(const std::string &translated, const std::set<int> &active_lines);

// One replacement of text [offset, offset + length).
struct text_edit {
    size_t offset, length;
    std::string text;
};

// The edits that make the body between `body_open` and `body_close` ('{' and '}' offsets in `text`) free
// of `#define`/`#undef` lines: each object-like macro the body defines is expanded at its uses in the
// body after its definition and before its `#undef` (macros its replacement names that the body also
// defines are expanded there too, as the preprocessor would at that use), and the directive lines are
// blanked. Empty when the body defines nothing. False, with `why`, when a definition is one this does
// not read: a function-like macro, a name defined twice, a use of the name before its definition
// (which would mean an outer definition), a use inside another directive line.
bool body_macro_edits(const std::string &text, size_t body_open, size_t body_close, std::vector<text_edit> &edits, std::string &why);

} // namespace detail
} // namespace softmetal
