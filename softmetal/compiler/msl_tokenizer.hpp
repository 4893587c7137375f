// Stage 1a of the compiler: splits MSL source into tokens that remember where they came from.
//
// The translator rewrites the source in place (mostly with same-length edits), so tokens carry byte
// offsets plus the 1-based line and column clang will later report; comments and whitespace are not
// tokens but stay in the text.
#pragma once

#include <string>
#include <vector>

namespace softmetal {
namespace detail {

enum class token_kind { identifier, number, string, character, punct };

struct token {
    token_kind kind;
    size_t offset;
    size_t length;
    int line;
    int column;
    bool in_directive;    // part of a preprocessor line (including its leading '#')
    bool directive_start; // the '#' that begins a preprocessor line
};

// Never fails: unknown bytes become one-character punctuation tokens for the parser to reject.
std::vector<token> tokenize_msl(const std::string &source);

} // namespace detail
} // namespace softmetal
