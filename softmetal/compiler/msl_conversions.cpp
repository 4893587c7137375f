// Finds MSL's C-style and functional casts that may convert vectors; see msl_conversions.hpp.
#include "compiler/msl_conversions.hpp"

#include <algorithm>
#include <set>

namespace softmetal {
namespace detail {
namespace {

constexpr size_t npos = size_t(-1);

// Literal vector type names: float2 ... bfloat4.
bool is_vector_name(const std::string &s) {
    static const std::set<std::string> elements = {"float", "half", "bfloat", "int",  "uint",  "short", "ushort",
                                                   "char",  "uchar", "long",  "ulong", "bool"};
    return s.size() > 1 && s.back() >= '2' && s.back() <= '4' && elements.count(s.substr(0, s.size() - 1)) != 0;
}

// Scalar type names that can start a nested cast inside an operand (`(float4)(float)x`).
bool is_scalar_name(const std::string &s) {
    static const std::set<std::string> names = {"float", "half",  "bfloat", "int",     "uint",     "short",  "ushort", "char",
                                                "uchar", "long",  "ulong",  "bool",    "size_t",   "int8_t", "uint8_t",
                                                "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t", "double"};
    return names.count(s) != 0;
}

// Keywords after which a parenthesis starts an expression, not a call or a declarator.
bool expression_keyword(const std::string &s) {
    return s == "return" || s == "case" || s == "else" || s == "do" || s == "throw" || s == "co_return" || s == "co_yield";
}

class conversion_finder {
public:
    conversion_finder(const std::string &src, const std::vector<token> &toks, const std::vector<size_t> &code)
        : src_(src), toks_(toks), code_(code), partner_(code.size(), npos) {
        // Bracket partners once, so that every lookup is constant time (hostile input stays linear).
        std::vector<size_t> open;
        for (size_t k = 0; k < code_.size(); ++k) {
            const std::string t = text(k);
            if (t == "(" || t == "[" || t == "{") {
                open.push_back(k);
            } else if ((t == ")" || t == "]" || t == "}") && !open.empty()) {
                partner_[open.back()] = k;
                open.pop_back();
            }
        }
    }

    std::vector<text_replacement> run() {
        collect_type_names();
        for (size_t j = 0; j < code_.size(); ++j) {
            if (is(j, "(")) c_style_cast(j);
            else if (is(j, "static_cast")) static_cast_to_value(j);
            else if (is_ident(j) && is_vector_name(text(j)) && is_ident(j + 1) && is(j + 2, "(")) vector_direct_initialization(j);
            else if (is_ident(j) && type_names_.count(text(j)) && is(j + 1, "(")) functional_cast(j);
            else if (is(j, "vec") && is(j + 1, "<")) vec_template_cast(j);
        }
        return std::move(out_);
    }

private:
    const token &tk(size_t j) const { return toks_[code_[j]]; }
    std::string text(size_t j) const { return j < code_.size() ? src_.substr(tk(j).offset, tk(j).length) : std::string(); }
    bool is(size_t j, const char *s) const { return j < code_.size() && src_.compare(tk(j).offset, tk(j).length, s) == 0; }
    bool is_ident(size_t j) const { return j < code_.size() && tk(j).kind == token_kind::identifier; }
    size_t end_of(size_t j) const { return tk(j).offset + tk(j).length; }

    // Index of the bracket closing the one at j, counting ( [ { together; npos if unbalanced.
    size_t match(size_t j) const { return j < partner_.size() ? partner_[j] : npos; }
    // Index of the '>' closing the '<' at j (parenthesised expressions skipped); npos if none. The
    // search ends at a statement's end and after a bounded number of tokens: no template argument
    // list is longer, and `template <` repeated endlessly must not make the search quadratic.
    size_t match_angle(size_t j) const {
        int angle = 0, paren = 0;
        const size_t end = std::min(code_.size(), j + 512);
        for (size_t k = j; k < end; ++k) {
            if (tk(k).kind != token_kind::punct) continue;
            if (is(k, "(") || is(k, "[")) ++paren;
            else if (is(k, ")") || is(k, "]")) --paren;
            else if (paren == 0 && is(k, "<")) ++angle;
            else if (paren == 0 && is(k, ">") && --angle == 0) return k;
            else if (paren == 0 && is(k, ">>") && (angle -= 2) <= 0) return k;
            else if (is(k, ";") || is(k, "{") || is(k, "}")) return npos;
        }
        return npos;
    }

    // Type names the source declares: `typedef ... N;`, `using N = ...;`, `template <typename N>`.
    // Scopes are not tracked: a name is a type wherever it appears in a cast's place.
    void collect_type_names() {
        for (size_t j = 0; j < code_.size(); ++j) {
            if (is(j, "typedef")) {
                int depth = 0;
                size_t k = j + 1;
                const size_t limit = std::min(code_.size(), j + 4096); // (a typedef is short; hostile input is not)
                for (; k < limit; ++k) {
                    const std::string t = text(k);
                    if (t == "(" || t == "[" || t == "{") ++depth;
                    else if (t == ")" || t == "]" || t == "}") --depth;
                    else if (t == ";" && depth == 0) break;
                }
                if (k < limit && is(k, ";") && is_ident(k - 1)) type_names_.insert(text(k - 1));
            } else if (is(j, "using") && is_ident(j + 1) && is(j + 2, "=")) {
                type_names_.insert(text(j + 1));
            } else if (is(j, "template") && is(j + 1, "<")) {
                size_t close = match_angle(j + 1);
                for (size_t k = j + 2; close != npos && k + 1 < close; ++k)
                    if ((is(k, "typename") || is(k, "class")) && is_ident(k + 1) &&
                        (is(k + 2, ",") || is(k + 2, ">") || is(k + 2, "=") || k + 2 == close))
                        type_names_.insert(text(k + 1));
            }
        }
    }

    bool conversion_target(const std::string &name) const {
        return is_vector_name(name) || type_names_.count(name) || name == "half" || name == "bfloat";
    }

    // `(T)` or `(metal::T)` at j naming a type: the index of its ')' and the name, else npos.
    size_t cast_parentheses(size_t j, std::string &name, bool any_type) const {
        size_t close = npos;
        if (is_ident(j + 1) && is(j + 2, ")")) {
            name = text(j + 1);
            close = j + 2;
        } else if (is(j + 1, "metal") && is(j + 2, "::") && is_ident(j + 3) && is(j + 4, ")")) {
            name = "metal::" + text(j + 3);
            close = j + 4;
        }
        if (close == npos) return npos;
        const std::string bare = name.substr(name.rfind(':') == std::string::npos ? 0 : name.rfind(':') + 1);
        if (!(conversion_target(bare) || (any_type && is_scalar_name(bare)))) return npos;
        return close;
    }

    // The last token of the unary expression starting at k (a cast's operand), npos if none starts there.
    size_t unary_end(size_t k, int depth = 0) const {
        if (k >= code_.size() || depth > 64) return npos;
        const std::string t = text(k);
        if (t == "-" || t == "+" || t == "!" || t == "~" || t == "*" || t == "&" || t == "++" || t == "--")
            return unary_end(k + 1, depth + 1);
        size_t last;
        if (t == "(") {
            std::string inner;
            size_t close = cast_parentheses(k, inner, true);
            if (close != npos && starts_operand(close + 1)) return unary_end(close + 1, depth + 1);
            last = match(k);
        } else if ((t == "sizeof" || t == "alignof") && is(k + 1, "(")) {
            return match(k + 1);
        } else if (tk(k).kind == token_kind::identifier) {
            last = k;
            while (is(last + 1, "::") && is_ident(last + 2)) last += 2;
            if (is(last + 1, "<")) {
                size_t close = match_angle(last + 1);
                if (close != npos && is(close + 1, "(")) last = close;
            }
        } else if (tk(k).kind == token_kind::number || tk(k).kind == token_kind::string || tk(k).kind == token_kind::character) {
            last = k;
        } else {
            return npos;
        }
        while (last != npos) {
            if (is(last + 1, "(") || is(last + 1, "[")) last = match(last + 1);
            else if ((is(last + 1, ".") || is(last + 1, "->")) && is_ident(last + 2)) last += 2;
            else if (is(last + 1, "++") || is(last + 1, "--")) last += 1;
            else break;
        }
        return last;
    }
    bool starts_operand(size_t k) const {
        if (k >= code_.size()) return false;
        if (tk(k).kind != token_kind::punct) return true;
        const std::string t = text(k);
        return t == "(" || t == "-" || t == "+" || t == "!" || t == "~" || t == "*" || t == "&" || t == "++" || t == "--";
    }

    // Whether the token before j lets a parenthesis or a type name there start an expression.
    bool expression_context(size_t j) const {
        if (j == 0) return false;
        const std::string p = text(j - 1);
        if (is_ident(j - 1)) return expression_keyword(p);
        if (p == ")" && cast_closers_.count(j - 1)) return true; // `(float4)(half4)x`: the inner cast
        if (tk(j - 1).kind != token_kind::punct) return false;
        return !(p == ")" || p == "]" || p == ">" || p == "." || p == "->" || p == "::" || p == "~");
    }

    void c_style_cast(size_t j) {
        std::string name;
        size_t close = cast_parentheses(j, name, false);
        if (close == npos || !expression_context(j) || !starts_operand(close + 1)) return;
        size_t last = unary_end(close + 1);
        if (last == npos) return;
        cast_closers_.insert(close);
        out_.push_back({tk(j).offset, end_of(close) - tk(j).offset, "::sm::msl_cast<" + name + ">("});
        out_.push_back({end_of(last), 0, ")"});
    }

    void functional_cast(size_t j) {
        if (!expression_context(j)) return;
        // `T (*f)(...)`, `T (&r)[4]`: a declarator, not a cast.
        if ((is(j + 2, "*") || is(j + 2, "&")) && is_ident(j + 3) && is(j + 4, ")")) return;
        out_.push_back({tk(j).offset, end_of(j + 1) - tk(j).offset, "::sm::msl_construct<" + text(j) + ">("});
    }

    // `vec<T, 4>(x)` or `metal::vec<T, 4>(x)`: MSL's vector template used as a conversion (MLX's sparse
    // kernels turn a float4 sum into vec<T, 4> this way), which clang's vectors would refuse.
    void vec_template_cast(size_t j) {
        size_t first = j;
        if (j >= 2 && is(j - 1, "::") && is(j - 2, "metal")) first = j - 2;
        else if (j >= 1 && is(j - 1, "::")) return; // another namespace's vec
        const size_t close = match_angle(j + 1);
        if (close == npos || !is(close, ">") || !is(close + 1, "(") || !expression_context(first)) return;
        const std::string type = src_.substr(tk(first).offset, end_of(close) - tk(first).offset);
        out_.push_back({tk(first).offset, end_of(close + 1) - tk(first).offset, "::sm::msl_construct<" + type + ">("});
    }

    // `static_cast<T>(x)` to a type named by one identifier: a value conversion, as in MSL (between
    // vectors, and between half and bfloat, which clang refuses). References and pointers stay.
    void static_cast_to_value(size_t j) {
        size_t name = j + 2;
        std::string type;
        if (is(j + 1, "<") && is_ident(name) && is(name + 1, ">") && is(name + 2, "(")) {
            type = text(name);
        } else if (is(j + 1, "<") && is(name, "metal") && is(name + 1, "::") && is_ident(name + 2) && is(name + 3, ">") && is(name + 4, "(")) {
            type = "metal::" + text(name + 2);
            name += 2;
        } else {
            return;
        }
        out_.push_back({tk(j).offset, end_of(name + 2) - tk(j).offset, "::sm::msl_cast<" + type + ">("});
    }

    // `short2 dims(min(a, b), c);`: MSL constructs the vector from the arguments; clang's vectors take
    // no parenthesised initializer. A declaration with a parameter list (`float4 f(float x);`, `f()`)
    // is left alone.
    void vector_direct_initialization(size_t j) {
        const size_t open = j + 2, close = match(open);
        if (close == npos || !(is(close + 1, ";") || is(close + 1, ","))) return;
        if (close == open + 1 || text(j).compare(0, 4, "bool") == 0) return; // (boolean vectors are masks)
        int depth = 0;
        for (size_t k = open + 1; k < close; ++k) {
            if (is(k, "(") || is(k, "[") || is(k, "{")) ++depth;
            else if (is(k, ")") || is(k, "]") || is(k, "}")) --depth;
            else if (depth == 0 && is_ident(k) && is_ident(k + 1)) return; // `float x`: a parameter
            else if (depth == 0 && is_ident(k) && (is(k - 1, "(") || is(k - 1, ",")) && (is(k + 1, ",") || k + 1 == close) &&
                     (is_scalar_name(text(k)) || is_vector_name(text(k)) || type_names_.count(text(k))))
                return; // `float4 f(float, int);`: an unnamed parameter's type
        }
        out_.push_back({end_of(j + 1), tk(open).offset + 1 - end_of(j + 1), " = ::sm::make_vec<" + text(j) + ">("});
    }

    const std::string &src_;
    const std::vector<token> &toks_;
    const std::vector<size_t> &code_;
    std::set<std::string> type_names_;
    std::set<size_t> cast_closers_; // the ')' of each cast rewritten
    std::vector<size_t> partner_;     // the matching bracket of each ( [ { (by index into code_)
    std::vector<text_replacement> out_;
};

} // namespace

std::vector<text_replacement> vector_conversion_edits(const std::string &source, const std::vector<token> &toks,
                                                      const std::vector<size_t> &code) {
    return conversion_finder(source, toks, code).run();
}

} // namespace detail
} // namespace softmetal
