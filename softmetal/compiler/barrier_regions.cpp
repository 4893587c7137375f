#include "compiler/barrier_regions.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "compiler/kernel_body_tokens.hpp"
#include "compiler/lane_loops.hpp"
#include "compiler/msl_tokenizer.hpp"

namespace softmetal {
namespace detail {

namespace {

constexpr size_t npos = static_cast<size_t>(-1);

// Where an offset of the translated text points for clang, following its #line directives, so that
// copied pieces can be put back at the same user line:column.
class line_map {
public:
    explicit line_map(const std::string &s) {
        std::string file = "softmetal_generated";
        int line = 1;
        size_t p = 0;
        while (p <= s.size()) {
            size_t e = s.find('\n', p);
            if (e == std::string::npos) e = s.size();
            starts_.push_back(p);
            lines_.push_back(line);
            files_.push_back(intern(file));
            ++line;
            if (s.compare(p, 6, "#line ") == 0) {
                size_t q = p + 6;
                int n = 0;
                while (q < e && s[q] >= '0' && s[q] <= '9') n = n * 10 + (s[q++] - '0');
                size_t a = s.find('"', q), b = a == std::string::npos ? a : s.find('"', a + 1);
                if (a < e && b < e) file = s.substr(a + 1, b - a - 1);
                line = n;
            }
            p = e + 1;
        }
    }
    // "#line L "file"\n" + padding: the next character appears at `off`'s line:column.
    std::string sync(size_t off) const {
        size_t i = size_t(std::upper_bound(starts_.begin(), starts_.end(), off) - starts_.begin()) - 1;
        return "\n#line " + std::to_string(lines_[i]) + " \"" + names_[files_[i]] + "\"\n" + std::string(off - starts_[i], ' ');
    }

private:
    size_t intern(const std::string &f) {
        for (size_t i = 0; i < names_.size(); ++i)
            if (names_[i] == f) return i;
        names_.push_back(f);
        return names_.size() - 1;
    }
    std::vector<size_t> starts_;
    std::vector<int> lines_;
    std::vector<size_t> files_;
    std::vector<std::string> names_;
};

// matrix: a simdgroup_matrix statement (or a loop of them), run once per SIMD group.
// subset: `if (lane == 0) ...` and the like: run only by the threads whose position the condition names.
// scope: a declaration every thread makes alike (`using T = ...;`, `typedef`, `constexpr` of constants,
// `static_assert`), kept at the scope level of the split function, outside its thread loops, so that
// every region after it sees it (an inlined template's parameters are such declarations).
// lanes: a `for` loop whose trip count may differ between threads (lane_loops.hpp does the same for
// kernels without barriers): its iterations run in step, each one a loop over the group's threads.
enum class stmt_kind { plain, barrier, loop, hoisted, simd, matrix, subset, scope, lanes };

// SIMD-group functions a region split can take (simdgroup_regions.h computes them): the compute
// functor, the arguments it takes, and the argument type when it is fixed (else the argument's own).
enum class simd_shape {
    value,      // f(x): x stored per lane
    value_lane, // f(x, lane or distance): x stored, the second argument as an unsigned per lane
    none,       // f(): only which lanes are live matters
    fill,       // f(data, fill, delta [, modulo]): data and fill stored as a pair, delta | modulo << 16 per lane
};
struct simd_function {
    std::string compute;
    simd_shape shape;
    const char *argument_type; // "" : the argument's type
    const char *result_type;   // "" : the argument type
    unsigned default_modulo = 0; // fill: the modulo when the call gives none
};
const std::map<std::string, simd_function> &simd_functions() {
    using sh = simd_shape;
    static const std::map<std::string, simd_function> m = [] {
        std::map<std::string, simd_function> t;
        // Reductions and scans, for the SIMD group and (over each lane's quad) for the quad group.
        for (const char *group : {"simd", "quad"}) {
            const std::string g = group, ns = "::sm::regions::" + std::string(g == "quad" ? "quad_" : "");
            auto add = [&](const std::string &name, const std::string &compute, sh shape, const char *arg = "", const char *res = "",
                           unsigned modulo = 0) { t[g + "_" + name] = {compute, shape, arg, res, modulo}; };
            for (const auto &r : std::vector<std::pair<const char *, const char *>>{
                     {"sum", "add"}, {"product", "mul"}, {"min", "lesser"}, {"max", "greater"}, {"and", "bit_and"}, {"or", "bit_or"}, {"xor", "bit_xor"}})
                add(r.first, ns + "reduce<::sm::simd::" + r.second + ">", sh::value);
            add("all", ns + "reduce<::sm::simd::bit_and>", sh::value, "bool", "bool");
            add("any", ns + "reduce<::sm::simd::bit_or>", sh::value, "bool", "bool");
            add("prefix_inclusive_sum", ns + "prefix<::sm::simd::add, 0, true>", sh::value);
            add("prefix_exclusive_sum", ns + "prefix<::sm::simd::add, 0, false>", sh::value);
            add("prefix_inclusive_product", ns + "prefix<::sm::simd::mul, 1, true>", sh::value);
            add("prefix_exclusive_product", ns + "prefix<::sm::simd::mul, 1, false>", sh::value);
            add("broadcast_first", ns + "broadcast_first", sh::value);
            add("ballot", ns + "ballot", sh::value, "bool", "::metal::simd_vote");
            add("is_first", ns + "is_first", sh::none, "bool", "bool");
            add("active_threads_mask", ns + "active_threads_mask", sh::none, "bool", "::metal::simd_vote");
            const std::string src = "::sm::regions::shuffle<::sm::regions::source::" + std::string(g == "quad" ? "quad_" : "");
            add("shuffle", src + "absolute>", sh::value_lane);
            add("broadcast", src + "absolute>", sh::value_lane);
            add("shuffle_up", src + "up>", sh::value_lane);
            add("shuffle_down", src + "down>", sh::value_lane);
            add("shuffle_xor", src + "exclusive_or>", sh::value_lane);
            add("shuffle_rotate_up", src + "rotate_up>", sh::value_lane);
            add("shuffle_rotate_down", src + "rotate_down>", sh::value_lane);
            add("shuffle_and_fill_up", "::sm::regions::shuffle_and_fill<true>", sh::fill, "", "", g == "quad" ? 4 : 32);
            add("shuffle_and_fill_down", "::sm::regions::shuffle_and_fill<false>", sh::fill, "", "", g == "quad" ? 4 : 32);
        }
        return t;
    }();
    return m;
}

// A SIMD-group call: tokens [call, close] (`call` at `metal::` when so spelled), the function's
// name at `name`, its first argument ending at arg0_end (',' or ')'), its top-level commas.
struct simd_call {
    size_t call = 0, name = 0, close = 0, arg0_end = 0;
    std::vector<size_t> commas;
};

struct stmt {
    stmt_kind kind = stmt_kind::plain;
    size_t a = 0, b = 0;      // tokens [a, b)
    size_t head_end = 0;      // loop: the ')' closing its header
    bool block = false;       // loop: a braced block without a header (runs once)
    std::vector<stmt> body;   // loop: the statements of its braced body
    // loop: `if (c) A [else B]` whose condition is the same for the whole group (branch = true); the
    // header is `if (c)`, `body` holds A, `else_body` B (else_at: the `else` token, npos without).
    bool branch = false;
    size_t else_at = npos;
    // branch: a condition that may differ between threads. Each thread evaluates it; the arms run with
    // only the threads that take them live (sm_alive), as Metal runs divergent SIMD-group calls with
    // only the active lanes; mask: its number (the flags of sm_mask<N>).
    bool masked = false;
    int mask = -1;
    std::vector<stmt> else_body;
    int region = -1;          // plain: the region it runs in; loop: the "region" of its header
    bool has_return = false;
    // A declaration `T name = ...;` at this level (name_tok != npos).
    size_t name_tok = npos;
    bool simple_decl = false; // one declarator, `= init` or no initialiser, not static/constexpr
    std::string type;         // its type as declared, without top-level const (for the per-thread copies)
    std::string array_suffix; // `[N]...` of an array declaration, else empty
    size_t init_eq = npos;    // its `=`, if it has an initialiser
    bool in_loop = false;     // inside a loop around split points (not a block)
    std::vector<std::string> scope_declared; // scope: the names it declares
    // simd: the statement's SIMD-group calls (none inside another's arguments); their arguments are
    // stored in `pre_region`, the statement runs in `region`.
    std::vector<simd_call> calls;
    int pre_region = -1;
    // subset: the position attribute of `if (position == constant)`, and the constant's token.
    std::string subset_attr;
    size_t subset_value = npos;
    // matrix: a declaration `T name[...] [= init];` of one matrix (or array of them) at this level.
    size_t matrix_name = npos, matrix_suffix_end = npos;
    bool matrix_init = false;
    std::vector<std::string> matrix_declared; // every matrix the statement declares at this level
    // lanes: `for (T v = start; cond; v += step) body`.
    std::string lane_type, lane_wide; // T, and the unsigned type v's value is computed in
    size_t lane_var = npos, start_a = npos, start_b = npos, cond_a = npos, cond_b = npos, step_a = npos, step_b = npos;
    size_t body_a = npos;
};

// A simdgroup_matrix variable used by more than one region: one copy per SIMD group.
struct group_copy {
    std::string name, type; // type: as declared plus its array suffix
    int region;
    bool deferred = false; // its type names a scope declaration: allocated where its region starts
};

struct replicated {
    std::string name, type; // type: with an array's suffix
    int region;
    const stmt *decl;
    bool array = false;    // bound by reference in every region, never copied into a local
    bool deferred = false; // its type names a scope declaration: allocated where its region starts
    bool uniform = false;  // the same value in every thread of the group: one copy (`sm_u<N>`), not one per thread
};

const std::set<std::string> &statement_keywords() {
    static const std::set<std::string> s = {"return", "goto", "delete", "throw", "case", "default", "else", "typedef",
                                            "using", "if", "for", "while", "do", "switch", "break", "continue", "sizeof"};
    return s;
}

// ---- helper functions that meet other threads, inlined into the split kernel ----
//
// `float s = block_sum(v, shared);` where block_sum calls simd_sum or threadgroup_barrier: the split
// version of the kernel gets the helper's body in place of the call, as a braced block the splitter
// can split (one level of scope, like a loop that runs once), so its meetings become split points.
// The helper's parameters become per-thread variables `sm_i<N>_<name>` initialised from the
// arguments (a non-const reference parameter bound to a plain variable is that variable), its final
// `return e;` an assignment to `sm_ret<N>`, which replaces the call. A function template's
// parameters become names of this inlining declared before the block (`using sm_i<N>_T = float;`,
// `constexpr short sm_i<N>_NR0 = (4);`) from the call's explicit arguments, the template's defaults,
// or deduced from an argument whose parameter is spelled `T` or `T *` (with qualifiers, address
// space, reference); the splitter keeps such declarations at the scope level, outside its thread
// loops. Helpers that are overloaded, return early or by reference, or whose template arguments
// cannot be found that way are not inlined: the kernel stays on fibers.
class helper_inliner : kernel_body_tokens {
public:
    helper_inliner(const std::string &text, const region_kernel &k) : kernel_body_tokens(text), k_(k), lines_(text) {}

    // The kernel body with helper calls inlined, as a braced block under #line directives; false when
    // nothing was inlined (or something could not be).
    bool run(std::string &body) {
        tokenize();
        size_t open = npos;
        for (size_t i = 0; i < toks_.size(); ++i)
            if (toks_[i].offset == k_.body_open) open = i;
        if (open == npos || match_[open] == npos) return false;
        std::map<std::string, std::string> rename;
        std::string out;
        if (!expand_list(open + 1, match_[open], rename, 0, out) || inlined_ == 0) return false;
        body = "{" + out + lines_.sync(toks_[match_[open]].offset) + "}";
        return true;
    }

private:
    void tokenize() {
        for (const token &t : tokenize_msl(s_))
            if (!t.in_directive) toks_.push_back(t);
        match_.assign(toks_.size(), npos);
        std::vector<size_t> stack;
        for (size_t i = 0; i < toks_.size(); ++i) {
            if (is(i, "(") || is(i, "[") || is(i, "{")) stack.push_back(i);
            else if ((is(i, ")") || is(i, "]") || is(i, "}")) && !stack.empty()) {
                match_[stack.back()] = i;
                match_[i] = stack.back();
                stack.pop_back();
            }
        }
    }
    bool member(size_t i) const { return i > 0 && (is(i - 1, ".") || is(i - 1, "->") || is(i - 1, "::")); }
    bool is_helper_call(size_t i) const {
        return is_ident(i) && k_.meeting_functions.count(text(i)) && (is(i + 1, "(") || is(i + 1, "<")) && !member(i);
    }
    bool contains_helper_call(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i)
            if (is_helper_call(i)) return true;
        return false;
    }

    // Tokens [a, b) under #line, identifiers renamed (not members), `reps` (by token) replaced.
    std::string copy(size_t a, size_t b, const std::map<std::string, std::string> &rename,
                     const std::map<size_t, std::pair<size_t, std::string>> &reps = {}) const {
        if (a >= b) return "";
        std::string out = lines_.sync(toks_[a].offset);
        size_t pos = toks_[a].offset;
        for (size_t i = a; i < b; ++i) {
            auto r = reps.find(i);
            std::string with;
            size_t last = i;
            if (r != reps.end()) {
                with = r->second.second;
                last = r->second.first;
            } else if (is_ident(i) && !member(i) && rename.count(text(i))) {
                with = rename.at(text(i));
            } else {
                continue;
            }
            out.append(s_, pos, toks_[i].offset - pos);
            out += with;
            pos = end_of(last);
            out += lines_.sync(pos);
            i = last;
        }
        out.append(s_, pos, end_of(b - 1) - pos);
        return out + "\n";
    }

    bool expand_list(size_t a, size_t b, const std::map<std::string, std::string> &rename, int depth, std::string &out) {
        for (size_t i = a; i < b;) {
            const size_t e = stmt_end(i, b);
            if (e == npos || e > b) return false;
            if (!contains_helper_call(i, e) && !(is(i, "switch") && meets(i, e))) {
                out += copy(i, e, rename);
            } else if ((is(i, "for") || is(i, "while")) && is(match_[i + 1] + 1, "{") && match_[match_[i + 1] + 1] + 1 == e &&
                       !contains_helper_call(i, match_[i + 1] + 1)) {
                const size_t body = match_[i + 1] + 1;
                out += copy(i, body + 1, rename);
                if (!expand_list(body + 1, e - 1, rename, depth, out)) return false;
                out += copy(e - 1, e, rename);
            } else if (is(i, "{")) {
                out += copy(i, i + 1, rename);
                if (!expand_list(i + 1, e - 1, rename, depth, out)) return false;
                out += copy(e - 1, e, rename);
            } else if (is(i, "switch") && meets(i, e) && switch_as_ifs(i, e, rename, depth, out)) {
                // (an if-chain the splitter can split; a switch of another shape is copied below)
            } else if (is(i, "if") && is(i + 1, "(") && !contains_helper_call(i, match_[i + 1] + 1)) {
                // Helper calls in the arms: each arm expanded as a block (the splitter decides whether the
                // condition lets it split them).
                const size_t h = match_[i + 1];
                const size_t then_end = stmt_end(h + 1, e);
                if (then_end == npos || (then_end < e && !is(then_end, "else"))) return false;
                out += copy(i, h + 1, rename);
                if (!expand_arm(h + 1, then_end, rename, depth, out)) return false;
                if (then_end < e) {
                    out += copy(then_end, then_end + 1, rename);
                    if (!expand_arm(then_end + 1, e, rename, depth, out)) return false;
                }
            } else if (statement_keywords().count(text(i))) {
                out += copy(i, e, rename); // a call under control flow: the splitter refuses it
            } else {
                // Each helper call of the statement (none inside another's arguments) before it, its
                // result in its place.
                std::map<size_t, std::pair<size_t, std::string>> reps;
                size_t last_close = 0;
                for (size_t k = i; k < e; ++k) {
                    if (!is_helper_call(k)) continue;
                    if (k < last_close) return false;
                    std::string ret;
                    if (!inline_call(k, rename, depth, out, ret)) return false;
                    last_close = match_[call_paren(k)];
                    if (ret.empty()) { // a void helper: the statement must be the call alone
                        if (!(k == i && is(last_close + 1, ";") && last_close + 2 == e)) return false;
                        reps[k] = {last_close + 1, ";"};
                    } else {
                        reps[k] = {last_close, ret};
                    }
                }
                out += copy(i, e, rename, reps);
            }
            i = e;
        }
        return true;
    }

    // An arm [a, b) of an if, as a braced block with its helper calls expanded (an `else if` stays a
    // statement of its own, so a chain does not nest deeper at each link).
    bool expand_arm(size_t a, size_t b, const std::map<std::string, std::string> &rename, int depth, std::string &out) {
        if (is(a, "{") && match_[a] + 1 == b) {
            out += copy(a, a + 1, rename);
            if (!expand_list(a + 1, b - 1, rename, depth, out)) return false;
            out += copy(b - 1, b, rename);
            return true;
        }
        if (is(a, "if")) return expand_list(a, b, rename, depth, out);
        out += "{\n";
        if (!expand_list(a, b, rename, depth, out)) return false;
        out += "}\n";
        return true;
    }
    // Whether tokens [a, b) meet other threads: a helper that does, a barrier, a SIMD-group function.
    bool meets(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i) {
            if (is_helper_call(i)) return true;
            if (!is_ident(i) || !is(i + 1, "(")) continue;
            const std::string t = text(i);
            if (t == "threadgroup_barrier" || t == "simdgroup_barrier" || t.compare(0, 5, "simd_") == 0 || t.compare(0, 5, "quad_") == 0 ||
                t.compare(0, 10, "simdgroup_") == 0)
                return true;
        }
        return false;
    }
    // `switch (E) { case A: ... break; case B: case C: ... break; default: ... }` around meetings, as
    // `if ((E) == (A)) {...} else if ((E) == (B) || (E) == (C)) {...} else {...}`, which the splitter
    // takes (once for the group when E is the group's, with the threads of each arm otherwise). Only
    // when that means the same: E has no call, assignment or increment (it is evaluated once per
    // label); each label's statements end with `break;` or `return ...;` (the last may end the
    // switch), with no other `break` of the switch's own inside them, no label nested in them.
    bool switch_as_ifs(size_t i, size_t e, const std::map<std::string, std::string> &rename, int depth, std::string &out) {
        if (!is(i + 1, "(") || match_[i + 1] == npos) return false;
        const size_t h = match_[i + 1];
        if (!is(h + 1, "{") || match_[h + 1] + 1 != e) return false;
        for (size_t k = i + 2; k < h; ++k) {
            if (is(k, "=") && !is(k + 1, "=") && !is(k - 1, "=") && !is(k - 1, "!") && !is(k - 1, "<") && !is(k - 1, ">")) return false;
            if ((is(k, "+") && is(k + 1, "+")) || (is(k, "-") && is(k + 1, "-"))) return false;
            if (is_ident(k) && (is(k + 1, "(") || is(k + 1, "<"))) return false;
        }
        struct group {
            std::vector<std::pair<size_t, size_t>> values; // empty: default
            bool is_default = false;
            size_t a = 0, b = 0;   // its statements, without the final break
            size_t block = npos;   // `case 1: { ...; break; }`: the last statement's '{' (its break at b)
        };
        std::vector<group> groups;
        const size_t close = e - 1;
        size_t p = h + 2;
        while (p < close) {
            group g;
            while (is(p, "case") || is(p, "default")) {
                if (is(p, "default")) {
                    if (!is(p + 1, ":")) return false;
                    g.is_default = true;
                    p += 2;
                    continue;
                }
                size_t c = p + 1;
                while (c < close && !is(c, ":")) {
                    if (is(c, "?") || is(c, "(") || is(c, "{") || is(c, ";")) return false;
                    ++c;
                }
                if (c >= close || c == p + 1) return false;
                g.values.push_back({p + 1, c});
                p = c + 1;
            }
            if (g.values.empty() && !g.is_default) return false; // a statement before the first label
            g.a = p;
            size_t last = npos;
            while (p < close && !is(p, "case") && !is(p, "default")) {
                const size_t q = stmt_end(p, close);
                if (q == npos || q > close) return false;
                last = p;
                p = q;
            }
            g.b = p;
            const bool ends_switch = p >= close;
            if (last != npos && is(last, "break") && is(last + 1, ";")) {
                g.b = last;
            } else if (last != npos && is(last, "{") && match_[last] + 1 == p && match_[last] >= last + 3 && is(match_[last] - 2, "break") &&
                       is(match_[last] - 1, ";")) {
                g.block = last; // the block's own statements end with the switch's break
                g.b = match_[last] - 2;
            } else if (!(ends_switch || (last != npos && is(last, "return")))) {
                return false; // falls through
            }
            // No break of the switch's own, and no label, inside the statements.
            std::vector<size_t> loops;
            for (size_t k = g.a; k < g.b; ++k) {
                if (is(k, "case") || is(k, "default")) return false;
                if ((is(k, "for") || is(k, "while") || is(k, "switch")) && is(k + 1, "(") && match_[k + 1] != npos) {
                    const size_t end = stmt_end(k, g.b);
                    if (end == npos) return false;
                    k = end - 1; // its own breaks
                    continue;
                }
                if (is(k, "do")) {
                    const size_t end = stmt_end(k, g.b);
                    if (end == npos) return false;
                    k = end - 1;
                    continue;
                }
                if (is(k, "break")) return false;
            }
            if (g.is_default && !g.values.empty()) g.values.clear(); // `case 1: default:` is the default
            groups.push_back(g);
        }
        if (groups.empty()) return false;
        const std::string value = copy(i + 2, h, rename);
        out += copy(i, i + 1, rename, {{i, {i, "{"}}}); // the switch's place, for the #line
        bool first = true;
        const group *fallback = nullptr;
        for (const group &g : groups) {
            if (g.is_default) {
                if (fallback) return false;
                fallback = &g;
                continue;
            }
            out += first ? "if (" : "else if (";
            first = false;
            for (size_t v = 0; v < g.values.size(); ++v)
                out += std::string(v ? " || " : "") + "(" + value + ") == (" + copy(g.values[v].first, g.values[v].second, rename) + ")";
            out += ") {\n";
            if (!expand_group(g.a, g.b, g.block, rename, depth, out)) return false;
            out += "}\n";
        }
        if (fallback) {
            out += first ? "{\n" : "else {\n";
            if (!expand_group(fallback->a, fallback->b, fallback->block, rename, depth, out)) return false;
            out += "}\n";
        }
        out += "}\n";
        ++inlined_; // a body the splitter reads instead of the kernel's
        return true;
    }

    // A label's statements [a, b); with `block`, the last is the block opened there, cut at b (its break).
    bool expand_group(size_t a, size_t b, size_t block, const std::map<std::string, std::string> &rename, int depth, std::string &out) {
        if (block == npos) return expand_list(a, b, rename, depth, out);
        if (!expand_list(a, block, rename, depth, out)) return false;
        out += copy(block, block + 1, rename);
        if (!expand_list(block + 1, b, rename, depth, out)) return false;
        out += "}\n";
        return true;
    }
    // Where `name` is defined: the one definition `RT name(params) {...}` that is no template.
    struct definition {
        size_t name = npos, type_start = npos;
        size_t template_open = npos, template_close = npos; // `template <...>` before it
    };
    bool find_definition(const std::string &name, definition &d) const {
        int found = 0;
        for (size_t i = 0; i + 1 < toks_.size(); ++i) {
            if (!is_ident(i) || text(i) != name || !is(i + 1, "(") || match_[i + 1] == npos || member(i)) continue;
            size_t k = match_[i + 1] + 1;
            while (is(k, "const") || is(k, "thread") || is(k, "device") || is(k, "threadgroup") || is(k, "constant") || is(k, "noexcept")) ++k;
            if (!is(k, "{")) continue;
            if (++found > 1) return false;
            d.name = i;
        }
        if (found != 1) return false;
        // The return type: back over identifiers, `::`, `*` and template arguments.
        size_t t = d.name;
        while (t > 0) {
            const size_t p = t - 1;
            if (is(p, ">")) {
                int depth = 0;
                size_t q = p;
                for (;; --q) {
                    if (is(q, ">")) ++depth;
                    else if (is(q, "<") && --depth == 0) break;
                    if (q == 0) return false;
                }
                t = q;
                continue;
            }
            if (is_ident(p) || is(p, "::") || is(p, "*") || toks_[p].kind == token_kind::number) {
                t = p;
                continue;
            }
            break;
        }
        if (is(t, "template") && is(t + 1, "<")) {
            d.template_open = t + 1;
            d.template_close = angle_close(t + 1);
            if (d.template_close == npos || d.template_close >= d.name) return false;
            t = d.template_close + 1;
        }
        d.type_start = t;
        for (size_t i = t; i < d.name; ++i)
            if (is(i, "template") || is(i, "auto") || is(i, "operator")) return false;
        return true;
    }
    // [a, b) split at its top-level commas.
    std::vector<std::pair<size_t, size_t>> split_commas(size_t a, size_t b) const {
        std::vector<std::pair<size_t, size_t>> parts;
        if (a >= b) return parts;
        size_t from = a;
        for (size_t i = a; i < b; ++i) {
            if ((is(i, "(") || is(i, "[") || is(i, "{")) && match_[i] != npos) i = match_[i];
            else if (is(i, ",")) {
                parts.push_back({from, i});
                from = i + 1;
            }
        }
        parts.push_back({from, b});
        return parts;
    }

    // The names declared by statements in (open, close): `[const] T [<...>] [*&] name =|;|[|,|{`, also in a
    // for loop's header, and every further declarator of such a statement.
    std::set<std::string> local_names(size_t open, size_t close) const {
        std::set<std::string> names;
        for (size_t i = open + 1; i < close; ++i) {
            const bool start = is(i - 1, "{") || is(i - 1, ";") || is(i - 1, "}") || (is(i - 1, "(") && is(i - 2, "for"));
            if (!start || !is_ident(i) || statement_keywords().count(text(i))) continue;
            size_t k = i;
            while (is(k, "const") || is(k, "static") || is(k, "constexpr") || is(k, "thread") || is(k, "threadgroup") ||
                   is(k, "device") || is(k, "constant"))
                ++k;
            int type_idents = 0;
            while (is_ident(k) || is(k, "::")) {
                if (is_ident(k)) ++type_idents;
                ++k;
                if (is(k, "<")) { // template arguments of the type
                    int d = 0;
                    for (; k < close; ++k) {
                        if (is(k, "<")) ++d;
                        else if (is(k, ">") && --d == 0) break;
                        else if (is(k, ";") || is(k, "{")) break;
                    }
                    if (!is(k, ">")) break;
                    ++k;
                }
                if (is_ident(k) && is_ident(k - 1)) { // `T name`: stop before the name
                    if (is(k + 1, "=") || is(k + 1, ";") || is(k + 1, "[") || is(k + 1, ",") || is(k + 1, "{")) break;
                }
            }
            while (is(k, "*") || is(k, "&") || is(k, "const")) ++k;
            if (type_idents < 1 || !is_ident(k) || k == i) continue;
            if (!(is(k + 1, "=") || is(k + 1, ";") || is(k + 1, "[") || is(k + 1, ",") || is(k + 1, "{"))) continue;
            names.insert(text(k));
            // further declarators: `, name` at this statement's top level
            for (size_t q = k + 1; q < close && !is(q, ";"); ++q) {
                if ((is(q, "(") || is(q, "[") || is(q, "{")) && match_[q] != npos) q = match_[q];
                else if (is(q, ",") && is_ident(q + 1) && (is(q + 2, "=") || is(q + 2, ";") || is(q + 2, ",") || is(q + 2, "[")))
                    names.insert(text(q + 1));
            }
        }
        return names;
    }

    // The '(' of the helper call at `i`: right after the name, or after its template arguments.
    size_t call_paren(size_t i) const {
        if (is(i + 1, "(")) return i + 1;
        const size_t close = is(i + 1, "<") ? angle_close(i + 1) : npos;
        return close != npos && is(close + 1, "(") && match_[close + 1] != npos ? close + 1 : npos;
    }
    // The '>' that closes the template argument or parameter list opened at `open` (brackets skipped).
    size_t angle_close(size_t open) const {
        int d = 0;
        for (size_t k = open; k < toks_.size(); ++k) {
            if ((is(k, "(") || is(k, "[") || is(k, "{")) && match_[k] != npos) k = match_[k];
            else if (is(k, ";") || is(k, "{") || is(k, "}") || is(k, ")")) return npos;
            else if (is(k, "<")) ++d;
            else if (is(k, ">") && --d == 0) return k;
        }
        return npos;
    }
    // [a, b) split at its top-level commas, template brackets counted too.
    std::vector<std::pair<size_t, size_t>> split_template_commas(size_t a, size_t b) const {
        std::vector<std::pair<size_t, size_t>> parts;
        if (a >= b) return parts;
        size_t from = a;
        int d = 0;
        for (size_t i = a; i < b; ++i) {
            if ((is(i, "(") || is(i, "[") || is(i, "{")) && match_[i] != npos) i = match_[i];
            else if (is(i, "<")) ++d;
            else if (is(i, ">")) --d;
            else if (is(i, ",") && d == 0) {
                parts.push_back({from, i});
                from = i + 1;
            }
        }
        parts.push_back({from, b});
        return parts;
    }
    // Text of tokens [a, b) with `rename` applied, one line (for declarations the inliner writes).
    std::string spelled(size_t a, size_t b, const std::map<std::string, std::string> &rename) const {
        std::string r;
        for (size_t i = a; i < b; ++i) {
            const std::string t = is_ident(i) && !member(i) && rename.count(text(i)) ? rename.at(text(i)) : text(i);
            if (!r.empty() && (is_ident(i) || toks_[i].kind == token_kind::number) &&
                (is_ident(i - 1) || toks_[i - 1].kind == token_kind::number))
                r += " ";
            r += t;
            if (is(i, ",") || is(i, "*") || is(i, "&")) r += " ";
        }
        return r;
    }
    // Whether the helper body [a, b) may change the variable `name`: an assignment, increment or
    // decrement of it or of a member or element of it, or its address taken.
    bool modifies(const std::string &name, size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i) {
            if (!is_ident(i) || text(i) != name || member(i)) continue;
            if (i > 0 && is(i - 1, "&") && !(is_ident(i - 2) || toks_[i - 2].kind == token_kind::number || is(i - 2, ")") || is(i - 2, "]")))
                return true;
            if (i >= 2 && ((is(i - 1, "+") && is(i - 2, "+")) || (is(i - 1, "-") && is(i - 2, "-")))) return true;
            size_t j = i + 1;
            for (;;) {
                if ((is(j, ".") || is(j, "->")) && is_ident(j + 1)) j += 2;
                else if (is(j, "[") && match_[j] != npos) j = match_[j] + 1;
                else break;
            }
            if ((is(j, "+") && is(j + 1, "+")) || (is(j, "-") && is(j + 1, "-"))) return true;
            if (is(j, "=") && !is(j + 1, "=")) return true;
            for (const char *op : {"+", "-", "*", "/", "%", "&", "|", "^"})
                if (is(j, op) && is(j + 1, "=")) return true;
            if ((is(j, "<") && is(j + 1, "<") && is(j + 2, "=")) || (is(j, ">") && is(j + 1, ">") && is(j + 2, "="))) return true;
        }
        return false;
    }

    // The argument [a, b) as an expression that means the same type at any scope of the split
    // function (a template argument deduced from it is declared outside the thread loops, where the
    // body's variables are not): each variable declared in the body so far (in `written`, the
    // inlined body up to the call) becomes `::sm::regions::declval_of<its declared type>()`; the
    // kernel's parameters, constants and functions stay. False when a variable's declaration is not
    // one this can read (`auto`, several declarators).
    bool unevaluated(size_t a, size_t b, const std::map<std::string, std::string> &rename, const std::string &written,
                     std::string &expression) const {
        std::vector<token> wt;
        for (const token &t : tokenize_msl(written))
            if (!t.in_directive) wt.push_back(t);
        auto wtext = [&](size_t i) { return i < wt.size() ? written.substr(wt[i].offset, wt[i].length) : std::string(); };
        auto wident = [&](size_t i) { return i < wt.size() && wt[i].kind == token_kind::identifier; };
        expression.clear();
        for (size_t i = a; i < b; ++i) {
            std::string t = text(i);
            if (!is_ident(i) || member(i) || is(i + 1, "(") || is(i + 1, "::") || is(i + 1, "<")) {
                expression += t + " ";
                continue;
            }
            if (rename.count(t)) t = rename.at(t);
            // The last declaration `type name =|;|[|{` of it in what was written.
            size_t at = npos;
            for (size_t j = wt.size(); j-- > 1;)
                if (wident(j) && wtext(j) == t && (wtext(j + 1) == "=" || wtext(j + 1) == ";" || wtext(j + 1) == "[" || wtext(j + 1) == "{") &&
                    (wident(j - 1) || wtext(j - 1) == "*" || wtext(j - 1) == "&" || wtext(j - 1) == ">") && wtext(j - 1) != "return" &&
                    wtext(j - 1) != "case" && wtext(j - 1) != "else") {
                    at = j;
                    break;
                }
            if (at == npos) {
                expression += t + " ";
                continue;
            }
            size_t start = at;
            while (start > 0 && !(wtext(start - 1) == ";" || wtext(start - 1) == "{" || wtext(start - 1) == "}" || wtext(start - 1) == "(" ||
                                  wtext(start - 1) == ","))
                --start;
            if (start > 0 && wtext(start - 1) == ",") return false; // a further declarator
            std::string type;
            for (size_t j = start; j < at; ++j) {
                const std::string w = wtext(j);
                if (w == "auto") return false;
                if (w == "static" || w == "constexpr" || w == "thread") continue;
                type += w + " ";
            }
            if (type.empty()) return false;
            size_t e = at + 1;
            while (wtext(e) == "[") { // an array's bounds
                size_t close = e;
                for (int d = 0; close < wt.size(); ++close) {
                    if (wtext(close) == "[") ++d;
                    else if (wtext(close) == "]" && --d == 0) break;
                }
                if (close >= wt.size()) return false;
                type += written.substr(wt[e].offset, wt[close].offset + 1 - wt[e].offset);
                e = close + 1;
            }
            expression += "::sm::regions::declval_of<" + type + ">() ";
        }
        return true;
    }

    bool inline_call(size_t call, const std::map<std::string, std::string> &outer, int depth, std::string &out, std::string &ret) {
        const std::string name = text(call);
        const size_t paren = call_paren(call);
        if (paren == npos) return false;
        definition d;
        if (depth >= 4 || !find_definition(name, d)) return false;
        const size_t params_open = d.name + 1, params_close = match_[params_open];
        size_t body = params_close + 1;
        while (!is(body, "{")) ++body;
        const size_t body_close = match_[body];
        std::vector<std::pair<size_t, size_t>> params = split_commas(params_open + 1, params_close);
        if (params.size() == 1 && params[0].second == params[0].first + 1 && is(params[0].first, "void")) params.clear();
        const std::vector<std::pair<size_t, size_t>> args = split_commas(paren + 1, match_[paren]);
        if (params.size() != args.size()) return false;
        // The body: statements, the last `return e;` when the helper returns a value, no other return.
        size_t last = body + 1, final_return = npos;
        for (size_t i = body + 1; i < body_close;) {
            const size_t e = stmt_end(i, body_close);
            if (e == npos) return false;
            last = i;
            i = e;
        }
        for (size_t i = body + 1; i < body_close; ++i)
            if (is(i, "return")) {
                if (i != last || final_return != npos) return false;
                final_return = i;
            }

        const int n = inlined_;
        const std::string tag = std::to_string(n);
        const std::string at = lines_.sync(toks_[call].offset);
        std::map<std::string, std::string> rename;
        // Each parameter's name, and where its type is: [first, name) of the parameter.
        struct parameter {
            size_t a, b, nm;
            bool array;
        };
        std::vector<parameter> ps;
        for (const auto &p : params) {
            size_t a = p.first, b = p.second;
            for (size_t i = a; i < b; ++i)
                if (is(i, "=")) b = i; // a default argument (the call gives every argument)
            size_t nm = b;
            while (nm > a && is(nm - 1, "]")) nm = match_[nm - 1];
            if (nm == a || !is_ident(nm - 1)) return false;
            --nm;
            const bool array = nm + 1 < b;
            if (array && match_[nm + 1] + 1 != b) return false; // one dimension: a pointer
            ps.push_back({a, b, nm, array});
        }
        // Template parameters: the call's explicit arguments, then the template's defaults, then
        // deduced from the arguments, declared before the block under names of this inlining.
        std::string declarations;
        std::set<std::string> type_parameters;
        if (d.template_open != npos) {
            const std::vector<std::pair<size_t, size_t>> tparams = split_template_commas(d.template_open + 1, d.template_close);
            std::vector<std::pair<size_t, size_t>> explicit_args;
            if (paren != call + 1) explicit_args = split_template_commas(call + 2, paren - 1);
            if (explicit_args.size() > tparams.size()) return false;
            for (const auto &tp : tparams) // every name first: a default or a type may mention a later one
                for (size_t i = tp.first; i < tp.second && !is(i, "="); ++i)
                    if (is_ident(i) && (i + 1 == tp.second || is(i + 1, "=") || is(i + 1, ","))) rename[text(i)] = "sm_i" + tag + "_" + text(i);
            for (size_t t = 0; t < tparams.size(); ++t) {
                const size_t a = tparams[t].first, b = tparams[t].second;
                size_t eq = a;
                while (eq < b && !is(eq, "=")) ++eq;
                if (eq == a || !is_ident(eq - 1)) return false;
                for (size_t i = a; i < eq; ++i)
                    if (is(i, "...") || is(i, ".") || is(i, "template")) return false; // packs, template template parameters
                const size_t nm = eq - 1;
                const bool is_type = is(a, "typename") || is(a, "class");
                const std::string pname = rename.at(text(nm));
                std::string value;
                if (t < explicit_args.size()) {
                    value = spelled(explicit_args[t].first, explicit_args[t].second, outer);
                } else if (eq < b) {
                    value = spelled(eq + 1, b, rename);
                } else if (is_type) {
                    // `T x`, `const T& x`, `device const T* x` (qualifiers and address spaces around):
                    // the argument's type as a value, or what it points to.
                    for (size_t p = 0; p < ps.size() && value.empty(); ++p) {
                        std::vector<size_t> core;
                        for (size_t i = ps[p].a; i < ps[p].nm; ++i)
                            if (!(is(i, "const") || is(i, "volatile") || is(i, "&") || is(i, "device") || is(i, "constant") ||
                                  is(i, "threadgroup") || is(i, "thread") || is(i, "__global") || is(i, "__local") ||
                                  is(i, "__private") || is(i, "__constant") || is(i, "__generic")))
                                core.push_back(i);
                        if (core.empty() || text(core[0]) != text(nm)) continue;
                        std::string expression;
                        if (!unevaluated(args[p].first, args[p].second, outer, out, expression)) return false;
                        const std::string arg = "decltype((" + expression + "))";
                        if (core.size() == 1 && !ps[p].array) value = "::sm::regions::deduced_value_t<" + arg + ">";
                        else if ((core.size() == 2 && is(core[1], "*")) || (core.size() == 1 && ps[p].array))
                            value = "::sm::regions::deduced_pointee_t<" + arg + ">";
                    }
                }
                if (value.empty()) return false;
                if (is_type) {
                    declarations += at + "using " + pname + " = " + value + ";\n";
                    type_parameters.insert(text(nm));
                } else {
                    declarations += at + "constexpr " + spelled(a, nm, rename) + " " + pname + " = (" + value + ");\n";
                }
            }
        }
        std::string type;
        for (size_t i = d.type_start; i < d.name; ++i) {
            if (is(i, "static") || is(i, "inline") || is(i, "METAL_FUNC") || is(i, "constexpr") || is(i, "extern")) continue;
            type += spelled(i, i + 1, rename) + (is(i, "::") || (i + 1 < d.name && is(i + 1, "::")) ? "" : " ");
        }
        if (type.empty() || type.find('&') != std::string::npos) return false;
        const bool is_void = type == "void ";
        if (!is_void && final_return == npos) return false;
        if (is_void && final_return != npos && !is(final_return + 1, ";")) return false;

        ++inlined_;
        out += declarations;
        if (!is_void) {
            ret = "sm_ret" + tag;
            out += at + type + ret + ";\n";
        }
        out += at + "{\n";
        for (size_t p = 0; p < ps.size(); ++p) {
            const size_t a = ps[p].a, nm = ps[p].nm;
            bool reference = false, is_const = false;
            std::vector<size_t> core;
            for (size_t i = a; i < nm; ++i) {
                if (is(i, "&")) reference = true;
                else if (is(i, "const")) is_const = true;
                else if (!(is(i, "volatile") || is(i, "device") || is(i, "constant") || is(i, "threadgroup") || is(i, "thread")))
                    core.push_back(i);
            }
            const std::string arg = copy(args[p].first, args[p].second, outer);
            const std::string pname = text(nm);
            const bool plain_variable = args[p].second == args[p].first + 1 && is_ident(args[p].first);
            if (reference && plain_variable) {
                rename[pname] = outer.count(text(args[p].first)) ? outer.at(text(args[p].first)) : text(args[p].first);
                continue;
            }
            // A parameter of a template parameter's type (`args_t args`, which may be a reference
            // type) bound to a plain variable the helper never changes: that variable.
            if (!reference && !ps[p].array && core.size() == 1 && type_parameters.count(text(core[0])) && plain_variable &&
                !modifies(pname, body + 1, body_close)) {
                rename[pname] = outer.count(text(args[p].first)) ? outer.at(text(args[p].first)) : text(args[p].first);
                continue;
            }
            if (reference && !is_const) return false;
            // A value: its type without the reference and, for a reference, the address space.
            static const std::set<std::string> spaces = {"device", "constant", "threadgroup", "thread", "__global", "__local",
                                                         "__private", "__constant", "__generic"};
            std::string ptype;
            for (size_t i = a; i < nm; ++i) {
                if (is(i, "&") || (reference && spaces.count(text(i)))) continue;
                ptype += spelled(i, i + 1, rename) + (is(i, "::") || is(i + 1, "::") ? "" : " ");
            }
            if (ps[p].array) ptype += "*";
            rename[pname] = "sm_i" + tag + "_" + pname;
            out += at + ptype + " " + rename[pname] + " = (" + arg + ");\n";
        }
        // The helper's locals get names of this inlining of their own: the same helper inlined twice, or
        // a local named like one of the kernel's, would otherwise declare a name twice.
        for (const std::string &local : local_names(body, body_close))
            if (!rename.count(local)) rename[local] = "sm_i" + tag + "_" + local;
        const size_t end = final_return != npos ? final_return : body_close;
        if (!expand_list(body + 1, end, rename, depth + 1, out)) return false;
        if (!is_void) {
            const size_t semi = stmt_end(final_return, body_close) - 1;
            out += copy(final_return, final_return + 1, rename, {{final_return, {final_return, ret + " = ("}}}) +
                   copy(final_return + 1, semi, rename) + ");\n";
        }
        out += at + "}\n";
        return true;
    }

    const region_kernel &k_;
    line_map lines_;
    int inlined_ = 0;
};

class splitter : kernel_body_tokens {
public:
    splitter(const std::string &text, const region_kernel &k, bool lanes)
        : kernel_body_tokens(text), k_(k), lines_(text), lanes_(lanes) {}

    bool run(std::string &code, std::string &why) {
        if (!read_body(k_.body_open, k_.body_close, why, true)) return false;
        std::vector<stmt> top;
        if (!parse_list(0, toks_.size(), 0, top, why)) return false;
        int next = 0;
        assign_regions(top, next);
        collect_uses(top);
        if (!choose_replicated(top, why)) return false;
        if (!check_regions(top, why)) return false;
        emit_function(top, code);
        return true;
    }
    // The user lines of the loops run as lanes ("" when none).
    const std::string &lane_lines() const { return lane_lines_; }

private:
    // ---- tokens of the body (kernel_body_tokens) ----
    bool is_barrier_name(size_t i) const { return is(i, "threadgroup_barrier") || is(i, "simdgroup_barrier"); }
    // A call of a SIMD-group (or quad-group) function other than simdgroup_barrier, split or not.
    bool is_simd_call(size_t i) const {
        if (!is_ident(i) || !is(i + 1, "(") || (i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) return false;
        const std::string t = text(i);
        const bool metal_name = simd_functions().count(t) || t.compare(0, 5, "quad_") == 0 ||
                                t.compare(0, 10, "simdgroup_") == 0 || t == "make_filled_simdgroup_matrix";
        return metal_name && !is_barrier_name(i) && !k_.user_functions.count(t);
    }
    // A call of a name that is both Metal's SIMD-group function and one of the source's own (candle's
    // `simd_shuffle_down(indexed<T>, ushort)`): which one a call means depends on its argument's type,
    // which the split cannot see, so it splits neither.
    bool is_ambiguous_simd_call(size_t i) const {
        return is_ident(i) && is(i + 1, "(") && !(i > 0 && (is(i - 1, ".") || is(i - 1, "->"))) && simd_functions().count(text(i)) &&
               k_.user_functions.count(text(i));
    }
    // A call of a helper that meets other threads, left where the inliner could not take it (also
    // `ns::helper(...)` and `x.helper(...)`, which the inliner does not take: never an ordinary call).
    bool is_meeting_helper(size_t i) const {
        return is_ident(i) && k_.meeting_functions.count(text(i)) && (is(i + 1, "(") || is(i + 1, "<"));
    }
    bool is_split_point(size_t i) const { return is_barrier_name(i) || is_simd_call(i) || is_meeting_helper(i) || is_ambiguous_simd_call(i); }
    bool contains(size_t a, size_t b, bool (splitter::*pred)(size_t) const) const {
        for (size_t i = a; i < b; ++i)
            if ((this->*pred)(i)) return true;
        return false;
    }
    bool is_return(size_t i) const { return is(i, "return"); }
    bool is_jump(size_t i) const { return is(i, "break") || is(i, "continue"); }


    // ---- statements (stmt_end: kernel_body_tokens) ----
    bool parse_list(size_t a, size_t b, int depth, std::vector<stmt> &out, std::string &why) {
        for (size_t i = a; i < b;) {
            size_t e = stmt_end(i, b);
            if (e == npos || e > b) {
                why = "cannot parse the statement at token '" + text(i) + "'";
                return false;
            }
            stmt s;
            s.a = i;
            s.b = e;
            if (!classify(s, depth, why)) return false;
            out.push_back(std::move(s));
            i = e;
        }
        return true;
    }

    bool classify(stmt &s, int depth, std::string &why) {
        size_t a = s.a, b = s.b;
        size_t n = is(a, "metal") && is(a + 1, "::") ? a + 2 : a;
        if (is_barrier_name(n) && is(n + 1, "(") && match_[n + 1] + 2 == b && is(b - 1, ";")) {
            s.kind = stmt_kind::barrier;
            return true;
        }
        if (scope_statement(s)) return true;
        std::set<std::string> names = matrix_names_;
        matrix_redeclarations_ = 0;
        if (matrix_statement(a, b, names)) {
            if (masked_nesting_ > 0) { // run once per SIMD group: only where every lane of it is
                why = "a simdgroup_matrix statement under an 'if' whose condition may differ between the group's threads";
                return false;
            }
            if (matrix_redeclarations_ && matrix_type_end(a, b) != npos) {
                why = "a simdgroup_matrix variable declared twice in the kernel body";
                return false;
            }
            s.kind = stmt_kind::matrix;
            s.in_loop = loop_nesting_ > 0;
            for (const std::string &n : names)
                if (!matrix_names_.count(n)) s.matrix_declared.push_back(n);
            matrix_names_ = names;
            matrix_declaration(s);
            return true;
        }
        bool barrier_inside = contains(a, b, &splitter::is_split_point);
        if ((is(a, "for") || is(a, "while")) && is(a + 1, "(")) {
            size_t h = match_[a + 1];
            if (barrier_inside && is(h + 1, "{") && match_[h + 1] + 1 == b && !contains(a, h + 1, &splitter::is_split_point)) {
                if (depth >= 3) {
                    why = "barrier loops nested more than three deep";
                    return false;
                }
                if (mentions_matrix(a, h + 1)) return matrix_refused(why);
                s.kind = stmt_kind::loop;
                s.head_end = h;
                ++loop_nesting_;
                const bool parsed = parse_list(h + 2, b - 1, depth + 1, s.body, why);
                --loop_nesting_;
                return parsed;
            }
        }
        // `if (c) {...} else {...}` with split points in its arms and a condition the same for every
        // thread of the group: the condition is evaluated once for the group, as a loop header is, and
        // each arm splits like a block.
        if (barrier_inside && is(a, "if") && is(a + 1, "(") && !contains(a, match_[a + 1] + 1, &splitter::is_split_point))
            return branch_statement(s, depth, why);
        // A matrix is the SIMD group's (one copy per group): a lane's own statement can only reach its
        // own elements of it, through thread_elements().
        if (mentions_matrix(a, b) && !(!barrier_inside && elements_only(a, b))) return matrix_refused(why);
        // A braced block (an inlined helper's body): its statements split like a loop's that runs once.
        // (Only loops and branches count toward the nesting limit: a block has no header, and the
        // inliner nests one per helper, at most four deep.)
        if (barrier_inside && is(a, "{")) {
            s.kind = stmt_kind::loop;
            s.block = true;
            s.head_end = a;
            return parse_list(a + 1, b - 1, depth, s.body, why);
        }
        if (barrier_inside && simd_statement(s, why)) {
            // `if (simd_is_first()) ...`: a call in the condition of an `if` whose arms meet nobody.
            if (is(a, "if")) {
                if (contains(a, b, &splitter::is_jump)) {
                    why = "break/continue outside a loop of its own statement";
                    return false;
                }
                for (size_t i = a; i < b; ++i)
                    if (is(i, "return")) {
                        if (!is(i + 1, ";")) {
                            why = "'return' with a value (a lambda?) in the kernel body";
                            return false;
                        }
                        s.has_return = true;
                    }
                return true;
            }
            parse_declaration(s);
            note_declared(s);
            return true;
        }
        if (barrier_inside && is(a, "switch") && why.empty()) {
            why = "a SIMD-group call or barrier in a switch that is no if-chain (a label that falls through into the next, a break "
                  "inside its statements, or a value with a call or an assignment)";
            return false;
        }
        if (barrier_inside) {
            if (why.empty()) why = "a barrier inside control flow other than a braced for/while loop at the kernel's top level";
            return false;
        }
        // The translator's threadgroup variables: references into the group's arena, shared by all threads.
        if (is(a, "auto") && is(a + 1, "&") && is_ident(a + 2) && is(a + 3, "=") && is(a + 4, "::") && is(a + 5, "sm") &&
            is(a + 7, "entry") && is(a + 9, "threadgroup_vars")) {
            s.kind = stmt_kind::hoisted;
            return true;
        }
        for (size_t i = a; i < b; ++i)
            if (is(i, "return")) {
                if (!is(i + 1, ";")) {
                    why = "'return' with a value (a lambda?) in the kernel body";
                    return false;
                }
                s.has_return = true;
            }
        if (!(is(a, "for") || is(a, "while") || is(a, "do") || is(a, "switch")) && contains(a, b, &splitter::is_jump)) {
            why = "break/continue outside a loop of its own statement";
            return false;
        }
        if (lanes_ && !mentions_matrix(a, b)) lane_statement(s);
        if (s.kind == stmt_kind::plain && !s.has_return && !mentions_matrix(a, b)) subset_statement(s);
        if (s.kind == stmt_kind::plain) parse_declaration(s);
        note_declared(s);
        return true;
    }
    // An `if` with split points in its arms (see classify). Metal lets SIMD-group functions run in
    // divergent control flow (only the lanes that take the arm meet), so the condition must be the
    // group's own: made only of the kernel's parameters that no statement changes and the group's
    // positions (uniform_condition). Each arm is parsed as a block; `else if` is an arm holding an `if`.
    bool branch_statement(stmt &s, int depth, std::string &why) {
        const size_t a = s.a, b = s.b, h = match_[a + 1];
        s.masked = !uniform_condition(a + 2, h);
        if (s.masked) {
            for (size_t i = a + 2; i < h; ++i)
                if (is(i, "return") || is(i, "break") || is(i, "continue") || is(i, "goto")) {
                    why = "a jump in the condition of an 'if' around a SIMD-group call or barrier";
                    return false;
                }
            s.mask = masks_++;
        }
        if (depth >= 3) {
            why = "barrier loops nested more than three deep";
            return false;
        }
        if (mentions_matrix(a, h + 1)) return matrix_refused(why);
        const size_t then_end = stmt_end(h + 1, b);
        if (then_end == npos || then_end > b || (then_end < b && !is(then_end, "else"))) {
            why = "cannot parse the 'if' at token '" + text(a) + "'";
            return false;
        }
        s.kind = stmt_kind::loop;
        s.branch = true;
        s.head_end = h;
        auto arm = [&](size_t from, size_t to, std::vector<stmt> &out) {
            if (is(from, "{") && match_[from] + 1 == to) return parse_list(from + 1, to - 1, depth + 1, out, why);
            if (is(from, "if")) return parse_list(from, to, depth, out, why); // `else if`: a link of the chain, no deeper
            return parse_list(from, to, depth + 1, out, why);
        };
        if (s.masked) ++masked_nesting_;
        bool parsed = arm(h + 1, then_end, s.body);
        if (parsed && then_end < b) {
            s.else_at = then_end;
            parsed = arm(then_end + 1, b, s.else_body);
        }
        if (s.masked) --masked_nesting_;
        return parsed;
    }
    // Tokens [a, b) (a condition) have one value for the whole group: numbers, operators, the kernel's
    // parameters that are values or `constant` references (parameter_names) and never assigned nor
    // declared again in the body, their members (`args.n`, `tptg.x`), the group's positions
    // (threads_per_threadgroup, ...), scope constants, and casts. No call, subscript, dereference or
    // assignment: nothing that reads memory the kernel may write or differs per thread.
    bool uniform_condition(size_t a, size_t b) const {
        if (a >= b) return false;
        static const std::set<std::string> casts = {"float", "half", "int", "uint", "short", "ushort", "long", "ulong", "char", "uchar", "bool"};
        const std::set<std::string> params = parameter_names();
        std::set<std::string> known = params;
        for (const auto &p : k_.positions) known.insert(p.first);
        for (size_t i = a; i < b; ++i) {
            if (is(i, "[") || is(i, "{") || (is(i, "-") && is(i + 1, ">")) || (is(i, "+") && is(i + 1, "+")) || (is(i, "-") && is(i + 1, "-")))
                return false;
            if (is(i, "=") && !(is(i + 1, "=") || is(i - 1, "=") || is(i - 1, "!") || is(i - 1, "<") || is(i - 1, ">"))) return false;
            if (is(i, "*") && !(is_ident(i - 1) || is(i - 1, ")") || toks_[i - 1].kind == token_kind::number)) return false;
            if (!is_ident(i)) continue;
            if (is(i - 1, ".")) continue; // a member of what came before (checked there)
            const std::string t = text(i);
            if (t == "true" || t == "false") continue;
            if (is(i + 1, "(")) {
                if (!casts.count(t)) return false;
                continue;
            }
            if (scope_names_.count(t) || constant_macro(t, 0)) continue;
            bool position = false, group = false;
            for (const auto &p : k_.positions)
                if (p.first == t) position = true, group = group_position(p.second);
            if (position ? !group : (!params.count(t) || assigns(t, 0, toks_.size()) || address_taken(t))) return false;
            if (declared_in_body(t, known)) return false;
            if (is(i + 1, ".") && !(is_ident(i + 2) && !is(i + 3, "(") && !is(i + 3, "."))) return false; // one plain member
        }
        return true;
    }
    // Whether `name` is an object-like macro of the source (`#define N_SIMDWIDTH 32`) whose every
    // definition is a constant expression: numbers, operators, parentheses, other such macros. The
    // text clang compiles keeps the user's macros, so a condition may name them.
    bool constant_macro(const std::string &name, int depth) const {
        if (depth > 4) return false;
        int definitions = 0;
        for (size_t p = s_.find("#define"); p != std::string::npos; p = s_.find("#define", p + 7)) {
            size_t q = p + 7;
            if (q >= s_.size() || (s_[q] != ' ' && s_[q] != '\t')) continue;
            while (q < s_.size() && (s_[q] == ' ' || s_[q] == '\t')) ++q;
            if (s_.compare(q, name.size(), name) != 0) continue;
            q += name.size();
            if (q < s_.size() && (std::isalnum((unsigned char)s_[q]) || s_[q] == '_')) continue; // a longer name
            if (q < s_.size() && s_[q] != ' ' && s_[q] != '\t') return false;                      // function-like, or empty
            const size_t e = s_.find('\n', q);
            std::string body = s_.substr(q, (e == std::string::npos ? s_.size() : e) - q);
            if (!body.empty() && body.back() == '\\') return false; // continued on the next line
            const std::vector<token> ts = tokenize_msl(body);
            if (ts.empty()) return false;
            for (const token &t : ts) {
                const std::string w = body.substr(t.offset, t.length);
                if (t.kind == token_kind::number) continue;
                if (t.kind == token_kind::identifier) {
                    if (!constant_macro(w, depth + 1)) return false;
                    continue;
                }
                if (w.size() != 1 || std::string("()+-*/%<>&|^~!").find(w[0]) == std::string::npos) return false;
            }
            ++definitions;
        }
        return definitions > 0 && s_.find("#undef " + name) == std::string::npos;
    }
    void note_declared(stmt &s) {
        s.in_loop = loop_nesting_ > 0;
        if (s.name_tok != npos) declared_.insert(text(s.name_tok));
    }

    // `using N = ...;`, `typedef ...;`, `static_assert(...);`, or a `constexpr` declaration whose
    // initialiser names none of the body's variables declared so far (a `const int` with a constant
    // initialiser could be one): the same for every thread, so declared once at its scope.
    bool scope_statement(stmt &s) {
        const size_t a = s.a, b = s.b;
        if (!is(b - 1, ";") || contains(a, b, &splitter::is_split_point) || contains(a, b, &splitter::is_return)) return false;
        if (is(a, "static_assert") && is(a + 1, "(") && match_[a + 1] + 2 == b) {
            s.kind = stmt_kind::scope;
            return true;
        }
        if (!scope_declaration(s)) return false;
        scope_names_.insert(s.scope_declared.begin(), s.scope_declared.end());
        return true;
    }
    bool scope_declaration(stmt &s) {
        const size_t a = s.a, b = s.b;
        if (is(a, "using") && is_ident(a + 1) && is(a + 2, "=")) {
            s.scope_declared.push_back(text(a + 1));
            s.kind = stmt_kind::scope;
            return true;
        }
        if (is(a, "typedef") && is_ident(b - 2)) {
            s.scope_declared.push_back(text(b - 2));
            s.kind = stmt_kind::scope;
            return true;
        }
        bool is_constexpr = false;
        for (size_t i = a; i < b && !is(i, "="); ++i)
            if (is(i, "constexpr")) is_constexpr = true;
        if (!is_constexpr && !constant_integer(a, b)) return false;
        stmt d = s;
        parse_declaration(d);
        if (d.name_tok == npos) return false;
        for (size_t i = d.name_tok + 1; i < b; ++i)
            if (is_ident(i) && !(is(i - 1, ".") || is(i - 1, "->")) && declared_.count(text(i))) return false;
        for (size_t i = d.name_tok + 1; i < b; ++i) // further declarators
            if ((is(i, "(") || is(i, "[") || is(i, "{")) && match_[i] != npos) i = match_[i];
            else if (is(i, ",") && is_ident(i + 1)) s.scope_declared.push_back(text(i + 1));
        s.scope_declared.push_back(text(d.name_tok));
        s.kind = stmt_kind::scope;
        return true;
    }
    // `const uint head_size = 64;` (ggml's rwkv kernels, whose per-thread `float state[head_size]`
    // lives across barriers): a const integer initialised by a constant expression (numbers,
    // operators, constant macros, scope constants) is usable in constant expressions as a constexpr
    // one is, and the same for every thread: a scope declaration.
    bool constant_integer(size_t a, size_t b) const {
        static const std::set<std::string> integers = {"int", "uint", "short", "ushort", "long", "ulong", "char", "uchar", "unsigned",
                                                       "size_t", "int32_t", "uint32_t", "int64_t", "uint64_t", "int16_t", "uint16_t", "bool"};
        size_t i = a;
        if (!is(i, "const")) return false;
        ++i;
        if (!integers.count(text(i))) return false;
        while (integers.count(text(i))) ++i;
        if (!is_ident(i) || !is(i + 1, "=") || !is(b - 1, ";")) return false;
        for (size_t k = i + 2; k + 1 < b; ++k) {
            if (toks_[k].kind == token_kind::number) continue;
            if (is_ident(k)) {
                if (scope_names_.count(text(k)) || constant_macro(text(k), 0)) continue;
                return false;
            }
            const std::string w = text(k);
            if (w.size() != 1 || std::string("()+-*/%<>&|^~!").find(w[0]) == std::string::npos) return false;
        }
        return i + 3 < b;
    }
    // Whether a type as spelled names a variable the body declares (which no copy's type can name).
    bool names_variable(const std::string &type) const {
        for (const token &t : tokenize_msl(type))
            if (t.kind == token_kind::identifier && declared_.count(type.substr(t.offset, t.length))) return true;
        return false;
    }
    // Whether a type as spelled names a scope declaration (then it cannot be spelled at the top of
    // the split function).
    bool names_scope_declaration(const std::string &type) const {
        for (const token &t : tokenize_msl(type))
            if (t.kind == token_kind::identifier && scope_names_.count(type.substr(t.offset, t.length))) return true;
        return false;
    }

    // ---- loops whose trip count differs between threads, run in step (stmt_kind::lanes) ----
    // Inside a region, `for (uint c = lid; c < n; c += 256) sum += exp(x[c]);` keeps the loop over the
    // group's threads scalar: LLVM's outer-loop vectorizer refuses an inner loop whose trip count
    // differs per thread. Run as lanes, iteration j of every thread still in the loop runs in one loop
    // over the group's threads (which vectorizes: no loop inside, branches become masks), with the
    // loop variable recomputed as `start + j * step` (so `x[c]` stays contiguous across threads), until
    // no thread is left. Taken: `for (T v = start; cond; v += step)` with T an integer
    // type, start and step without calls or assignments and made of names the loop does not change,
    // v not changed or addressed in the body, and a body without loops, `switch` or `goto` (so each
    // `break`/`continue` is the loop's own), and a step other than 1.
    static const char *lane_wide_type(const std::string &t) {
        static const std::map<std::string, const char *> m = {
            {"uint", "unsigned"},       {"unsigned", "unsigned"},   {"unsigned int", "unsigned"}, {"int", "unsigned"},
            {"uint32_t", "unsigned"},   {"int32_t", "unsigned"},    {"ushort", "unsigned"},       {"short", "unsigned"},
            {"uint16_t", "unsigned"},   {"int16_t", "unsigned"},    {"ulong", "unsigned long"},   {"long", "unsigned long"},
            {"size_t", "unsigned long"}, {"uint64_t", "unsigned long"}, {"int64_t", "unsigned long"}, {"ptrdiff_t", "unsigned long"}};
        auto it = m.find(t);
        return it == m.end() ? nullptr : it->second;
    }
    // Tokens [a, b) may be evaluated again each iteration with the same value: no call, no assignment,
    // no name that [from, to) (the loop) may change.
    bool recomputable(size_t a, size_t b, size_t from, size_t to) const {
        if (a >= b) return false;
        for (size_t i = a; i < b; ++i) {
            if (is(i, "=") || (is(i, "+") && is(i + 1, "+")) || (is(i, "-") && is(i + 1, "-"))) return false;
            if (is_ident(i) && is(i + 1, "(") && !lane_wide_type(text(i))) return false; // a call (an integer cast is fine)
            if (is_ident(i) && !(i > 0 && (is(i - 1, ".") || is(i - 1, "->"))) && (assigns(text(i), from, to) || address_taken(text(i))))
                return false;
        }
        return true;
    }
    void lane_statement(stmt &s) {
        const size_t a = s.a, b = s.b;
        if (!is(a, "for") || !is(a + 1, "(")) return;
        const size_t close = match_[a + 1];
        size_t s1 = npos, s2 = npos;
        for (size_t k = a + 2; k < close; ++k) {
            if (is(k, "(") || is(k, "[") || is(k, "{")) k = match_[k];
            else if (is(k, ";")) (s1 == npos ? s1 : s2) = k;
        }
        if (s1 == npos || s2 == npos || s2 == s1 + 1) return;
        // init: `T v = start`
        size_t eq = npos;
        for (size_t k = a + 2; k < s1; ++k)
            if (is(k, "=")) {
                eq = k;
                break;
            }
        if (eq == npos || eq < a + 4 || !is_ident(eq - 1)) return;
        const size_t v = eq - 1;
        std::string type;
        for (size_t k = a + 2; k < v; ++k) {
            if (is(k, "const")) return; // a const loop variable cannot have a step
            if (!is_ident(k)) return;
            type += (type.empty() ? "" : " ") + text(k);
        }
        const char *wide = lane_wide_type(type);
        if (!wide) return;
        const std::string name = text(v);
        // step: `v += E`. A step of 1 (`++c`, `c += 1`) walks each thread's own contiguous range: the thread's loop
        // vectorizes along it as it is, which beats lanes gathering from ranges far apart.
        size_t step_a = npos, step_b = npos;
        const size_t n = close - (s2 + 1);
        if (n >= 4 && text(s2 + 1) == name && is(s2 + 2, "+") && is(s2 + 3, "=") && !(n == 4 && (is(s2 + 4, "1") || is(s2 + 4, "1u") || is(s2 + 4, "1U"))))
            step_a = s2 + 4, step_b = close;
        else return;
        const size_t body_a = close + 1;
        for (size_t k = body_a; k < b; ++k)
            if (is(k, "for") || is(k, "while") || is(k, "do") || is(k, "switch") || is(k, "goto")) return;
        if (assigns(name, s1 + 1, s2) || assigns(name, body_a, b) || address_taken(name)) return;
        if (!recomputable(eq + 1, s1, s1 + 1, b)) return;
        if (!recomputable(step_a, step_b, s1 + 1, b)) return;
        for (size_t k = eq + 1; k < s1; ++k)
            if (is_ident(k) && text(k) == name) return;
        // A loop whose start and condition are made of the kernel's parameters and the group's
        // positions runs alike in every thread: the outer-loop vectorizer takes it as it is.
        const std::set<std::string> params = parameter_names();
        bool varies = false;
        for (size_t k = eq + 1; k < s2 && !varies; ++k) {
            if (!is_ident(k) || is(k - 1, ".") || is(k - 1, "->") || is(k + 1, "(") || text(k) == name) continue;
            bool position = false;
            for (const auto &p : k_.positions)
                if (p.first == text(k)) position = true, varies = !group_position(p.second);
            if (!position && !params.count(text(k))) varies = true;
        }
        if (!varies) return;
        s.kind = stmt_kind::lanes;
        s.lane_type = type;
        s.lane_wide = wide;
        s.lane_var = v;
        s.start_a = eq + 1, s.start_b = s1;
        s.cond_a = s1 + 1, s.cond_b = s2;
        s.step_a = step_a, s.step_b = step_b;
        s.body_a = body_a;
    }

    // `if (p == C) statement` (no else) where `p` is the thread's index in the threadgroup, its (scalar,
    // so x) position in it, or its lane, and C a number: the one-thread (or one-lane-per-SIMD-group)
    // step of reductions. Looping over every thread to test the condition costs more than
    // the step (and, vectorized, a masked scatter per 8 threads); the threads it names are known.
    void subset_statement(stmt &s) const {
        const size_t a = s.a, b = s.b;
        if (!is(a, "if") || !is(a + 1, "(")) return;
        const size_t h = match_[a + 1];
        if (h != a + 6 || stmt_end(h + 1, b) != b) return;
        size_t name = npos, value = npos;
        if (is_ident(a + 2) && is(a + 3, "=") && is(a + 4, "=") && toks_[a + 5].kind == token_kind::number) name = a + 2, value = a + 5;
        if (toks_[a + 2].kind == token_kind::number && is(a + 3, "=") && is(a + 4, "=") && is_ident(a + 5)) name = a + 5, value = a + 2;
        if (name == npos) return;
        // A local of the same name (`uint lane = ...;` in a loop body) is not the position: any
        // occurrence after a type-like token keeps the statement ordinary. Unless it is the one
        // declaration of a copy of a position that nothing changes (an inlined helper's parameter
        // `const uint sm_i0_lane = (lane);`): an integer copy of a lane or index equals N when it does.
        std::string position = text(name);
        size_t declared = npos;
        int declarations = 0;
        for (size_t i = 1; i < toks_.size(); ++i)
            if (is_ident(i) && text(i) == text(name) && (is_ident(i - 1) || is(i - 1, ">") || is(i - 1, "*") || is(i - 1, "&"))) {
                ++declarations;
                declared = i;
            }
        if (declarations > 1) return;
        if (declarations == 1) {
            static const std::set<std::string> integers = {"uint", "int", "ushort", "short", "unsigned", "uint32_t", "int32_t", "uint16_t"};
            const size_t d = declared;
            size_t p = d + 2;
            const bool parenthesised = is(p, "(");
            if (parenthesised) ++p;
            if (!is(d + 1, "=") || !integers.count(text(d - 1)) || !is_ident(p) || !is(p + (parenthesised ? 2 : 1), ";") ||
                (parenthesised && !is(p + 1, ")")) || assigns(text(name), 0, d) || assigns(text(name), d + 1, toks_.size()) ||
                address_taken(text(name)))
                return;
            position = text(p);
        }
        for (const auto &p : k_.positions)
            if (p.first == position &&
                (p.second == "thread_index_in_threadgroup" || p.second == "thread_position_in_threadgroup" || p.second == "thread_index_in_simdgroup")) {
                s.kind = stmt_kind::subset;
                s.subset_attr = p.second;
                s.subset_value = value;
            }
    }

    // ---- simdgroup_matrix statements ----
    // A simdgroup_matrix is the SIMD group's, not a lane's: the group's lanes call every operation on
    // it together, with the same arguments (MSL requires it). So a statement that only declares,
    // loads, stores, multiplies or assigns matrices, or a loop of such statements, runs once per SIMD
    // group (as the first live lane sees its variables) on one copy of each matrix per SIMD group,
    // instead of 32 times on 32 copies.
    bool is_matrix_operation(size_t i) const {
        static const std::set<std::string> ops = {"simdgroup_load", "simdgroup_store", "simdgroup_multiply",
                                                  "simdgroup_multiply_accumulate"};
        return is_ident(i) && ops.count(text(i)) && is(i + 1, "(") && !k_.user_functions.count(text(i)) &&
               !(i > 0 && (is(i - 1, ".") || is(i - 1, "->") || (is(i - 1, "::") && !(i >= 2 && is(i - 2, "metal")))));
    }
    // The token after a matrix type at `i` (`[const] [metal::] simdgroup_float8x8`, `simdgroup_matrix<...>`), or npos.
    size_t matrix_type_end(size_t i, size_t b) const {
        if (is(i, "const")) ++i;
        if (is(i, "metal") && is(i + 1, "::")) i += 2;
        if (is(i, "simdgroup_float8x8") || is(i, "simdgroup_half8x8") || is(i, "simdgroup_bfloat8x8")) return i + 1;
        if (is(i, "simdgroup_matrix") && is(i + 1, "<")) {
            for (size_t k = i + 2, d = 1; k < b; ++k) {
                if (is(k, "(")) k = match_[k];
                else if (is(k, "<")) ++d;
                else if (is(k, ">") && --d == 0) return k + 1;
            }
        }
        return npos;
    }
    // An assignment, increment or decrement among tokens [a, b) (tokens are single characters).
    bool assigns_anything(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i) {
            if ((is(i, "+") && is(i + 1, "+")) || (is(i, "-") && is(i + 1, "-"))) return true;
            if (!is(i, "=") || is(i + 1, "=")) continue;
            if (i > a && (is(i - 1, "=") || is(i - 1, "!"))) continue;
            if (i > a && (is(i - 1, "<") || is(i - 1, ">")) && !(i > a + 1 && is(i - 2, text(i - 1).c_str()))) continue;
            return true;
        }
        return false;
    }
    // A loop header that runs once for the group (a loop around barriers) or once per SIMD group (a
    // matrix loop) may change only the variables it declares: a per-thread variable changed there
    // would change for the first live thread alone.
    bool header_changes_only_its_own(size_t loop, size_t close) const {
        if (is(loop, "while")) return !assigns_anything(loop + 2, close);
        size_t init_end = loop + 2;
        while (init_end < close && !is(init_end, ";")) init_end = skip_brackets(init_end, close);
        std::set<std::string> own;
        for (size_t i = loop + 3; i < init_end; ++i) // `T name = v, other = w`: a name after a type token
            if (is_ident(i) && is(i + 1, "=") && !is(i + 2, "=") && (is_ident(i - 1) || is(i - 1, ">") || is(i - 1, ",")))
                own.insert(text(i));
        for (size_t i = loop + 2; i < close; ++i)
            if (is_ident(i) && !own.count(text(i)) && assigns(text(i), i, i + 1)) return false;
        return !(is_ident(loop + 2) && is(loop + 3, "=") && !own.count(text(loop + 2)));
    }
    // Whether every use of a matrix in [a, b) is `m.thread_elements()` or `m[i]...thread_elements()`:
    // the lane's own pair of elements of its SIMD group's copy.
    bool elements_only(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i) {
            if (!is_ident(i) || !matrix_names_.count(text(i)) || (i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) continue;
            size_t j = i + 1;
            while (is(j, "[")) j = match_[j] + 1;
            if (!(is(j, ".") && is(j + 1, "thread_elements") && is(j + 2, "(") && is(j + 3, ")"))) return false;
        }
        return true;
    }
    bool mentions_matrix(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i)
            if (is_ident(i) && matrix_names_.count(text(i)) && !(i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) return true;
        return false;
    }
    // Whether [a, b) is a matrix statement; declared matrices are added to `names`.
    bool matrix_statement(size_t a, size_t b, std::set<std::string> &names) const {
        if (a >= b) return false;
        for (size_t i = a; i < b; ++i) {
            if (is_barrier_name(i) || is(i, "return") || is(i, "goto") || is(i, "break") || is(i, "continue") ||
                is(i, "thread_elements") || is(i, "static"))
                return false;
            if (is_simd_call(i) && !is_matrix_operation(i)) return false;
        }
        if (is(a, "{")) {
            if (match_[a] + 1 != b) return false;
            std::set<std::string> inner = names;
            for (size_t i = a + 1; i < b - 1;) {
                const size_t e = stmt_end(i, b - 1);
                if (e == npos || e > b - 1 || !matrix_statement(i, e, inner)) return false;
                i = e;
            }
            return b - 1 > a + 1;
        }
        if ((is(a, "for") || is(a, "while")) && is(a + 1, "(")) {
            const size_t h = match_[a + 1];
            std::set<std::string> inner = names;
            return !mentions_matrix(a, h + 1) && header_changes_only_its_own(a, h) && h + 1 < b && matrix_statement(h + 1, b, inner);
        }
        if (!is(b - 1, ";")) return false;
        const size_t t = matrix_type_end(a, b);
        if (t != npos) { // declarators: name [\[N\]...] [= init | (args) | {args}], ...
            for (size_t i = t; i < b;) {
                if (!is_ident(i)) return false;
                if (!names.insert(text(i)).second) ++matrix_redeclarations_;
                ++i;
                while (is(i, "[")) i = match_[i] + 1;
                if (is(i, "(") || is(i, "{")) i = match_[i] + 1;
                else if (is(i, "=")) {
                    size_t e = i + 1;
                    while (e < b && !is(e, ",") && !is(e, ";")) e = skip_brackets(e, b);
                    if (assigns_anything(i + 1, e)) return false;
                    i = e;
                }
                if (is(i, ";") && i + 1 == b) return true;
                if (!is(i, ",")) return false;
                ++i;
            }
            return false;
        }
        const size_t n = is(a, "metal") && is(a + 1, "::") ? a + 2 : a;
        if (is_matrix_operation(n)) return match_[n + 1] + 2 == b && !assigns_anything(n + 2, b - 2);
        // `m = ...;`, `m[i] = ...;` on a matrix
        if (is_ident(a) && names.count(text(a))) {
            size_t i = a + 1;
            while (is(i, "[")) i = match_[i] + 1;
            return is(i, "=") && !is(i + 1, "=") && !assigns_anything(i + 1, b);
        }
        return false;
    }
    // A matrix declaration at the statement's level: where its one declarator is (several cannot get
    // copies per SIMD group: the split refuses those if they are needed across regions).
    void matrix_declaration(stmt &s) {
        const size_t t = matrix_type_end(s.a, s.b);
        if (t == npos || !is_ident(t)) return;
        size_t i = t + 1;
        while (is(i, "[")) i = match_[i] + 1;
        s.matrix_name = t;
        s.matrix_suffix_end = i;
        s.matrix_init = is(i, "=");
        if (!(is(i, ";") || (is(i, "=") && i + 1 < s.b && !contains_top_comma(i + 1, s.b - 1)))) s.matrix_name = npos;
    }
    bool matrix_refused(std::string &why) const {
        why = "a simdgroup_matrix variable is used other than by simdgroup_matrix statements and `m.thread_elements()`";
        return false;
    }
    bool contains_top_comma(size_t a, size_t b) const {
        for (size_t i = a; i < b; i = skip_brackets(i, b))
            if (is(i, ",")) return true;
        return false;
    }
    // The token after the one at `i`, or after its brackets: (), [], {}, and the template arguments
    // after a name (`make_filled_simdgroup_matrix<float, 8, 8>`: a comparison has no place there).
    size_t skip_brackets(size_t i, size_t b) const {
        if (is(i, "(") || is(i, "[") || is(i, "{")) return match_[i] + 1;
        if (is_ident(i) && is(i + 1, "<")) {
            int d = 0;
            for (size_t k = i + 1; k < b; ++k) {
                if (is(k, "(") || is(k, "[") || is(k, "{")) k = match_[k];
                else if (is(k, "<")) ++d;
                else if (is(k, ">") && --d == 0) return k + 1;
            }
        }
        return i + 1;
    }

    // A statement (not control flow) holding exactly one call of a SIMD-group function the split
    // supports, with no other split point in its arguments: `s = simd_sum(s);`, `float m = simd_max(v) * k;`.
    bool simd_statement(stmt &s, std::string &why) {
        size_t a = s.a, b = s.b;
        if (is(a, "if") && is(a + 1, "(")) { // the call in the condition, which every lane evaluates
            const size_t close = match_[a + 1];
            if (contains(close, b, &splitter::is_split_point)) {
                why = "a SIMD-group call or barrier under divergent control flow";
                return false;
            }
            a += 2;
            b = close;
        } else if (statement_keywords().count(text(a)) || is(a, "{")) {
            return false;
        }
        std::vector<simd_call> calls;
        for (size_t i = a; i < b; ++i) {
            if (is_barrier_name(i)) return false;
            if (is_meeting_helper(i)) {
                why = "the helper function '" + text(i) + "', which meets other threads, is called where it cannot be inlined";
                return false;
            }
            if (is_ambiguous_simd_call(i)) {
                why = "'" + text(i) + "' is both Metal's SIMD-group function and one of the source's own";
                return false;
            }
            if (!is_simd_call(i)) continue;
            if (!calls.empty() && i < calls.back().close) {
                why = "a SIMD-group call in the arguments of another";
                return false;
            }
            auto f = simd_functions().find(text(i));
            if (f == simd_functions().end()) {
                why = "the SIMD-group function '" + text(i) + "' is not split into regions";
                return false;
            }
            simd_call c;
            c.name = i;
            c.call = i >= a + 2 && is(i - 1, "::") && is(i - 2, "metal") ? i - 2 : i;
            c.close = match_[i + 1];
            for (size_t k = i + 2; k < c.close; ++k) {
                if (is(k, "(") || is(k, "[") || is(k, "{")) k = match_[k];
                else if (is(k, ",")) c.commas.push_back(k);
            }
            c.arg0_end = c.commas.empty() ? c.close : c.commas.front();
            const size_t args = c.close > i + 2 ? c.commas.size() + 1 : 0;
            const simd_shape shape = f->second.shape;
            const bool fits = shape == simd_shape::none         ? args == 0
                              : shape == simd_shape::value      ? args == 1
                              : shape == simd_shape::value_lane ? args == 2
                                                                : args == 3 || args == 4;
            if (!fits) {
                why = "'" + text(i) + "' with " + std::to_string(args) + " arguments";
                return false;
            }
            calls.push_back(c);
        }
        if (calls.empty()) return false;
        s.kind = stmt_kind::simd;
        s.calls = calls;
        max_calls_ = std::max(max_calls_, calls.size());
        return true;
    }

    // `[const] T [*&...] name [= init | ; | , | [ | ( | {]`: a declaration at this level, by shape.
    void parse_declaration(stmt &s) {
        size_t a = s.a, b = s.b;
        if (statement_keywords().count(text(a))) return;
        const declaration_head head = head_of_declaration(a, b);
        const size_t i = head.name;
        if (i == none) return;
        const bool is_static = head.has_static || head.has_constexpr;
        s.name_tok = i;
        bool one_declarator = true;
        for (size_t k = i + 1; k < b; ++k) {
            if (is(k, "(") || is(k, "[") || is(k, "{")) k = match_[k];
            else if (is(k, ",")) one_declarator = false;
        }
        bool has_ref = false, has_ptr = false;
        for (size_t k = a; k < i; ++k) {
            if (is(k, "&")) has_ref = true;
            if (is(k, "*")) has_ptr = true;
        }
        s.simple_decl = !is_static && !has_ref && one_declarator && (is(i + 1, "=") || is(i + 1, ";"));
        if (s.simple_decl) s.init_eq = is(i + 1, "=") ? i + 1 : npos;
        if (!is_static && !has_ref && one_declarator && is(i + 1, "[")) { // `T name[N]... [= {...}];`
            size_t j = i + 1;
            while (is(j, "[") && match_[j] != npos) j = match_[j] + 1;
            if (is(j, "=") || (is(j, ";") && j + 1 == b)) {
                s.simple_decl = true;
                for (size_t k = i + 1; k < j; ++k) s.array_suffix += text(k) + " "; // (tokens: the text may hold #line lines)
                s.init_eq = is(j, "=") ? j : npos;
            }
        }
        // The copies' type: drop top-level const (a copy is assigned later). Behind a pointer, only a
        // const after the last '*' is top-level.
        size_t last_star = a;
        for (size_t k = a; k < i; ++k)
            if (is(k, "*")) last_star = k;
        for (size_t k = a; k < i; ++k) {
            if (is(k, "static") || is(k, "constexpr")) continue;
            if ((is(k, "const") || is(k, "volatile")) && (!has_ptr || k > last_star)) continue;
            s.type += (s.type.empty() ? "" : " ") + text(k);
        }
    }

    // ---- regions and what crosses them ----
    // Regions are numbered in program order; a loop's header gets a number of its own (it runs for the
    // group, between the regions around it).
    // Consecutive matrix statements make one region of their own (a loop over SIMD groups).
    // A subset statement is a region of its own.
    void assign_regions(std::vector<stmt> &list, int &next) {
        int cur = next++;
        bool matrix = false, subset = false;
        for (stmt &s : list) {
            const bool own = s.kind == stmt_kind::subset || s.kind == stmt_kind::lanes; // a region of its own
            if ((matrix != (s.kind == stmt_kind::matrix) || subset || own) &&
                (s.kind == stmt_kind::matrix || s.kind == stmt_kind::plain || s.kind == stmt_kind::simd || own))
                cur = next++;
            matrix = s.kind == stmt_kind::matrix;
            subset = own;
            if (s.kind == stmt_kind::plain || s.kind == stmt_kind::matrix || own) s.region = cur;
            else if (s.kind == stmt_kind::barrier) cur = next++;
            else if (s.kind == stmt_kind::simd) { // arguments stored before the split, the statement after it
                s.pre_region = cur;
                cur = next++;
                s.region = cur;
            }
            else if (s.kind == stmt_kind::loop) {
                s.region = next++;
                assign_regions(s.body, next);
                assign_regions(s.else_body, next);
                cur = next++;
            }
        }
    }
    void note_uses(size_t a, size_t b, int region) {
        for (size_t i = a; i < b; ++i)
            if (is_ident(i) && !(i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) {
                uses_[text(i)].insert(region);
                // The text clang compiles keeps the user's macros: `#define LANE lane` makes a use of
                // LANE one of lane (a position to bind, a variable that crosses a split).
                for (const std::string &n : macro_identifiers(text(i))) uses_[n].insert(region);
            }
    }
    // The identifiers of the source's definitions of the macro `name`, and of the macros they name in
    // turn (a function-like macro's own parameters left out); empty for a name no #define defines.
    const std::set<std::string> &macro_identifiers(const std::string &name) {
        if (!macros_read_) {
            macros_read_ = true;
            for (size_t p = s_.find("#define"); p != std::string::npos; p = s_.find("#define", p + 7)) {
                const size_t e = std::min(s_.find('\n', p), s_.size());
                const std::string line = s_.substr(p + 7, e - p - 7);
                const std::vector<token> ts = tokenize_msl(line);
                if (ts.empty() || ts[0].kind != token_kind::identifier) continue;
                const std::string macro = line.substr(ts[0].offset, ts[0].length);
                size_t k = 1;
                std::set<std::string> parameters;
                if (ts.size() > 1 && line[ts[1].offset] == '(' && ts[1].offset == ts[0].offset + ts[0].length) { // function-like
                    for (k = 2; k < ts.size() && line[ts[k].offset] != ')'; ++k)
                        if (ts[k].kind == token_kind::identifier) parameters.insert(line.substr(ts[k].offset, ts[k].length));
                    ++k;
                }
                std::set<std::string> &ids = macro_direct_[macro];
                for (; k < ts.size(); ++k)
                    if (ts[k].kind == token_kind::identifier && !parameters.count(line.substr(ts[k].offset, ts[k].length)))
                        ids.insert(line.substr(ts[k].offset, ts[k].length));
            }
        }
        auto it = macro_closure_.find(name);
        if (it != macro_closure_.end()) return it->second;
        std::set<std::string> &all = macro_closure_[name];
        std::vector<std::string> todo = {name};
        std::set<std::string> seen = {name};
        while (!todo.empty()) {
            const std::string m = todo.back();
            todo.pop_back();
            auto d = macro_direct_.find(m);
            if (d == macro_direct_.end()) continue;
            for (const std::string &id : d->second) {
                all.insert(id);
                if (seen.insert(id).second) todo.push_back(id);
            }
        }
        return all;
    }
    void collect_uses(const std::vector<stmt> &list) {
        for (const stmt &s : list) {
            if (s.kind == stmt_kind::plain || s.kind == stmt_kind::matrix || s.kind == stmt_kind::subset || s.kind == stmt_kind::lanes)
                note_uses(s.a, s.b, s.region);
            else if (s.kind == stmt_kind::simd) {
                for (const simd_call &c : s.calls) note_uses(c.name + 2, c.close, s.pre_region);
                note_uses(s.a, s.b, s.region);
            } else if (s.kind == stmt_kind::loop) {
                if (!s.block) note_uses(s.a, s.head_end + 1, s.region);
                collect_uses(s.body);
                collect_uses(s.else_body);
            }
        }
    }
    void all_decls(const std::vector<stmt> &list, std::vector<const stmt *> &out) const {
        for (const stmt &s : list) {
            if ((s.kind == stmt_kind::plain || s.kind == stmt_kind::simd) && s.name_tok != npos) out.push_back(&s);
            if (s.kind == stmt_kind::loop) {
                all_decls(s.body, out);
                all_decls(s.else_body, out);
            }
        }
    }
    bool choose_replicated(const std::vector<stmt> &top, std::string &why) {
        std::vector<const stmt *> decls;
        all_decls(top, decls);
        std::map<std::string, int> count;
        for (const stmt *d : decls) ++count[text(d->name_tok)];
        for (const stmt *d : decls) {
            std::string name = text(d->name_tok);
            const std::set<int> &u = uses_[name];
            bool crosses = std::any_of(u.begin(), u.end(), [&](int r) { return r != d->region; });
            if (!crosses) continue;
            if (!d->simple_decl || d->type.empty()) {
                why = "variable '" + name + "' lives across a barrier but its declaration is not 'T name = value;'";
                return false;
            }
            if (d->type == "auto" || d->type.find("auto ") == 0) {
                why = "variable '" + name + "' lives across a barrier but is declared 'auto'";
                return false;
            }
            if (count[name] > 1) {
                why = "variable '" + name + "' lives across a barrier and is declared more than once";
                return false;
            }
            replicated r{name, d->type + (d->array_suffix.empty() ? "" : " " + d->array_suffix), d->region, d};
            r.array = !d->array_suffix.empty();
            r.deferred = names_scope_declaration(r.type);
            if (names_variable(r.type)) { // `float state[head_size]` on a `const uint head_size = 64;`
                why = "variable '" + name + "' lives across a barrier and its type names a variable of the kernel";
                return false;
            }
            if (r.deferred && d->in_loop) {
                why = "variable '" + name + "' lives across a barrier, is declared in a loop around one, and its type is declared in the kernel";
                return false;
            }
            rep_index_[d] = reps_.size();
            r.uniform = !r.array && !r.deferred && group_uniform(*d);
            reps_.push_back(r);
        }
        return choose_group_copies(top, why);
    }
    void all_matrix_decls(const std::vector<stmt> &list, std::vector<const stmt *> &out) const {
        for (const stmt &s : list) {
            if (s.kind == stmt_kind::matrix && !s.matrix_declared.empty()) out.push_back(&s);
            if (s.kind == stmt_kind::loop) {
                all_matrix_decls(s.body, out);
                all_matrix_decls(s.else_body, out);
            }
        }
    }
    bool choose_group_copies(const std::vector<stmt> &top, std::string &why) {
        std::vector<const stmt *> decls;
        all_matrix_decls(top, decls);
        for (const stmt *d : decls)
            for (const std::string &name : d->matrix_declared) {
                const std::set<int> &u = uses_[name];
                if (!std::any_of(u.begin(), u.end(), [&](int r) { return r != d->region; })) continue;
                if (d->matrix_name == npos || (d->matrix_init && is(d->matrix_suffix_end - 1, "]"))) {
                    why = "simdgroup_matrix variable '" + name + "' lives across regions but its declaration is not 'T name[...] [= value];'";
                    return false;
                }
                std::string type;
                for (size_t k = d->a; k < d->matrix_name; ++k)
                    if (!is(k, "const")) type += text(k) + " ";
                for (size_t k = d->matrix_name + 1; k < d->matrix_suffix_end; ++k) type += text(k) + " "; // (tokens, as above)
                group_copy c{name, type, d->region};
                c.deferred = names_scope_declaration(type);
                if (c.deferred && d->in_loop) {
                    why = "simdgroup_matrix variable '" + name + "' lives across regions, is declared in a loop around them, and its type is declared in the kernel";
                    return false;
                }
                group_copy_index_[d] = group_copies_.size();
                group_copies_.push_back(c);
            }
        return true;
    }
    // ---- variables with one value for the whole group ----
    // `const device float* in = x + row * cols;` lives across barriers with the same value in every
    // thread: made of the kernel's parameters (never assigned in the body) and position attributes
    // that are the group's (threadgroup_position_in_grid...), never assigned after its declaration,
    // its address never taken. One copy computed before the regions (the function's parameters are
    // the group's first thread's) serves every thread, so a loop over the threads sees a value that
    // does not change: `in[c]` is a vector load, not a gather of per-thread pointers.
    static bool group_position(const std::string &attr) {
        return attr == "threadgroup_position_in_grid" || attr == "threads_per_threadgroup" || attr == "threadgroups_per_grid" ||
               attr == "threads_per_grid" || attr == "threads_per_simdgroup" || attr == "simdgroups_per_threadgroup" ||
               attr == "quadgroups_per_threadgroup" || attr == "grid_origin";
    }
    // The kernel's parameter names (the last identifier of each top-level piece of the list), but for
    // references other than `constant` ones: reading those reads memory that may change.
    std::set<std::string> parameter_names() const {
        std::set<std::string> out;
        std::string last, piece;
        int depth = 0;
        const auto ident = [](char c) { return std::isalnum((unsigned char)c) || c == '_'; };
        for (size_t i = k_.params_open + 1; i <= k_.params_close; ++i) {
            const char c = s_[i];
            if (c == '(' || c == '[' || c == '<' || c == '{') ++depth;
            else if ((c == ')' || c == ']' || c == '>' || c == '}') && i < k_.params_close) --depth;
            if ((c == ',' && depth == 0) || i == k_.params_close) {
                const bool reference = piece.find('&') != std::string::npos && piece.find("constant") == std::string::npos;
                if (!last.empty() && !std::isdigit((unsigned char)last[0]) && !reference) out.insert(last);
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
    // Whether the body may declare `name` (shadowing a parameter), judged by the tokens around it:
    // after a type name, or after `*`/`&` that follow a name other than a parameter's (or a `>`) and
    // before `=`, `;`, `,`, `[` or `)`. A product that looks like that (`local * name;`) counts too:
    // the answer only has to be yes when it is a declaration.
    bool declared_in_body(const std::string &name, const std::set<std::string> &params) const {
        for (size_t i = 1; i < toks_.size(); ++i) {
            if (!is_ident(i) || text(i) != name) continue;
            if (is_ident(i - 1) && !statement_keywords().count(text(i - 1))) return true;
            const bool after_type = i >= 2 && ((is_ident(i - 2) && !params.count(text(i - 2))) || is(i - 2, ">"));
            if ((is(i - 1, "*") || is(i - 1, "&")) && after_type &&
                (is(i + 1, "=") || is(i + 1, ";") || is(i + 1, ",") || is(i + 1, "[") || is(i + 1, ")")))
                return true;
        }
        return false;
    }
    bool group_uniform(const stmt &d) const {
        if (!lanes_ || !is(d.name_tok + 1, "=")) return false;
        const std::string name = text(d.name_tok);
        if (address_taken(name)) return false;
        for (size_t i = 0; i < toks_.size(); ++i)
            if (i != d.name_tok && assigns(name, i, i + 1)) return false;
        static const std::set<std::string> casts = {"float", "half", "int", "uint", "short", "ushort", "long", "ulong", "char", "uchar", "bool"};
        const std::set<std::string> params = parameter_names();
        for (size_t i = d.name_tok + 2; i + 1 < d.b; ++i) {
            // Computed before any region runs: no read of memory (which the kernel may write first).
            if (is(i, "[") || (is(i, "-") && is(i + 1, ">"))) return false;
            if (is(i, "*") && !(is_ident(i - 1) || is(i - 1, ")") || toks_[i - 1].kind == token_kind::number)) return false;
            if (is(i, ".") && !(is_ident(i - 1) && std::any_of(k_.positions.begin(), k_.positions.end(),
                                                               [&](const std::pair<std::string, std::string> &p) { return p.first == text(i - 1); })))
                return false;
            if (!is_ident(i) || (i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) {
                if (is(i, "=") || (is(i, "+") && is(i + 1, "+")) || (is(i, "-") && is(i + 1, "-"))) return false;
                continue;
            }
            const std::string t = text(i);
            if (is(i + 1, "(")) {
                if (!casts.count(t)) return false; // a call
                continue;
            }
            bool position = false, group = false;
            for (const auto &p : k_.positions)
                if (p.first == t) position = true, group = group_position(p.second);
            if (position ? !group : (!params.count(t) || assigns(t, 0, toks_.size()) || address_taken(t))) return false;
            std::set<std::string> known = params; // parameters and positions: `row * cols;` is a product
            for (const auto &p : k_.positions) known.insert(p.first);
            if (declared_in_body(t, known)) return false;
        }
        return true;
    }

    // Position attributes that differ between the threads of a group.
    bool varies_per_thread(const std::string &name) const {
        for (const auto &p : k_.positions)
            if (p.first == name)
                return p.second == "thread_position_in_grid" || p.second == "thread_position_in_threadgroup" ||
                       p.second == "thread_index_in_threadgroup" || p.second == "thread_index_in_simdgroup" ||
                       p.second == "simdgroup_index_in_threadgroup";
        return false;
    }
    bool mentions_per_thread_position(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i)
            if (is_ident(i) && !(i > 0 && (is(i - 1, ".") || is(i - 1, "->"))) && varies_per_thread(text(i))) return true;
        return false;
    }
    // Whether tokens [a, b) may assign to `name` (=, op=, ++, --), judged by the tokens around it.
    bool assigns(const std::string &name, size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i) {
            if (!is_ident(i) || text(i) != name || (i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) continue;
            if (i >= 2 && ((is(i - 1, "+") && is(i - 2, "+")) || (is(i - 1, "-") && is(i - 2, "-")))) return true;
            if ((is(i + 1, "+") && is(i + 2, "+")) || (is(i + 1, "-") && is(i + 2, "-"))) return true;
            if (is(i + 1, "=") && !is(i + 2, "=")) return true;
            for (const char *op : {"+", "-", "*", "/", "%", "&", "|", "^"})
                if (is(i + 1, op) && is(i + 2, "=")) return true;
            if ((is(i + 1, "<") && is(i + 2, "<") && is(i + 3, "=")) || (is(i + 1, ">") && is(i + 2, ">") && is(i + 3, "=")))
                return true;
        }
        return false;
    }
    // A loop header runs once for the group. Metal makes the trip count uniform, but not the loop
    // variable: `for (uint i = lid; i < n; i += size)` has a uniform trip count and a per-thread `i`.
    // So a header must not depend on per-thread positions, directly or through a variable that was
    // computed from one (one level deep: what kernels write in practice).
    bool check_regions(const std::vector<stmt> &list, std::string &why) {
        for (const stmt &s : list) {
            if (s.has_return) any_return_ = true;
            if (s.kind != stmt_kind::loop) continue;
            if (s.masked) any_return_ = true; // (the arms' threads are the live ones)
            if (s.block || s.branch) { // (a uniform branch's condition is the group's: uniform_condition)
                if (!check_regions(s.body, why) || !check_regions(s.else_body, why)) return false;
                continue;
            }
            bool per_thread = mentions_per_thread_position(s.a, s.head_end + 1);
            for (size_t i = s.a; i <= s.head_end && !per_thread; ++i)
                for (const replicated &r : reps_)
                    if (is_ident(i) && text(i) == r.name && mentions_per_thread_position(r.decl->a, r.decl->b)) per_thread = true;
            if (per_thread) {
                why = "the header of a loop around a barrier depends on the thread's position";
                return false;
            }
            // The header runs for the first live thread only: `for (i = 0; ...)` on a per-thread `i`
            // declared before the loop would leave every other thread's `i` behind.
            if (!header_changes_only_its_own(s.a, s.head_end)) {
                why = "the header of a loop around a barrier changes a variable declared outside it";
                return false;
            }
            // Variables the header declares exist once for the group: every thread changing them in
            // the body (`for (uint i = 0; i < n;) { ...; ++i; }`) would change them once per thread.
            size_t init_end = s.head_end;
            for (size_t i = s.a + 2; i < s.head_end; ++i)
                if (is(i, ";")) {
                    init_end = i;
                    break;
                }
            if (is(s.a, "for"))
                for (size_t i = s.a + 2; i < init_end; ++i)
                    if (is_ident(i) && is(i + 1, "=") && !is(i + 2, "=") && assigns(text(i), s.head_end + 1, s.b)) {
                        why = "the variable '" + text(i) + "' of a loop around a barrier is changed in its body";
                        return false;
                    }
            if (!check_regions(s.body, why)) return false;
        }
        return true;
    }

    // ---- output ----
    // Copies translated text [from, to) under a #line that puts it at its own place; `reps` (sorted by
    // offset) replace pieces of it, followed by a resynchronisation when their length differs.
    struct replacement {
        size_t offset, length;
        std::string text;
    };
    std::string copy(size_t from, size_t to, const std::vector<replacement> &reps = {}) const {
        std::string out = lines_.sync(from);
        size_t pos = from;
        for (const replacement &r : reps) {
            out.append(s_, pos, r.offset - pos);
            out += r.text;
            pos = r.offset + r.length;
            if (r.text.size() != r.length) out += lines_.sync(pos);
        }
        out.append(s_, pos, to - pos);
        return out + "\n";
    }

    bool used_in(const std::string &name, int region) const {
        auto it = uses_.find(name);
        return it != uses_.end() && it->second.count(region);
    }
    // Binds thread `t`'s position attributes and per-thread copies that `region` uses. `ctx` builds
    // the thread_ctx; `declared_here` adds the copies that the region itself declares.
    // `local`: in a loop over the group's threads, each copy is read into a local variable, and written
    // back at the end (write_back): a reference into the copies would keep every access in memory,
    // and LLVM does not vectorize the thread loop around a loop that updates one (`s += x[k]`).
    // Variables whose address is taken stay references (the address must outlive the region).
    std::string bindings(int region, const std::string &ctx, const std::string &t, bool declared_here, bool local = false) {
        std::string out;
        bool any_position = false;
        for (const auto &p : k_.positions)
            if (used_in(p.first, region)) any_position = true;
        if (any_position) {
            out += "const ::sm::entry::thread_ctx sm_c = " + ctx + ";\n";
            for (const auto &p : k_.positions)
                if (used_in(p.first, region))
                    out += "sm_ty_" + p.first + " " + p.first + " = ::sm::entry::sm_position<::sm::entry::attr::" + p.second +
                           ">::template get<sm_ty_" + p.first + ">(sm_c);\n";
        }
        for (size_t i = 0; i < reps_.size(); ++i) {
            const replicated &r = reps_[i];
            if (!((r.region < region || (declared_here && r.region == region)) && (used_in(r.name, region)))) continue;
            if (r.uniform) out += "sm_rt" + std::to_string(i) + " " + r.name + " = sm_u" + std::to_string(i) + ";\n";
            else out += "sm_rt" + std::to_string(i) + (local && !r.array && !address_taken(r.name) ? " " : " __private &") + r.name +
                        " = sm_rep" + std::to_string(i) + "[" + t + "];\n";
        }
        return out;
    }
    std::string write_back(int region, const std::string &t) const {
        std::string out;
        for (size_t i = 0; i < reps_.size(); ++i) {
            const replicated &r = reps_[i];
            if (r.region <= region && used_in(r.name, region) && !r.array && !address_taken(r.name) && !r.uniform)
                out += "sm_rep" + std::to_string(i) + "[" + t + "] = " + r.name + ";\n";
        }
        return out;
    }

    std::string rep_allocation(size_t i) const {
        const std::string n = std::to_string(i), t = "sm_rt" + n;
        // In the thread address space, as the kernel's own variables are: `float yl[16]` passed to a
        // helper's `thread float *` must still match it (a generic pointer does not convert).
        // (alloca's pointer is a generic one: C++ for OpenCL's addrspace_cast names the space.)
        return "using " + t + " = " + reps_[i].type + ";\n__private " + t + " *sm_rep" + n + " = addrspace_cast<__private " + t + " *>((" + t +
               " *)__builtin_alloca_with_align(sizeof(" + t + ") * sm_count, 8 * alignof(" + t + ")));\n";
    }
    // A group-wide variable's one copy: its declaration's value, as the group's first thread computes
    // it (group_uniform), then back under softmetal_generated's #line (see deferred_allocations).
    std::string uniform_value(size_t i) const {
        const std::string n = std::to_string(i);
        const stmt &d = *reps_[i].decl;
        return "using sm_rt" + n + " = " + reps_[i].type + ";\nsm_rt" + n + " sm_u" + n + " = " +
               copy(toks_[d.name_tok + 2].offset, end_of(d.b - 2)) + ";\n#line 1 \"softmetal_generated\"\n";
    }
    std::string group_copy_allocation(size_t i) const {
        const std::string n = std::to_string(i);
        return "using sm_gt" + n + " = " + group_copies_[i].type + ";\n" + "sm_gt" + n + " *sm_gc" + n + " = (sm_gt" + n +
               " *)__builtin_alloca_with_align(sizeof(sm_gt" + n + ") * ((sm_count + 31u) / 32u), 8 * alignof(sm_gt" + n + "));\n";
    }
    // The copies whose type names a scope declaration, allocated where the region declaring them
    // starts (at the scope level of their declaration, which no loop around split points encloses).
    // (Under softmetal_generated's #line: the confinement check lets the split's own code, not the
    // user's, call __builtin_alloca_with_align.)
    std::string deferred_allocations(int region) const {
        std::string out;
        for (size_t i = 0; i < reps_.size(); ++i)
            if (reps_[i].deferred && reps_[i].region == region) out += rep_allocation(i);
        for (size_t i = 0; i < group_copies_.size(); ++i)
            if (group_copies_[i].deferred && group_copies_[i].region == region) out += group_copy_allocation(i);
        return out.empty() ? out : "\n#line 1 \"softmetal_generated\"\n" + out;
    }

    // A region's statements; `pre`: only the SIMD-group call's arguments of that statement, stored.
    struct piece {
        const stmt *s;
        bool pre;
    };
    // The buffers every SIMD-group statement shares: a statement's arguments are stored in the region
    // before it and consumed by its meeting right after that region, and its results are read in the
    // region that follows, before any other statement's meeting writes them.
    // Call `j` of a statement uses buffers `j`.
    std::string simd_buffers() const {
        std::string out;
        for (size_t j = 0; j < max_calls_; ++j) {
            const std::string n = std::to_string(j);
            out += "unsigned char *sm_simd_arg" + n + " = (unsigned char *)__builtin_alloca_with_align(32u * sm_count, 256);\n"
                   "unsigned char *sm_simd_res" + n + " = (unsigned char *)__builtin_alloca_with_align(32u * sm_count, 256);\n"
                   "unsigned *sm_simd_lane" + n + " = (unsigned *)__builtin_alloca(4u * sm_count);\n";
        }
        return out;
    }
    // The call's argument `n` (0-based) as translated text under #line.
    std::string argument(const simd_call &c, size_t n) const {
        const size_t from = n == 0 ? c.name + 2 : c.commas[n - 1] + 1;
        const size_t to = n < c.commas.size() ? c.commas[n] : c.close;
        return copy(toks_[from].offset, end_of(to - 1));
    }
    std::string first_argument_text(const simd_call &c) const {
        return s_.substr(toks_[c.name + 2].offset, toks_[c.arg0_end].offset - toks_[c.name + 2].offset);
    }
    std::string argument_type(const simd_call &c) const {
        const simd_function &f = simd_functions().at(text(c.name));
        if (*f.argument_type) return f.argument_type;
        const std::string value = "decltype(::sm::regions::value_of(" + first_argument_text(c) + "))";
        return f.shape == simd_shape::fill ? "::sm::regions::fill_pair<" + value + ">" : value;
    }
    // This thread's arguments into the call's buffers (nothing for a function without any).
    std::string store_arguments(const simd_call &c, size_t j) const {
        const simd_function &f = simd_functions().at(text(c.name));
        if (f.shape == simd_shape::none) return "";
        const std::string n = std::to_string(j);
        std::string out = "{ " + argument_type(c) + " sm_v";
        if (f.shape == simd_shape::fill) // (delta and modulo are ushort in Metal's declarations)
            out += ";\nsm_v.data = (" + argument(c, 0) + ");\nsm_v.fill = (" + argument(c, 1) + ");\n" +
                   "sm_simd_lane" + n + "[sm_t] = (unsigned)(unsigned short)(" + argument(c, 2) + ") | (unsigned)(unsigned short)(" +
                   (c.commas.size() == 3 ? argument(c, 3) : std::to_string(f.default_modulo)) + ") << 16;\n";
        else
            out += " = (" + argument(c, 0) + ");\n";
        out += "__builtin_memcpy(sm_simd_arg" + n + " + sizeof(sm_v) * sm_t, &sm_v, sizeof(sm_v));\n";
        if (f.shape == simd_shape::value_lane) out += "sm_simd_lane" + n + "[sm_t] = (unsigned)(" + argument(c, 1) + ");\n";
        return out + "}\n";
    }
    std::string result_type(const simd_call &c) const {
        const simd_function &f = simd_functions().at(text(c.name));
        if (f.shape == simd_shape::fill) return "decltype(::sm::regions::value_of(" + first_argument_text(c) + "))";
        return *f.result_type ? std::string(f.result_type) : argument_type(c);
    }
    // The meetings, before the region that reads their results: each SIMD group's computed once. The
    // loop binds the names the arguments' types are spelled with (their values are not used).
    std::string simd_compute(const stmt &s) {
        std::string out = "\nfor (unsigned sm_t = 0; sm_t < sm_count; sm_t += 32u) {\n" +
                          bindings(s.region, "::sm::entry::thread_at(sm_group_ptr, sm_t)", "sm_t", false);
        for (size_t j = 0; j < s.calls.size(); ++j) {
            const simd_call &c = s.calls[j];
            const simd_function &f = simd_functions().at(text(c.name));
            const std::string n = std::to_string(j);
            out += "::sm::regions::compute<" + argument_type(c) + ", " + result_type(c) + ">(" +
                   (f.shape == simd_shape::none ? "nullptr" : "sm_simd_arg" + n) + ", " +
                   (f.shape == simd_shape::value_lane || f.shape == simd_shape::fill ? "sm_simd_lane" + n : std::string("nullptr")) +
                   ", sm_simd_res" + n + ", sm_t, sm_count, " + (any_return_ ? "sm_alive" : "nullptr") + ", " + f.compute + "{});\n";
        }
        return out + "}\n";
    }
    // What replaces call `j` in the statement: this thread's result.
    std::string simd_result(const simd_call &c, size_t j) const {
        return "::sm::regions::result<" + result_type(c) + ">(sm_simd_res" + std::to_string(j) + ", sm_t)";
    }

    // The region's size in tokens: what a second copy of its thread loop costs to compile.
    size_t region_tokens(const std::vector<piece> &region) const {
        size_t n = 0;
        for (const piece &p : region) n += p.s->b - p.s->a;
        return n;
    }

    void emit_region(const std::vector<piece> &region, std::string &out) {
        if (region.empty()) return;
        int r = region.front().pre ? region.front().s->pre_region : region.front().s->region;
        out += deferred_allocations(r);
        if (!region.front().pre && region.front().s->kind == stmt_kind::simd) out += simd_compute(*region.front().s);
        // A region of at most 400 tokens also gets a copy whose rows have the constant width
        // SM_THREAD_ROW (target_cpu.h says why), taken when the group's rows are that wide. The copies
        // differ only in that bound and in how a thread's index is found. Larger regions (MLX's, ggml's
        // unrolled matrix code) keep one copy: compile time.
        if (region_tokens(region) > 400) return emit_region_loop(region, r, false, out);
        out += "\nif (sm_rows && sm_size.x == SM_THREAD_ROW) {";
        emit_region_loop(region, r, true, out);
        out += "} else {";
        emit_region_loop(region, r, false, out);
        out += "}\n";
    }
    // The loop over the group's threads that runs the region. `constant_rows`: rows SM_THREAD_ROW wide,
    // each thread's index computed from its position rather than counted along: with the count carried
    // through the loops over rows, LLVM again loaded each row of `As` whole and shuffled it apart.
    // `SM_THREAD_LOOP` asks for the loop's vectorization, as an outer loop when the region has loops of
    // its own; not when the kernel reaches an atomic_* function and the region has a loop, which LLVM's
    // outer-loop vectorizer would widen dropping the atomics (msl_translator.cpp, reaches_atomics).
    bool outer_loop_safe(const std::vector<piece> &region) const {
        if (!k_.reaches_atomics) return true;
        for (const piece &p : region)
            for (size_t i = p.s->a; i < p.s->b; ++i)
                if (is(i, "for") || is(i, "while") || is(i, "do")) return false;
        return true;
    }
    void emit_region_loop(const std::vector<piece> &region, int r, bool constant_rows, std::string &out) {
        bool returns = std::any_of(region.begin(), region.end(), [](const piece &p) { return p.s->has_return; });
        std::string label = "sm_next" + std::to_string(labels_++);
        const std::string hint = outer_loop_safe(region) ? "SM_THREAD_LOOP\n" : "";
        if (constant_rows)
            out += "\nfor (unsigned sm_z = 0; sm_z < sm_size.z; ++sm_z)\n"
                   "for (unsigned sm_y = 0; sm_y < sm_size.y; ++sm_y)\n" + hint +
                   "for (unsigned sm_x = 0; sm_x < SM_THREAD_ROW; ++sm_x) {\n"
                   "const unsigned sm_t = (sm_z * sm_size.y + sm_y) * SM_THREAD_ROW + sm_x;\n";
        else
            out += "\nfor (unsigned sm_z = 0, sm_t = 0; sm_z < sm_size.z; ++sm_z)\n"
                   "for (unsigned sm_y = 0; sm_y < sm_size.y; ++sm_y)\n" + hint +
                   "for (unsigned sm_x = 0; sm_x < sm_size.x; ++sm_x, ++sm_t) {\n";
        if (any_return_) out += "if (!sm_alive[sm_t]) continue;\n";
        out += bindings(r, "::sm::entry::thread_at(sm_group_ptr, sm_x, sm_y, sm_z)", "sm_t", true, true);
        // Matrices reached through thread_elements(): the thread's SIMD group's copy.
        for (size_t i = 0; i < group_copies_.size(); ++i)
            if (used_in(group_copies_[i].name, r))
                out += "sm_gt" + std::to_string(i) + " &" + group_copies_[i].name + " = sm_gc" + std::to_string(i) + "[sm_t / 32u];\n";
        out += "{";
        for (const piece &p : region) {
            const stmt *s = p.s;
            if (p.pre) {
                for (size_t j = 0; j < s->calls.size(); ++j) out += store_arguments(s->calls[j], j);
                continue;
            }
            std::vector<replacement> reps;
            for (size_t j = 0; j < s->calls.size(); ++j) {
                const simd_call &c = s->calls[j];
                reps.push_back({toks_[c.call].offset, end_of(c.close) - toks_[c.call].offset, simd_result(c, j)});
            }
            auto it = rep_index_.find(s);
            if (it != rep_index_.end() && reps_[it->second].array) {
                // `T a[N];` -> `;`, `T a[N] = {...};` -> `{ T sm_init[N] = {...}; copied into the thread's a }`
                const std::string t = "sm_rt" + std::to_string(it->second);
                if (s->init_eq == npos)
                    reps.push_back({toks_[s->a].offset, toks_[s->b - 1].offset - toks_[s->a].offset,
                                    blank(toks_[s->a].offset, toks_[s->b - 1].offset)});
                else {
                    reps.push_back({toks_[s->a].offset, end_of(s->init_eq) - toks_[s->a].offset, "{ " + t + " sm_init ="});
                    reps.push_back({toks_[s->b - 1].offset, 1,
                                    "; __builtin_memcpy(&" + text(s->name_tok) + ", &sm_init, sizeof(sm_init)); }"});
                }
            } else if (it != rep_index_.end()) // `T name = v;` -> `name = v;` on the thread's copy (same columns)
                reps.push_back({toks_[s->a].offset, toks_[s->name_tok].offset - toks_[s->a].offset,
                                blank(toks_[s->a].offset, toks_[s->name_tok].offset)});
            // `m.thread_elements()`: the pair of this thread's lane.
            for (size_t i = s->a; i < s->b; ++i) {
                if (!is_ident(i) || !matrix_names_.count(text(i)) || (i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) continue;
                size_t j = i + 1;
                while (is(j, "[")) j = match_[j] + 1;
                if (is(j, ".") && is(j + 1, "thread_elements"))
                    reps.push_back({toks_[j + 1].offset, end_of(j + 3) - toks_[j + 1].offset, "sm_lane_elements(sm_t % 32u)"});
            }
            for (size_t i = s->a; i < s->b; ++i)
                if (is(i, "return"))
                    reps.push_back({toks_[i].offset, end_of(i + 1) - toks_[i].offset,
                                    "{ sm_alive[sm_t] = 0; goto " + label + "; }"});
            std::sort(reps.begin(), reps.end(), [](const replacement &x, const replacement &y) { return x.offset < y.offset; });
            out += copy(toks_[s->a].offset, end_of(s->b - 1), reps);
        }
        out += "}\n" + write_back(r, "sm_t");
        if (returns) out += label + ":;\n";
        out += "}\n";
    }

    // Matrix statements: once per SIMD group with at least one live lane, as its first live lane sees
    // the per-thread variables; matrices needed by other regions are the SIMD group's copies.
    void emit_matrix_region(const std::vector<const stmt *> &region, std::string &out) {
        if (region.empty()) return;
        const int r = region.front()->region;
        out += deferred_allocations(r);
        out += "\nfor (unsigned sm_g = 0; sm_g < sm_count; sm_g += 32u) {\n";
        if (any_return_)
            out += "unsigned sm_t = sm_g;\nconst unsigned sm_e = sm_count - sm_g < 32u ? sm_count : sm_g + 32u;\n"
                   "while (sm_t < sm_e && !sm_alive[sm_t]) ++sm_t;\nif (sm_t == sm_e) continue;\n";
        else
            out += "const unsigned sm_t = sm_g;\n";
        out += bindings(r, "::sm::entry::thread_at(sm_group_ptr, sm_t)", "sm_t", true);
        for (size_t i = 0; i < group_copies_.size(); ++i)
            if (used_in(group_copies_[i].name, r))
                out += "sm_gt" + std::to_string(i) + " &" + group_copies_[i].name + " = sm_gc" + std::to_string(i) + "[sm_g / 32u];\n";
        out += "{";
        for (const stmt *s : region) {
            std::vector<replacement> reps;
            auto it = group_copy_index_.find(s);
            if (it != group_copy_index_.end()) { // `T m = v;` -> `m = v;`, `T m[4];` -> `;` on the group's copy
                const size_t from = toks_[s->a].offset;
                const size_t to = s->matrix_init ? toks_[s->matrix_name].offset : toks_[s->b - 1].offset;
                reps.push_back({from, to - from, blank(from, to)});
            }
            // The group's one copy is whole: the operations that would first gather each lane's pair
            // (metal_simdgroup.h, for fibers) are called without that step.
            for (size_t i = s->a; i < s->b; ++i)
                if (is_matrix_operation(i) && !is(i, "simdgroup_load"))
                    reps.push_back({toks_[i].offset, toks_[i].length, "sm_group_" + text(i).substr(10)});
            std::sort(reps.begin(), reps.end(), [](const replacement &x, const replacement &y) { return x.offset < y.offset; });
            out += copy(toks_[s->a].offset, end_of(s->b - 1), reps);
        }
        out += "}\n}\n";
    }

    // A subset statement: a loop over just the threads its condition can be true for (the condition
    // stays, so a constant out of range selects none).
    void emit_subset(const stmt &s, std::string &out) {
        const std::string c = "(unsigned)(" + text(s.subset_value) + ")";
        out += "\n{\n";
        if (s.subset_attr == "thread_index_in_threadgroup")
            out += "for (unsigned sm_t = " + c + "; sm_t < sm_count; sm_t = sm_count) {\n";
        else if (s.subset_attr == "thread_index_in_simdgroup")
            out += "for (unsigned sm_t = " + c + "; sm_t < sm_count; sm_t += 32u) {\n";
        else // the x position (the condition compares a scalar): one thread in each row of the threadgroup
            out += "for (unsigned sm_i = 0; sm_i < sm_size.y * sm_size.z && " + c + " < sm_size.x; ++sm_i) {\n"
                   "const unsigned sm_t = sm_i * sm_size.x + " + c + ";\n";
        if (any_return_) out += "if (!sm_alive[sm_t]) continue;\n";
        out += bindings(s.region, "::sm::entry::thread_at(sm_group_ptr, sm_t)", "sm_t", true, true);
        out += "{" + copy(toks_[s.a].offset, end_of(s.b - 1)) + "}\n" + write_back(s.region, "sm_t") + "}\n}\n";
    }

    // A lanes statement: the threads enter together; then, while any is still in the loop, iteration
    // `sm_j` of each (masked by its own flag) in one loop over the group's threads.
    std::string thread_loop() const {
        return "for (unsigned sm_z = 0, sm_t = 0; sm_z < sm_size.z; ++sm_z)\n"
               "for (unsigned sm_y = 0; sm_y < sm_size.y; ++sm_y)\n"
               "SM_THREAD_LOOP\n"
               "for (unsigned sm_x = 0; sm_x < sm_size.x; ++sm_x, ++sm_t) {\n";
    }
    void emit_lanes(const stmt &s, std::string &out) {
        const int r = s.region;
        const std::string end = "sm_next" + std::to_string(labels_++);
        out += "\n{\n" + thread_loop() + "sm_in[sm_t] = " + (any_return_ ? "sm_alive[sm_t]" : "(unsigned char)1") + ";\n}\n";
        out += "for (unsigned sm_j = 0;; ++sm_j) {\nunsigned sm_any = 0u;\n" + thread_loop() + "if (!sm_in[sm_t]) continue;\n";
        out += bindings(r, "::sm::entry::thread_at(sm_group_ptr, sm_x, sm_y, sm_z)", "sm_t", true, true);
        out += "unsigned sm_go = 1u;\n{\n";
        const std::string w = "(" + s.lane_wide + ")";
        const std::string step = copy(toks_[s.step_a].offset, end_of(s.step_b - 1));
        out += s.lane_type + " " + text(s.lane_var) + " = (" + s.lane_type + ")(" + w + "(" +
               copy(toks_[s.start_a].offset, end_of(s.start_b - 1)) + ") + " + w + "sm_j * " + w + "(" + step + "));\n";
        std::vector<replacement> reps;
        for (size_t i = s.body_a; i < s.b; ++i) {
            if (is(i, "break") && is(i + 1, ";"))
                reps.push_back({toks_[i].offset, end_of(i + 1) - toks_[i].offset, "{ sm_go = 0u; goto " + end + "; }"});
            else if (is(i, "continue") && is(i + 1, ";"))
                reps.push_back({toks_[i].offset, end_of(i + 1) - toks_[i].offset, "goto " + end + ";"});
            else if (is(i, "return"))
                reps.push_back({toks_[i].offset, end_of(i + 1) - toks_[i].offset,
                                "{ sm_alive[sm_t] = 0; sm_go = 0u; goto " + end + "; }"});
        }
        out += "if (!(" + copy(toks_[s.cond_a].offset, end_of(s.cond_b - 1)) + ")) sm_go = 0u;\nelse {\n" +
               copy(toks_[s.body_a].offset, end_of(s.b - 1), reps) + "}\n}\n" + end + ":;\n" + write_back(r, "sm_t") +
               "sm_in[sm_t] = (unsigned char)sm_go;\nsm_any |= sm_go;\n}\nif (!sm_any) break;\n}\n}\n";
        const std::string line = lines_.sync(toks_[s.a].offset);
        lane_lines_ += (lane_lines_.empty() ? "" : ", ") + line.substr(7, line.find(' ', 7) - 7);
    }

    void emit_list(const std::vector<stmt> &list, std::string &out) {
        std::vector<piece> region;
        std::vector<const stmt *> matrix;
        for (const stmt &s : list) {
            if (s.kind == stmt_kind::scope) {
                // Declared before the thread loop of the statements pending before it, unless one of
                // them names what it declares (an outer declaration it would then hide).
                const std::set<std::string> declares(s.scope_declared.begin(), s.scope_declared.end());
                bool named = false;
                for (const piece &p : region)
                    for (size_t i = p.s->a; i < p.s->b && !named; ++i)
                        if (is_ident(i) && declares.count(text(i))) named = true;
                for (const stmt *m : matrix)
                    for (size_t i = m->a; i < m->b && !named; ++i)
                        if (is_ident(i) && declares.count(text(i))) named = true;
                if (named) {
                    emit_region(region, out);
                    region.clear();
                    emit_matrix_region(matrix, out);
                    matrix.clear();
                }
                out += copy(toks_[s.a].offset, end_of(s.b - 1));
                continue;
            }
            if (s.kind == stmt_kind::matrix) {
                emit_region(region, out);
                region.clear();
                matrix.push_back(&s);
                continue;
            }
            emit_matrix_region(matrix, out);
            matrix.clear();
            if (s.kind == stmt_kind::subset) {
                emit_region(region, out);
                region.clear();
                emit_subset(s, out);
            } else if (s.kind == stmt_kind::lanes) {
                emit_region(region, out);
                region.clear();
                emit_lanes(s, out);
            } else if (s.kind == stmt_kind::plain) {
                region.push_back({&s, false});
            } else if (s.kind == stmt_kind::simd) {
                region.push_back({&s, true});
                emit_region(region, out);
                region.clear();
                region.push_back({&s, false});
            } else if (s.kind == stmt_kind::barrier) {
                emit_region(region, out);
                region.clear();
            } else if (s.kind == stmt_kind::loop && s.block) {
                emit_region(region, out);
                region.clear();
                out += "\n{\n";
                emit_list(s.body, out);
                out += "}\n";
            } else if (s.kind == stmt_kind::loop && s.masked) {
                emit_region(region, out);
                region.clear();
                emit_masked_branch(s, out);
            } else if (s.kind == stmt_kind::loop) {
                emit_region(region, out);
                region.clear();
                // Metal requires control flow around a barrier to be the same for every thread of the
                // group, so the loop's header is evaluated once, as any live thread sees it.
                out += "\n{\n";
                if (any_return_) out += "unsigned sm_f = 0;\nwhile (sm_f < sm_count && !sm_alive[sm_f]) ++sm_f;\nif (sm_f < sm_count) {\n";
                else out += "const unsigned sm_f = 0;\n{\n";
                out += bindings(s.region, "::sm::entry::thread_at(sm_group_ptr, sm_f)", "sm_f", false);
                out += copy(toks_[s.a].offset, end_of(s.head_end));
                out += "{\n";
                emit_list(s.body, out);
                out += "}\n";
                if (s.else_at != npos) {
                    out += "else {\n";
                    emit_list(s.else_body, out);
                    out += "}\n";
                }
                out += "}\n}\n";
            }
        }
        emit_region(region, out);
        emit_matrix_region(matrix, out);
    }
    // `if (c) A else B` with a per-thread c: sm_mask<N> holds, per thread, whether it was live
    // before, whether it takes A, and whether it is live after A. Each live thread evaluates c (in its
    // own region, as an ordinary statement would); A runs with the threads that take it live, B with
    // the others that were; afterwards each thread is live as its own arm left it (a `return` in an
    // arm ends only that thread).
    void emit_masked_branch(const stmt &s, std::string &out) {
        const std::string m = "sm_mask" + std::to_string(s.mask);
        const std::string before = m + "[sm_t]", taken = m + "[sm_count + sm_t]", after = m + "[2u * sm_count + sm_t]";
        const std::string each = "for (unsigned sm_t = 0; sm_t < sm_count; ++sm_t) ";
        out += "\n{\n" + thread_loop();
        out += before + " = sm_alive[sm_t];\n" + taken + " = 0;\nif (!sm_alive[sm_t]) continue;\n";
        out += bindings(s.region, "::sm::entry::thread_at(sm_group_ptr, sm_x, sm_y, sm_z)", "sm_t", false, true);
        out += "{ " + taken + " = (" + copy(toks_[s.a + 1].offset, end_of(s.head_end)) + ") ? 1 : 0; }\n" + write_back(s.region, "sm_t") + "}\n";
        out += each + "sm_alive[sm_t] = " + taken + ";\n{\n";
        emit_list(s.body, out);
        out += "}\n";
        if (s.else_at != npos) {
            out += each + "{ " + after + " = sm_alive[sm_t]; sm_alive[sm_t] = " + before + " && !" + taken + "; }\n{\n";
            emit_list(s.else_body, out);
            out += "}\n" + each + "if (" + taken + ") sm_alive[sm_t] = " + after + ";\n";
        } else {
            out += each + "if (!" + taken + ") sm_alive[sm_t] = " + before + ";\n";
        }
        out += "}\n";
    }
    bool any_lanes(const std::vector<stmt> &list) const {
        for (const stmt &s : list)
            if (s.kind == stmt_kind::lanes || (s.kind == stmt_kind::loop && (any_lanes(s.body) || any_lanes(s.else_body)))) return true;
        return false;
    }
    void hoisted(const std::vector<stmt> &list, std::string &out) const {
        for (const stmt &s : list) {
            if (s.kind == stmt_kind::hoisted) out += copy(toks_[s.a].offset, end_of(s.b - 1));
            if (s.kind == stmt_kind::loop) {
                hoisted(s.body, out);
                hoisted(s.else_body, out);
            }
        }
    }

    void emit_function(const std::vector<stmt> &top, std::string &out) {
        // The user's code is here a second time: its warnings were reported for the kernel itself.
        // (Errors make the compiler fall back to the fiber-only source, which reports them once.)
        out += "\n#line 1 \"softmetal_generated\"\n#pragma clang diagnostic push\n#pragma clang diagnostic ignored \"-Weverything\"\n";
        if (!k_.template_header.empty()) out += k_.template_header + "\n";
        out += "static void sm_regions_" + k_.name;
        // The kernel's parameters plus the group, which only this function needs.
        std::string params = copy(k_.params_open + 1, k_.params_close);
        bool none = params.find_first_not_of(" \t\n") == std::string::npos || params.find_first_not_of(" \t\n") == params.find("void");
        out += "(" + (none ? std::string() : params + ", ") + "const sm_group *sm_group_ptr)";
        out += "{\n#line 1 \"softmetal_generated\"\n";
        std::string position_types;
        for (const auto &p : k_.positions) {
            out += "using sm_ty_" + p.first + " = decltype(" + p.first + ");\n";
            position_types += (position_types.empty() ? "sm_ty_" : ", sm_ty_") + p.first;
        }
        // Whether the regions' copies for rows SM_THREAD_ROW wide (emit_region) may run: only in a
        // kernel that takes a position as a vector (a 2-D or 3-D group); a constant, so the copies of a
        // 1-D kernel (soft-max, reductions) are dropped before LLVM optimizes anything.
        out += "constexpr bool sm_rows = ::sm::entry::multi_dimensional<" + position_types + ">();\n";
        out += "const sm_size3 sm_size = sm_group_ptr->size;\n"
               "const unsigned sm_count = sm_size.x * sm_size.y * sm_size.z;\n"
               "(void)sm_count;\n";
        if (any_return_)
            out += "unsigned char *sm_alive = (unsigned char *)__builtin_alloca(sm_count);\n"
                   "for (unsigned sm_i = 0; sm_i < sm_count; ++sm_i) sm_alive[sm_i] = 1;\n";
        for (int i = 0; i < masks_; ++i) // (at the top: a branch in a loop must not allocate on each trip)
            out += "unsigned char *sm_mask" + std::to_string(i) + " = (unsigned char *)__builtin_alloca(3u * sm_count);\n";
        if (any_lanes(top)) out += "unsigned char *sm_in = (unsigned char *)__builtin_alloca(sm_count); // in the lanes loop being run\n";
        // One copy per thread on this stack (C++ for OpenCL has no variable-length arrays).
        for (size_t i = 0; i < reps_.size(); ++i)
            if (reps_[i].uniform) out += uniform_value(i);
            else if (!reps_[i].deferred) out += rep_allocation(i);
        // One copy per SIMD group of the matrices that live across regions.
        for (size_t i = 0; i < group_copies_.size(); ++i)
            if (!group_copies_[i].deferred) out += group_copy_allocation(i);
        out += simd_buffers();
        hoisted(top, out);
        emit_list(top, out);
        out += "}\n#pragma clang diagnostic pop\n";
    }

    const region_kernel &k_;
    line_map lines_;
    std::map<std::string, std::set<int>> uses_;
    std::map<const stmt *, size_t> rep_index_;
    std::vector<replicated> reps_;
    std::set<std::string> matrix_names_; // matrices declared at the levels parsed so far
    mutable int matrix_redeclarations_ = 0;
    std::vector<group_copy> group_copies_;
    std::map<const stmt *, size_t> group_copy_index_;
    bool any_return_ = false;
    bool lanes_ = false;        // lanes statements allowed (SOFTMETAL_LANES)
    std::string lane_lines_;    // the user lines of the loops run as lanes
    int labels_ = 0;
    int loop_nesting_ = 0;            // loops around split points being parsed
    std::set<std::string> declared_;  // variables the body declares (in the statements parsed so far)
    std::set<std::string> scope_names_; // names scope statements declare
    size_t max_calls_ = 0; // the most SIMD-group calls in one statement
    int masks_ = 0;          // branches with a per-thread condition (sm_mask<N>)
    bool macros_read_ = false;
    std::map<std::string, std::set<std::string>> macro_direct_, macro_closure_; // (macro_identifiers)
    int masked_nesting_ = 0; // such branches around the statements being parsed
};

} // namespace

namespace {
// With lanes first; a kernel whose split fails only because of them (a variable that now lives across
// the loop's own region, declared in a form with no per-thread copy) is split without.
bool split(const std::string &text, const region_kernel &k, std::string &code, std::string &why, std::string *lane_lines) {
    for (const bool lanes : {lane_loops_enabled(), false}) {
        splitter s(text, k, lanes);
        std::string out;
        if (!s.run(out, why)) {
            if (lanes) continue;
            return false;
        }
        code = std::move(out);
        if (lane_lines) *lane_lines = s.lane_lines();
        return true;
    }
    return false;
}
} // namespace

bool build_region_function(const std::string &translated, const region_kernel &k, std::string &code, std::string &why,
                           std::string *lane_lines) {
    // (A switch around meetings is rewritten as an if-chain by the inliner: helper_inliner::switch_as_ifs.)
    bool has_switch = false;
    for (const token &t : tokenize_msl(translated.substr(k.body_open, k.body_close - k.body_open)))
        if (t.kind == token_kind::identifier && t.length == 6 && translated.compare(k.body_open + t.offset, 6, "switch") == 0) has_switch = true;
    if (!k.meeting_functions.empty() || has_switch) {
        // Helpers inlined: the splitter reads the new body, appended to the text (it copies pieces of
        // it, under their #line directives, and never compiles the appended body itself).
        helper_inliner inliner(translated, k);
        std::string body;
        if (inliner.run(body)) {
            const std::string text = translated + "\n" + body;
            region_kernel inlined = k;
            inlined.body_open = translated.size() + 1;
            inlined.body_close = text.size() - 1;
            return split(text, inlined, code, why, lane_lines);
        }
    }
    return split(translated, k, code, why, lane_lines);
}

} // namespace detail
} // namespace softmetal
