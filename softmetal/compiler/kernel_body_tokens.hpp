// The tokens of one kernel body in the translated text, with the partner of every bracket, and the
// statement-level questions asked of them: what the barrier splitter and the helper inliner
// (barrier_regions.cpp) and the lane builder (lane_loops.cpp) read to rebuild a kernel. A
// preprocessor directive in the body other than the translator's own `#line` refuses it: its meaning
// is not in the tokens.
#pragma once

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "compiler/msl_tokenizer.hpp"

namespace softmetal {
namespace detail {

class kernel_body_tokens {
protected:
    static constexpr size_t none = static_cast<size_t>(-1);

    explicit kernel_body_tokens(const std::string &text) : s_(text) {}

    // Reads the tokens between the body's braces (offsets into the text); false, with why, when a
    // directive or unbalanced brackets stand in the way. `loop_pragmas`: a loop hint (`#pragma unroll`,
    // `#pragma clang loop ...`, `#pragma GCC unroll`: what ggml's FOR_UNROLL becomes) is no obstacle
    // to a reader that copies whole statements: inside a statement it is copied with it, before a
    // statement it is dropped, which changes only how the loop is unrolled.
    bool read_body(size_t body_open, size_t body_close, std::string &why, bool loop_pragmas = false) {
        const size_t base = body_open + 1;
        const std::string body = s_.substr(base, body_close - base);
        const std::vector<token> all = tokenize_msl(body);
        auto word = [&](size_t j, const char *w) { return j < all.size() && body.compare(all[j].offset, all[j].length, w) == 0; };
        for (size_t i = 0; i < all.size(); ++i) {
            token t = all[i];
            t.offset += base;
            if (t.in_directive) {
                const bool hint = loop_pragmas && word(i + 1, "pragma") &&
                                  (word(i + 2, "unroll") || word(i + 2, "nounroll") || (word(i + 2, "clang") && word(i + 3, "loop")) ||
                                   (word(i + 2, "GCC") && word(i + 3, "unroll")));
                if (t.directive_start && !hint && !word(i + 1, "line")) {
                    why = "a preprocessor directive inside the kernel body";
                    return false;
                }
                continue;
            }
            if (loop_pragmas) {
                const size_t hint_end = loop_hint_end(all, body, i);
                if (hint_end != none) {
                    i = hint_end - 1;
                    continue;
                }
            }
            toks_.push_back(t);
        }
        match_.assign(toks_.size(), none);
        std::vector<size_t> open;
        for (size_t i = 0; i < toks_.size(); ++i) {
            if (is(i, "(") || is(i, "[") || is(i, "{")) {
                open.push_back(i);
            } else if (is(i, ")") || is(i, "]") || is(i, "}")) {
                if (open.empty()) {
                    why = "unbalanced brackets";
                    return false;
                }
                match_[open.back()] = i;
                match_[i] = open.back();
                open.pop_back();
            }
        }
        if (!open.empty()) {
            why = "unbalanced brackets";
            return false;
        }
        return true;
    }

    // A loop hint written as C++ rather than as a directive, before a loop: `_Pragma("clang loop
    // unroll(full)")`, or an object-like macro of the source whose every definition is one (candle's
    // and MLX's `STEEL_PRAGMA_UNROLL`). One past its last token in `ts` (tokens of `text`), else none.
    // Read as a token it made the loop after it part of an expression statement ending at the next
    // `;` (a barrier after the loop inside the same "statement"), and the kernel ran on fibers; as
    // `#pragma clang loop` it is dropped before a statement the split places and copied inside one.
    size_t loop_hint_end(const std::vector<token> &ts, const std::string &text, size_t i) const {
        auto w = [&](size_t k) { return k < ts.size() ? text.substr(ts[k].offset, ts[k].length) : std::string(); };
        size_t end = none;
        if (w(i) == "_Pragma" && w(i + 1) == "(" && i + 3 < ts.size() && ts[i + 2].kind == token_kind::string && w(i + 3) == ")" &&
            loop_hint_string(w(i + 2)))
            end = i + 4;
        else if (i < ts.size() && ts[i].kind == token_kind::identifier && !ts[i].in_directive && pragma_macro(w(i)))
            end = i + 1;
        if (end == none) return none;
        // Only before a loop (or another hint).
        const std::string next = w(end);
        if (next == "for" || next == "while" || next == "do") return end;
        return loop_hint_end(ts, text, end) != none ? end : none;
    }
    static bool loop_hint_string(const std::string &quoted) {
        if (quoted.size() < 2 || quoted.front() != '"') return false;
        const std::string p = quoted.substr(1, quoted.size() - 2);
        auto starts = [&](const char *x) { return p.compare(0, std::char_traits<char>::length(x), x) == 0; };
        return starts("clang loop ") || starts("unroll") || starts("nounroll") || starts("GCC unroll");
    }
    // Whether `name` is a macro of the whole text s_ whose every `#define` is `name _Pragma("hint")`.
    // (Every `#define` is read once, on the first question: it is asked of each identifier of a body.)
    bool pragma_macro(const std::string &name) const {
        if (!pragma_macros_read_) {
            for (size_t p = s_.find("#define"); p != std::string::npos; p = s_.find("#define", p + 7)) {
                const size_t e = std::min(s_.find('\n', p), s_.size());
                const std::string line = s_.substr(p + 7, e - p - 7);
                const std::vector<token> ts = tokenize_msl(line);
                if (ts.empty() || ts[0].kind != token_kind::identifier) continue;
                auto w = [&](size_t k) { return k < ts.size() ? line.substr(ts[k].offset, ts[k].length) : std::string(); };
                const bool shape = ts.size() == 5 && w(1) == "_Pragma" && w(2) == "(" && ts[3].kind == token_kind::string && w(4) == ")" &&
                                   loop_hint_string(w(3)) && line.back() != '\\';
                auto known = pragma_macros_.emplace(w(0), shape).first;
                known->second = known->second && shape;
            }
            pragma_macros_read_ = true;
        }
        auto known = pragma_macros_.find(name);
        return known != pragma_macros_.end() && known->second;
    }

    // A kernel's parameters, read from the text between `open` and `close` (offsets into s_ of its
    // parameter list's parentheses): each one's name (the last identifier at the top level of its piece
    // of the list) and whether it is a reference other than a `constant` one (one to memory that may change).
    struct parameter {
        std::string name;
        bool memory_reference;
        bool constant_pointer = false; // `const constant GEMMParams* params`: what it points to no thread can change
    };
    std::vector<parameter> parameters(size_t open, size_t close) const {
        std::vector<parameter> out;
        std::string last, piece;
        int depth = 0;
        const auto ident = [](char c) { return std::isalnum((unsigned char)c) || c == '_'; };
        for (size_t i = open + 1; i <= close; ++i) {
            const char c = s_[i];
            if (c == '(' || c == '[' || c == '<' || c == '{') ++depth;
            else if ((c == ')' || c == ']' || c == '>' || c == '}') && i < close) --depth;
            if ((c == ',' && depth == 0) || i == close) {
                const bool reference = piece.find('&') != std::string::npos && piece.find("constant") == std::string::npos;
                const bool constant_pointer = piece.find('*') != std::string::npos && piece.find("constant") != std::string::npos &&
                                              piece.find("device") == std::string::npos && piece.find("threadgroup") == std::string::npos;
                if (!last.empty() && !std::isdigit((unsigned char)last[0])) out.push_back({last, reference, constant_pointer});
                last.clear();
                piece.clear();
                continue;
            }
            piece += c;
            if (ident(c) && depth == 0) {
                if (i == 0 || !ident(s_[i - 1])) last.clear();
                last += c;
            }
        }
        return out;
    }

    std::string text(size_t i) const { return i < toks_.size() ? s_.substr(toks_[i].offset, toks_[i].length) : std::string(); }
    bool is(size_t i, const char *t) const { return i < toks_.size() && s_.compare(toks_[i].offset, toks_[i].length, t) == 0; }
    bool is_ident(size_t i) const { return i < toks_.size() && toks_[i].kind == token_kind::identifier; }
    size_t end_of(size_t i) const { return toks_[i].offset + toks_[i].length; }

    // One past the last token of the statement starting at token i (before b); none when it does not
    // end there or a bracket is unmatched.
    size_t stmt_end(size_t i, size_t b) const {
        if (i >= b || (match_[i] == none && (is(i, "(") || is(i, "{")))) return none;
        if (is(i, "{")) return match_[i] + 1;
        if (is(i, "for") || is(i, "while") || is(i, "switch"))
            return is(i + 1, "(") && match_[i + 1] != none ? stmt_end(match_[i + 1] + 1, b) : none;
        if (is(i, "if")) {
            const size_t c = is(i + 1, "constexpr") ? i + 2 : i + 1; // `if constexpr (...)`
            if (!is(c, "(") || match_[c] == none) return none;
            const size_t p = stmt_end(match_[c] + 1, b);
            if (p != none && p < b && is(p, "else")) return stmt_end(p + 1, b);
            return p;
        }
        if (is(i, "do")) {
            const size_t p = stmt_end(i + 1, b);
            if (p == none || !is(p, "while") || !is(p + 1, "(") || match_[p + 1] == none) return none;
            const size_t q = match_[p + 1] + 1;
            return is(q, ";") ? q + 1 : none;
        }
        // `NAME (...) { ... }`: no expression statement has this shape, a loop macro does (ggml's
        // `FOR_UNROLL (short i = 0; i < n; ++i) { ... }`, a `for` after preprocessing): it ends
        // with its block.
        if (toks_[i].kind == token_kind::identifier && is(i + 1, "(") && match_[i + 1] != none && is(match_[i + 1] + 1, "{") &&
            match_[match_[i + 1] + 1] != none)
            return match_[match_[i + 1] + 1] + 1 <= b ? match_[match_[i + 1] + 1] + 1 : none;
        for (size_t k = i; k < b; ++k) {
            if ((is(k, "(") || is(k, "[") || is(k, "{")) && match_[k] != none) k = match_[k];
            else if (is(k, ";")) return k + 1;
        }
        return none;
    }
    // The head of a declaration by shape, `[static] [constexpr] [const] T [<...>] [*&...] name`, in
    // tokens [a, b): where the first declared name is (none when [a, b) is not a declaration of that
    // shape) and which of the specifiers it carries.
    struct declaration_head {
        size_t name = none;
        bool has_static = false, has_constexpr = false, has_auto = false;
    };
    declaration_head head_of_declaration(size_t a, size_t b) const {
        declaration_head h;
        size_t i = a, type_idents = 0;
        for (; i < b; ++i) {
            const std::string t = text(i);
            if (t == "static" || t == "constexpr") {
                (t == "static" ? h.has_static : h.has_constexpr) = true;
                continue;
            }
            if (t == "auto") h.has_auto = true;
            if (t == "const" || t == "volatile" || t == "*" || t == "&" || t == "::") continue;
            if (t == "<") { // template arguments of the type
                int d = 0;
                for (; i < b; ++i) {
                    if (is(i, "(")) i = match_[i];
                    else if (is(i, "<")) ++d;
                    else if (is(i, ">") && --d == 0) break;
                }
                continue;
            }
            if (!is_ident(i)) return h;
            const bool ends = is(i + 1, "=") || is(i + 1, ";") || is(i + 1, ",") || is(i + 1, "[") || is(i + 1, "(") || is(i + 1, "{");
            if (ends && type_idents > 0 && !is(i - 1, "::")) break;
            ++type_idents;
        }
        if (i < b) h.name = i;
        return h;
    }
    // `&name` as an operand (not `a & name`, not `a && name`).
    bool address_taken(const std::string &name) const {
        for (size_t i = 0; i + 1 < toks_.size(); ++i)
            if (is(i, "&") && is_ident(i + 1) && text(i + 1) == name &&
                !(i > 0 && (is_ident(i - 1) || toks_[i - 1].kind == token_kind::number || is(i - 1, ")") || is(i - 1, "]") || is(i - 1, "&"))))
                return true;
        return false;
    }
    // The text [from, to) with everything but its newlines blanked (lines stay where they were).
    std::string blank(size_t from, size_t to) const {
        std::string r = s_.substr(from, to - from);
        for (char &c : r)
            if (c != '\n') c = ' ';
        return r;
    }

    const std::string &s_;
    std::vector<token> toks_;
    std::vector<size_t> match_;
    mutable std::map<std::string, bool> pragma_macros_; // (pragma_macro) each macro defined: whether every definition is a hint
    mutable bool pragma_macros_read_ = false;
};

} // namespace detail
} // namespace softmetal
