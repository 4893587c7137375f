// The tokens of one kernel body in the translated text, with the partner of every bracket: what the
// barrier splitter (barrier_regions.cpp) and the lane builder (lane_loops.cpp) read to rebuild a
// kernel. A preprocessor directive in the body other than the translator's own `#line` refuses it:
// its meaning is not in the tokens.
#pragma once

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
    // directive or unbalanced brackets stand in the way.
    bool read_body(size_t body_open, size_t body_close, std::string &why) {
        const size_t base = body_open + 1;
        const std::string body = s_.substr(base, body_close - base);
        const std::vector<token> all = tokenize_msl(body);
        for (size_t i = 0; i < all.size(); ++i) {
            token t = all[i];
            t.offset += base;
            if (t.in_directive) {
                if (t.directive_start && !(i + 1 < all.size() && body.compare(all[i + 1].offset, all[i + 1].length, "line") == 0)) {
                    why = "a preprocessor directive inside the kernel body";
                    return false;
                }
                continue;
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

    std::string text(size_t i) const { return i < toks_.size() ? s_.substr(toks_[i].offset, toks_[i].length) : std::string(); }
    bool is(size_t i, const char *t) const { return i < toks_.size() && s_.compare(toks_[i].offset, toks_[i].length, t) == 0; }
    bool is_ident(size_t i) const { return i < toks_.size() && toks_[i].kind == token_kind::identifier; }
    size_t end_of(size_t i) const { return toks_[i].offset + toks_[i].length; }

    const std::string &s_;
    std::vector<token> toks_;
    std::vector<size_t> match_;
};

} // namespace detail
} // namespace softmetal
