// Stage 1a of the compiler: splits MSL source into tokens that remember where they came from.
//
// The translator rewrites the source in place (mostly with same-length edits), so tokens carry byte
// offsets plus the 1-based line and column clang will later report; comments and whitespace are not
// tokens but stay in the text.
#pragma once

#include <string>
#include <utility>
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

// Tokens of clang -E output placed back in the user's source. Clang's line markers (`# N "file"`) say
// which user line each line is; a token's column is where its spelling appears on that user line,
// searching on from the previous token of the line (clang -E keeps tokens but not spacing, and a long
// line costs its length once); a token not spelled there came from a macro, whose use starts the
// line's code. Rewrites line and column of every token outside directives.
struct user_positions {
    std::vector<bool> in_user_file;              // per token: from "program_source" (not the command line)
    std::vector<std::pair<size_t, int>> pragmas; // the user's #pragma lines: the '#' token, its user line
};
user_positions map_to_user_positions(const std::string &preprocessed, std::vector<token> &toks, const std::string &user_source);

// The lines of `text`, without their '\n' (a text ending in '\n' ends with an empty line).
std::vector<std::string> split_lines(const std::string &text);

} // namespace detail
} // namespace softmetal
