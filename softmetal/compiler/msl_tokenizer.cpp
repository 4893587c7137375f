#include "compiler/msl_tokenizer.hpp"

#include <cstdlib>
#include <string_view>

namespace softmetal {
namespace detail {

namespace {
// Bytes of UTF-8 sequences count as identifier characters: MSL, like C++, allows non-ASCII names.
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (static_cast<unsigned char>(c) & 0x80); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
} // namespace

std::vector<token> tokenize_msl(const std::string &s) {
    std::vector<token> out;
    size_t i = 0, n = s.size();
    int line = 1;
    size_t line_start = 0;
    bool at_line_start = true; // only whitespace so far on this line
    bool in_directive = false;

    auto newline = [&](size_t pos) {
        ++line;
        line_start = pos + 1;
        at_line_start = true;
    };
    while (i < n) {
        char c = s[i];
        if (c == '\n') {
            // A backslash-newline continues a directive.
            size_t k = i;
            while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r')) --k;
            if (!(k > 0 && s[k - 1] == '\\')) in_directive = false;
            newline(i);
            ++i;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\\') {
            ++i;
            continue;
        }
        if (c == '/' && i + 1 < n && s[i + 1] == '/') {
            while (i < n && s[i] != '\n') ++i;
            continue;
        }
        if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            i += 2;
            while (i < n && !(s[i] == '*' && i + 1 < n && s[i + 1] == '/')) {
                if (s[i] == '\n') {
                    newline(i);
                    at_line_start = false;
                }
                ++i;
            }
            i = i + 2 < n ? i + 2 : n;
            continue;
        }
        token t{};
        t.offset = i;
        t.line = line;
        t.column = int(i - line_start) + 1;
        if (c == '#' && at_line_start) {
            in_directive = true;
            t.directive_start = true;
        }
        t.in_directive = in_directive;
        at_line_start = false;
        if (is_ident_start(c)) {
            while (i < n && is_ident_char(s[i])) ++i;
            t.kind = token_kind::identifier;
        } else if (is_digit(c) || (c == '.' && i + 1 < n && is_digit(s[i + 1]))) {
            bool hex = c == '0' && i + 1 < n && (s[i + 1] == 'x' || s[i + 1] == 'X');
            while (i < n) {
                char d = s[i];
                if (is_ident_char(d) || d == '.' || d == '\'') {
                    ++i;
                } else if ((d == '+' || d == '-') && i > t.offset &&
                           ((!hex && (s[i - 1] == 'e' || s[i - 1] == 'E')) || (hex && (s[i - 1] == 'p' || s[i - 1] == 'P')))) {
                    ++i;
                } else {
                    break;
                }
            }
            t.kind = token_kind::number;
        } else if (c == '"' || c == '\'') {
            char q = c;
            ++i;
            while (i < n && s[i] != q && s[i] != '\n') {
                if (s[i] == '\\' && i + 1 < n) ++i;
                ++i;
            }
            if (i < n && s[i] == q) ++i;
            t.kind = q == '"' ? token_kind::string : token_kind::character;
        } else if ((c == ':' && i + 1 < n && s[i + 1] == ':') || (c == '-' && i + 1 < n && s[i + 1] == '>')) {
            i += 2;
            t.kind = token_kind::punct;
        } else if (c == '.' && i + 2 < n && s[i + 1] == '.' && s[i + 2] == '.') {
            // `...` (a pack, a GNU range designator `[0 ... N-1]`): one token, so the name after it is
            // not read as a member (`. NQ`) and is renamed with the others where a helper is inlined.
            i += 3;
            t.kind = token_kind::punct;
        } else {
            ++i;
            t.kind = token_kind::punct;
        }
        t.length = i - t.offset;
        out.push_back(t);
    }
    return out;
}

user_positions map_to_user_positions(const std::string &preprocessed, std::vector<token> &toks, const std::string &user_source) {
    std::vector<size_t> line_starts = {0};
    for (size_t i = 0; i < user_source.size(); ++i)
        if (user_source[i] == '\n') line_starts.push_back(i + 1);
    user_positions out;
    out.in_user_file.assign(toks.size(), false);
    int delta = 0; // user line = preprocessed line + delta
    bool user_file = false;
    int cursor_line = -1;
    size_t cursor = 0;
    for (size_t i = 0; i < toks.size(); ++i) {
        token &t = toks[i];
        if (t.directive_start && i + 2 < toks.size() && toks[i + 1].kind == token_kind::number &&
            toks[i + 2].kind == token_kind::string && toks[i + 1].line == t.line) {
            const long marked = std::strtol(preprocessed.c_str() + toks[i + 1].offset, nullptr, 10);
            user_file = preprocessed.compare(toks[i + 2].offset, toks[i + 2].length, "\"program_source\"") == 0;
            delta = int(marked) - (t.line + 1);
            continue;
        }
        if (t.directive_start && user_file && i + 1 < toks.size() &&
            preprocessed.compare(toks[i + 1].offset, toks[i + 1].length, "pragma") == 0)
            out.pragmas.push_back({i, t.line + delta});
        if (t.in_directive) continue;
        out.in_user_file[i] = user_file;
        const int line = t.line + delta;
        t.line = line;
        t.column = 1;
        if (line < 1 || size_t(line) > line_starts.size()) continue;
        const size_t b = line_starts[size_t(line) - 1];
        const size_t e = size_t(line) < line_starts.size() ? line_starts[size_t(line)] : user_source.size();
        const std::string_view text = std::string_view(user_source).substr(b, e - b);
        const std::string_view spelling = std::string_view(preprocessed).substr(t.offset, t.length);
        if (line != cursor_line) {
            cursor_line = line;
            cursor = 0;
        }
        size_t at = text.find(spelling, cursor);
        if (at == std::string::npos) at = text.find_first_not_of(" \t");
        else cursor = at + spelling.size();
        if (at != std::string::npos) t.column = int(at) + 1;
    }
    return out;
}

std::vector<std::string> split_lines(const std::string &text) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

} // namespace detail
} // namespace softmetal
