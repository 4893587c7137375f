#include "compiler/barrier_regions.hpp"
#include "compiler/specialisation_choice.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <unordered_map>
#include <set>

#include "compiler/body_directives.hpp"
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
        return line_sync(lines_[i], names_[files_[i]], off - starts_[i]);
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
    // loop with a per-thread header (`for (short i = sgitg; i < n; i += nsg)` around SIMD-group calls,
    // each SIMD group its own trip count): run while any thread is still in it, each iteration with only
    // the threads in it live (masked, mask); its init is the statement before it in a block around it.
    bool per_thread = false;
    size_t cond_a = npos, cond_b = npos, inc_a = npos, inc_b = npos; // (lanes: the same fields)
    int step_region = -1;
    int jump_mask = -1; // a statement holding break/continue of a per-thread loop: that loop's mask
    std::vector<stmt> else_body;
    int region = -1;          // plain: the region it runs in; loop: the "region" of its header
    int scope_end = -1;       // the last region of the statement list it is in (a declaration's scope ends there)
    bool has_return = false;
    // A declaration `T name = ...;` at this level (name_tok != npos).
    size_t name_tok = npos;
    bool simple_decl = false; // one declarator, `= init` or no initialiser, not static/constexpr
    std::string type;         // its type as declared, without top-level const (for the per-thread copies)
    std::string array_suffix; // `[N]...` of an array declaration, else empty
    size_t init_eq = npos;    // its `=`, if it has an initialiser
    size_t init_brace = npos; // its `{`, if it is initialised by a braced list (`T name{...};`)
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
    size_t lane_var = npos, start_a = npos, start_b = npos, step_a = npos, step_b = npos;
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
    int scope_end = -1;    // the last region of its scope: a later use of the name is another variable's
    bool array = false;    // bound by reference in every region, never copied into a local
    bool deferred = false; // its type names a scope declaration: allocated where its region starts
    bool uniform = false;  // the same value in every thread of the group: one copy (`sm_u<N>`), not one per thread
    bool after_scope = false; // deferred, but allocated after the scope declarations its type names (see choose_replicated)
};

const std::set<std::string> &statement_keywords() {
    static const std::set<std::string> s = {"return", "goto", "delete", "throw", "case", "default", "else", "typedef",
                                            "using", "if", "for", "while", "do", "switch", "break", "continue", "sizeof"};
    return s;
}

// Whether every call of a functor object in the inlined body `text` was inlined: a meeting in a call
// left as it is would be no split point, and its threads would not meet. So a functor type (or an
// alias of one) may only name a local object, `T obj;`, `T obj(args);`, `T obj{...};`, `T obj = e;`, or
// be an alias's value; and such an object, or a data member of one whose type is a functor's
// (helper_inliner::object_types_), may only be named before `.` (a member, whose meeting
// functions are inlined by name). Anything else (a call left, a reference to it, passed on) keeps the fiber path.
bool functor_objects_only_called(const std::string &text, const std::set<std::string> &functor_types,
                             const std::map<std::string, std::string> &object_types) {
    if (functor_types.empty()) return true;
    std::vector<token> ts;
    for (const token &t : tokenize_msl(text))
        if (!t.in_directive) ts.push_back(t);
    auto w = [&](size_t i) { return i < ts.size() ? text.substr(ts[i].offset, ts[i].length) : std::string(); };
    auto ident = [&](size_t i) { return i < ts.size() && ts[i].kind == token_kind::identifier; };
    auto after_member = [&](size_t i) { return i > 0 && (w(i - 1) == "." || w(i - 1) == "->" || w(i - 1) == "::"); };
    std::set<std::string> types = functor_types, objects;
    for (size_t i = 0; i < ts.size(); ++i) {
        if (!ident(i) || !types.count(w(i)) || after_member(i)) continue;
        if (i >= 3 && w(i - 1) == "=" && ident(i - 2) && w(i - 3) == "using") {
            types.insert(w(i - 2));
            continue;
        }
        size_t j = i + 1;
        if (w(j) == "<") {
            int d = 0;
            for (; j < ts.size(); ++j) {
                if (w(j) == "<") ++d;
                else if (w(j) == ">" && --d == 0) break;
                else if (w(j) == ";" || w(j) == "{" || w(j) == "}") return false;
            }
            ++j;
        }
        size_t start = i;
        while (start > 0 && (w(start - 1) == "const" || w(start - 1) == "thread")) --start;
        const std::string before = start > 0 ? w(start - 1) : ";";
        if (before == "(" && start >= 2 && w(start - 2) == "=" && w(j) == "(") { // `T obj = (T(args));` (helper_inliner::struct_construction)
            int d = 0;
            for (; j < ts.size(); ++j) {
                if (w(j) == "(") ++d;
                else if (w(j) == ")" && --d == 0) break;
            }
            if (w(j + 1) != ")" || w(j + 2) != ";") return false;
            continue;
        }
        const std::string next = w(j + 1);
        if (!ident(j) || !(before == ";" || before == "{" || before == "}") ||
            !(next == ";" || next == "(" || next == "{" || next == "="))
            return false;
        objects.insert(w(j));
    }
    for (size_t i = 0; i < ts.size(); ++i) {
        if (!ident(i) || after_member(i)) continue;
        if (objects.count(w(i))) {
            const bool declared = i > 0 && (ident(i - 1) || w(i - 1) == ">") && w(i - 1) != "return" &&
                                  (w(i + 1) == ";" || w(i + 1) == "(" || w(i + 1) == "{" || w(i + 1) == "=");
            if (declared) continue;
            if (w(i + 1) != ".") return false;
            // `obj.member` where the member is itself a functor object: named before `.` only.
            if (object_types.count(w(i) + "." + w(i + 2)) && w(i + 3) != ".") return false;
        }
    }
    return true;
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
    // `bound`: the kernel's function template parameters and where, in `text`, the instantiation's
    // argument for each is spelled (region_kernel::function_arguments, appended by build_region_function).
    helper_inliner(const std::string &text, const region_kernel &k, const std::vector<std::pair<std::string, std::pair<size_t, size_t>>> &bound = {})
        : kernel_body_tokens(text), k_(k), lines_(text), bound_(bound) {}

    // The kernel body with helper calls inlined, as a braced block under #line directives; false when
    // nothing was inlined (or something could not be).
    const std::vector<std::string> &probes() const { return probes_; }
    bool run(std::string &body) {
        tokenize();
        size_t open = npos;
        for (size_t i = 0; i < toks_.size(); ++i)
            if (toks_[i].offset == k_.body_open) open = i;
        if (open == npos || match_[open] == npos) return false;
        std::map<std::string, std::string> rename;
        std::string out;
        kernel_aliases(open);
        for (const auto &b : bound_) {
            size_t first = npos, end = npos;
            for (size_t i = match_[open]; i < toks_.size(); ++i) {
                if (first == npos && toks_[i].offset >= b.second.first) first = i;
                if (toks_[i].offset < b.second.second) end = i + 1;
            }
            if (first == npos || end == npos || end <= first || !bind_function(b.first, first, end, {}, open, match_[open], nullptr)) return false;
        }
        if (!expand_list(open + 1, match_[open], rename, 0, out) || (inlined_ == 0 && loop_tests_ == 0)) return false;
        if (!functor_objects_only_called(out, k_.functor_types, object_types_)) return false;
        body = "{" + out + lines_.sync(toks_[match_[open]].offset) + "}";
        return true;
    }



private:
    // The kernel body's own type aliases (`using sort_kernel = KernelMergeSort<T, U, ...>;`, MLX's sort
    // and steel kernels), each declared once in it: what a call through one (`sort_kernel::block_sort(...)`)
    // goes through, as for an inlining's type parameter.
    void kernel_aliases(size_t open) {
        std::map<std::string, int> count;
        std::map<std::string, std::string> value;
        for (size_t i = open + 1; i < match_[open]; ++i) {
            if (!(is(i, "using") && is_ident(i + 1) && is(i + 2, "=") && (is(i - 1, ";") || is(i - 1, "{") || is(i - 1, "}")))) continue;
            size_t semi = i + 3;
            while (semi < match_[open] && !is(semi, ";")) {
                if ((is(semi, "(") || is(semi, "[") || is(semi, "{")) && match_[semi] != npos) semi = match_[semi];
                ++semi;
            }
            if (semi >= match_[open]) return;
            ++count[text(i + 1)];
            value[text(i + 1)] = spelled(i + 3, semi, {});
        }
        for (const auto &c : count)
            if (c.second == 1 && !type_values_.count(c.first)) type_values_[c.first] = value[c.first];
        // `using mma_t = typename gemm_kernel::mma_t;` (candle's and MLX's steel kernels): the member
        // alias's value, so that an object of it is known as a struct of the source (matrix_class).
        for (auto &v : type_values_) {
            std::string resolved;
            if (member_alias_value(v.second, resolved)) v.second = resolved;
        }
    }
    // `typename A::B` or `A::B`, with `A` bound to `C<args>` (a kernel alias) and `B` a member alias
    // `using B = ...;` of C's one definition: B's value with C's template parameters replaced by the
    // arguments (or their defaults), C's own members it names read through `A` (`A::tgp_padding_a`,
    // `typename A::loader_t`).
    bool member_alias_value(const std::string &value, std::string &out) const {
        std::vector<token> vt;
        for (const token &t : tokenize_msl(value))
            if (!t.in_directive) vt.push_back(t);
        auto word = [&](size_t i) { return i < vt.size() ? value.substr(vt[i].offset, vt[i].length) : std::string(); };
        size_t at = word(0) == "typename" ? 1 : 0;
        if (vt.size() != at + 3 || word(at + 1) != "::" || vt[at].kind != token_kind::identifier || vt[at + 2].kind != token_kind::identifier)
            return false;
        const std::string holder = word(at), member_name = word(at + 2);
        auto bound = type_values_.find(holder);
        if (bound == type_values_.end()) return false;
        std::string type;
        std::vector<std::string> args;
        if (!named_type(bound->second, type, args)) return false;
        const std::vector<class_definition> defs = class_definitions(type);
        size_t open = npos, close = npos;
        if (defs.size() != 1 || defs[0].pattern_open != npos || !template_header(defs[0].keyword, open, close)) return false;
        const size_t body = defs[0].open, body_close = match_[body];
        if (body_close == npos) return false;
        std::map<std::string, std::string> rename;
        const std::vector<std::pair<size_t, size_t>> tparams = split_template_commas(open + 1, close);
        if (args.size() > tparams.size()) return false;
        for (size_t t = 0; t < tparams.size(); ++t) {
            const size_t a = tparams[t].first, b = tparams[t].second;
            size_t eq = a;
            while (eq < b && !is(eq, "=")) ++eq;
            if (eq == a || !is_ident(eq - 1)) return false;
            const bool is_type = is(a, "typename") || is(a, "class");
            std::string v = t < args.size() ? args[t] : eq < b ? spelled(eq + 1, b, rename) : "";
            if (v.empty()) return false;
            rename[text(eq - 1)] = is_type ? v : "(" + v + ")";
        }
        // The class's own members at its top level: aliases read as `typename A::X`, other names as `A::X`.
        size_t alias_open = npos, alias_close = npos;
        for (size_t k = body + 1; k < body_close; ++k) {
            if (is(k, "{") || is(k, "(") || is(k, "[")) {
                if (match_[k] == npos) return false;
                k = match_[k];
                continue;
            }
            if ((is(k - 1, ";") || is(k - 1, "{") || is(k - 1, "}") || is(k - 1, ":")) && is(k, "using") && is_ident(k + 1) && is(k + 2, "=")) {
                if (!rename.count(text(k + 1))) rename[text(k + 1)] = "typename " + holder + "::" + text(k + 1);
                if (text(k + 1) == member_name) {
                    alias_open = k + 3;
                    alias_close = alias_open;
                    while (alias_close < body_close && !is(alias_close, ";")) alias_close = is(alias_close, "(") ? match_[alias_close] + 1 : alias_close + 1;
                }
            } else if (is_ident(k) && is(k + 1, "=") && !is(k + 2, "=") && (is_ident(k - 1) || is(k - 1, ">")) && !rename.count(text(k))) {
                rename[text(k)] = holder + "::" + text(k);
            }
        }
        if (alias_open == npos || alias_close >= body_close) return false;
        out = spelled(alias_open, alias_close, rename);
        return true;
    }
    void tokenize() {
        const std::vector<token> all = tokenize_msl(s_);
        for (size_t i = 0; i < all.size(); ++i) {
            if (all[i].in_directive) continue;
            // (a loop hint before a loop is no statement: kernel_body_tokens::loop_hint_end)
            const size_t hint_end = loop_hint_end(all, s_, i);
            if (hint_end != npos) {
                i = hint_end - 1;
                continue;
            }
            toks_.push_back(all[i]);
        }
        match_.assign(toks_.size(), npos);
        std::vector<size_t> stack;
        for (size_t i = 0; i < toks_.size(); ++i) {
            if (is(i, "namespace") && is_ident(i + 1) && !(i > 0 && is(i - 1, "using")) && !is(i + 1, "metal")) namespaces_.insert(text(i + 1));
            if (is(i, "(") || is(i, "[") || is(i, "{")) stack.push_back(i);
            else if ((is(i, ")") || is(i, "]") || is(i, "}")) && !stack.empty()) {
                match_[stack.back()] = i;
                match_[i] = stack.back();
                stack.pop_back();
            }
        }
        // Names declared with a functor type (`Folder f;`, `block_reducer<T, OP, N> reduce(shared);`, a data
        // member `simdgroup_reducer<OP, N, T> simd_reduce;`): calls of them may be a functor's (functor_call).
        for (size_t i = 0; i + 1 < toks_.size(); ++i) {
            if (!is_ident(i) || !k_.functor_types.count(text(i)) || member(i)) continue;
            size_t j = i + 1;
            if (is(j, "<")) {
                const size_t c = angle_close(j);
                if (c == npos) continue;
                j = c + 1;
            }
            if (is_ident(j) && (is(j + 1, ";") || is(j + 1, "(") || is(j + 1, "{") || is(j + 1, "=") || is(j + 1, ",")))
                functor_names_.insert(text(j));
        }
        // Types declared inside a namespace (`struct`, `class`, `union`, `enum`, `using X =`, `typedef ... X;`):
        // a helper reached by a qualified name is not inlined when it names one (below).
        std::vector<size_t> open_namespaces;
        for (size_t i = 0; i < toks_.size(); ++i) {
            while (!open_namespaces.empty() && i > match_[open_namespaces.back()]) open_namespaces.pop_back();
            if (is(i, "{") && match_[i] != npos && i >= 2 && is_ident(i - 1) && is(i - 2, "namespace")) open_namespaces.push_back(i);
            if (open_namespaces.empty()) continue;
            if ((is(i, "struct") || is(i, "class") || is(i, "union") || is(i, "enum")) && is_ident(i + 1)) namespace_types_.insert(text(i + 1));
            if (is(i, "using") && is_ident(i + 1) && is(i + 2, "=")) namespace_types_.insert(text(i + 1));
            if (is(i, "typedef"))
                for (size_t k = i + 1; k < toks_.size() && !is(k, ";"); ++k)
                    if (is_ident(k) && is(k + 1, ";")) namespace_types_.insert(text(k));
        }
    }
    bool member(size_t i) const { return i > 0 && (is(i - 1, ".") || is(i - 1, "->") || is(i - 1, "::")); }
    // The tokens naming identifier `name`, in order. Made on first use: the definitions of a helper or
    // a class are looked up among a whole library's tokens (a million for candle's reduce.metal) many
    // times per kernel.
    const std::vector<size_t> &occurrences(const std::string &name) const {
        if (!occurrences_made_) {
            for (size_t i = 0; i < toks_.size(); ++i)
                if (is_ident(i)) occurrences_[text(i)].push_back(i);
            occurrences_made_ = true;
        }
        static const std::vector<size_t> nowhere;
        auto it = occurrences_.find(name);
        return it == occurrences_.end() ? nowhere : it->second;
    }
    bool is_helper_call(size_t i) const {
        if (declarator(i)) return false;
        if (functor_candidate(i)) return true;
        if (is_ident(i) && is(i + 1, "(") && !member(i) && bound_parameters_.count(text(i))) return true;
        return is_ident(i) && k_.meeting_functions.count(text(i)) && (is(i + 1, "(") || is(i + 1, "<")) &&
               (!member(i) || (is(i - 1, "::") && call_start(i) != npos) || object_call(i));
    }
    // The name declared at `i` by a statement `[const] T name(args);` (T a name, qualified or with template
    // arguments): no call, though it looks like one (candle's `block_reducer<T, OP, N> reduce(shared);`
    // beside its function `reduce`).
    bool declarator(size_t i) const {
        if (!is_ident(i) || !is(i + 1, "(") || match_[i + 1] == npos || !is(match_[i + 1] + 1, ";") || i < 2) return false;
        size_t j = i - 1;
        if (is(j, ">")) {
            int d = 0;
            for (;; --j) {
                if (is(j, ">")) ++d;
                else if (is(j, "<") && --d == 0) break;
                if (j == 0 || is(j, ";") || is(j, "{") || is(j, "}") || is(j, "(") || is(j, ")")) return false;
            }
            --j;
        }
        if (!is_ident(j) || statement_keywords().count(text(j)) || is(j, "return") || is(j, "else") || is(j, "case")) return false;
        while (j >= 2 && is(j - 1, "::") && is_ident(j - 2)) j -= 2;
        while (j > 0 && (is(j - 1, "const") || is(j - 1, "thread"))) --j;
        return j == 0 || is(j - 1, ";") || is(j - 1, "{") || is(j - 1, "}");
    }
    // A call `x(...)` of a name the source declares as an object of a functor type (a struct of the
    // source whose call operator meets, region_kernel::functor_types), or as a data member of one:
    // perhaps a functor object's call (functor_call says, where the inlining knows the object).
    bool functor_candidate(size_t i) const {
        return is_ident(i) && is(i + 1, "(") && !member(i) && functor_names_.count(text(i)) && !declarator(i);
    }
    // The functor object that the call at `i` is made on, as the inlining names it (`sm_i1_reduce`, or
    // `sm_i1_reduce.simd_reduce` for a data member called in an inlined member function), and its
    // type's name and template arguments, when that type is one whose call operator meets.
    bool functor_call(size_t i, const std::map<std::string, std::string> &rename, const std::string &written, std::string &object,
                      std::string &name, std::vector<std::string> &args) const {
        if (!functor_candidate(i)) return false;
        const std::string renamed = rename.count(text(i)) ? rename.at(text(i)) : text(i);
        auto member_type = object_types_.find(renamed);
        if (member_type != object_types_.end()) {
            if (!named_type(member_type->second, name, args)) return false;
            for (int hops = 0; hops < 8 && type_values_.count(name) && args.empty(); ++hops)
                if (!named_type(type_values_.at(name), name, args)) return false;
        } else if (!object_type(i, rename, written, name, args)) {
            return false;
        }
        if (!k_.functor_types.count(name)) return false;
        object = renamed;
        return true;
    }
    // `obj.f(` with `obj` a plain name (a local object, found by inline_call): a member function called on
    // an object (functor_objects below).
    bool object_call(size_t i) const { return i >= 2 && is(i - 1, ".") && is_ident(i - 2) && !member(i - 2); }
    // Where the call whose name is at `i` starts: its namespace qualifier (qualified_start), or one type
    // (`S::f`, `S<float>::f`, `Op::f`); npos for other shapes.
    size_t call_start(size_t i) const {
        if (object_call(i)) return i - 2;
        const size_t q = qualified_start(i);
        if (q != npos || i < 2 || !is(i - 1, "::")) return q;
        size_t t = i - 2;
        if (is(t, ">")) {
            int d = 0;
            for (;; --t) {
                if (is(t, ">")) ++d;
                else if (is(t, "<") && --d == 0) break;
                if (t == 0 || is(t, ";") || is(t, "{") || is(t, "}")) return npos;
            }
            --t;
        }
        if (!is_ident(t) || (t > 0 && (is(t - 1, "::") || is(t - 1, ".") || is(t - 1, "->")))) return npos;
        return t;
    }
    // A call by a qualified name (`util::reduce(v)`, `a::b::f(v)`, `::f(v)`): where the name starts, when
    // every qualifier is a namespace of the source's own (not a type, not `metal`); else npos. The
    // call's own name when it has no qualifier.
    size_t qualified_start(size_t i) const {
        size_t q = i;
        while (q >= 2 && is(q - 1, "::") && is_ident(q - 2)) {
            if (!namespaces_.count(text(q - 2)) || (q >= 3 && (is(q - 3, ".") || is(q - 3, "->")))) return npos;
            q -= 2;
        }
        if (q >= 1 && is(q - 1, "::")) {
            if (q >= 2 && (is_ident(q - 2) || is(q - 2, ">") || is(q - 2, ")") || is(q - 2, "]"))) return npos;
            --q; // `::f`: the global namespace
        }
        return q;
    }
    // The namespaces the call at `i` names, outermost first, and whether it starts with `::`.
    std::vector<std::string> call_qualifiers(size_t i, bool &absolute) const {
        std::vector<std::string> q;
        const size_t start = qualified_start(i);
        absolute = start != npos && is(start, "::");
        for (size_t k = start; start != npos && k < i; ++k)
            if (is_ident(k)) q.push_back(text(k));
        return q;
    }
    // The namespaces `namespace X {` around token `i`, outermost first.
    std::vector<std::string> enclosing_namespaces(size_t i) const {
        std::vector<std::string> chain;
        for (size_t j = 2; j < i; ++j)
            if (is(j, "{") && match_[j] != npos && match_[j] > i && is_ident(j - 1) && is(j - 2, "namespace")) chain.push_back(text(j - 1));
        return chain;
    }
    bool contains_helper_call(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i)
            if (is_helper_call(i)) return true;
        return false;
    }

    // A loop's variable named like one of the inlined helper's parameters (ggml's flash attention's
    // `for (short k = 0; k < 4; ++k)`, and `FOR_UNROLL (short k = ...)`, in a function whose parameter
    // `k` is the K cache) hides the parameter in that loop only: there it gets a name of its own,
    // `sm_i<N>_<name>_l<token>`, so the parameter's copy (which may live across a split) and the loop's
    // variable are not one name declared twice in overlapping scopes (the split refuses that). For the
    // one inlining being written (copy reads them), removed after it.
    struct hidden_loop_variables {
        helper_inliner &h;
        std::vector<size_t> tokens;
        hidden_loop_variables(helper_inliner &inliner, size_t body, size_t body_close, const std::set<std::string> &parameters,
                              const std::string &tag)
            : h(inliner) {
            for (size_t i = body + 1; i + 1 < body_close; ++i) {
                // `for (` or a loop macro's `NAME (` at a statement's start
                if (!is_loop_head(i) || h.match_[i + 1] == npos) continue;
                const size_t close = h.match_[i + 1];
                size_t eq = i + 2;
                while (eq < close && !h.is(eq, "=") && !h.is(eq, ";")) ++eq;
                if (!h.is(eq, "=") || eq < i + 4 || !h.is_ident(eq - 1) || !parameters.count(h.text(eq - 1))) continue;
                bool type = true; // `[const] T name =`: a declaration, not an assignment
                for (size_t t = i + 2; t + 1 < eq; ++t)
                    if (!(h.is_ident(t) || h.is(t, "::"))) type = false;
                if (!type) continue;
                const std::string name = h.text(eq - 1);
                const size_t end = h.is(close + 1, "{") && h.match_[close + 1] != npos ? h.match_[close + 1] + 1 : h.stmt_end(close + 1, body_close);
                if (end == npos) continue;
                const std::string renamed = "sm_i" + tag + "_" + name + "_l" + std::to_string(i);
                for (size_t t = i + 2; t < end; ++t)
                    if (h.is_ident(t) && h.text(t) == name && !h.member(t) && !h.return_reps_.count(t)) {
                        h.return_reps_[t] = {t, renamed};
                        tokens.push_back(t);
                    }
                i = close;
            }
        }
        bool is_loop_head(size_t i) const {
            if (!h.is(i + 1, "(")) return false;
            if (h.is(i, "for")) return true;
            return h.is_ident(i) && i > 0 && (h.is(i - 1, "{") || h.is(i - 1, "}") || h.is(i - 1, ";")) && !statement_keywords().count(h.text(i));
        }
        ~hidden_loop_variables() {
            for (size_t t : tokens) h.return_reps_.erase(t);
        }
        hidden_loop_variables(const hidden_loop_variables &) = delete;
        hidden_loop_variables &operator=(const hidden_loop_variables &) = delete;
    };

    // Tokens [a, b) under #line, identifiers renamed (not members), `reps` (by token) replaced.
    std::string copy(size_t a, size_t b, const std::map<std::string, std::string> &rename,
                     const std::map<size_t, std::pair<size_t, std::string>> &reps = {}) const {
        if (a >= b) return "";
        std::string out = lines_.sync(toks_[a].offset);
        size_t pos = toks_[a].offset;
        for (size_t i = a; i < b; ++i) {
            const std::pair<size_t, std::string> *rep = nullptr;
            auto r = reps.find(i);
            if (r != reps.end()) {
                rep = &r->second;
            } else {
                auto q = return_reps_.find(i); // a return of the helper being inlined, or a hidden loop variable
                if (q != return_reps_.end()) rep = &q->second;
            }
            std::string with;
            size_t last = i;
            if (rep) {
                with = rep->second;
                last = rep->first;
            } else if (is_ident(i) && macro_text_.count(toks_[i].offset)) {
                with = renamed(macro_text_.at(toks_[i].offset), rename);
            } else if (is_ident(i) && !member(i) && rename.count(text(i))) {
                // (`name<`: a member function template's call with template arguments, class_member_declarations)
                with = is(i + 1, "<") && rename.count(text(i) + "<") ? rename.at(text(i) + "<") : rename.at(text(i));
            } else {
                continue;
            }
            out += between(pos, toks_[i].offset, rename);
            out += with;
            pos = end_of(last);
            out += lines_.sync(pos);
            i = last;
        }
        out += between(pos, end_of(b - 1), rename);
        return out + "\n";
    }
    // `text` (a macro's expansion) with its names renamed as the inlining's.
    std::string renamed(const std::string &text, const std::map<std::string, std::string> &rename) const {
        std::string out;
        size_t pos = 0;
        const std::vector<token> ts = tokenize_msl(text);
        for (size_t k = 0; k < ts.size(); ++k) {
            if (ts[k].kind != token_kind::identifier) continue;
            if (k > 0 && (text.compare(ts[k - 1].offset, ts[k - 1].length, ".") == 0 || text.compare(ts[k - 1].offset, ts[k - 1].length, "->") == 0))
                continue;
            auto r = rename.find(text.substr(ts[k].offset, ts[k].length));
            if (r == rename.end()) continue;
            out.append(text, pos, ts[k].offset - pos);
            out += r->second;
            pos = ts[k].offset + ts[k].length;
        }
        out.append(text, pos, std::string::npos);
        return out;
    }
    // The text [from, to) between tokens: whitespace, comments, and preprocessor lines, whose names are
    // renamed too (`#pragma unroll(chpt)` in a helper must name the inlining's `sm_i<N>_chpt`; a
    // pragma's line may change length, its line cannot).
    std::string between(size_t from, size_t to, const std::map<std::string, std::string> &rename) const {
        std::string piece = s_.substr(from, to - from);
        if (rename.empty() || piece.find('#') == std::string::npos) return piece;
        std::string out;
        size_t pos = 0;
        for (const token &t : tokenize_msl(piece)) {
            if (!t.in_directive || t.kind != token_kind::identifier) continue;
            auto r = rename.find(piece.substr(t.offset, t.length));
            if (r == rename.end()) continue;
            out.append(piece, pos, t.offset - pos);
            out += r->second;
            pos = t.offset + t.length;
        }
        out.append(piece, pos, std::string::npos);
        return out;
    }

    bool expand_list(size_t a, size_t b, const std::map<std::string, std::string> &outer_rename, int depth, std::string &out) {
        std::map<std::string, std::string> rename = outer_rename; // (and threadgroup variables declared again: below)
        int guards = 0; // `if (!sm_r<N>) {` open (early returns)
        for (size_t i = a; i < b;) {
            const size_t e = stmt_end(i, b);
            if (e == npos || e > b) return false;
            rename_repeated_threadgroup_variable(i, rename);
            // (Hoisted where the statement is one of the list's own, below; a loop, block or if holding
            // one is expanded so that its statements are.)
            const bool nested = has_nested_simd_call(i, e);
            const size_t constructed = struct_construction(i, e, rename);
            std::string auto_type;
            if (is(i, "using") && is_ident(i + 1) && is(i + 2, "=") && is(e - 1, ";") && !type_values_.count(text(i + 1)) &&
                !contains_helper_call(i, e)) {
                // A block's own alias (candle's `using I = indexed<T>;` in each case of a switch, or
                // `using MDReduceOp = MDReduceOp<T>;` in a helper): a name of its own, bound to its value for
                // the rest of the block, so that a type through it can be named at namespace scope
                // (specialisation_question).
                const std::string value = spelled(i + 3, e - 1, rename), name = "sm_a" + std::to_string(aliases_++) + "_" + text(i + 1);
                out += lines_.sync(toks_[i].offset) + "using " + name + " = " + value + ";\n";
                type_values_[name] = value;
                rename[text(i + 1)] = name;
            } else if (depth > 0 && auto_declaration(i, e, rename, out, auto_type) && !contains_helper_call(i, e) && !nested) {
                // `auto v = e;` in a helper (candle's `auto value = load(...);`, living across the block
                // reducer's barriers) with its type spelled: the splitter keeps a variable per thread
                // only when it can name its type.
                out += copy(i, i, rename) + lines_.sync(toks_[i].offset) + auto_type + copy(i + 1, e, rename);
            } else if (constructed != npos) {
                // `T obj(args);` as `T obj = T(args);`: the splitter keeps an object living across a
                // barrier per thread when it is declared `T name = value;`.
                // (The value parenthesised: the splitter reads a comma outside brackets as another declarator.)
                // (`thread` left out: a thread's variable is in the thread address space anyway, and its
                // copy's type must not name one; the value's type without `const` either, as a
                // functional cast names a type alone.)
                size_t type_start = i;
                bool is_const = false;
                while (type_start < constructed && (is(type_start, "thread") || is(type_start, "const")))
                    is_const |= is(type_start++, "const");
                out += lines_.sync(toks_[i].offset) + (is_const ? "const " : "") + copy(type_start, constructed + 1, rename) + " = (" +
                       spelled(type_start, constructed, rename) + copy(constructed + 1, e - 1, rename) + ");\n";
                size_t matrices = npos;
                if (matrix_class(i, constructed, rename, matrices)) {
                    const std::string object = rename.count(text(constructed)) ? rename.at(text(constructed)) : text(constructed);
                    if (object_matrices_.count(object) || !hold_matrices_apart(i, constructed, object, rename, out)) return false;
                }
            } else if (!contains_helper_call(i, e) && !nested && !(is(i, "switch") && meets(i, e)) && !has_meeting_loop_header(i, e)) {
                out += copy(i, e, rename);
            } else if (const int tested = loop_header_meeting(i, e, rename, depth, out); tested >= 0) {
                // (a SIMD-group call in the loop's condition, tested in its body: loop_header_meeting)
                if (!tested) return false;
            } else if ((is(i, "for") || is(i, "while")) && is(match_[i + 1] + 1, "{") && match_[match_[i + 1] + 1] + 1 == e &&
                       !contains_helper_call(i, match_[i + 1] + 1)) {
                const size_t body = match_[i + 1] + 1;
                out += copy(i, body + 1, rename);
                if (!expand_list(body + 1, e - 1, rename, depth, out)) return false;
                out += copy(e - 1, e, rename);
            } else if ((is(i, "for") || is(i, "while")) && is(i + 1, "(") && match_[i + 1] != npos && match_[i + 1] + 1 < e &&
                       !is(match_[i + 1] + 1, "{") && !contains_helper_call(i, match_[i + 1] + 1)) {
                // A body without braces (`for (...) v = max_with_lane_below(v, offset);`): braced here, its
                // statement expanded as a block's.
                const size_t body = match_[i + 1] + 1;
                out += copy(i, body, rename) + "{\n";
                if (!expand_list(body, e, rename, depth, out)) return false;
                out += "}\n";
            } else if (is(i, "{")) {
                out += copy(i, i + 1, rename);
                if (!expand_list(i + 1, e - 1, rename, depth, out)) return false;
                out += copy(e - 1, e, rename);
            } else if (const int as_ifs = is(i, "switch") && meets(i, e) ? switch_as_ifs(i, e, rename, depth, out) : -1; as_ifs >= 0) {
                // (an if-chain the splitter can split; a switch of another shape is copied below)
                if (as_ifs == 0) return false;
            } else if (is(i, "if") && is(if_paren(i), "(") && !contains_helper_call(i, match_[if_paren(i)] + 1)) {
                // Helper calls in the arms: each arm expanded as a block (the splitter decides whether the
                // condition lets it split them; `if constexpr (c)` is the group's).
                const size_t h = match_[if_paren(i)];
                const size_t then_end = stmt_end(h + 1, e);
                if (then_end == npos || (then_end < e && !is(then_end, "else"))) return false;
                out += copy(i, h + 1, rename);
                if (!expand_arm(h + 1, then_end, rename, depth, out)) return false;
                if (then_end < e) {
                    out += copy(then_end, then_end + 1, rename);
                    if (!expand_arm(then_end + 1, e, rename, depth, out)) return false;
                }
            } else if (depth == 0 && is(i, "return") && !is(i + 1, ";") && contains_helper_call(i + 1, e)) {
                // `return mma_op.store_result(D, ldd);` in the kernel (candle's gemm): a void call returned,
                // `{ call; return; }`, its call inlined as a statement's.
                out += "{\n";
                if (!expand_list(i + 1, e, rename, depth, out)) return false;
                out += lines_.sync(toks_[i].offset) + "return;\n}\n";
            } else if (statement_keywords().count(text(i)) && !(is(i, "return") && return_reps_.count(i))) {
                out += copy(i, e, rename); // a call under control flow: the splitter refuses it
            } else { // (an early return of a helper is an assignment here: its calls are inlined too)
                // Each helper call of the statement (none inside another's arguments) before it, its
                // result in its place.
                std::map<size_t, std::pair<size_t, std::string>> reps;
                size_t last_close = 0;
                for (size_t k = i; k < e; ++k) {
                    if (!is_helper_call(k)) continue;
                    std::string callee;
                    if (quiet_member_call(k, rename, callee)) {
                        reps[call_start(k)] = {k, callee};
                        continue;
                    }
                    if (k < last_close) return false;
                    std::string ret;
                    if (!inline_call(k, rename, depth, out, ret)) return false;
                    last_close = match_[call_paren(k)];
                    const size_t start = call_start(k); // (`util::`, `S<float>::` included)
                    if (ret.empty()) { // a void helper: the statement must be the call alone
                        if (!(start == i && is(last_close + 1, ";") && last_close + 2 == e)) return false;
                        reps[start] = {last_close + 1, ";"};
                    } else {
                        reps[start] = {last_close, ret};
                    }
                }
                if (nested && !is(i, "{") && !hoist_nested_simd_calls(i, e, rename, out, reps)) return false;
                out += copy(i, e, rename, reps);
            }
            // After a statement that may return from the helper being inlined, the rest of this list
            // runs only in the threads that have not returned: one guard after each such statement,
            // each inside the one before, so that a variable declared after one return is in scope
            // after the next (`if (lane >= n) return 0; float a = v; if (a > 3) return a; return a + 1;`).
            const std::string flag = return_flag(i, e);
            const std::string condition = flag.empty() ? "" : returning_condition(i, e, rename);
            i = e;
            if (!flag.empty() && i < b) {
                // (`if (c) return;` alone: the rest runs under `!(c)`, which the splitter can see is the
                // group's when c is, as FastAttentionKernel::run's `if (params->tiles_n <= tid_x || ...) { return; }`
                // before its matrix statements: under the flag, a thread's own, they kept fibers.)
                out += condition.empty() ? "if (!" + flag + ") {\n" : "if (!(" + condition + ")) {\n";
                ++guards;
            }
        }
        out += std::string(size_t(guards), '}') + (guards ? "\n" : "");
        return true;
    }

    // ---- a SIMD-group call in a loop's condition: `while (simd_any(x > limit)) { ... }` ----
    // Whether [a, b) holds a loop (for, while, do) whose condition calls a SIMD-group function.
    bool has_meeting_loop_header(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i) {
            if (!(is(i, "for") || is(i, "while")) || !is(i + 1, "(") || match_[i + 1] == npos) continue;
            size_t start, paren;
            for (size_t k = i + 2; k < match_[i + 1]; ++k)
                if (simd_call_at(k, start, paren)) return true;
        }
        return false;
    }
    // Whether [a, b) calls a SIMD-group function; whether it evaluates a part only under a condition.
    bool holds_simd_call(size_t a, size_t b) const {
        size_t start, paren;
        for (size_t k = a; k < b; ++k)
            if (simd_call_at(k, start, paren)) return true;
        return false;
    }
    bool conditional_evaluation(size_t a, size_t b) const {
        for (size_t k = a; k < b; ++k)
            if (is(k, "?") || (is(k, "&") && is(k + 1, "&")) || (is(k, "|") && is(k + 1, "|"))) return true;
        return false;
    }
    // A loop [i, e) with a braced body whose condition calls a SIMD-group function, as a loop without
    // one that tests it first thing in its body (last, for `do`):
    //   for (init; C; inc) { B }   ->  for (init; ; inc) { if (!(C)) break; B }
    //   while (C) { B }            ->  for (;;) { if (!(C)) break; B }
    //   do { B } while (C);        ->  for (;;) { { B } if (!(C)) break; }
    // The splitter runs a loop whose body has a break of its own per thread (per_thread_loop), so the
    // test is a meeting of the threads still in the loop, once per iteration, as Metal's active lanes
    // (those that left the loop or returned do not take part); `continue` still reaches the test (and
    // the increment first). Only when that means the same: no SIMD-group call in a `for`'s init or
    // increment, none in C under `&&`, `||`, `?:` (it would meet where the original does not), no
    // helper call in the header, and for `do`, no `continue` of its own in B (it would skip the test).
    // -1: the statement is not such a loop, or not of that shape (it is copied as it is, and the
    // splitter refuses it: the kernel keeps the fiber path, with a remark); 1: rewritten into `out`;
    // 0: its body could not be expanded (nothing is inlined then).
    int loop_header_meeting(size_t i, size_t e, const std::map<std::string, std::string> &rename, int depth, std::string &out) {
        size_t cond_a, cond_b, body;
        std::string head;
        if (is(i, "for") || is(i, "while")) {
            if (!is(i + 1, "(") || match_[i + 1] == npos) return -1;
            const size_t h = match_[i + 1];
            body = h + 1;
            if (!is(body, "{") || match_[body] + 1 != e || contains_helper_call(i, body) || !holds_simd_call(i + 2, h)) return -1;
            if (is(i, "for")) {
                size_t s1 = npos, s2 = npos;
                for (size_t k = i + 2; k < h; ++k) {
                    if ((is(k, "(") || is(k, "[") || is(k, "{")) && match_[k] != npos) k = match_[k];
                    else if (is(k, ";")) (s1 == npos ? s1 : s2) = k;
                }
                if (s1 == npos || s2 == npos || holds_simd_call(i + 2, s1) || holds_simd_call(s2 + 1, h)) return -1;
                cond_a = s1 + 1, cond_b = s2;
                head = "for (" + copy(i + 2, s1, rename) + "; ; " + copy(s2 + 1, h, rename) + ") {\n";
            } else {
                cond_a = i + 2, cond_b = h;
                head = "for (;;) {\n";
            }
        } else if (is(i, "do") && is(i + 1, "{") && match_[i + 1] != npos) {
            body = i + 1;
            const size_t w = match_[body] + 1; // `while`
            if (!is(w, "while") || !is(w + 1, "(") || match_[w + 1] == npos || match_[w + 1] + 2 != e) return -1;
            cond_a = w + 2, cond_b = match_[w + 1];
            if (contains_helper_call(cond_a, cond_b) || !holds_simd_call(cond_a, cond_b)) return -1;
            for (size_t k = body + 1; k < match_[body]; ++k) { // a `continue` of the do loop's own
                if ((is(k, "for") || is(k, "while") || is(k, "do") || is(k, "switch")) && stmt_end(k, match_[body]) != npos) {
                    k = stmt_end(k, match_[body]) - 1;
                    continue;
                }
                if (is(k, "continue")) return -1;
            }
            head = "for (;;) {\n";
        } else {
            return -1;
        }
        if (conditional_evaluation(cond_a, cond_b)) return -1;
        const std::string test = "if (!(" + copy(cond_a, cond_b, rename) + ")) break;\n";
        ++loop_tests_;
        out += lines_.sync(toks_[i].offset) + head;
        if (is(i, "do")) {
            out += "{\n";
            if (!expand_list(body + 1, match_[body], rename, depth, out)) return 0;
            out += "}\n" + test;
        } else {
            out += test;
            if (!expand_list(body + 1, e - 1, rename, depth, out)) return 0;
        }
        out += lines_.sync(toks_[match_[body]].offset) + "}\n";
        return 1;
    }

    // Where the condition of the `if` at `i` opens: after `constexpr` in `if constexpr (c)`.
    size_t if_paren(size_t i) const { return is(i + 1, "constexpr") ? i + 2 : i + 1; }
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
    // when that means the same: E has no assignment (it is evaluated once per label; a call or an
    // increment in it is evaluated once, into a variable first: switch_value); each label's statements end
    // with `break;` or `return ...;` (the last may end the switch), with no other `break` of the
    // switch's own inside them, no label nested in them.
    // 1: written as an if-chain; -1: not of that shape, nothing written; 0: an arm could not be
    // expanded after the chain was begun (the inlining fails: no half a chain in its output).
    int switch_as_ifs(size_t i, size_t e, const std::map<std::string, std::string> &rename, int depth, std::string &out) {
        if (!is(i + 1, "(") || match_[i + 1] == npos) return -1;
        const size_t h = match_[i + 1];
        if (!is(h + 1, "{") || match_[h + 1] + 1 != e) return -1;
        bool calls = false; // a value with calls or increments is evaluated once, into a variable (switch_value)
        for (size_t k = i + 2; k < h; ++k) {
            if (is(k, "=") && !is(k + 1, "=") && !is(k - 1, "=") && !is(k - 1, "!") && !is(k - 1, "<") && !is(k - 1, ">")) return -1;
            if ((is(k, "+") && is(k + 1, "+")) || (is(k, "-") && is(k + 1, "-"))) calls = true;
            if (is_ident(k) && (is(k + 1, "(") || is(k + 1, "<"))) calls = true;
        }
        if (calls && meets(i + 2, h)) return -1;
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
                    if (!is(p + 1, ":")) return -1;
                    g.is_default = true;
                    p += 2;
                    continue;
                }
                size_t c = p + 1;
                while (c < close && !is(c, ":")) {
                    if (is(c, "?") || is(c, "(") || is(c, "{") || is(c, ";")) return -1;
                    ++c;
                }
                if (c >= close || c == p + 1) return -1;
                g.values.push_back({p + 1, c});
                p = c + 1;
            }
            if (g.values.empty() && !g.is_default) return -1; // a statement before the first label
            g.a = p;
            size_t last = npos;
            while (p < close && !is(p, "case") && !is(p, "default")) {
                const size_t q = stmt_end(p, close);
                if (q == npos || q > close) return -1;
                // (An empty statement is none: `case N: { ...; break; };`, a label written by a macro
                // used with a semicolon, as candle's `reduce_case(...);` is, ends with its block.)
                if (!(is(p, ";") && q == p + 1)) last = p;
                p = q;
            }
            g.b = p;
            const bool ends_switch = p >= close;
            auto only_semicolons = [&](size_t from, size_t to) {
                for (size_t k = from; k < to; ++k)
                    if (!is(k, ";")) return false;
                return true;
            };
            if (last != npos && is(last, "break") && is(last + 1, ";")) {
                g.b = last;
            } else if (last != npos && is(last, "{") && only_semicolons(match_[last] + 1, p) && match_[last] >= last + 3 && is(match_[last] - 2, "break") &&
                       is(match_[last] - 1, ";")) {
                g.block = last; // the block's own statements end with the switch's break
                g.b = match_[last] - 2;
            } else if (!(ends_switch || (last != npos && is(last, "return")))) {
                return -1; // falls through
            }
            // No break of the switch's own, and no label, inside the statements.
            std::vector<size_t> loops;
            for (size_t k = g.a; k < g.b; ++k) {
                if (is(k, "case") || is(k, "default")) return -1;
                if ((is(k, "for") || is(k, "while") || is(k, "switch")) && is(k + 1, "(") && match_[k + 1] != npos) {
                    const size_t end = stmt_end(k, g.b);
                    if (end == npos) return -1;
                    k = end - 1; // its own breaks
                    continue;
                }
                if (is(k, "do")) {
                    const size_t end = stmt_end(k, g.b);
                    if (end == npos) return -1;
                    k = end - 1;
                    continue;
                }
                if (is(k, "break")) return -1;
            }
            if (g.is_default && !g.values.empty()) g.values.clear(); // `case 1: default:` is the default
            groups.push_back(g);
        }
        if (groups.empty()) return -1;
        std::string value = copy(i + 2, h, rename);
        std::string declaration;
        if (calls && !switch_value(i + 2, h, rename, out, value, declaration)) return -1;
        out += copy(i, i + 1, rename, {{i, {i, "{"}}}); // the switch's place, for the #line
        out += declaration;
        bool first = true;
        const group *fallback = nullptr;
        for (const group &g : groups) {
            if (g.is_default) {
                if (fallback) return 0; // (two defaults: no valid switch)
                fallback = &g;
                continue;
            }
            out += first ? "if (" : "else if (";
            first = false;
            for (size_t v = 0; v < g.values.size(); ++v)
                out += std::string(v ? " || " : "") + "(" + value + ") == (" + copy(g.values[v].first, g.values[v].second, rename) + ")";
            out += ") {\n";
            if (!expand_group(g.a, g.b, g.block, rename, depth, out)) return 0;
            out += "}\n";
        }
        if (fallback) {
            out += first ? "{\n" : "else {\n";
            if (!expand_group(fallback->a, fallback->b, fallback->block, rename, depth, out)) return 0;
            out += "}\n";
        }
        out += "}\n";
        ++inlined_; // a body the splitter reads instead of the kernel's
        return 1;
    }

    // A switch's value [a, b) that calls functions (candle's `switch (max_shared_mem<T>(block_dim))`): the
    // if-chain compares it with each label, and a switch evaluates it once, so it is declared as a
    // variable first, `using sm_swt<N> = <its type>; const sm_swt<N> sm_sw<N> = (value);`, its type
    // named as a deduced template argument's (unevaluated: it is a scope declaration of the split),
    // and the chain compares that variable. The calls meet nobody (switch_as_ifs checks). The type is
    // E's without its increments (`pick(gid + k++)`: `k++` is a value of k's type, and
    // `declval_of<uint>()++` would not compile).
    bool switch_value(size_t a, size_t b, const std::map<std::string, std::string> &rename, const std::string &written,
                      std::string &value, std::string &declaration) {
        std::map<size_t, std::pair<size_t, std::string>> subst = hoisted_types_;
        for (size_t k = a; k < b; ++k) {
            if (is_ident(k) && simd_functions().count(text(k))) return false; // (the type would name it: the splitter takes that for a meeting)
            if (((is(k, "+") && is(k + 1, "+")) || (is(k, "-") && is(k + 1, "-"))) && toks_[k].offset + 1 == toks_[k + 1].offset) {
                subst[k] = {k + 1, ""};
                ++k;
            }
        }
        std::string expression;
        if (!unevaluated(a, b, rename, written, expression, &subst)) return false;
        const std::string tag = std::to_string(switch_values_++);
        const std::string at = lines_.sync(toks_[a].offset);
        declaration = at + "using sm_swt" + tag + " = ::sm::regions::deduced_value_t<decltype((" + expression + "))>;\n" + at + "const sm_swt" +
                      tag + " sm_sw" + tag + " = (" + copy(a, b, rename) + ");\n";
        value = "sm_sw" + tag;
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
        size_t type_end = npos; // where the return type ends when that is not `name` (`T operator()(...)`: `operator`)
        size_t type_stop() const { return type_end != npos ? type_end : name; }
    };
    // `targs_open`, `targs_close` (the call's explicit template arguments' `<` and `>`, when it has them)
    // and `paren` (its argument list's `(`): among several function templates of that name, the one that
    // the call's explicit template arguments can bind (candle's two `reduce` templates, told apart by
    // their parameters' count and kinds: a number for a type parameter, or too many arguments, rules one
    // out; ggml's two `mmv_fn`, by the parameter count of the function each one's parameter takes).
    bool find_definition(const std::string &name, definition &d, size_t targs_open = npos, size_t targs_close = npos,
                         size_t paren = npos) const {
        std::vector<definition> found;
        for (const size_t i : occurrences(name)) {
            if (i + 1 >= toks_.size() || !is(i + 1, "(") || match_[i + 1] == npos || member(i)) continue;
            size_t k = match_[i + 1] + 1;
            while (is(k, "const") || is(k, "thread") || is(k, "device") || is(k, "threadgroup") || is(k, "constant") || is(k, "noexcept")) ++k;
            if (!is(k, "{")) continue;
            definition c;
            c.name = i;
            if (!complete_definition(c)) return false;
            found.push_back(c);
        }
        if (found.size() > 1 && targs_open != npos) {
            std::vector<definition> viable;
            for (const definition &c : found)
                if (binds_explicit_arguments(c, targs_open, targs_close, paren)) viable.push_back(c);
            found = viable;
        }
        if (found.size() != 1) return false;
        d = found[0];
        return true;
    }
    // Whether a call `f<args>(...)` (template arguments between `targs_open` and `targs_close`, arguments
    // after `paren`) can name the function template `c`: it is a template with at least as many parameters
    // as the call gives arguments, none of its type parameters is given a number (or `true`/`false`),
    // none of its parameters of a function type is given a function of another parameter count, and it
    // has as many function parameters as the call has arguments.
    bool binds_explicit_arguments(const definition &c, size_t targs_open, size_t targs_close, size_t paren) const {
        if (c.template_open == npos || targs_open == npos || targs_close == npos || paren == npos || match_[paren] == npos) return false;
        const std::vector<std::pair<size_t, size_t>> args = split_template_commas(targs_open + 1, targs_close);
        const std::vector<std::pair<size_t, size_t>> params = split_template_commas(c.template_open + 1, c.template_close);
        if (args.size() > params.size()) return false;
        for (size_t a = 0; a < args.size(); ++a) {
            const bool type_parameter = is(params[a].first, "typename") || is(params[a].first, "class");
            const bool number = toks_[args[a].first].kind == token_kind::number || is(args[a].first, "true") || is(args[a].first, "false");
            if (type_parameter && number) return false;
            const size_t fn = is(args[a].first, "&") ? args[a].first + 1 : args[a].first;
            if (!type_parameter && is_ident(params[a].first) && is_ident(fn)) {
                const int wanted = function_type_arity(text(params[a].first)), given = common_arity(text(fn));
                if (wanted >= 0 && given >= 0 && wanted != given) return false;
            }
        }
        return function_arity(c.name) == int(split_commas(paren + 1, match_[paren]).size());
    }
    // A parameter [a, nm) spelled `[const] X<..., P, ...> [&]` (P the template parameter `name`) given an
    // argument [c, e) spelled `X<..., v, ...>{...}` or `X<..., v, ...>(...)`: v, read with `rename`; else "".
    std::string argument_template_argument(size_t a, size_t nm, size_t c, size_t e, const std::string &name,
                                           const std::map<std::string, std::string> &rename) const {
        while (a < nm && (is(a, "const") || is(a, "thread"))) ++a;
        if (!(is_ident(a) && is(a + 1, "<"))) return "";
        const size_t pclose = angle_close(a + 1);
        if (pclose == npos || pclose >= nm) return "";
        if (!(is_ident(c) && text(c) == text(a) && is(c + 1, "<"))) return "";
        const size_t aclose = angle_close(c + 1);
        if (aclose == npos || aclose + 1 >= e || !(is(aclose + 1, "{") || is(aclose + 1, "(")) || match_[aclose + 1] + 1 != e) return "";
        const std::vector<std::pair<size_t, size_t>> ps = split_template_commas(a + 2, pclose), as = split_template_commas(c + 2, aclose);
        if (ps.size() != as.size()) return "";
        for (size_t q = 0; q < ps.size(); ++q)
            if (ps[q].second == ps[q].first + 1 && is_ident(ps[q].first) && text(ps[q].first) == name) return spelled(as[q].first, as[q].second, rename);
        return "";
    }
    // Whether the definition whose name is at `name` takes `n` arguments: at most its parameters, at
    // least those without a default.
    bool takes_arguments(size_t name, int n) const {
        const std::vector<std::pair<size_t, size_t>> ps = split_template_commas(name + 2, match_[name + 1]);
        int required = 0;
        for (const auto &p : ps) {
            bool defaulted = false;
            for (size_t i = p.first; i < p.second; ++i)
                if (is(i, "=")) defaulted = true;
            if (!defaulted && !(p.second == p.first + 1 && is(p.first, "void"))) ++required;
        }
        return n >= required && n <= function_arity(name);
    }
    // The parameter count of the definition whose name is at `name` (`f(void)`: none).
    int function_arity(size_t name) const {
        std::vector<std::pair<size_t, size_t>> fparams = split_commas(name + 2, match_[name + 1]);
        if (fparams.size() == 1 && fparams[0].second == fparams[0].first + 1 && is(fparams[0].first, "void")) fparams.clear();
        return int(fparams.size());
    }
    // The parameter count every definition of the function `name` has; -1 when there is none, or they differ.
    int common_arity(const std::string &name) const {
        int arity = -1;
        for (const size_t i : occurrences(name)) {
            if (i + 1 >= toks_.size() || !is(i + 1, "(") || match_[i + 1] == npos || member(i) || !is(match_[i + 1] + 1, "{")) continue;
            const int n = function_arity(i);
            if (arity >= 0 && n != arity) return -1;
            arity = n;
        }
        return arity;
    }
    // The parameter count of the function type a typedef names (ggml's `typedef void (kernel_mul_mv_disp_t)(...);`,
    // or `(*name)` for a pointer to one); -1 when `name` is no such typedef (or two say different things).
    int function_type_arity(const std::string &name) const {
        int arity = -1;
        for (const size_t i : occurrences(name)) {
            size_t open = i - 1; // the `(` before the name, or before `*name`
            if (i < 2 || !is(i + 1, ")") || !is(i + 2, "(") || match_[i + 2] == npos || !is(match_[i + 2] + 1, ";")) continue;
            if (is(open, "*")) --open;
            if (!is(open, "(")) continue;
            bool typedef_statement = false;
            for (size_t j = open; j > 0 && !is(j - 1, ";") && !is(j - 1, "{") && !is(j - 1, "}"); --j)
                if (is(j - 1, "typedef")) typedef_statement = true;
            if (!typedef_statement) continue;
            const int n = function_arity(i + 1);
            if (arity >= 0 && n != arity) return -1;
            arity = n;
        }
        return arity;
    }
    // From `d.name`: the return type's start and a `template <...>` before it.
    bool complete_definition(definition &d) const {
        // The return type: back over identifiers, `::`, `*` and template arguments.
        size_t t = d.type_stop();
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
            if (d.template_close == npos || d.template_close >= d.type_stop()) return false;
            t = d.template_close + 1;
        }
        d.type_start = t;
        for (size_t i = t; i < d.type_stop(); ++i)
            if (is(i, "template") || is(i, "auto") || is(i, "operator")) return false;
        return true;
    }
    // The struct a call `S::f(`, `S<args>::f(` or `Op::f(` (Op a type parameter of an inlining whose
    // value is `S` or `S<args>`) goes through: its name and template arguments, spelled.
    bool call_type(size_t call, const std::map<std::string, std::string> &rename, std::string &name, std::vector<std::string> &args) const {
        const size_t start = call_start(call);
        if (start == npos || is(start, "::") || namespaces_.count(text(start))) return false;
        args.clear();
        if (is(start + 1, "<")) {
            const size_t close = angle_close(start + 1);
            if (close == npos || close + 2 != call) return false;
            for (const auto &a : split_template_commas(start + 2, close)) args.push_back(spelled(a.first, a.second, rename));
            name = text(start);
            return true;
        }
        const std::string renamed = rename.count(text(start)) ? rename.at(text(start)) : text(start);
        auto v = type_values_.find(renamed);
        if (v == type_values_.end()) {
            name = text(start);
            return true;
        }
        if (!named_type(v->second, name, args)) return false;
        // (Bound to another inlining's parameter, `using sm_i2_OP = sm_i1_OP;`: through to its value.)
        for (int hops = 0; hops < 8 && args.empty() && type_values_.count(name); ++hops)
            if (!named_type(type_values_.at(name), name, args)) return false;
        return true;
    }
    // A type spelled `Name` or `Name<a, b>` and nothing else: its name and template arguments.
    static bool named_type(const std::string &value, std::string &name, std::vector<std::string> &args) {
        args.clear();
        std::vector<token> vt;
        for (const token &t : tokenize_msl(value))
            if (!t.in_directive) vt.push_back(t);
        auto word = [&](size_t i) { return i < vt.size() ? value.substr(vt[i].offset, vt[i].length) : std::string(); };
        if (vt.empty() || vt[0].kind != token_kind::identifier) return false;
        name = word(0);
        if (vt.size() == 1) return true;
        if (word(1) != "<" || word(vt.size() - 1) != ">") return false;
        int depth = 0;
        size_t from = 2;
        for (size_t i = 1; i + 1 < vt.size(); ++i) {
            const std::string w = word(i);
            if (w == "<" || w == "(" || w == "[") ++depth;
            else if (w == ">" || w == ")" || w == "]") --depth;
            else if (w == "," && depth == 1) {
                args.push_back(value.substr(vt[from].offset, vt[i].offset - vt[from].offset));
                from = i + 1;
            }
            if (depth == 0) return false; // closed before the end
        }
        if (from < vt.size() - 1) args.push_back(value.substr(vt[from].offset, vt[vt.size() - 1].offset - vt[from].offset));
        return true;
    }
    // The struct of the object `obj` (the token at `at`) a member function is called on: its one
    // declaration in what the inlining has written (`written`), `[const] T obj;`, `T obj{...};`,
    // `T obj(...);` or `T obj = ...;` at a statement's start, with `T` a struct's name (`S`, `S<float>`) or
    // a type parameter of an inlining bound to one (`sm_i0_Op`, `Min<float>`); the last such declaration
    // still in scope at the end of `written` (where the call is). False for any other shape (a
    // reference, a pointer, an array, a parameter or program-scope object: none declared there).
    bool object_type(size_t at, const std::map<std::string, std::string> &rename, const std::string &written, std::string &name,
                     std::vector<std::string> &args) const {
        const std::string obj = rename.count(text(at)) ? rename.at(text(at)) : text(at);
        std::vector<token> wt;
        for (const token &t : tokenize_msl(written))
            if (!t.in_directive) wt.push_back(t);
        auto w = [&](size_t i) { return i < wt.size() ? written.substr(wt[i].offset, wt[i].length) : std::string(); };
        std::string type;
        bool found = false;
        size_t last = 0;
        for (size_t j = 1; j + 1 < wt.size(); ++j) {
            if (wt[j].kind != token_kind::identifier || w(j) != obj) continue;
            const std::string next = w(j + 1), prev = w(j - 1);
            if (prev == "." || prev == "->" || prev == "::") continue; // (a member of that name)
            if (!(next == ";" || next == "{" || next == "(" || next == "=")) continue;
            if (!(wt[j - 1].kind == token_kind::identifier || prev == ">") || prev == "return" || prev == "case" || prev == "else")
                continue;
            size_t start = j - 1;
            for (int depth = 0; start > 0; --start) { // back over the type
                const std::string t = w(start);
                if (t == ">") ++depth;
                else if (t == "<") --depth;
                const std::string before = w(start - 1);
                if (depth == 0 && (before == ";" || before == "{" || before == "}")) break;
                if (depth == 0 && !(wt[start - 1].kind == token_kind::identifier || before == "<" || before == ">" || before == "::"))
                    break;
                if (depth > 0 && (before == ";" || before == "{" || before == "}")) break;
            }
            const std::string before = start > 0 ? w(start - 1) : ";";
            if (!(before == ";" || before == "{" || before == "}")) continue; // (not a declaration statement)
            while (start < j && (w(start) == "const" || w(start) == "thread")) ++start;
            if (start >= j) continue;
            // Still in scope where the call is (the end of what was written): no brace closes its block.
            int depth = 0;
            for (size_t q = j + 1; q < wt.size() && depth >= 0; ++q) {
                if (w(q) == "{") ++depth;
                else if (w(q) == "}") --depth;
            }
            if (depth < 0) continue;
            type = written.substr(wt[start].offset, wt[j - 1].offset + wt[j - 1].length - wt[start].offset);
            found = true; // (the last one in scope: an inner declaration hides an outer one)
            last = j;
        }
        if (!found || !named_type(type, name, args)) return false;
        // A later declaration of another shape (`Max<float> &obj = ...;`, `for (S obj; ...)`) may hide it:
        // every later mention must be a use.
        for (size_t q = last + 1; q < wt.size(); ++q) {
            if (wt[q].kind != token_kind::identifier || w(q) != obj) continue;
            const std::string prev = w(q - 1);
            if (prev == "." || prev == "->" || prev == "::" || prev == "return" || prev == "case" || prev == "else") continue;
            if (prev == "&" || prev == "*" || prev == ">" || wt[q - 1].kind == token_kind::identifier) return false;
        }
        // A type parameter of an inlining: what it is bound to (through others bound to it).
        for (int hops = 0; hops < 8; ++hops) {
            auto v = type_values_.find(name);
            if (v == type_values_.end()) return true;
            if (!args.empty() || !named_type(v->second, name, args)) return false;
        }
        return false;
    }
    // The definitions of struct (or class) `type` in the source, in order: `struct S {` (the primary) and
    // `struct S<pattern> {` (a specialisation), each with its `struct` keyword, its pattern's '<' and
    // '>' (npos for the primary) and its body's '{'.
    struct class_definition {
        size_t keyword = npos, pattern_open = npos, pattern_close = npos, open = npos;
    };
    std::vector<class_definition> class_definitions(const std::string &type) const {
        std::vector<class_definition> defs;
        for (const size_t name : occurrences(type)) {
            const size_t i = name - 1;
            if (name == 0 || name + 1 >= toks_.size() || !(is(i, "struct") || is(i, "class"))) continue;
            class_definition c;
            c.keyword = i;
            size_t k = i + 2;
            if (is(k, "<")) {
                c.pattern_open = k;
                c.pattern_close = angle_close(k);
                if (c.pattern_close == npos) continue;
                k = c.pattern_close + 1;
            }
            while (k < toks_.size() && !is(k, "{") && !is(k, ";") && !is(k, "(")) ++k;
            if (!is(k, "{")) continue;
            c.open = k;
            defs.push_back(c);
        }
        return defs;
    }
    // The `template <...>` right before the `struct` (or `class`) keyword at `keyword`: its '<' and '>'.
    bool template_header(size_t keyword, size_t &open, size_t &close) const {
        if (keyword < 2 || !is(keyword - 1, ">")) return false;
        size_t t = keyword - 1;
        for (int depth = 0;; --t) {
            if (is(t, ">")) ++depth;
            else if (is(t, "<") && --depth == 0) break;
            if (t == 0) return false;
        }
        if (t == 0 || !is(t - 1, "template")) return false;
        open = t;
        close = keyword - 1;
        return true;
    }
    // The primary template's parameter list of `type`: `template <...> struct type` followed by `;` or
    // `{`, its '<' and '>'; false when there is none such.
    bool primary_parameters(const std::string &type, size_t &open, size_t &close) const {
        for (const size_t name : occurrences(type)) {
            const size_t i = name - 1;
            if (name < 3 || name + 1 >= toks_.size() || !(is(i, "struct") || is(i, "class")) || is(i + 2, "<")) continue;
            if ((is(i + 2, ";") || is(i + 2, "{")) && template_header(i, open, close)) return true;
        }
        return false;
    }
    // `text` (a type or value an inlining spelled) at namespace scope: each type parameter or constant of
    // an inlining replaced by what it is bound to, until none is left; false when a name of the
    // split's own remains (a deduced type naming a local, a hoisted value).
    bool at_namespace_scope(const std::string &text, std::string &out, int depth = 0) const {
        if (depth > 16) return false;
        out.clear();
        size_t pos = 0;
        for (const token &t : tokenize_msl(text)) {
            if (t.in_directive || t.kind != token_kind::identifier) continue;
            const std::string name = text.substr(t.offset, t.length);
            std::string value;
            auto type = type_values_.find(name);
            auto constant = constant_values_.find(name);
            if (type != type_values_.end()) {
                if (!at_namespace_scope(type->second, value, depth + 1)) return false;
            } else if (constant != constant_values_.end()) {
                if (!at_namespace_scope(constant->second, value, depth + 1)) return false;
                value = "(" + value + ")";
            } else if (name.compare(0, 3, "sm_") == 0) {
                return false;
            } else {
                continue;
            }
            out.append(text, pos, t.offset - pos);
            out += value;
            pos = t.offset + t.length;
        }
        out.append(text, pos, std::string::npos);
        return true;
    }
    // Which definition of `type` an object of `type<args>` is, when the class has partial specialisations
    // chosen by conditions, each of the shape `template <P...> struct type<P..., typename enable_if_t<C>>`
    // (its parameters, in order, then `enable_if_t<C>` or `enable_if<C>::type` for each defaulted
    // parameter of the primary template; candle's simdgroup_reducer and loader): the compiler's answer
    // (region_kernel::specialisation_choices), as a definition index; -1 when the class is of another
    // shape. Not answered yet: the question is added to `probes_` (and the index of one definition
    // returned, below).
    int specialisation_question(const std::string &type, const std::vector<std::string> &args) {
        const std::vector<class_definition> defs = class_definitions(type);
        size_t p_open, p_close;
        if (defs.empty() || !primary_parameters(type, p_open, p_close)) return -1;
        const size_t parameters = split_template_commas(p_open + 1, p_close).size();
        if (args.size() >= parameters) return -1;
        std::vector<std::string> resolved;
        std::string spelled_type = type + "<";
        for (size_t a = 0; a < args.size(); ++a) {
            std::string r;
            if (!at_namespace_scope(args[a], r)) return -1;
            resolved.push_back(r);
            spelled_type += (a ? ", " : "") + r;
        }
        spelled_type += ">";
        std::map<int, std::string> conditions;
        int primary = -1;
        for (size_t di = 0; di < defs.size(); ++di) {
            const class_definition &c = defs[di];
            if (c.pattern_open == npos) {
                primary = int(di);
                continue;
            }
            // Its own parameters: `template <...>` before `struct`.
            size_t own_open, own_close;
            if (!template_header(c.keyword, own_open, own_close)) return -1;
            const std::vector<std::pair<size_t, size_t>> own = split_template_commas(own_open + 1, own_close);
            const std::vector<std::pair<size_t, size_t>> pattern = split_template_commas(c.pattern_open + 1, c.pattern_close);
            if (own.size() != args.size() || pattern.size() != parameters) return -1;
            std::map<std::string, std::string> bound;
            for (size_t a = 0; a < own.size(); ++a) {
                const size_t nm = own[a].second - 1; // (no defaults in a specialisation's own parameters)
                if (!is_ident(nm) || pattern[a].second != pattern[a].first + 1 || text(pattern[a].first) != text(nm)) return -1;
                const bool is_type = is(own[a].first, "typename") || is(own[a].first, "class");
                bound[text(nm)] = is_type ? resolved[a] : "(" + resolved[a] + ")";
            }
            // The rest: `typename [metal::]enable_if_t<C>` or `typename [metal::]enable_if<C>::type`.
            std::string condition;
            for (size_t a = own.size(); a < pattern.size(); ++a) {
                size_t k = pattern[a].first;
                const size_t e = pattern[a].second;
                if (is(k, "typename")) ++k;
                if (is(k, "metal") && is(k + 1, "::")) k += 2;
                const bool alias = is(k, "enable_if_t");
                if (!(alias || is(k, "enable_if")) || !is(k + 1, "<")) return -1;
                const size_t close = angle_close(k + 1);
                if (close == npos || (alias ? close + 1 != e : !(close + 3 == e && is(close + 1, "::") && is(close + 2, "type")))) return -1;
                const std::vector<std::pair<size_t, size_t>> enable_args = split_template_commas(k + 2, close);
                if (enable_args.size() != 1) return -1; // (`enable_if_t<C, U>`: another type than void)
                const size_t from = toks_[enable_args[0].first].offset;
                const std::string c_text = renamed(s_.substr(from, end_of(enable_args[0].second - 1) - from), bound);
                condition += (condition.empty() ? "" : " && ") + ("(" + c_text + ")");
            }
            if (condition.empty()) return -1; // (a specialisation by its pattern alone: not asked)
            conditions[int(di)] = condition;
        }
        const std::string key = specialisation_key(spelled_type);
        auto answer = k_.specialisation_choices.find(key);
        if (answer != k_.specialisation_choices.end()) return answer->second >= 0 ? answer->second : primary;
        const std::string probe = specialisation_probe(spelled_type, conditions);
        if (std::find(probes_.begin(), probes_.end(), probe) == probes_.end()) probes_.push_back(probe);
        // Not answered yet: the inlining goes on through one of the definitions, only to find the
        // other questions of the kernel (a switch over block sizes asks one per case) for the same
        // run of the compiler; with a question open, its result is not used (build_region_function).
        return conditions.empty() ? -1 : conditions.begin()->first;
    }
    // The member function `f` of the object's class (`type<args>`), in the definition the compiler
    // chooses when the class has partial specialisations (specialisation_question).
    bool object_member(const std::string &type, const std::vector<std::string> &args, const std::string &f, definition &d,
                       size_t &tparams_open, size_t &tparams_close, std::set<std::string> *used, size_t *class_open, int arity = -1) {
        if (find_member(type, f, true, d, tparams_open, tparams_close, used, class_open, -1, arity)) return true;
        const int chosen = specialisation_question(type, args);
        if (chosen < 0) return false;
        used->clear();
        return find_member(type, f, true, d, tparams_open, tparams_close, used, class_open, chosen, arity);
    }

    // The static member function `f` defined in the one definition of struct (or class) `type` (none
    // other, no specialisation), that names no other member of it (its body is read outside the class:
    // only the class's template parameters, bound by the inlining, are known there); the class's
    // template parameter list `<...>` when it is a template.
    // `used` (when given): the other members its body names are no obstacle, they are returned there
    // (and `class_open` is the class's '{'), for class_member_declarations to declare or refuse.
    // `only` (>= 0): that one of the class's definitions (class_definitions' order, a partial
    // specialisation the compiler chose: specialisation_question), its template parameters bound to
    // the type's arguments in order.
    bool find_member(const std::string &type, const std::string &f, bool instance, definition &d, size_t &tparams_open,
                     size_t &tparams_close, std::set<std::string> *used = nullptr, size_t *class_open = nullptr, int only = -1,
                     int arity = -1) const {
        size_t open = npos;
        tparams_open = tparams_close = npos;
        const std::vector<class_definition> defs = class_definitions(type);
        if (only < 0) {
            for (const class_definition &c : defs)
                if (c.pattern_open != npos) return false; // a specialisation: which one applies is the compiler's to say
            if (defs.size() != 1) return false;
        } else if (size_t(only) >= defs.size()) {
            return false;
        }
        const class_definition &chosen = defs[only < 0 ? 0 : size_t(only)];
        open = chosen.open;
        // (`template <...> struct S`: its parameters, which the inlining binds)
        if (chosen.keyword > 0 && is(chosen.keyword - 1, ">") && !template_header(chosen.keyword, tparams_open, tparams_close)) return false;
        if (match_[open] == npos) return false;
        const size_t close = match_[open];
        // The members: names declared at the class's own level.
        std::set<std::string> members;
        size_t head = open + 1;
        int definitions = 0;
        bool is_static = false;
        for (size_t k = open + 1; k < close; ++k) {
            if (is(k, ";") || is(k, "}") || (is(k, ":") && !is(k - 1, ":") && !is(k + 1, ":"))) {
                head = k + 1;
                continue;
            }
            // (A type's template arguments name no member: `simdgroup_matrix<float, 8, 8> Asimd[TM];`.)
            if (is(k, "<") && is_ident(k - 1) && !is(k - 1, "template")) {
                const size_t c = angle_close(k);
                if (c != npos && c < close) {
                    k = c;
                    continue;
                }
            }
            // (A member template's parameters are no members: `template <bool M_aligned> static void gemm_loop(...)`.)
            if (is(k, "template") && is(k + 1, "<")) {
                const size_t c = angle_close(k + 1);
                if (c != npos && c < close) {
                    k = c;
                    continue;
                }
            }
            // (Not a member function's qualifier before its body: `f(v) thread {`, as the translator writes
            // a non-static one.)
            const bool qualifier = is(k, "const") || is(k, "thread") || is(k, "noexcept") || is(k, "device") || is(k, "threadgroup") ||
                                   is(k, "constant");
            if (is_ident(k) && !qualifier &&
                (is(k + 1, "(") || is(k + 1, "=") || is(k + 1, ";") || is(k + 1, "[") || is(k + 1, "{") || is(k + 1, ",")))
                members.insert(text(k));
            if (is(k, "using") && is_ident(k + 1)) members.insert(text(k + 1));
            if ((is(k, "(") || is(k, "[") || is(k, "{")) && match_[k] != npos) {
                // (`f` "operator()": the call operator, `R operator()(params) {`)
                const bool call_operator = f == "operator()" && k >= 3 && is(k - 1, ")") && is(k - 2, "(") && is(k - 3, "operator");
                // (`arity` >= 0: of overloads, only those taking as many arguments as the call gives:
                // candle's BlockMMA has `apply_epilogue(op)` and `apply_epilogue(C, ldc, fdc, op)`.)
                if (is(k, "(") && ((is_ident(k - 1) && text(k - 1) == f) || call_operator) && (arity < 0 || takes_arguments(k - 1, arity))) {
                    size_t b = match_[k] + 1;
                    while (is(b, "const") || is(b, "thread") || is(b, "noexcept")) ++b;
                    if (is(b, "{")) {
                        ++definitions;
                        d.name = k - 1;
                        d.type_end = call_operator ? k - 3 : npos;
                        is_static = false;
                        for (size_t h = head; h < k; ++h)
                            if (is(h, "static")) is_static = true;
                    }
                }
                k = match_[k];
                if (is(k, "}")) head = k + 1;
            }
        }
        if (definitions != 1 || (!is_static && !instance)) return false;
        members.erase(f);
        if (!complete_definition(d)) return false;
        const size_t body_open = match_[d.name + 1] + 1;
        size_t body = body_open;
        while (!is(body, "{")) ++body;
        for (size_t i = d.template_open != npos ? d.template_open : d.type_start; i < match_[body]; ++i)
            if (is_ident(i) && !(is(i - 1, ".") || is(i - 1, "->") || is(i - 1, "::")) &&
                (members.count(text(i)) || text(i) == "this" || text(i) == type)) { // (`Runner::whole_rows`: its own name)
                if (!used || (text(i) == "this" && !instance)) return false;
                used->insert(text(i));
            }
        if (class_open) *class_open = open;
        return true;
    }

    // A threadgroup variable of the kernel declared again in another scope (MLX's sort kernels declare
    // `tgp_vals` in both arms of `if (ARG_SORT)`; the translator gives each its own storage, `.s0.tgp_vals`,
    // `.s1.tgp_vals`): the split declares them all at its top, so the later one, at `i`, and its uses in
    // the rest of its scope get a name of their own.
    void rename_repeated_threadgroup_variable(size_t i, std::map<std::string, std::string> &rename) {
        if (!(is(i, "auto") && is(i + 1, "&") && is_ident(i + 2) && is(i + 3, "=") && is(i + 4, "::") && is(i + 5, "sm") &&
              is(i + 7, "entry") && is(i + 9, "threadgroup_vars")))
            return;
        const std::string name = text(i + 2);
        if (threadgroup_names_.insert(name).second) return;
        rename[name] = name + "_sm" + std::to_string(threadgroup_names_.size());
        threadgroup_names_.insert(rename[name]);
    }
    std::set<std::string> threadgroup_names_; // the kernel's threadgroup variables the inlining has seen

    // ---- the class's own names in an inlined member function (MLX's sort and steel kernels) ----
    // A member function of a class template reads the class's names: KernelMergeSort::block_sort its
    // `using block_merge_sort_t = BlockMergeSort<...>;` and `N_PER_BLOCK`, BlockMergeSort::sort its
    // static `merge_partition` and `merge_step`. Inlined outside the class, each becomes a name of this
    // inlining, as the class's template parameters do: every member alias and static constant of the
    // class, in the class's order (one may name an earlier one), `using sm_i<N>_X = ...;` or
    // `constexpr T sm_i<N>_X = (...);` (an alias's value is what a call through it, `block_merge_sort_t::sort(...)`,
    // goes through), and another static member function, which must meet no other thread, is called
    // through `sm_i<N>_self`, the class with this inlining's arguments. False (not inlined) when the
    // class holds what this does not read (a nested type, a typedef, a member template, an operator, a
    // friend), a member is named like one of the function's own names, or the body names a data member,
    // a non-static member function or one that meets.
    // `object` (a member function called on an object, `s.f(v)`: the object's name in the inlining): the
    // object's data members and its member functions that meet nobody become `object.m`, and `this`
    // `(&object)`; the object is the kernel's own variable, so each thread reads its own.
    bool class_member_declarations(size_t open, const std::string &type, size_t tparams_open, size_t tparams_close,
                                   const std::set<std::string> &used, const std::set<std::string> &own_names,
                                   std::map<std::string, std::string> &rename, const std::string &tag, const std::string &at,
                                   std::string &declarations, const std::string &object) {
        if (open == npos || match_[open] == npos) return false;
        const size_t close = match_[open];
        enum class kind { alias, constant, function, other };
        struct class_member {
            std::string name;
            kind what;
            size_t a, b; // the alias's or constant's value
            std::string type; // a constant's type
            bool is_static;
            bool is_template = false; // a member function template (`template <typename U = T> static void load(...)`)
        };
        std::vector<class_member> ms;
        auto statement_end = [&](size_t k) {
            while (k < close && !is(k, ";")) {
                if ((is(k, "(") || is(k, "[") || is(k, "{")) && match_[k] != npos) k = match_[k];
                ++k;
            }
            return k;
        };
        size_t head = open + 1;
        bool member_template = false; // after `template <...>`: a member function template's definition follows
        std::map<std::string, std::pair<size_t, size_t>> data_member_types; // `T name;` -> [T)
        for (size_t k = open + 1; k < close; ++k) {
            if (is(k, ";")) {
                if (member_template) return false;
                if (k > head + 1 && is_ident(k - 1) && (is_ident(k - 2) || is(k - 2, ">"))) data_member_types[text(k - 1)] = {head, k - 1};
                head = k + 1;
                continue;
            }
            if (k == head && !member_template && is(k, "template") && is(k + 1, "<")) {
                const size_t c = angle_close(k + 1);
                if (c == npos || c >= close) return false;
                member_template = true;
                k = c;
                head = k + 1;
                continue;
            }
            if (k == head && (is(k, "public") || is(k, "private") || is(k, "protected")) && is(k + 1, ":")) {
                head = k + 2;
                ++k;
                continue;
            }
            if (k == head && (is(k, "struct") || is(k, "class") || is(k, "union") || is(k, "enum") || is(k, "typedef") ||
                              is(k, "template") || is(k, "friend")))
                return false;
            if (is(k, "operator")) {
                // (On an object, an operator's body is not read: skipped to its end. Through a type, refused.)
                size_t paren = k + 1;
                while (paren < close && !(is(paren, "(") && !(is(paren - 1, "operator") && is(paren + 1, ")")))) ++paren;
                if (object.empty() || paren >= close || match_[paren] == npos) return false;
                size_t b = match_[paren] + 1;
                while (is(b, "const") || is(b, "thread") || is(b, "noexcept") || is(b, "device") || is(b, "threadgroup") || is(b, "constant"))
                    ++b;
                if (!is(b, "{") || match_[b] == npos) return false;
                member_template = false;
                k = match_[b];
                head = k + 1;
                continue;
            }
            if (k == head && is(k, "using")) {
                if (!is_ident(k + 1) || !is(k + 2, "=")) return false;
                const size_t semi = statement_end(k + 3);
                if (semi >= close) return false;
                ms.push_back({text(k + 1), kind::alias, k + 3, semi, "", true});
                k = semi;
                head = k + 1;
                continue;
            }
            if (is(k, "=") && !is(k + 1, "=") && k > head + 1 && is_ident(k - 1)) {
                // `[static] [constexpr] [constant] [const] T NAME = value;` (MLX_MTL_CONST: a macro holding `static`)
                const size_t semi = statement_end(k + 1);
                if (semi >= close) return false;
                class_member m{text(k - 1), kind::constant, k + 1, semi, "", false};
                for (size_t h = head; h + 1 < k; ++h) {
                    if (is(h, "static")) m.is_static = true;
                    else if (is(h, "constexpr") || is(h, "constant") || is(h, "const") || is(h, "inline")) continue;
                    else if (is_ident(h) && macro_holds_static(text(h))) m.is_static = true;
                    else m.type += spelled(h, h + 1, rename) + (is(h, "::") || is(h + 1, "::") ? "" : " ");
                }
                if (m.type.empty()) m.is_static = false; // (not read: refused if named)
                ms.push_back(m);
                k = semi;
                head = k + 1;
                continue;
            }
            if ((is(k, "(") || is(k, "[") || is(k, "{")) && match_[k] != npos) {
                size_t b = match_[k] + 1;
                while (is(b, "const") || is(b, "thread") || is(b, "noexcept") || is(b, "device") || is(b, "threadgroup") || is(b, "constant"))
                    ++b;
                if (is(k, "(") && is_ident(k - 1) && is(b, "{") && match_[b] != npos) {
                    bool st = false;
                    for (size_t h = head; h + 1 < k; ++h)
                        if (is(h, "static")) st = true;
                    ms.push_back({text(k - 1), kind::function, 0, 0, "", st, member_template});
                    member_template = false;
                    k = match_[b];
                    head = k + 1;
                    continue;
                }
                k = match_[k];
                continue;
            }
            if (is(k, "}")) return false;
        }
        for (const class_member &m : ms)
            if (own_names.count(m.name)) return false; // (which one a name means: not read here)
        std::vector<matrix_member> matrices;
        if (!matrix_members(open, matrices)) return false;
        std::set<std::string> matrix_names;
        for (const matrix_member &m : matrices) matrix_names.insert(m.name);
        bool through_self = false;
        for (const std::string &n : used) {
            if (rename.count(n)) continue; // (a template parameter of the class, which find_member takes for a member: `using value_t = T;`)
            if (n == type) { // the class's own name (`Runner::whole_rows`): the inlining's alias of it, below
                through_self = true;
                continue;
            }
            const class_member *m = nullptr;
            for (const class_member &c : ms)
                if (c.name == n) m = &c;
            if (!object.empty() && n == "this") {
                rename[n] = "(&" + object + ")";
                continue;
            }
            if (!object.empty() && (!m || !m->is_static) && !k_.meeting_functions.count(n)) {
                if (own_names.count(n)) return false; // (a local named like the member: which one a use means is not read here)
                if (matrix_names.count(n)) { // (held apart from the object: hold_matrices_apart)
                    auto held = object_matrices_.find(object);
                    if (held == object_matrices_.end() || !held->second.count(n)) return false;
                    rename[n] = held->second.at(n);
                    continue;
                }
                rename[n] = object + "." + n; // a data member, or a member function that meets nobody
                // A data member of a functor type, for a call of it (`simd_reduce(v)`: functor_call).
                auto t = data_member_types.find(n);
                if (t != data_member_types.end() && names_functor_type(t->second.first, t->second.second, rename))
                    object_types_[rename[n]] = spelled(t->second.first, t->second.second, rename);
                continue;
            }
            if (!m || !m->is_static || m->what == kind::other) return false;
            // (A static member function, one that meets too: FastAttentionKernel::run's `gemm_loop<true, true,
            // K_aligned>(...)`, inlined through the class, inline_call's `self_qualifier`.)
            if (m->what == kind::function) through_self = true;
        }
        if (through_self) {
            std::string self = type;
            if (tparams_open != npos) {
                self += "<";
                bool first = true;
                for (const auto &tp : split_template_commas(tparams_open + 1, tparams_close)) {
                    size_t nm = tp.first;
                    for (size_t i = tp.first; i < tp.second && !is(i, "="); ++i)
                        if (is_ident(i)) nm = i;
                    if (!rename.count(text(nm))) return false;
                    self += (first ? "" : ", ") + rename.at(text(nm));
                    first = false;
                }
                self += ">";
            }
            const std::string self_name = "sm_i" + tag + "_self";
            declarations += at + "using " + self_name + " = " + self + ";\n";
            type_values_[self_name] = self;
            self_types_.insert(self_name);
            if (used.count(type)) rename[type] = self_name;
            for (const class_member &m : ms)
                if (m.what == kind::function && m.is_static && used.count(m.name)) {
                    rename[m.name] = self_name + "::" + m.name;
                    // (with template arguments: `load_unsafe<AccT>(...)`, the class dependent in the split)
                    if (m.is_template) rename[m.name + "<"] = self_name + "::template " + m.name;
                }
        }
        for (const class_member &m : ms) {
            if (m.what == kind::alias) {
                const std::string value = spelled(m.a, m.b, rename), renamed = "sm_i" + tag + "_" + m.name;
                declarations += at + "using " + renamed + " = " + value + ";\n";
                type_values_[renamed] = value;
                rename[m.name] = renamed;
            } else if (m.what == kind::constant && m.is_static) {
                const std::string value = spelled(m.a, m.b, rename), renamed = "sm_i" + tag + "_" + m.name;
                // (`STEEL_CONST short jump_a = {transpose_a ? lda_tgp : 1};`: a braced value stays one)
                const bool braced = is(m.a, "{") && match_[m.a] + 1 == m.b;
                declarations += at + "constexpr " + m.type + renamed + " = " + (braced ? value : "(" + value + ")") + ";\n";
                rename[m.name] = renamed;
            }
        }
        return true;
    }
    // Whether `name` (as the inlining renames it) is declared in `written` as a local variable
    // (`T name;`, `T name = ...;`, `T name{...};`): a call of it is a call on an object.
    bool functor_names_or_objects(const std::string &name, const std::map<std::string, std::string> &rename,
                                  const std::string &written) const {
        const std::string n = rename.count(name) ? rename.at(name) : name;
        std::vector<token> wt;
        for (const token &t : tokenize_msl(written))
            if (!t.in_directive) wt.push_back(t);
        for (size_t j = 1; j + 1 < wt.size(); ++j) {
            if (wt[j].kind != token_kind::identifier || written.compare(wt[j].offset, wt[j].length, n) != 0 || wt[j].length != n.size()) continue;
            const std::string next = written.substr(wt[j + 1].offset, wt[j + 1].length), prev = written.substr(wt[j - 1].offset, wt[j - 1].length);
            if ((next == ";" || next == "=" || next == "{") && (wt[j - 1].kind == token_kind::identifier || prev == ">") && prev != "return")
                return true;
        }
        return false;
    }
    // A statement [i, e) `auto name = init;` whose initialiser's type `unevaluated` can name: that type,
    // as `auto` deduces it (no reference, const or address space).
    bool auto_declaration(size_t i, size_t e, const std::map<std::string, std::string> &rename, const std::string &written,
                          std::string &type) const {
        if (!is(i, "auto") || !is_ident(i + 1) || !is(i + 2, "=") || !is(e - 1, ";") || e < i + 5) return false;
        for (size_t k = i + 3; k + 1 < e; ++k) {
            // (A braced list or a lambda has no type decltype can name here.)
            if (is(k, "{") || (is(k, "[") && !(is_ident(k - 1) || is(k - 1, ")") || is(k - 1, "]")))) return false;
            if ((is(k, "(") || is(k, "[")) && match_[k] != npos) k = match_[k];
            else if (is(k, ",")) return false; // (another declarator)
        }
        std::string expression;
        if (!unevaluated(i + 3, e - 1, rename, written, expression)) return false;
        type = "::sm::regions::deduced_value_t<decltype((" + expression + "))>";
        return true;
    }
    // A statement [i, e) `T obj(args);` declaring an object of a functor type: the name's token, else npos.
    // Also of another struct of the source (source_struct), whose object may live across a split too.
    size_t struct_construction(size_t i, size_t e, const std::map<std::string, std::string> &rename) const {
        if (!is_ident(i) || e < i + 4 || !is(e - 1, ";") || !is(e - 2, ")") || match_[e - 2] == npos) return npos;
        const size_t name = match_[e - 2] - 1;
        if (name <= i || !declarator(name) || statement_keywords().count(text(i))) return npos;
        return names_functor_type(i, name, rename) || source_struct(i, name, rename) ? name : npos;
    }
    // Whether the type [a, b) (qualifiers aside) names a struct of the source (MLX's and candle's
    // `thread loader_a_t loader_a(A, params->lda, As, simd_group_id, simd_lane_id);`, through aliases).
    bool source_struct(size_t a, size_t b, const std::map<std::string, std::string> &rename) const {
        std::string name;
        return struct_name(a, b, rename, name) && !class_definitions(name).empty();
    }
    // The name the type [a, b) (`const` and `thread` aside) comes to through the kernel's and the
    // inlinings' aliases (`mma_t` -> `BlockMMA`); false when it is spelled otherwise.
    bool struct_name(size_t a, size_t b, const std::map<std::string, std::string> &rename, std::string &name) const {
        while (a < b && (is(a, "const") || is(a, "thread"))) ++a;
        std::vector<std::string> args;
        if (a >= b || !named_type(spelled(a, b, rename), name, args)) return false;
        for (int hops = 0; hops < 8 && type_values_.count(name) && args.empty(); ++hops)
            if (!named_type(type_values_.at(name), name, args)) return false;
        return true;
    }
    // ---- objects holding simdgroup_matrix data members (MLX's and candle's BlockMMA) ----
    // A matrix is the SIMD group's: the split keeps one copy of it per SIMD group, as a variable of
    // its own, while an object lives per thread. So an object of a struct with matrix data members
    // keeps its other members per thread, and each matrix member becomes a variable of the kernel
    // (`sm_o<N>_<member>`) declared after the object, set from the object as constructed (default
    // member initialisers: `results[TM * TN] = {simdgroup_matrix<AccumType, 8, 8>(0)}`), and named
    // in its place wherever a member function inlined on that object names the member
    // (class_member_declarations). Every member function naming one is inlined (the translator
    // counts it as meeting); a constructor naming one is not, so such a class keeps the fiber path.
    struct matrix_member {
        std::string name;
        bool array = false; // `name[N]` (one dimension)
    };
    // Whether the type [a, b) (qualifiers aside) is a struct of the source, with one definition, that
    // has simdgroup_matrix data members; `open` its body's '{'.
    bool matrix_class(size_t a, size_t b, const std::map<std::string, std::string> &rename, size_t &open) const {
        std::string name;
        if (!struct_name(a, b, rename, name)) return false;
        const std::vector<class_definition> defs = class_definitions(name);
        if (defs.size() != 1 || defs[0].pattern_open != npos) return false;
        std::vector<matrix_member> ms;
        if (!matrix_members(defs[0].open, ms) || ms.empty()) return false;
        open = defs[0].open;
        return true;
    }
    // The matrix data members of the struct whose body opens at `open`; false when one cannot be
    // held apart (a static one, one of two dimensions or more, a constructor naming one).
    bool matrix_members(size_t open, std::vector<matrix_member> &out) const {
        const size_t close = match_[open];
        if (close == npos) return false;
        std::string type_name;
        if (open >= 1 && is_ident(open - 1)) type_name = text(open - 1);
        size_t head = open + 1;
        for (size_t k = open + 1; k < close; ++k) {
            if (is(k, "{") || is(k, "(") || is(k, "[")) {
                if (match_[k] == npos) return false;
                const bool body = is(k, "{") && k > open + 1 && (is(k - 1, ")") || is(k - 1, "const") || is(k - 1, "thread"));
                k = match_[k];
                if (body) head = k + 1;
                continue;
            }
            if (is(k, ";") || is(k, "}") || (is(k, ":") && !is(k + 1, ":") && !is(k - 1, ":"))) {
                size_t t = head;
                while (t < k && (is(t, "const") || is(t, "thread"))) ++t;
                if (t < k && is(t, "metal") && is(t + 1, "::")) t += 2;
                const bool matrix = t < k && (is(t, "simdgroup_matrix") || is(t, "simdgroup_float8x8") || is(t, "simdgroup_half8x8") ||
                                              is(t, "simdgroup_bfloat8x8"));
                if (matrix) {
                    size_t n = t + 1;
                    if (is(n, "<")) n = angle_close(n) + 1;
                    if (n >= k || !is_ident(n)) return false;
                    for (size_t h = head; h < t; ++h)
                        if (is(h, "static")) return false;
                    matrix_member m{text(n), false};
                    size_t after = n + 1;
                    if (is(after, "[")) {
                        m.array = true;
                        after = match_[after] + 1;
                        if (is(after, "[")) return false;
                    }
                    if (!(is(after, ";") || is(after, "="))) return false; // (another declarator)
                    out.push_back(m);
                }
                head = k + 1;
            }
        }
        // A constructor (the struct's name before its parameters, at the class's own level) naming one,
        // in its initialisers or its body.
        for (size_t k = open + 1; k + 1 < close; ++k) {
            if (is_ident(k) && text(k) == type_name && is(k + 1, "(") && match_[k + 1] != npos && !member(k) && !is(k - 1, "~")) {
                size_t b = match_[k + 1] + 1;
                while (b < close && !is(b, "{") && !is(b, ";")) b = (is(b, "(") || is(b, "[")) && match_[b] != npos ? match_[b] + 1 : b + 1;
                if (!is(b, "{") || match_[b] == npos) continue;
                for (size_t u = match_[k + 1] + 1; u < match_[b]; ++u)
                    if (is_ident(u) && !member(u))
                        for (const matrix_member &m : out)
                            if (m.name == text(u)) return false;
                k = match_[b];
            } else if ((is(k, "{") || is(k, "(") || is(k, "[")) && match_[k] != npos) {
                k = match_[k]; // (a member function's body, an initialiser)
            }
        }
        return true;
    }
    // After the declaration of object `object` of the type [a, b) (matrix_class): each matrix member as
    // a variable of the kernel, set from the object once per SIMD group (a matrix statement: its first
    // live lane's object, constructed like every other lane's).
    bool hold_matrices_apart(size_t a, size_t b, const std::string &object, const std::map<std::string, std::string> &rename, std::string &out) {
        size_t open = npos;
        if (!matrix_class(a, b, rename, open)) return false;
        std::vector<matrix_member> ms;
        if (!matrix_members(open, ms)) return false;
        while (a < b && (is(a, "const") || is(a, "thread"))) ++a;
        const std::string type = spelled(a, b, rename);
        const std::string tag = std::to_string(held_objects_++);
        std::map<std::string, std::string> &vars = object_matrices_[object];
        for (const matrix_member &m : ms) {
            const std::string var = "sm_o" + tag + "_" + m.name;
            const std::string member_type = "decltype(::sm::regions::declval_of<" + type + " >()." + m.name + ")";
            out += "simdgroup_matrix<typename ::sm::regions::matrix_element<" + member_type + " >::type, 8, 8> " + var;
            if (m.array) out += "[::sm::regions::matrix_count<" + member_type + " >::value]";
            out += ";\n";
            if (m.array)
                out += "for (int sm_o" + tag + "_k = 0; sm_o" + tag + "_k < int(::sm::regions::matrix_count<" + member_type + " >::value); ++sm_o" +
                       tag + "_k) { " + var + "[sm_o" + tag + "_k] = " + object + "." + m.name + "[sm_o" + tag + "_k]; }\n";
            else
                out += var + " = " + object + "." + m.name + ";\n";
            vars[m.name] = var;
        }
        return true;
    }
    // Whether the type [a, b) (a data member's), with its qualifiers and `*` or `&` set aside, is a
    // functor type, directly or through the inlining's type parameters (`sm_i1_OP` bound to one).
    bool names_functor_type(size_t a, size_t b, const std::map<std::string, std::string> &rename) const {
        while (a < b && (is(a, "const") || is(a, "thread") || is(a, "threadgroup") || is(a, "device") || is(a, "constant"))) ++a;
        while (b > a && (is(b - 1, "*") || is(b - 1, "&") || is(b - 1, "const"))) --b;
        std::string name;
        std::vector<std::string> args;
        if (a >= b || !named_type(spelled(a, b, rename), name, args)) return false;
        for (int hops = 0; hops < 8 && type_values_.count(name) && args.empty(); ++hops)
            if (!named_type(type_values_.at(name), name, args)) return false;
        return k_.functor_types.count(name) > 0;
    }
    // Whether an object-like macro `name` of the source is defined with `static` in it (MLX's
    // `#define MLX_MTL_CONST static constant constexpr const`).
    bool macro_holds_static(const std::string &name) const {
        for (size_t p = s_.find("#define"); p != std::string::npos; p = s_.find("#define", p + 7)) {
            const size_t e = std::min(s_.find('\n', p), s_.size());
            const std::string line = s_.substr(p + 7, e - p - 7);
            const std::vector<token> ts = tokenize_msl(line);
            if (ts.size() < 2 || line.compare(ts[0].offset, ts[0].length, name) != 0 || ts[0].length != name.size()) continue;
            if (line.compare(ts[0].offset + ts[0].length, 1, "(") == 0) continue; // function-like
            for (size_t k = 1; k < ts.size(); ++k)
                if (line.compare(ts[k].offset, ts[k].length, "static") == 0 && ts[k].length == 6) return true;
        }
        return false;
    }
    // A call through a type (`thread_sort_t::sort(...)`) whose struct the translator found to meet no
    // other thread (region_kernel::quiet_types): MLX's ThreadSort::sort, named like BlockMergeSort's
    // meeting `sort`. An ordinary call, its name parenthesised (`(sm_i1_thread_sort_t::sort)(...)`) so
    // that the splitter does not read it as the meeting one's.
    bool quiet_member_call(size_t k, const std::map<std::string, std::string> &rename, std::string &callee) const {
        if (!is_ident(k) || !is(k - 1, "::") || qualified_start(k) != npos || object_call(k)) return false;
        const size_t start = call_start(k);
        if (start == npos || !is(k + 1, "(")) return false;
        std::string type_name;
        std::vector<std::string> type_args;
        if (!call_type(k, rename, type_name, type_args) || !k_.quiet_types.count(type_name)) return false;
        callee = "(" + spelled(start, k + 1, rename) + ")";
        return true;
    }

    // [a, b) split at its top-level commas.
    // A call's arguments [a, b), split at its commas: those outside brackets and outside the template
    // arguments of a name that is a class template of the source (`LoopAlignment<true, true, true>{}`;
    // another `<` may be a comparison).
    std::vector<std::pair<size_t, size_t>> split_arguments(size_t a, size_t b) const {
        std::vector<std::pair<size_t, size_t>> parts;
        if (a >= b) return parts;
        size_t from = a;
        for (size_t i = a; i < b; ++i) {
            if ((is(i, "(") || is(i, "[") || is(i, "{")) && match_[i] != npos) {
                i = match_[i];
            } else if (is(i, "<") && i > a && is_ident(i - 1) && is_class_template(text(i - 1))) {
                const size_t c = angle_close(i);
                if (c != npos && c < b) i = c;
            } else if (is(i, ",")) {
                parts.push_back({from, i});
                from = i + 1;
            }
        }
        parts.push_back({from, b});
        return parts;
    }
    bool is_class_template(const std::string &name) const {
        size_t open = npos, close = npos;
        for (const class_definition &c : class_definitions(name))
            if (c.pattern_open != npos || template_header(c.keyword, open, close)) return true;
        return false;
    }
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
                if (is_ident(k) && (is_ident(k - 1) || is(k - 1, ">"))) { // `T name`: stop before the name
                    if (is(k + 1, "=") || is(k + 1, ";") || is(k + 1, "[") || is(k + 1, ",") || is(k + 1, "{") || declarator(k)) break;
                }
            }
            while (is(k, "*") || is(k, "&") || is(k, "const")) ++k;
            if (type_idents < 1 || !is_ident(k) || k == i) continue;
            if (!(is(k + 1, "=") || is(k + 1, ";") || is(k + 1, "[") || is(k + 1, ",") || is(k + 1, "{") || declarator(k))) continue;
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

    // The name's token of a function-pointer or function-reference parameter [a, b) spelled
    // `R (*name)(args)` or `R (&name)(args)`, else npos.
    size_t function_parameter_name(size_t a, size_t b) const {
        if (b < a + 6 || !is(b - 1, ")") || match_[b - 1] == npos) return npos;
        const size_t args_open = match_[b - 1];
        if (args_open < a + 4 || !is(args_open - 1, ")") || match_[args_open - 1] == npos) return npos;
        const size_t open = match_[args_open - 1];
        if (open <= a || open + 3 != args_open - 1 || !(is(open + 1, "*") || is(open + 1, "&")) || !is_ident(open + 2)) return npos;
        return open + 2;
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
                     std::string &expression, const std::map<size_t, std::pair<size_t, std::string>> *subst = nullptr) const {
        std::vector<token> wt;
        for (const token &t : tokenize_msl(written))
            if (!t.in_directive) wt.push_back(t);
        auto wtext = [&](size_t i) { return i < wt.size() ? written.substr(wt[i].offset, wt[i].length) : std::string(); };
        auto wident = [&](size_t i) { return i < wt.size() && wt[i].kind == token_kind::identifier; };
        expression.clear();
        for (size_t i = a; i < b; ++i) {
            if (subst) { // (a hoisted SIMD-group call: a value of its type)
                auto r = subst->find(i);
                if (r != subst->end()) {
                    expression += r->second.second + " ";
                    i = r->second.first;
                    continue;
                }
            }
            std::string t = text(i);
            // (`obj(...)`: a call on a local object, candle's `load(...)`, is one of its type's too.)
            const bool object_called = is_ident(i) && !member(i) && is(i + 1, "(") && functor_names_or_objects(t, rename, written);
            if (!is_ident(i) || member(i) || (is(i + 1, "(") && !object_called) || is(i + 1, "::") || is(i + 1, "<")) {
                // (A type parameter of an inlining before `::` or `<`: `OP::init()` names `sm_i0_OP`.)
                if (is_ident(i) && !member(i) && !is(i + 1, "(") && rename.count(t)) t = rename.at(t);
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
            int angle = 0; // (inside a template-id's `<...>`, a comma separates its arguments, not declarators)
            while (start > 0 && !(angle == 0 && (wtext(start - 1) == ";" || wtext(start - 1) == "{" || wtext(start - 1) == "}" ||
                                                 wtext(start - 1) == "(" || wtext(start - 1) == ","))) {
                if (wtext(start - 1) == ">") ++angle;
                else if (wtext(start - 1) == "<" && angle > 0) --angle;
                else if (wtext(start - 1) == ";" || wtext(start - 1) == "{" || wtext(start - 1) == "}") break;
                --start;
            }
            if (start > 0 && wtext(start - 1) == ",") return false; // a further declarator
            // A threadgroup variable of the kernel's body, as the translator leaves it (`auto &name =
            // ::sm::entry::threadgroup_vars<...>(...).s0.name;`): its initializer names no variable, so it
            // is the expression itself.
            if (wtext(start) == "auto" && wtext(start + 1) == "&" && start + 2 == at && wtext(at + 1) == "=" && at + 2 < wt.size() &&
                written.compare(wt[at + 2].offset, 29, "::sm::entry::threadgroup_vars") == 0) {
                const size_t semi = written.find(';', wt[at + 2].offset);
                if (semi == std::string::npos) return false;
                expression += "(" + written.substr(wt[at + 2].offset, semi - wt[at + 2].offset) + ") ";
                continue;
            }
            std::string type;
            bool statement = false; // (`x = a * b;` read as `T *b;`: an expression statement, not b's declaration)
            for (size_t j = start; j < at; ++j) {
                const std::string w = wtext(j);
                if (w == "auto") return false;
                if (w == "=" || w == "(" || w == ")" || w == "[" || w == "+" || w == "-" || w == "/" || w == "." || w == "->") statement = true;
                if (w == "static" || w == "constexpr" || w == "thread") continue;
                type += w + " ";
            }
            if (statement) {
                expression += t + " ";
                continue;
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
            // (An object called: in the thread address space, where its member functions take it, as
            // the translator writes them; the expression is never evaluated.)
            expression += object_called ? "(*(__private " + type + " *)0) " : "::sm::regions::declval_of<" + type + ">() ";
        }
        return true;
    }

    // The class alias of an inlining (`sm_i<N>_self`, class_member_declarations) through which `name` is
    // renamed in `rename` (`sm_i2_self::gemm_loop`), or "".
    std::string self_qualifier(const std::string &name, const std::map<std::string, std::string> &rename) const {
        auto r = rename.find(name);
        if (r == rename.end() || r->second.size() <= name.size() + 2) return "";
        const std::string &v = r->second;
        if (v.compare(v.size() - name.size() - 2, std::string::npos, "::" + name) != 0) return "";
        const std::string self = v.substr(0, v.size() - name.size() - 2);
        return self_types_.count(self) ? self : "";
    }
    bool inline_call(size_t call, const std::map<std::string, std::string> &outer, int depth, std::string &out, std::string &ret) {
        const std::string name = text(call);
        const size_t paren = call_paren(call);
        if (paren == npos) return false;
        const int arguments = int(split_commas(paren + 1, match_[paren]).size());
        definition d;
        if (depth >= 4) return false;
        // Through a type (`S::f`, `S<float>::f`, `Op::f`): a static member function of a struct of the
        // source's own, whose template parameters become declarations of this inlining like a function
        // template's (below).
        const bool through_type = is(call - 1, "::") && qualified_start(call) == npos;
        std::vector<std::string> type_args;
        size_t type_params_open = npos, type_params_close = npos;
        std::set<std::string> class_used; // the class's other members the body names (class_member_declarations)
        size_t class_open = npos;
        std::string class_name, object; // (object: the object a member function is called on, as the inlining names it)
        std::string functor_object;
        // A plain function's name and explicit template arguments (`<` and `>`), and the names those are read with.
        std::string target_name = name;
        size_t targs_open = npos, targs_close = npos;
        const std::map<std::string, std::string> *targs_rename = &outer;
        if (functor_call(call, outer, out, functor_object, class_name, type_args)) {
            // A functor object's call (`reduce(value, tid)`, `simd_reduce(v)`): its call operator, on it.
            if (!object_member(class_name, type_args, "operator()", d, type_params_open, type_params_close, &class_used, &class_open))
                return false;
            object = functor_object;
        } else if (const std::string self = self_qualifier(name, outer); !self.empty() && !member(call)) {
            // A static member function that meets, called by another member of its class (FastAttentionKernel::run's
            // `gemm_loop<true, true, K_aligned>(...)`): as through the class, bound as the caller's.
            std::string type_name;
            if (!named_type(type_values_.at(self), type_name, type_args) ||
                !find_member(type_name, name, false, d, type_params_open, type_params_close, &class_used, &class_open, -1, arguments))
                return false;
            class_name = type_name;
            if (paren != call + 1) targs_open = call + 1, targs_close = paren - 1;
        } else if (through_type) {
            std::string type_name;
            if (!call_type(call, outer, type_name, type_args) ||
                !find_member(type_name, name, false, d, type_params_open, type_params_close, &class_used, &class_open, -1, arguments))
                return false;
            class_name = type_name;
            if (paren != call + 1) targs_open = call + 1, targs_close = paren - 1; // (`S::f<true, false>(...)`)
        } else if (object_call(call)) {
            // On an object (`op.simd_reduce(v)`, `Op op;` or `Sum<float> op;` before): the member function
            // as through its type, its object's data members read through the object
            // (class_member_declarations), which is the kernel's own per-thread variable.
            std::string type_name;
            if (!object_type(call - 2, outer, out, type_name, type_args) ||
                !object_member(type_name, type_args, name, d, type_params_open, type_params_close, &class_used, &class_open, arguments))
                return false;
            class_name = type_name;
            object = outer.count(text(call - 2)) ? outer.at(text(call - 2)) : text(call - 2);
        } else {
            // A call of a function parameter bound to a function that meets (bind_function): that
            // function's, with its template arguments from where the binding spells them.
            const function_binding *bound = nullptr;
            if (!member(call) && bound_parameters_.count(name)) {
                auto b = bound_functions_.find(outer.count(name) ? outer.at(name) : name);
                if (b != bound_functions_.end()) bound = &b->second;
            }
            if (bound) {
                target_name = text(bound->first);
                targs_rename = &bound->rename;
                if (bound->first + 1 < bound->end) targs_open = bound->first + 1, targs_close = bound->end - 1;
            } else if (paren != call + 1) {
                targs_open = call + 1, targs_close = paren - 1;
            }
            if (!find_definition(target_name, d, targs_open, targs_close, paren)) return false;
        }
        const size_t params_open = d.name + 1, params_close = match_[params_open];
        size_t body = params_close + 1;
        while (!is(body, "{")) ++body;
        const size_t body_close = match_[body];
        // By a qualified name: the one definition is in the namespaces the call names (their innermost
        // ones; all of them from `::`), its body is read in them (a using-directive at the top of the
        // inlined block), and it names no type of a namespace: the per-thread copies of its variables
        // may be declared outside that block.
        std::string using_directive;
        if (is(call - 1, "::")) {
            bool absolute = false;
            const std::vector<std::string> q = call_qualifiers(call, absolute), chain = enclosing_namespaces(d.name);
            if (q.size() > chain.size() || (absolute && q.size() != chain.size()) || !std::equal(q.begin(), q.end(), chain.end() - q.size()))
                return false;
            for (size_t i = d.template_open != npos ? d.template_open : d.type_start; i < body_close; ++i)
                if (is_ident(i) && namespace_types_.count(text(i))) return false;
            if (!chain.empty()) {
                using_directive = "using namespace ";
                for (const std::string &n : chain) using_directive += "::" + n;
                using_directive += ";\n";
            }
        }
        // Object-like macros the helper's body defines (ggml's `#define NWG (FC_flash_attn_ext_vec_nwg)`
        // ... `#undef NWG`): its statements are copied without the lines between them, so each use
        // is its expansion (body_directives.hpp).
        {
            std::vector<text_edit> edits;
            std::string ignored;
            if (!body_macro_edits(s_, toks_[body].offset, toks_[body_close].offset, edits, ignored)) return false;
            for (const text_edit &e : edits)
                if (e.text.find_first_not_of(" \n") != std::string::npos) macro_text_[e.offset] = e.text;
        }
        // (Template arguments in a parameter's type hold commas: `LoopAlignment<M_aligned, N_aligned, K_aligned_> l`,
        // and in an argument that names a template of the source: `LoopAlignment<true, true, true>{}`.)
        std::vector<std::pair<size_t, size_t>> params = split_template_commas(params_open + 1, params_close);
        if (params.size() == 1 && params[0].second == params[0].first + 1 && is(params[0].first, "void")) params.clear();
        const std::vector<std::pair<size_t, size_t>> args = split_arguments(paren + 1, match_[paren]);
        // (Fewer arguments than parameters: the others' defaults, `LoopAlignment<M_aligned, N_aligned, K_aligned_> l = {}`.)
        std::vector<size_t> defaults(params.size(), npos); // each parameter's default's first token
        for (size_t p = 0; p < params.size(); ++p)
            for (size_t i = params[p].first; i < params[p].second; ++i)
                if (is(i, "=")) {
                    defaults[p] = i + 1;
                    break;
                }
        if (args.size() > params.size()) return false;
        for (size_t p = args.size(); p < params.size(); ++p)
            if (defaults[p] == npos) return false;
        // The body: statements, the last `return e;` when the helper returns a value, no other return.
        size_t last = body + 1, final_return = npos;
        for (size_t i = body + 1; i < body_close;) {
            const size_t e = stmt_end(i, body_close);
            if (e == npos) return false;
            last = i;
            i = e;
        }
        std::vector<size_t> returns;
        for (size_t i = body + 1; i < body_close; ++i)
            if (is(i, "return")) returns.push_back(i);
        // Returns before the end (`if (n < 32) return v;`) are taken in a structured form (below),
        // when none is inside a loop or a switch, where leaving would also leave the loop.
        const bool early = !returns.empty() && !(returns.size() == 1 && returns[0] == last);
        if (early && !returns_outside_loops(body + 1, body_close)) return false;
        if (!early && !returns.empty()) final_return = returns[0];

        const int n = inlined_;
        const std::string tag = std::to_string(n);
        const std::string at = lines_.sync(toks_[call].offset);
        std::map<std::string, std::string> rename;
        // Each parameter's name, and where its type is: [first, name) of the parameter.
        struct parameter {
            size_t a, b, nm;
            bool array;
            bool function = false; // `R (*name)(args)` or `R (&name)(args)`
        };
        std::vector<parameter> ps;
        for (const auto &p : params) {
            size_t a = p.first, b = p.second;
            for (size_t i = a; i < b; ++i)
                if (is(i, "=")) b = i; // a default argument (defaults: given where the call gives no argument)
            // An attribute after the name (`uint3 lid [[thread_position_in_threadgroup]]`, MLX's helpers
            // written like kernels): says nothing to a helper's parameter.
            if (b >= a + 4 && is(b - 1, "]") && is(b - 2, "]") && match_[b - 1] != npos && is(match_[b - 1] + 1, "[")) b = match_[b - 1];
            const size_t function_name = function_parameter_name(a, b);
            if (function_name != npos) {
                ps.push_back({a, b, function_name, false, true});
                continue;
            }
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
        if (type_params_open != npos) {
            const std::vector<std::pair<size_t, size_t>> tparams = split_template_commas(type_params_open + 1, type_params_close);
            if (type_args.size() > tparams.size()) return false;
            for (const auto &tp : tparams)
                for (size_t i = tp.first; i < tp.second && !is(i, "="); ++i)
                    if (is_ident(i) && (i + 1 == tp.second || is(i + 1, "=") || is(i + 1, ","))) rename[text(i)] = "sm_i" + tag + "_" + text(i);
            for (size_t t = 0; t < tparams.size(); ++t) {
                const size_t a = tparams[t].first, b = tparams[t].second;
                size_t eq = a;
                while (eq < b && !is(eq, "=")) ++eq;
                if (eq == a || !is_ident(eq - 1)) return false;
                for (size_t i = a; i < eq; ++i)
                    if (is(i, "...") || is(i, ".") || is(i, "template")) return false;
                const size_t nm = eq - 1;
                const bool is_type = is(a, "typename") || is(a, "class");
                const std::string pname = rename.at(text(nm));
                const std::string value = t < type_args.size() ? type_args[t] : eq < b ? spelled(eq + 1, b, rename) : "";
                if (value.empty()) return false;
                if (is_type) {
                    declarations += at + "using " + pname + " = " + value + ";\n";
                    type_values_[pname] = value;
                } else {
                    declarations += at + "constexpr " + spelled(a, nm, rename) + " " + pname + " = (" + value + ");\n";
                    constant_values_[pname] = value;
                }
            }
        }
        if (!class_used.empty()) {
            std::set<std::string> own = local_names(body, body_close);
            for (const parameter &p : ps) own.insert(text(p.nm));
            if (!class_member_declarations(class_open, class_name, type_params_open, type_params_close, class_used, own, rename, tag, at,
                                           declarations, object))
                return false;
        }
        if (d.template_open != npos) {
            const std::vector<std::pair<size_t, size_t>> tparams = split_template_commas(d.template_open + 1, d.template_close);
            std::vector<std::pair<size_t, size_t>> explicit_args;
            if (targs_open != npos) explicit_args = split_template_commas(targs_open + 1, targs_close);
            if (explicit_args.size() > tparams.size()) return false;
            for (const auto &tp : tparams) // every name first: a default or a type may mention a later one
                for (size_t i = tp.first; i < tp.second && !is(i, "="); ++i)
                    if (is(i, "(") && match_[i] != npos) i = match_[i]; // (a function parameter's own parameter types)
                    else if (is_ident(i) && (i + 1 == tp.second || is(i + 1, "=") || is(i + 1, ","))) rename[text(i)] = "sm_i" + tag + "_" + text(i);
            for (size_t t = 0; t < tparams.size(); ++t) {
                const size_t a = tparams[t].first, b = tparams[t].second;
                // `void (*deq)(device const T *, short, thread float4 &)` (or `(&deq)`, as the rewrite
                // spells it): a function, named by the call's argument (a function's or the kernel's own
                // function template parameter's name), which the body's calls then name directly.
                size_t fn = npos;
                for (size_t i = a; i + 4 < b && fn == npos; ++i)
                    if (is(i, "(") && (is(i + 1, "*") || is(i + 1, "&")) && is_ident(i + 2) && is(i + 3, ")") && is(i + 4, "(")) fn = i + 2;
                // Given a function that meets other threads (ggml's `mmv_fn<kernel_mul_mv_t_t_disp<float, float>>`,
                // whose parameter `kernel_mul_mv2_disp_t disp_fn` is called in its body): its calls are inlined.
                if (t < explicit_args.size() && !is(a, "typename") && !is(a, "class") && meets_when_called(explicit_args[t])) {
                    size_t eq = a;
                    while (eq < b && !is(eq, "=")) ++eq;
                    const size_t nm = fn != npos ? fn : eq - 1;
                    if (eq == a || !is_ident(nm) ||
                        !bind_function(text(nm), explicit_args[t].first, explicit_args[t].second, *targs_rename, body, body_close, &rename))
                        return false;
                    continue;
                }
                if (fn != npos) {
                    size_t eq = a;
                    while (eq < b && !is(eq, "=")) ++eq;
                    std::pair<size_t, size_t> value = t < explicit_args.size() ? explicit_args[t] : std::make_pair(eq + 1, b);
                    if (t >= explicit_args.size() && eq >= b) return false;
                    size_t v = value.first;
                    if (is(v, "&")) ++v; // `&f`
                    for (size_t i = v; i < value.second; ++i)
                        if (!(is_ident(i) || is(i, "::"))) return false; // a name only
                    if (v >= value.second) return false;
                    rename[text(fn)] = spelled(v, value.second, t < explicit_args.size() ? *targs_rename : rename);
                    continue;
                }
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
                    value = spelled(explicit_args[t].first, explicit_args[t].second, *targs_rename);
                } else if (eq < b) {
                    value = spelled(eq + 1, b, rename);
                } else if (is_type) {
                    // `T x`, `const T& x`, `device const T* x` (qualifiers and address spaces around):
                    // the argument's type as a value, or what it points to.
                    for (size_t p = 0; p < ps.size() && p < args.size() && value.empty(); ++p) {
                        if (ps[p].function) continue;
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
                // `X<P, Q> l` given `X<true, false>{}` (candle's gemm_loop and its `LoopAlignment<M_aligned, N_aligned,
                // K_aligned_>`): the argument's template argument in P's place, as written.
                for (size_t p = 0; p < ps.size() && value.empty() && p < args.size(); ++p)
                    value = argument_template_argument(ps[p].a, ps[p].nm, args[p].first, args[p].second, text(nm), outer);
                if (value.empty()) return false;
                if (is_type) {
                    declarations += at + "using " + pname + " = " + value + ";\n";
                    type_parameters.insert(text(nm));
                    type_values_[pname] = value; // (`Op::f(...)` in the body: Op's struct)
                } else {
                    declarations += at + "constexpr " + spelled(a, nm, rename) + " " + pname + " = (" + value + ");\n";
                    constant_values_[pname] = value;
                }
            }
        }
        std::string type;
        for (size_t i = d.type_start; i < d.type_stop(); ++i) {
            if (is(i, "static") || is(i, "inline") || is(i, "METAL_FUNC") || is(i, "constexpr") || is(i, "extern")) continue;
            type += spelled(i, i + 1, rename) + (is(i, "::") || (i + 1 < d.type_stop() && is(i + 1, "::")) ? "" : " ");
        }
        if (type.empty() || type.find('&') != std::string::npos) return false;
        const bool is_void = type == "void ";
        if (!is_void && final_return == npos && !early) return false;
        if (is_void && final_return != npos && !is(final_return + 1, ";")) return false;
        if (early && is_void)
            for (size_t r : returns)
                if (!is(r + 1, ";")) return false;

        ++inlined_;
        out += declarations;
        if (!is_void) {
            ret = "sm_ret" + tag;
            // (Not `T sm_ret;`: a class whose one constructor is `threadgroup` cannot be made so here.)
            out += at + type + ret + " = ::sm::regions::return_slot<" + type + ">();\n";
        }
        out += at + "{\n" + using_directive;
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
            const std::string pname = text(nm);
            if (p >= args.size()) { // its default, read in the helper's own scope
                if (reference && !is_const) return false;
                std::string ptype;
                for (size_t i = a; i < nm; ++i)
                    if (!is(i, "&") && !is(i, "thread")) ptype += spelled(i, i + 1, rename) + (is(i, "::") || is(i + 1, "::") ? "" : " ");
                const std::string value = spelled(defaults[p], params[p].second, rename);
                rename[pname] = "sm_i" + tag + "_" + pname;
                out += at + ptype + " " + rename[pname] + " = " + (is(defaults[p], "{") ? value : "(" + value + ")") + ";\n";
                continue;
            }
            const std::string arg = copy(args[p].first, args[p].second, outer);
            const bool plain_variable = args[p].second == args[p].first + 1 && is_ident(args[p].first);
            // A function passed by name (candle's `reduce<T>(..., fast_sum_f32_op)` into `T (*fn)(T, T)`):
            // the helper's calls of the parameter call that function. A pointer of another kind has no
            // declaration of the shape a per-thread copy takes.
            if (ps[p].function) {
                if (!plain_variable || modifies(pname, body + 1, body_close)) return false;
                rename[pname] = outer.count(text(args[p].first)) ? outer.at(text(args[p].first)) : text(args[p].first);
                continue;
            }
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
        std::set<std::string> parameter_names;
        for (const parameter &p : ps) parameter_names.insert(text(p.nm));
        const hidden_loop_variables hidden(*this, body, body_close, parameter_names, tag);
        if (early) {
            // Each thread that returns sets the flag `sm_r<N>` (and `sm_ret<N>`); every statement after
            // one that may return runs under `if (!sm_r<N>)`, so the returned threads are not live in
            // the helper's later meetings, as Metal's returned lanes are inactive there.
            const std::string flag = "sm_r" + tag;
            out += at + "bool " + flag + " = false;\n";
            for (size_t r : returns) {
                const size_t semi = stmt_end(r, body_close) - 1;
                if (is_void) {
                    return_reps_[r] = {semi, "{ " + flag + " = true; }"};
                } else {
                    return_reps_[r] = {r, "{ " + ret + " = ("};
                    return_reps_[semi] = {semi, "); " + flag + " = true; }"};
                }
                return_flag_[r] = flag;
            }
            const bool expanded = expand_list(body + 1, body_close, rename, depth + 1, out);
            for (size_t r : returns) {
                return_reps_.erase(r);
                return_reps_.erase(stmt_end(r, body_close) - 1);
                return_flag_.erase(r);
            }
            if (!expanded) return false;
            out += at + "}\n";
            return true;
        }
        const size_t end = final_return != npos ? final_return : body_close;
        if (!expand_list(body + 1, end, rename, depth + 1, out)) return false;
        if (!is_void) {
            // `return e;` as `sm_ret<N> = (e);`, a statement like the others: helper calls in `e` are
            // inlined (`return Op::simd_op(v);`) and SIMD-group calls nested in it hoisted.
            const size_t semi = stmt_end(final_return, body_close) - 1;
            return_reps_[final_return] = {final_return, ret + " = ("};
            return_reps_[semi] = {semi, ");"};
            const bool expanded = expand_list(final_return, semi + 1, rename, depth + 1, out);
            return_reps_.erase(final_return);
            return_reps_.erase(semi);
            if (!expanded) return false;
        }
        out += at + "}\n";
        return true;
    }

    // ---- a function template parameter bound to a function that meets ----
    // Whether [a, b) names a function of the source's own that meets other threads, with or without its
    // template arguments (`f`, `&f`, `f<float, 2>`).
    bool meets_when_called(const std::pair<size_t, size_t> &arg) const {
        const size_t v = is(arg.first, "&") ? arg.first + 1 : arg.first;
        if (v >= arg.second || !is_ident(v) || !k_.meeting_functions.count(text(v))) return false;
        return v + 1 == arg.second || (is(v + 1, "<") && angle_close(v + 1) == arg.second - 1);
    }
    // Binds `parameter` (a function template parameter of the kernel or of a helper being inlined) to
    // the function [a, b) names (meets_when_called), whose template arguments are read with `names`: in
    // the scope [open, close) each `parameter(...)` is then inlined as a call of that function
    // (inline_call). Only when every mention of the parameter there is such a call: passed on or kept
    // (`g(parameter)`, `auto f = parameter;`), it would be called where the split cannot see it.
    // A helper's parameter is bound under a name of the inlining's own (`rename`); the kernel's (no
    // `rename`) under its own name, which the kernel's threadgroup struct names as its argument.
    bool bind_function(const std::string &parameter, size_t a, size_t b, const std::map<std::string, std::string> &names, size_t open,
                       size_t close, std::map<std::string, std::string> *rename) {
        if (!meets_when_called({a, b})) return false;
        for (size_t i = open; i < close; ++i)
            if (is_ident(i) && text(i) == parameter && (member(i) || !is(i + 1, "(")) && !(rename == nullptr && in_arena_type_arguments(i)))
                return false;
        const std::string name = rename ? "sm_f" + std::to_string(bound_functions_.size()) + "_" + parameter : parameter;
        const size_t first = is(a, "&") ? a + 1 : a;
        bound_functions_[name] = {first, b, names};
        bound_parameters_.insert(parameter);
        if (rename) (*rename)[parameter] = name;
        return true;
    }

    // Whether token `i` is among the template arguments of a kernel's threadgroup-variable struct
    // (`sm_tg_<kernel><disp_fn>`, which the translator names in a template kernel's body): a type, no call.
    bool in_arena_type_arguments(size_t i) const {
        int depth = 0;
        for (size_t j = i; j > 0; --j) {
            const size_t p = j - 1;
            if (is(p, ">")) ++depth;
            else if (is(p, "<") && depth-- == 0) return p > 0 && is_ident(p - 1) && text(p - 1).compare(0, 6, "sm_tg_") == 0;
            else if (is(p, ";") || is(p, "{") || is(p, "}") || is(p, "(") || is(p, ")")) return false;
        }
        return false;
    }

    // ---- a SIMD-group call in another's arguments: `simd_sum(simd_max(x))` ----
    // A call of a SIMD-group function the split computes between regions, at `i` (its name), not a
    // member, not one of the source's own: where the call starts (`metal::` included) and its '('.
    bool simd_call_at(size_t i, size_t &start, size_t &paren) const {
        if (!is_ident(i) || !is(i + 1, "(") || match_[i + 1] == npos || (i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) return false;
        if (!simd_functions().count(text(i)) || k_.user_functions.count(text(i))) return false;
        if (i > 0 && is(i - 1, "::") && !(i > 1 && is(i - 2, "metal"))) return false; // another namespace's function
        start = i > 1 && is(i - 1, "::") && is(i - 2, "metal") ? i - 2 : i;
        if (start == i - 2 && start > 0 && is(start - 1, "::")) --start; // `::metal::`
        paren = i + 1;
        return true;
    }
    // Whether [a, b) holds a SIMD-group call inside another's arguments.
    bool has_nested_simd_call(size_t a, size_t b) const {
        size_t open_until = 0; // the ')' of the SIMD-group call whose arguments we are in
        for (size_t i = a; i < b; ++i) {
            size_t start, paren;
            if (!simd_call_at(i, start, paren)) continue;
            if (i < open_until) return true;
            open_until = match_[paren];
        }
        return false;
    }
    // Each SIMD-group call inside another's arguments of the statement [a, b) becomes a per-thread
    // temporary declared before it (`T sm_h<N> = simd_max(x);`, innermost first), so that every call
    // is a meeting of its own, in the order C++ evaluates them (arguments before the call). Its type is
    // the call's, named with `declval_of` of the variables' declared types as for deduced template
    // arguments (the splitter may allocate its per-thread copy outside the region). Not when the
    // statement evaluates a part only under a condition (`&&`, `||`, `?:`): the inner call would then
    // meet where the original does not.
    bool hoist_nested_simd_calls(size_t a, size_t b, const std::map<std::string, std::string> &rename, std::string &out,
                                 std::map<size_t, std::pair<size_t, std::string>> &reps) {
        for (size_t i = a; i < b; ++i)
            if (is(i, "?") || (is(i, "&") && is(i + 1, "&")) || (is(i, "|") && is(i + 1, "|"))) return true; // (the splitter refuses it)
        for (size_t i = a; i < b; ++i) {
            size_t start, paren;
            if (!simd_call_at(i, start, paren)) continue;
            if (!hoist_arguments(paren, rename, out, reps)) return false;
            i = match_[paren];
        }
        return true;
    }
    // The SIMD-group calls in the arguments of the call whose '(' is `paren`, each hoisted (after its own).
    bool hoist_arguments(size_t paren, const std::map<std::string, std::string> &rename, std::string &out,
                         std::map<size_t, std::pair<size_t, std::string>> &reps) {
        for (size_t j = paren + 1; j < match_[paren]; ++j) {
            size_t start, inner;
            if (!simd_call_at(j, start, inner)) continue;
            if (!hoist_arguments(inner, rename, out, reps)) return false;
            const size_t close = match_[inner];
            // The result's type: Metal's fixed one (simd_ballot's simd_vote, simd_all's bool) or the first
            // argument's, named without the call itself (the splitter would take a SIMD-group call in
            // the declaration's type for a meeting).
            const simd_function &f = simd_functions().at(text(inner - 1));
            std::string type = f.result_type;
            if (type.empty()) {
                const std::vector<std::pair<size_t, size_t>> args = split_commas(inner + 1, close);
                std::string expression;
                if (args.empty() || !unevaluated(args[0].first, args[0].second, rename, out, expression, &hoisted_types_)) return false;
                type = "::sm::regions::deduced_value_t<decltype((" + expression + "))>";
            }
            const std::string name = "sm_h" + std::to_string(inlined_++);
            out += lines_.sync(toks_[start].offset) + type + " " + name + " = (" + copy(start, close + 1, rename, reps) + ");\n";
            reps[start] = {close, name};
            hoisted_types_[start] = {close, "::sm::regions::declval_of<" + type + ">()"};
            j = close;
        }
        return true;
    }

    // Whether no `return` in [a, b) is inside a loop or a switch.
    bool returns_outside_loops(size_t a, size_t b) const {
        for (size_t k = a; k < b; ++k) {
            if (!(is(k, "for") || is(k, "while") || is(k, "do") || is(k, "switch"))) continue;
            const size_t end = stmt_end(k, b);
            if (end == npos) return false;
            for (size_t j = k; j < end; ++j)
                if (is(j, "return")) return false;
        }
        return true;
    }
    // The returned-flag of the helper whose early return is in [a, b), else empty.
    // The condition c of a statement [a, b) `if (c) return [v];` or `if (c) { return [v]; }` (no else), as
    // `rename` spells it, when evaluating it again right after the statement gives the same value (no
    // assignment, increment or call but a cast); else "".
    std::string returning_condition(size_t a, size_t b, const std::map<std::string, std::string> &rename) const {
        if (!is(a, "if") || !is(a + 1, "(") || match_[a + 1] == npos) return "";
        const size_t close = match_[a + 1];
        size_t r = close + 1;
        const bool braced = is(r, "{");
        if (braced) ++r;
        if (!is(r, "return")) return "";
        size_t semi = r;
        while (semi < b && !is(semi, ";")) ++semi;
        if (semi >= b || semi + 1 + (braced ? 1 : 0) != b || (braced && !is(semi + 1, "}"))) return "";
        static const std::set<std::string> casts = {"float", "half", "int", "uint", "short", "ushort", "long", "ulong", "char", "uchar", "bool"};
        for (size_t k = a + 2; k < close; ++k) {
            if (is(k, "++") || is(k, "--") || (is(k, "+") && is(k + 1, "+")) || (is(k, "-") && is(k + 1, "-"))) return "";
            if (is(k, "=") && !(is(k + 1, "=") || is(k - 1, "=") || is(k - 1, "!") || is(k - 1, "<") || is(k - 1, ">"))) return "";
            if (is(k, "(") && k > 0 && is_ident(k - 1) && !casts.count(text(k - 1))) return "";
        }
        return copy(a + 2, close, rename);
    }
    std::string return_flag(size_t a, size_t b) const {
        for (auto it = return_flag_.lower_bound(a); it != return_flag_.end() && it->first < b; ++it) return it->second;
        return "";
    }

    const region_kernel &k_;
    line_map lines_;
    const std::vector<std::pair<std::string, std::pair<size_t, size_t>>> bound_; // (the constructor's `bound`)
    // A function template parameter bound to a function that meets (bind_function), by the name the
    // scope's renaming gives it: the function's name and template arguments ([first, end) of the
    // tokens) and the names those arguments are read with.
    struct function_binding {
        size_t first, end;
        std::map<std::string, std::string> rename;
    };
    std::map<std::string, function_binding> bound_functions_;
    std::set<std::string> bound_parameters_; // their own names: a call of one meets (is_helper_call)
    int inlined_ = 0;
    int aliases_ = 0; // block aliases renamed (expand_list)
    int loop_tests_ = 0; // loops whose SIMD-group condition became a test in the body (loop_header_meeting)
    int switch_values_ = 0; // switch values with calls, declared as variables (switch_value)
    std::map<size_t, std::pair<size_t, std::string>> hoisted_types_; // a hoisted call -> a value of its type (unevaluated)
    std::map<std::string, std::string> type_values_; // a type parameter of an inlining (`sm_i3_Op`) -> its value (`Min<float>`)
    std::map<std::string, std::string> constant_values_; // a constant template parameter of an inlining -> its value
    std::vector<std::string> probes_; // questions for the compiler (specialisation_question)
    std::map<std::string, std::string> object_types_; // a data member of an object, as inlined (`sm_i1_reduce.simd_reduce`) -> its type
    // An object holding simdgroup_matrix members (hold_matrices_apart), as the kernel names it -> each
    // such member -> the variable that holds it.
    std::map<std::string, std::map<std::string, std::string>> object_matrices_;
    std::set<std::string> self_types_; // the class aliases of inlined member functions (`sm_i2_self`: self_qualifier)
    int held_objects_ = 0;
    std::set<std::string> functor_names_; // names the source declares objects or data members of a functor type under
    std::set<std::string> namespaces_;      // every `namespace X` of the source
    std::set<std::string> namespace_types_; // types declared inside a namespace
    // While a helper is inlined: each of its `return` (and the `;` ending a `return e;`) replaced in
    // every copy, and the flag each return sets; and the names of its loop variables that hide a
    // parameter (hidden_loop_variables), by token.
    std::map<size_t, std::pair<size_t, std::string>> return_reps_;
    std::map<size_t, std::string> return_flag_;
    std::map<size_t, std::string> macro_text_; // offset of a use of a helper body's own macro -> its expansion
    mutable std::unordered_map<std::string, std::vector<size_t>> occurrences_; // occurrences()
    mutable bool occurrences_made_ = false;
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
        replicate_changed_parameters();
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
    // `FOR_UNROLL (short i = 0; i < n; ++i) { ... }`: a function-like macro of the source whose every
    // definition ends in `for (x)` on its one parameter (ggml's `_Pragma("clang loop unroll(full)") for (x)`),
    // read as the `for` loop it becomes.
    bool loop_macro(size_t i) const {
        if (!is_ident(i) || !is(i + 1, "(") || (i > 0 && (is(i - 1, ".") || is(i - 1, "->") || is(i - 1, "::")))) return false;
        const std::string name = text(i);
        auto known = loop_macros_.find(name);
        if (known != loop_macros_.end()) return known->second;
        int definitions = 0;
        bool all = true;
        for (size_t p = s_.find("#define"); p != std::string::npos; p = s_.find("#define", p + 7)) {
            const size_t e = std::min(s_.find('\n', p), s_.size());
            const std::string line = s_.substr(p + 7, e - p - 7);
            const std::vector<token> ts = tokenize_msl(line);
            auto w = [&](size_t k) { return k < ts.size() ? line.substr(ts[k].offset, ts[k].length) : std::string(); };
            if (w(0) != name) continue;
            ++definitions;
            // NAME ( x ) ... for ( x ), the '(' right after the name
            const bool shape = ts.size() >= 8 && w(1) == "(" && ts[1].offset == ts[0].offset + ts[0].length && ts[2].kind == token_kind::identifier &&
                               w(3) == ")" && w(ts.size() - 4) == "for" && w(ts.size() - 3) == "(" && w(ts.size() - 2) == w(2) &&
                               w(ts.size() - 1) == ")" && line.back() != '\\';
            if (!shape) all = false;
        }
        const bool is_loop = definitions > 0 && all && s_.find("#undef " + name) == std::string::npos;
        loop_macros_[name] = is_loop;
        return is_loop;
    }
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
            // Run once per SIMD group that has a live lane, as its first live lane sees the per-thread
            // variables (emit_matrix_region). Metal runs simdgroup_matrix functions in the SIMD group's
            // uniform control flow only: all of its lanes get there, or none. In a loop that threads leave
            // at different iterations (a header of their own, a break or continue: ggml's flash attention,
            // `if (blk[ic0] == 0) continue;`), the per-thread loop's masks keep exactly the live lanes, so
            // a SIMD group that is still in it runs the statement, one that has left does not. Under an
            // `if` whose condition may differ between threads, the arm's lanes are kept by a mask the
            // matrix region does not read: refused there.
            if (masked_nesting_ > per_thread_loops_) {
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
        if (!barrier_inside && mixed_matrix_loop(a, b)) barrier_inside = true;
        // A loop run per thread: its header differs between threads, or it has a break or continue of its own (a thread
        // may leave it early: `if (simd_all(done)) break;`, or the test of a SIMD-group condition the inliner moved into
        // its body, helper_inliner::loop_header_meeting).
        size_t body_from = npos, body_to = npos;
        if ((is(a, "for") || is(a, "while") || loop_macro(a)) && is(a + 1, "(") && match_[a + 1] != npos && match_[a + 1] + 1 < b)
            loop_body(match_[a + 1], b, body_from, body_to);
        if (barrier_inside && (is(a, "for") || is(a, "while")) && body_from != npos && !contains(a, match_[a + 1] + 1, &splitter::is_split_point) &&
            (per_thread_header(a, match_[a + 1]) || !own_jumps(body_from, body_to).empty()))
            return per_thread_loop(s, depth, why);
        if (body_from != npos) {
            size_t h = match_[a + 1];
            if (barrier_inside && !contains(a, h + 1, &splitter::is_split_point)) {
                if (depth >= max_nesting) {
                    why = "barrier loops and branches nested more than twelve deep";
                    return false;
                }
                if (mentions_matrix(a, h + 1)) return matrix_refused(why);
                s.kind = stmt_kind::loop;
                s.head_end = h;
                ++loop_nesting_;
                const int outer_jumps = jump_loop_;
                jump_loop_ = -1; // (a break here would be this loop's, which runs once for the group)
                const bool parsed = parse_list(body_from, body_to, depth + 1, s.body, why);
                jump_loop_ = outer_jumps;
                --loop_nesting_;
                return parsed;
            }
        }
        // `if (c) {...} else {...}` with split points in its arms and a condition the same for every
        // thread of the group: the condition is evaluated once for the group, as a loop header is, and
        // each arm splits like a block.
        // (`if constexpr (c)` too: its condition is a constant, the group's by definition.)
        if (barrier_inside && is(a, "if") && is(condition_paren(a), "(") && !contains(a, match_[condition_paren(a)] + 1, &splitter::is_split_point))
            return branch_statement(s, depth, why);
        // A braced block (an inlined helper's body): its statements split like a loop's that runs once.
        // (Only loops and branches count toward the nesting limit: a block has no header, and the
        // inliner nests one per helper, at most four deep.)
        if (barrier_inside && is(a, "{")) {
            s.kind = stmt_kind::loop;
            s.block = true;
            s.head_end = a;
            return parse_list(a + 1, b - 1, depth, s.body, why);
        }
        // A matrix is the SIMD group's (one copy per group): a lane's own statement can only reach its
        // own elements of it, through thread_elements().
        if (mentions_matrix(a, b) && !(!barrier_inside && elements_only(a, b))) return matrix_refused(why);
        if (barrier_inside && simd_statement(s, why)) {
            // `if (simd_is_first()) ...`: a call in the condition of an `if` whose arms meet nobody.
            if (is(a, "if")) {
                if (!loop_jumps(s, why)) return false;
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
                  "inside its statements, a value that assigns, meets other threads or whose type the split cannot name (an 'auto' "
                  "variable), or a label whose helper calls cannot be inlined)";
            return false;
        }
        if (barrier_inside && why.empty() && meeting_loop_header(a, b))
            why = "a SIMD-group call or barrier in a loop's header that the split does not move into its body (in a 'for' loop's init "
                  "or increment, evaluated only under '&&', '||' or '?:', a loop whose body is not braced, or a 'do' loop whose body "
                  "has a 'continue' of its own)";
        if (barrier_inside) {
            if (why.empty()) why = "a barrier inside control flow other than a braced for/while loop at the kernel's top level";
            return false;
        }
        // The translator's threadgroup variables: references into the group's arena, shared by all threads.
        if (is(a, "auto") && is(a + 1, "&") && is_ident(a + 2) && is(a + 3, "=") && is(a + 4, "::") && is(a + 5, "sm") &&
            is(a + 7, "entry") && is(a + 9, "threadgroup_vars")) {
            // Declared at the top of the split function; one whose name another has taken (candle's
            // `threadgroup R shared[N];` in each label of a switch the inliner made an if-chain: the
            // blocks are siblings) is declared where it is instead, outside the thread loops like a
            // `using`, so each block's uses name its own (at the top, both would be one name declared
            // twice, the split source would not build, and the whole library would run on fibers).
            if (!hoisted_names_.insert(text(a + 2)).second) {
                s.kind = stmt_kind::scope;
                s.scope_declared.push_back(text(a + 2));
                return true;
            }
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
        if (!(is(a, "for") || is(a, "while") || is(a, "do") || is(a, "switch") || loop_macro(a)) && !loop_jumps(s, why)) return false;
        if (lanes_ && !mentions_matrix(a, b)) lane_statement(s);
        if (s.kind == stmt_kind::plain && !s.has_return && !mentions_matrix(a, b)) subset_statement(s);
        if (s.kind == stmt_kind::plain) parse_declaration(s);
        note_declared(s);
        return true;
    }
    // Where the condition of the `if` at `a` opens: after `constexpr` in `if constexpr (c)`.
    size_t condition_paren(size_t a) const { return is(a + 1, "constexpr") ? a + 2 : a + 1; }
    // An `if` with split points in its arms (see classify). Metal lets SIMD-group functions run in
    // divergent control flow (only the lanes that take the arm meet), so the condition must be the
    // group's own: made only of the kernel's parameters that no statement changes and the group's
    // positions (uniform_condition). Each arm is parsed as a block; `else if` is an arm holding an `if`.
    bool branch_statement(stmt &s, int depth, std::string &why) {
        const size_t a = s.a, b = s.b, h = match_[condition_paren(a)];
        // `if constexpr (c)`: a constant expression (clang checks it is one), the same for every thread;
        // the split writes the header as it is, so clang still discards the arm a template's
        // instantiation does not take.
        s.masked = !is(a + 1, "constexpr") && !uniform_condition(a + 2, h);
        if (s.masked) {
            for (size_t i = a + 2; i < h; ++i)
                if (is(i, "return") || is(i, "break") || is(i, "continue") || is(i, "goto")) {
                    why = "a jump in the condition of an 'if' around a SIMD-group call or barrier";
                    return false;
                }
            s.mask = masks_++;
        }
        if (depth >= max_nesting) {
            why = "barrier loops and branches nested more than twelve deep";
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
    // Also: a member read through a kernel parameter that points to `constant` memory (`params->M`,
    // candle's steel GEMM: no thread can change what it points to), and Metal's min, max, abs and clamp
    // of such values (`short(min(BM, params->M - c_row))`).
    bool uniform_condition(size_t a, size_t b, int depth = 0) const {
        if (a >= b) return false;
        static const std::set<std::string> casts = {"float", "half", "int", "uint", "short", "ushort", "long", "ulong", "char", "uchar", "bool"};
        static const std::set<std::string> pure = {"min", "max", "abs", "clamp"};
        const std::set<std::string> params = parameter_names();
        std::set<std::string> known = params, constant_pointers;
        for (const parameter &p : parameters(k_.params_open, k_.params_close))
            if (p.constant_pointer) constant_pointers.insert(p.name);
        for (const auto &p : k_.positions) known.insert(p.first);
        for (size_t i = a; i < b; ++i) {
            if (is(i, "->") && i > a && is_ident(i - 1) && !(i >= 2 && (is(i - 2, ".") || is(i - 2, "::"))) &&
                (constant_pointers.count(text(i - 1)) || constant_pointer_local(text(i - 1), depth)) &&
                is_ident(i + 1) && !is(i + 2, "(") && !is(i + 2, ".") && !is(i + 2, "[") && !is(i + 2, "->")) {
                ++i; // (the pointer itself is checked as a parameter: never assigned)
                continue;
            }
            if (is(i, "[") || is(i, "{") || is(i, "->") || (is(i, "-") && is(i + 1, ">")) || (is(i, "+") && is(i + 1, "+")) || (is(i, "-") && is(i + 1, "-")))
                return false;
            if (is(i, "=") && !(is(i + 1, "=") || is(i - 1, "=") || is(i - 1, "!") || is(i - 1, "<") || is(i - 1, ">"))) return false;
            if (is(i, "*") && !(is_ident(i - 1) || is(i - 1, ")") || toks_[i - 1].kind == token_kind::number)) return false;
            if (!is_ident(i)) continue;
            if (is(i - 1, ".")) continue; // a member of what came before (checked there)
            const std::string t = text(i);
            if (t == "true" || t == "false") continue;
            if (is(i + 1, "(")) {
                if (!casts.count(t) && !(pure.count(t) && !k_.user_functions.count(t))) return false;
                continue;
            }
            // `attention_kernel::share_kv_smem`: a qualifier, then a static member or a namespace's object,
            // which in MSL is in the constant address space (candle's attention).
            if (is(i + 1, "::") || is(i - 1, "::")) continue;
            if (const size_t after = trait_value_end(i, b); after != npos) { // `is_same<T, U>::value`: a constant
                i = after - 1;
                continue;
            }
            if (scope_names_.count(t) || constant_macro(t, 0) || template_parameter(t) || assumed_uniform_.count(t)) continue;
            bool position = false, group = false;
            for (const auto &p : k_.positions)
                if (p.first == t) position = true, group = uniform_position(p);
            if (!position && !params.count(t) && (uniform_local(t, depth) || (program_constant(t) && !declared_in_body(t, known)))) continue;
            if (position ? !group : (!params.count(t) || assigns(t, 0, toks_.size()) || address_taken(t))) return false;
            if (declared_in_body(t, known)) return false;
            if (is(i + 1, ".") && !(is_ident(i + 2) && !is(i + 3, "(") && !is(i + 3, "."))) return false; // one plain member
        }
        return true;
    }
    // A template parameter of the kernel (`template <typename T, int BC, ...>`): a constant of its
    // instantiation (MLX's winograd `for (int c = simd_group_id; c < BC; c += N_SIMD_GROUPS)`).
    bool template_parameter(const std::string &name) const {
        if (k_.template_header.empty()) return false;
        if (template_parameters_.empty()) {
            const std::string &h = k_.template_header;
            const std::vector<token> ts = tokenize_msl(h);
            int depth = 0;
            std::string last;
            bool in_default = false;
            for (const token &t : ts) {
                const std::string w = h.substr(t.offset, t.length);
                if (w == "<" || w == "(" || w == "[" || w == "{") {
                    if (++depth == 1 && w == "<") continue;
                } else if (w == ">" || w == ")" || w == "]" || w == "}") {
                    if (--depth == 0 && !last.empty()) template_parameters_.insert(last);
                    continue;
                }
                if (depth != 1) continue;
                if (w == ",") {
                    if (!last.empty()) template_parameters_.insert(last);
                    last.clear();
                    in_default = false;
                } else if (w == "=") {
                    if (!last.empty()) template_parameters_.insert(last);
                    last.clear();
                    in_default = true;
                } else if (!in_default && t.kind == token_kind::identifier && w != "typename" && w != "class") {
                    last = w;
                }
            }
            template_parameters_.insert(""); // (read)
        }
        return !name.empty() && template_parameters_.count(name);
    }
    // A type trait's value in a condition, `is_same<kd4x4_t, k4x4_t>::value` (ggml's flash attention,
    // "this is compile-time check") or `is_floating_point_v<T>`: template arguments are constants, so
    // the value is the same in every thread. One past its last token, else npos. Only a name that is no
    // variable of the kernel (a comparison `a < b` is no template), whose arguments close before b.
    size_t trait_value_end(size_t i, size_t b) const {
        if (!is_ident(i) || !is(i + 1, "<") || (i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) return npos;
        const std::string t = text(i);
        if (parameter_names().count(t) || declared_anywhere(t)) return npos;
        for (const auto &p : k_.positions)
            if (p.first == t) return npos;
        int d = 0;
        size_t close = npos;
        for (size_t j = i + 1; j < b; ++j) {
            if (is(j, "(") || is(j, "[")) {
                if (match_[j] == npos) return npos;
                j = match_[j];
            } else if (is(j, "<")) {
                ++d;
            } else if (is(j, ">") && --d == 0) {
                close = j;
                break;
            } else if (is(j, ";") || is(j, "{") || is(j, "&") || is(j, "|") || is(j, "?")) {
                return npos; // (`a < b && c > d`: no template)
            }
        }
        if (close == npos) return npos;
        if (is(close + 1, "::") && is(close + 2, "value") && !is(close + 3, "(")) return close + 3;
        if (t.size() > 2 && t.compare(t.size() - 2, 2, "_v") == 0 && t.compare(0, 3, "is_") == 0 && !is(close + 1, "(") && !is(close + 1, "::"))
            return close + 1;
        return npos;
    }
    // Whether `name` is declared as a variable anywhere in the body (`T name =|;|[|{|(`, `T name,`).
    bool declared_anywhere(const std::string &name) const {
        for (size_t i = 1; i + 1 < toks_.size(); ++i)
            if (is_ident(i) && text(i) == name && (is_ident(i - 1) || is(i - 1, ">") || is(i - 1, "*") || is(i - 1, "&")) &&
                !statement_keywords().count(text(i - 1)) &&
                (is(i + 1, "=") || is(i + 1, ";") || is(i + 1, "[") || is(i + 1, "{") || is(i + 1, ",") || is(i + 1, "(")))
                return true;
        return false;
    }
    // A local of the body with one value for the whole group: declared once (`const int r0 = tgpig.y*NR0;`),
    // never assigned again nor addressed, its initializer itself such a condition (ggml's mul_mm:
    // `if (!FC_mul_mm_bc_out || (r0 + NR0 <= args.ne0 && r1 + NR1 <= args.ne1))` around its stores).
    bool uniform_local(const std::string &name, int depth) const {
        if (depth >= 4) return false;
        size_t decl = npos;
        int declarations = 0;
        for (size_t i = 1; i + 2 < toks_.size(); ++i) {
            if (!is_ident(i) || text(i) != name ||
                !(is(i - 1, ">") || is(i - 1, "*") || (is_ident(i - 1) && !statement_keywords().count(text(i - 1)))))
                continue;
            if (!(is(i + 1, "=") || is(i + 1, ";") || is(i + 1, "[") || is(i + 1, ",") || is(i + 1, "{") || is(i + 1, "("))) continue;
            ++declarations; // (`T name;`, `T name[4]`, `T name(v)` count too: then it is not this shape)
            if (is(i + 1, "=") && !is(i + 2, "=")) decl = i;
        }
        if (declarations != 1 || decl == npos || address_taken(name)) return false;
        // `for (short n_block = 0; n_block < params->n; n_block++)` (candle's attention): a loop variable whose
        // start, step and condition are the group's, changed only by the loop's increment, is the group's.
        size_t step_a = npos, step_b = npos;
        if (!loop_variable_steps(name, decl, depth, step_a, step_b) && step_a != npos) return false;
        for (size_t i = 0; i < toks_.size(); ++i)
            if (i != decl && !(i >= step_a && i < step_b) && assigns(name, i, i + 1)) return false;
        size_t e = decl + 2;
        while (e < toks_.size() && !is(e, ";") && !is(e, ",")) e = (is(e, "(") || is(e, "[") || is(e, "{")) && match_[e] != npos ? match_[e] + 1 : e + 1;
        if (e >= toks_.size() || !is(e, ";")) return false;
        return uniform_condition(decl + 2, e, depth + 1);
    }
    // Whether `name`, declared at `decl`, is the variable of a `for` loop whose header is the group's
    // (its condition uniform with `name` taken as such, its increment `name++`, `++name`, `name += v` or
    // `name -= v` with v uniform): [step_a, step_b) is then the increment, where it may change. False, and
    // step_a npos, when `decl` is not in a for loop's init; false with step_a set when the header is
    // not the group's.
    bool loop_variable_steps(const std::string &name, size_t decl, int depth, size_t &step_a, size_t &step_b) const {
        size_t open = decl;
        while (open > 0 && is_ident(open - 1)) --open; // (back over the type's words)
        if (open < 2 || !is(open - 1, "(") || !is(open - 2, "for") || match_[open - 1] == npos) return false;
        const size_t close = match_[open - 1];
        size_t semi1 = decl, semi2 = npos;
        while (semi1 < close && !is(semi1, ";")) semi1 = skip_brackets(semi1, close);
        if (semi1 >= close) return false;
        semi2 = semi1 + 1;
        while (semi2 < close && !is(semi2, ";")) semi2 = skip_brackets(semi2, close);
        if (semi2 >= close) return false;
        step_a = semi2 + 1;
        step_b = close;
        const bool plus_plus = (step_b == step_a + 2 && ((is(step_a, "++") || is(step_a, "--")) ? text(step_a + 1) == name : text(step_a) == name && (is(step_a + 1, "++") || is(step_a + 1, "--"))));
        const bool split_plus_plus = step_b == step_a + 3 && ((text(step_a) == name && ((is(step_a + 1, "+") && is(step_a + 2, "+")) || (is(step_a + 1, "-") && is(step_a + 2, "-")))) ||
                                                              (text(step_a + 2) == name && ((is(step_a, "+") && is(step_a + 1, "+")) || (is(step_a, "-") && is(step_a + 1, "-")))));
        const bool compound = step_b > step_a + 3 && text(step_a) == name && (is(step_a + 1, "+") || is(step_a + 1, "-")) && is(step_a + 2, "=") &&
                              uniform_condition(step_a + 3, step_b, depth + 1);
        if (!(plus_plus || split_plus_plus || compound)) return false;
        // (No jump in its body: a `break` or `continue` makes it a per-thread loop, whose variable is each
        // thread's, and a thread that left it would keep a value the others no longer have.)
        const size_t body_end = stmt_end(close + 1, toks_.size());
        if (body_end == npos) return false;
        for (size_t k = close + 1; k < body_end; ++k)
            if (is(k, "break") || is(k, "continue") || is(k, "goto")) return false;
        if (assumed_uniform_.count(name)) return true;
        assumed_uniform_.insert(name);
        const bool uniform = uniform_condition(semi1 + 1, semi2, depth + 1);
        assumed_uniform_.erase(name);
        return uniform;
    }
    // A local pointer into `constant` memory with one value for the group (an inlined helper's copy of the
    // kernel's `const constant Params* params`: `const constant Params* sm_i0_params = (params);`): what it
    // points to no thread can change, so its members are the group's too.
    bool constant_pointer_local(const std::string &name, int depth) const {
        if (!uniform_local(name, depth)) return false;
        for (size_t i = 1; i + 1 < toks_.size(); ++i) {
            if (!is_ident(i) || text(i) != name || !is(i + 1, "=") || !(is(i - 1, "*"))) continue;
            bool constant = false;
            for (size_t k = i - 1; k > 0 && !is(k, ";") && !is(k, "{") && !is(k, "}"); --k) {
                if (is(k, "device") || is(k, "threadgroup")) return false;
                if (is(k, "constant")) constant = true;
            }
            return constant;
        }
        return false;
    }
    // A program-scope object in the constant address space (a `constant` table or scalar, a function
    // constant: the translator's `sm_constant_object` declarations): no kernel can change it.
    bool program_constant(const std::string &name) const {
        auto known = program_constants_.find(name);
        if (known != program_constants_.end()) return known->second;
        bool found = false;
        for (size_t p = s_.find("sm_constant_object"); p != std::string::npos && !found; p = s_.find("sm_constant_object", p + 18)) {
            const std::string window = s_.substr(p + 18, 400);
            std::string last;
            for (const token &t : tokenize_msl(window)) {
                if (t.in_directive) continue;
                const std::string w = window.substr(t.offset, t.length);
                if (w == "=" || w == ";" || w == "[" || w == "{") break;
                if (t.kind == token_kind::identifier) last = w;
            }
            found = last == name;
        }
        program_constants_[name] = found;
        return found;
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
        if (s.name_tok != npos && (mentions_per_thread_position(s.a, s.b) || mentions_position_derived(s.a, s.b)))
            position_derived_.insert(text(s.name_tok));
    }
    bool mentions_position_derived(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i)
            if (is_ident(i) && !(i > 0 && (is(i - 1, ".") || is(i - 1, "->"))) && position_derived_.count(text(i))) return true;
        return false;
    }
    // A loop header that may differ between threads: it names a position that does (the lane, the SIMD
    // group, the thread) or a variable computed from one.
    // The `break`/`continue` tokens of [a, b) that belong to the loop around the statement (not to a
    // loop or switch inside it).
    std::vector<size_t> own_jumps(size_t a, size_t b) const {
        std::vector<size_t> out;
        for (size_t i = a; i < b; ++i) {
            if ((is(i, "for") || is(i, "while") || is(i, "switch") || is(i, "do") || loop_macro(i)) && (is(i + 1, "(") || is(i, "do"))) {
                const size_t e = stmt_end(i, b);
                if (e != npos) {
                    i = e - 1;
                    continue;
                }
            }
            if (is_jump(i) && is(i + 1, ";")) out.push_back(i);
        }
        return out;
    }
    // A statement's own break/continue: a per-thread loop's (the innermost loop around it) become the
    // thread leaving the iteration or the loop (stmt::jump_mask); anywhere else they are refused.
    bool loop_jumps(stmt &s, std::string &why) {
        if (own_jumps(s.a, s.b).empty()) return true; // (jumps inside an inner loop of the statement are that loop's)
        if (jump_loop_ < 0) {
            why = "break/continue outside a loop of its own statement";
            return false;
        }
        s.jump_mask = jump_loop_;
        s.has_return = true; // (the thread stops for the rest of the region, as a return stops it)
        return true;
    }
    // Whether the statement [a, b) is a loop whose header (a `do` loop's condition) holds a split point:
    // one the inliner left there (helper_inliner::loop_header_meeting).
    bool meeting_loop_header(size_t a, size_t b) const {
        if ((is(a, "for") || is(a, "while")) && is(a + 1, "(") && match_[a + 1] != npos) return contains(a + 2, match_[a + 1], &splitter::is_split_point);
        if (is(a, "do") && is(b - 2, ")") && match_[b - 2] != npos) return contains(match_[b - 2], b - 2, &splitter::is_split_point);
        return false;
    }
    bool per_thread_header(size_t loop, size_t close) const {
        return mentions_per_thread_position(loop + 2, close) || mentions_position_derived(loop + 2, close);
    }
    // `for (init; cond; inc) { body }` or `while (cond) { body }` whose header differs between threads,
    // around SIMD-group calls: Metal runs each SIMD group (each lane) its own trip count, the calls of
    // one iteration meeting the lanes of the group that run it. Here: a block holding the init (a
    // statement of its own, whose variable gets one copy per thread) and the loop, which runs while
    // any thread is in it; each iteration evaluates the condition per thread, runs the body with the
    // threads still in it live (as a divergent branch runs its arm) and then their increment. A barrier
    // inside ends a region as anywhere else: Metal requires every thread of the group to reach it, so
    // such a loop's trip count is the group's even where its variable is not (ggml's rwkv kernels:
    // `for (uint t = start_t; t < end_t; t += C)` on a start made from the thread's index).
    bool per_thread_loop(stmt &s, int depth, std::string &why) {
        const size_t a = s.a, b = s.b, h = match_[a + 1];
        for (size_t i = a + 2; i < h; ++i)
            if (is_jump(i) || is_return(i) || is(i, "goto")) {
                why = "a jump in the header of a loop whose trip count differs between threads";
                return false;
            }
        if (depth >= max_nesting) {
            why = "barrier loops and branches nested more than twelve deep";
            return false;
        }
        if (mentions_matrix(a, h + 1)) return matrix_refused(why);
        stmt loop;
        loop.kind = stmt_kind::loop;
        loop.per_thread = true;
        loop.masked = true;
        loop.a = a;
        loop.b = b;
        loop.head_end = h;
        loop.mask = masks_++;
        s.kind = stmt_kind::loop;
        s.block = true;
        s.head_end = a;
        if (is(a, "for")) {
            size_t s1 = npos, s2 = npos;
            for (size_t k = a + 2; k < h; ++k) {
                if ((is(k, "(") || is(k, "[") || is(k, "{")) && match_[k] != npos) k = match_[k];
                else if (is(k, ";")) (s1 == npos ? s1 : s2) = k;
            }
            if (s1 == npos || s2 == npos) {
                why = "cannot parse the header of the loop at token '" + text(a) + "'";
                return false;
            }
            if (s1 > a + 2) {
                stmt init;
                init.a = a + 2;
                init.b = s1 + 1;
                if (!classify(init, depth, why)) return false;
                if (init.kind != stmt_kind::plain) {
                    why = "the init of a loop whose trip count differs between threads is not a plain statement";
                    return false;
                }
                s.body.push_back(std::move(init));
            }
            loop.cond_a = s1 + 1, loop.cond_b = s2;
            loop.inc_a = s2 + 1, loop.inc_b = h;
        } else {
            loop.cond_a = a + 2, loop.cond_b = h;
        }
        ++loop_nesting_;
        ++masked_nesting_;
        ++per_thread_loops_;
        const int outer_jumps = jump_loop_;
        jump_loop_ = loop.mask;
        size_t body_from, body_to;
        loop_body(h, b, body_from, body_to);
        const bool parsed = parse_list(body_from, body_to, depth + 1, loop.body, why);
        jump_loop_ = outer_jumps;
        --per_thread_loops_;
        --masked_nesting_;
        --loop_nesting_;
        if (!parsed) return false;
        s.body.push_back(std::move(loop));
        return true;
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
        for (const std::string &n : s.scope_declared) scope_in_loop_[n] = loop_nesting_ > 0;
        return true;
    }
    bool scope_declaration(stmt &s) {
        const size_t a = s.a, b = s.b;
        if (is(a, "using") && is_ident(a + 1) && is(a + 2, "=")) {
            s.scope_declared.push_back(text(a + 1));
            s.kind = stmt_kind::scope;
            // Its value, where it can stand for the alias in any type: a name, qualified or with template
            // arguments (no declarator: `T *` under a `const` would not mean the alias's `T *const`).
            // (A `decltype(...)` is one name: the inliner's deduced types are spelled so.)
            std::string value;
            for (size_t k = a + 3; k + 1 < b; ++k) {
                if (is(k, "decltype") && is(k + 1, "(") && match_[k + 1] != npos && match_[k + 1] < b) {
                    for (const size_t e = match_[k + 1]; k <= e; ++k) value += text(k) + " ";
                    --k;
                    continue;
                }
                if (is(k, "*") || is(k, "&") || is(k, "&&") || is(k, "[") || is(k, "(") || is(k, "const") || is(k, "volatile")) {
                    value.clear();
                    break;
                }
                value += text(k) + " ";
            }
            auto known = scope_alias_values_.emplace(text(a + 1), value).first;
            if (known->second != value) known->second.clear(); // (declared twice, differently: not one value)
            return true;
        }
        if (is(a, "using") && is(a + 1, "namespace")) { // (an inlined helper's namespace: declares no name)
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
        // Its value, which may stand for it in a copy's type (`o8x8_t lo[NO];` on ggml's flash attention's
        // `constexpr short NO = PV8/NSG;`, both in the loop over key blocks: spelled `[(PV8 / NSG)]`, the
        // copies are allocated before the loop; without_scope_aliases).
        if (s.scope_declared.size() == 1 && is(d.name_tok + 1, "=")) {
            std::string value = "(";
            for (size_t k = d.name_tok + 2; k + 1 < b; ++k) {
                if (is(k, "{") || is(k, "}")) {
                    value.clear();
                    break;
                }
                value += text(k) + " ";
            }
            if (!value.empty()) {
                value += ")";
                auto known = scope_alias_values_.emplace(text(d.name_tok), value).first;
                if (known->second != value) known->second.clear();
            }
        }
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
            if (toks_[k].kind == token_kind::number || is(k, "true") || is(k, "false")) continue; // (candle's `const bool STRIDED = false;`)
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
    // `type` with each scope alias it names replaced by its value (an inlined template's `using sm_i0_T =
    // int64_t;`, declared where the call was: in a loop, a copy of type `sm_i0_T` could not be allocated
    // before it), until none is left; `type` itself when a value is unknown or names a body variable.
    std::string without_scope_aliases(const std::string &type) const {
        std::string out = type;
        for (int round = 0; round < 8 && names_scope_declaration(out); ++round) {
            std::string next;
            size_t pos = 0;
            for (const token &t : tokenize_msl(out)) {
                const std::string w = out.substr(t.offset, t.length);
                auto v = t.kind == token_kind::identifier && scope_names_.count(w) ? scope_alias_values_.find(w) : scope_alias_values_.end();
                if (v == scope_alias_values_.end()) continue;
                if (v->second.empty()) return type;
                next += out.substr(pos, t.offset - pos) + v->second;
                pos = t.offset + t.length;
            }
            next += out.substr(pos);
            out = next;
        }
        // (Not when the value names a variable of the body: allocated after the alias, as before, it is in scope.)
        return names_scope_declaration(out) || names_variable(out) ? type : out;
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
                if (p.first == text(k)) position = true, varies = !uniform_position(p);
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
        if ((is(a, "for") || is(a, "while") || loop_macro(a)) && is(a + 1, "(")) {
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
    // The statements of the body of the loop whose header's ')' is `h`, the loop ending at `b`: [from,
    // to), inside its braces, or the one statement of a body without braces (`for (...) v = max(v,
    // simd_shuffle_down(v, offset));`, as MLX's and candle's shuffle reductions are written; the split
    // writes braces of its own around every loop body it emits).
    void loop_body(size_t h, size_t b, size_t &from, size_t &to) const {
        if (is(h + 1, "{") && match_[h + 1] + 1 == b) {
            from = h + 2;
            to = b - 1;
        } else {
            from = h + 1;
            to = b;
        }
    }
    // A braced for/while loop whose body mixes simdgroup_matrix statements with the lanes' own
    // statements on their elements (MLX's winograd transforms: `g.thread_elements()[0] = ...;
    // simdgroup_matrix<float, 8, 8> g_out = (G * g) * Gt; out[c] = g_out.thread_elements()[0];` in
    // `for (int c = 0; c < BC; ++c)`): its matrix statements are split points, as a SIMD-group call is,
    // so the loop splits like one around barriers (its header once for the group) instead of being one
    // statement that reaches a matrix other than by thread_elements() (before: fibers). A header of the
    // lanes' own makes it a per-thread loop, where matrix statements are refused as before.
    bool mixed_matrix_loop(size_t a, size_t b) const {
        if (!((is(a, "for") || is(a, "while") || loop_macro(a)) && is(a + 1, "(") && match_[a + 1] != npos)) return false;
        const size_t h = match_[a + 1];
        if (h + 1 >= b || mentions_matrix(a, h + 1)) return false;
        size_t from, to;
        loop_body(h, b, from, to);
        std::set<std::string> names = matrix_names_;
        return holds_matrix_statement(from, to, names);
    }
    // Whether a statement of [a, b), or of a braced block or loop body there, is a matrix statement.
    bool holds_matrix_statement(size_t a, size_t b, std::set<std::string> &names) const {
        for (size_t i = a; i < b;) {
            const size_t e = stmt_end(i, b);
            if (e == npos || e > b) return false;
            const int redeclarations = matrix_redeclarations_;
            const bool matrix = matrix_statement(i, e, names);
            matrix_redeclarations_ = redeclarations;
            if (matrix) return true;
            if (is(i, "{") && holds_matrix_statement(i + 1, e - 1, names)) return true;
            if ((is(i, "for") || is(i, "while") || loop_macro(i)) && is(i + 1, "(") && match_[i + 1] != npos && is(match_[i + 1] + 1, "{") &&
                match_[match_[i + 1] + 1] + 1 == e && holds_matrix_statement(match_[i + 1] + 2, e - 1, names))
                return true;
            i = e;
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
        // (A comma in template arguments is no second declarator: ggml's flash attention's
        // `qk8x8_t mqk = make_filled_simdgroup_matrix<qk_t, 8>((qk_t) 0.0f);`.)
        bool one_declarator = true;
        for (size_t k = i + 1; k < b;) {
            if (is(k, ",")) {
                one_declarator = false;
                break;
            }
            k = skip_brackets(k, b);
        }
        bool has_ref = false, has_ptr = false;
        for (size_t k = a; k < i; ++k) {
            if (is(k, "&")) has_ref = true;
            if (is(k, "*")) has_ptr = true;
        }
        s.simple_decl = !is_static && !has_ref && one_declarator && (is(i + 1, "=") || is(i + 1, ";"));
        if (s.simple_decl) s.init_eq = is(i + 1, "=") ? i + 1 : npos;
        // `T name{...};` (MLX's `IndexValPair<T> best{0, Limits<T>::min};`): the copy is assigned `T{...}`.
        if (!is_static && !has_ref && is(i + 1, "{") && match_[i + 1] != npos && match_[i + 1] + 2 == b && is(b - 1, ";")) {
            s.simple_decl = true;
            s.init_brace = i + 1;
        }
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
        assign_list_regions(list, next);
        for (stmt &s : list) s.scope_end = next - 1;
    }
    void assign_list_regions(std::vector<stmt> &list, int &next) {
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
                if (s.per_thread) s.step_region = next++;
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
            } else if (s.kind == stmt_kind::loop && s.per_thread) {
                note_uses(s.cond_a, s.cond_b, s.region);
                collect_uses(s.body);
                if (s.inc_a != npos) note_uses(s.inc_a, s.inc_b, s.step_region);
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
    // The initialiser of `auto name = init;` as an expression of the same type anywhere in the split
    // function: each variable of the body it names (not a member, a call or a scope) becomes
    // `::sm::regions::declval_of<its declared type>()`. False when one is declared other than by a
    // declaration the split read with a type (`auto` itself, a loop's header), or twice with different
    // types.
    bool unevaluated_initializer(const stmt &d, const std::map<std::string, std::vector<const stmt *>> &same_name, std::string &out) const {
        out.clear();
        for (size_t k = d.init_eq + 1; k + 1 < d.b; ++k) {
            const std::string t = text(k);
            if (!is_ident(k) || (k > 0 && (is(k - 1, ".") || is(k - 1, "->") || is(k - 1, "::"))) || is(k + 1, "(") || is(k + 1, "::") ||
                !declared_.count(t)) {
                out += t + " ";
                continue;
            }
            auto found = same_name.find(t);
            if (found == same_name.end() || found->second.empty()) return false;
            std::string type;
            for (const stmt *o : found->second) {
                const std::string of = o->type + (o->array_suffix.empty() ? "" : " " + o->array_suffix);
                if (o->type.empty() || o->type == "auto" || o->type.find("auto ") == 0 || (!type.empty() && of != type)) return false;
                type = of;
            }
            out += "::sm::regions::declval_of<" + type + ">() ";
        }
        return true;
    }
    bool choose_replicated(const std::vector<stmt> &top, std::string &why) {
        std::vector<const stmt *> decls;
        all_decls(top, decls);
        std::map<std::string, std::vector<const stmt *>> same_name;
        for (const stmt *d : decls) same_name[text(d->name_tok)].push_back(d);
        for (const stmt *d : decls) {
            std::string name = text(d->name_tok);
            const std::set<int> &u = uses_[name];
            // Its uses: those in its scope, from its declaration to the end of its statement list.
            bool crosses = std::any_of(u.begin(), u.end(), [&](int r) { return r != d->region && r >= d->region && r <= d->scope_end; });
            if (!crosses) continue;
            if (!d->simple_decl || d->type.empty()) {
                why = "variable '" + name + "' lives across a barrier but its declaration is not 'T name = value;'";
                return false;
            }
            std::string type = d->type;
            if (type == "auto" && d->init_eq != npos && d->array_suffix.empty()) {
                // `auto in_idx = elem_to_loc(gid / lsize, shape, in_strides, ndim);` (MLX's arg_reduce): the
                // initialiser's type (only parameters, the kernel's template parameters and constants are
                // in scope where the copies are made), each of the body's variables it names read as a
                // value of its declared type (ggml's flash attention's `auto sot = so + 8*sgitg;`).
                std::string init;
                if (unevaluated_initializer(*d, same_name, init)) type = "::sm::regions::deduced_value_t<decltype((" + init + "))>";
            }
            if (type == "auto" || type.find("auto ") == 0) {
                why = "variable '" + name + "' lives across a barrier but is declared 'auto'";
                return false;
            }
            // Declared again (`const float sumf = ...` in a loop and again after it, ggml's ssm_scan): each
            // declaration its own copies, bound in its own scope; scopes that overlap (one hides the
            // other) are not told apart by name.
            for (const stmt *o : same_name[name])
                if (o != d && !(o->scope_end < d->region || d->scope_end < o->region)) {
                    why = "variable '" + name + "' lives across a barrier and is declared again where it is visible";
                    return false;
                }
            replicated r{name, without_scope_aliases(type + (d->array_suffix.empty() ? "" : " " + d->array_suffix)), d->region, d};
            r.scope_end = d->scope_end;
            r.array = !d->array_suffix.empty();
            r.deferred = names_scope_declaration(r.type);
            if (names_variable(r.type)) { // `float state[head_size]` on a `const uint head_size = 64;`
                why = "variable '" + name + "' lives across a barrier and its type names a variable of the kernel";
                return false;
            }
            if (r.deferred && d->in_loop) {
                // Allocated right after the scope declarations its type names, when none of them is in a
                // loop around split points (an inlined template's `using sm_i0_k4_t = ...;` before the
                // loop over ggml's KV cache): once, where the loop sees it.
                bool outside = true;
                for (const token &t : tokenize_msl(r.type)) {
                    const std::string w = r.type.substr(t.offset, t.length);
                    if (t.kind == token_kind::identifier && scope_names_.count(w) && scope_in_loop_[w]) outside = false;
                }
                if (!outside) {
                    why = "variable '" + name + "' lives across a barrier, is declared in a loop around one, and its type is declared in the kernel";
                    return false;
                }
                r.after_scope = true;
            }
            rep_index_[d] = reps_.size();
            r.uniform = !r.array && !r.deferred && group_uniform(*d);
            reps_.push_back(r);
        }
        return choose_group_copies(top, why);
    }
    // A parameter the body changes (`x += gid * axis_size;` in MLX's row kernels) is each thread's
    // own in Metal, as every argument is. The split function's parameters belong to the group, shared
    // by its loops over the threads, where the first thread's `x +=` would move every later thread's
    // `x` too. So such a parameter gets one copy per thread, set from the argument before the first
    // region (parameter_copies) and bound in every region that names it, as a variable declared before
    // them all. So does a position the body changes (changed_positions), set to the thread's position.
    // (`&p.member`, `&p[i]` take no parameter's address; a name the body declares too is its own.)
    void replicate_changed_parameters() {
        const std::set<std::string> params = parameter_names();
        for (const std::string &name : params) {
            if (!changed_positions().count(name) && (!assigns(name, 0, toks_.size()) || declared_in_body(name, params))) continue;
            replicated r{name, "::sm::regions::deduced_value_t<decltype(" + name + ")>", -1, nullptr};
            r.scope_end = std::numeric_limits<int>::max();
            changed_parameters_.push_back(reps_.size());
            reps_.push_back(r);
        }
    }
    std::string parameter_copies() const {
        std::string out;
        for (size_t i : changed_parameters_) {
            std::string value = reps_[i].name;
            for (const auto &p : k_.positions) // (a position: the thread's own, as bindings would compute it)
                if (p.first == value)
                    value = "::sm::entry::sm_position<::sm::entry::attr::" + p.second + ">::template get<sm_ty_" + p.first +
                            ">(::sm::entry::thread_at(sm_group_ptr, sm_t))";
            out += "for (unsigned sm_t = 0; sm_t < sm_count; ++sm_t) sm_rep" + std::to_string(i) + "[sm_t] = " + value + ";\n";
        }
        return out;
    }
    // The positions the body changes (`lid = (lid + 1) % 32;`, ggml's `tgpig.z = 0;` before calling a
    // helper with it), each a name the body does not declare again: each thread's own copy, set before
    // the first region (parameter_copies) and bound in every region as the changed parameters are,
    // instead of the position recomputed there; not the group's (a thread may change its copy alone).
    const std::set<std::string> &changed_positions() const {
        if (!changed_positions_made_) {
            const std::set<std::string> params = parameter_names();
            for (const auto &p : k_.positions)
                if ((assigns(p.first, 0, toks_.size()) || assigns_member(p.first)) && !declared_in_body(p.first, params))
                    changed_positions_.insert(p.first);
            changed_positions_made_ = true;
        }
        return changed_positions_;
    }
    // Whether position parameter `p` holds the same value in every thread of the group.
    bool uniform_position(const std::pair<std::string, std::string> &p) const {
        return group_position(p.second) && !changed_positions().count(p.first);
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
    // The kernel's parameter names, but for references other than `constant` ones: reading those reads
    // memory that may change.
    std::set<std::string> parameter_names() const {
        std::set<std::string> out;
        for (const parameter &p : parameters(k_.params_open, k_.params_close))
            if (!p.memory_reference) out.insert(p.name);
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
                if (p.first == t) position = true, group = uniform_position(p);
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
                return changed_positions().count(name) || p.second == "thread_position_in_grid" || p.second == "thread_position_in_threadgroup" ||
                       p.second == "thread_index_in_threadgroup" || p.second == "thread_index_in_simdgroup" ||
                       p.second == "simdgroup_index_in_threadgroup";
        return false;
    }
    bool mentions_per_thread_position(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i)
            if (is_ident(i) && !(i > 0 && (is(i - 1, ".") || is(i - 1, "->"))) && varies_per_thread(text(i))) return true;
        return false;
    }
    // Whether the body changes a member of `name` (`tgpig.z = 0;`, `p.x += 1;`, `++p.y;`).
    bool assigns_member(const std::string &name) const {
        for (size_t i = 0; i < toks_.size(); ++i) {
            if (!is_ident(i) || text(i) != name || (i > 0 && (is(i - 1, ".") || is(i - 1, "->"))) || !is(i + 1, ".")) continue;
            size_t m = i + 1;
            while (is(m, ".") && is_ident(m + 1)) m += 2; // the last member's token is m - 1
            if (i >= 2 && ((is(i - 1, "+") && is(i - 2, "+")) || (is(i - 1, "-") && is(i - 2, "-")))) return true;
            if (assigned_after(m - 1)) return true;
        }
        return false;
    }
    // Whether tokens [a, b) may assign to `name` (=, op=, ++, --), judged by the tokens around it.
    bool assigns(const std::string &name, size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i) {
            if (!is_ident(i) || text(i) != name || (i > 0 && (is(i - 1, ".") || is(i - 1, "->")))) continue;
            if (i >= 2 && ((is(i - 1, "+") && is(i - 2, "+")) || (is(i - 1, "-") && is(i - 2, "-")))) return true;
            if (assigned_after(i)) return true;
        }
        return false;
    }
    // Whether the tokens after `i` assign to it (`=`, `+=`, `<<=`, ...) or step it (`++`, `--`).
    bool assigned_after(size_t i) const {
        if ((is(i + 1, "+") && is(i + 2, "+")) || (is(i + 1, "-") && is(i + 2, "-"))) return true;
        if (is(i + 1, "=") && !is(i + 2, "=")) return true;
        for (const char *op : {"+", "-", "*", "/", "%", "&", "|", "^"})
            if (is(i + 1, op) && is(i + 2, "=")) return true;
        return (is(i + 1, "<") && is(i + 2, "<") && is(i + 3, "=")) || (is(i + 1, ">") && is(i + 2, ">") && is(i + 3, "="));
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
            if (s.block || s.branch || s.per_thread) { // (a uniform branch's condition is the group's: uniform_condition)
                if (!check_regions(s.body, why) || !check_regions(s.else_body, why)) return false;
                continue;
            }
            bool per_thread = mentions_per_thread_position(s.a, s.head_end + 1);
            for (size_t i = s.a; i <= s.head_end && !per_thread; ++i)
                for (const replicated &r : reps_)
                    if (is_ident(i) && text(i) == r.name && (!r.decl || mentions_per_thread_position(r.decl->a, r.decl->b))) per_thread = true;
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
            if (is(s.a, "for") || loop_macro(s.a))
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
    // `until`: only the copies declared before that token in `region` itself (a lanes loop shares its
    // region's number with the statements after it, whose copies may be allocated only after it:
    // deferred_allocations).
    std::string bindings(int region, const std::string &ctx, const std::string &t, bool declared_here, bool local = false,
                         size_t until = npos) {
        std::string out;
        bool any_position = false;
        for (const auto &p : k_.positions)
            if (used_in(p.first, region)) any_position = true;
        if (any_position) {
            out += "const ::sm::entry::thread_ctx sm_c = " + ctx + ";\n";
            for (const auto &p : k_.positions)
                if (used_in(p.first, region) && !changed_positions().count(p.first)) // (a changed one: its copy, below)
                    out += "sm_ty_" + p.first + " " + p.first + " = ::sm::entry::sm_position<::sm::entry::attr::" + p.second +
                           ">::template get<sm_ty_" + p.first + ">(sm_c);\n";
        }
        for (size_t i = 0; i < reps_.size(); ++i) {
            const replicated &r = reps_[i];
            if (!((r.region < region || (declared_here && r.region == region)) && region <= r.scope_end && used_in(r.name, region))) continue;
            if (r.region == region && until != npos && r.decl && r.decl->a > until) continue;
            if (r.uniform) out += "sm_rt" + std::to_string(i) + " " + r.name + " = sm_u" + std::to_string(i) + ";\n";
            else out += "sm_rt" + std::to_string(i) + (local && !r.array && !address_taken(r.name) ? " " : " __private &") + r.name +
                        " = sm_rep" + std::to_string(i) + "[" + t + "];\n";
        }
        return out;
    }
    std::string write_back(int region, const std::string &t, size_t until = npos) const {
        std::string out;
        for (size_t i = 0; i < reps_.size(); ++i) {
            const replicated &r = reps_[i];
            if (r.region == region && until != npos && r.decl && r.decl->a > until) continue; // (not bound: bindings)
            if (r.region <= region && region <= r.scope_end && used_in(r.name, region) && !r.array && !address_taken(r.name) && !r.uniform)
                // (assign_or_construct: an assignment, but for a class without one, candle's BlockMMA)
                out += "::sm::regions::assign_or_construct(sm_rep" + std::to_string(i) + "[" + t + "], " + r.name + ");\n";
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
            if (reps_[i].deferred && !reps_[i].after_scope && reps_[i].region == region) out += rep_allocation(i);
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
        // A small region also gets a copy whose rows have the constant width SM_THREAD_ROW (target_cpu.h
        // says why), taken when the group's rows are that wide. The copies differ only in that bound and
        // in how a thread's index is found.
        if (region_tokens(region) > constant_row_copy_tokens) return emit_region_loop(region, r, false, out);
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
            } else if (it != rep_index_.end() && s->init_eq != npos && s->init_eq == s->name_tok + 1 && is(s->init_eq + 1, "(") &&
                       match_[s->init_eq + 1] + 2 == s->b && is(s->b - 1, ";")) {
                // `T name = (T(args));` (the inliner's spelling of `T name(args);`) -> constructed into the
                // thread's copy: a class with a const member (candle's BlockMMA: `const short tm;`) has
                // no assignment (assign_or_construct; an assignable type is assigned as below).
                reps.push_back({toks_[s->a].offset, toks_[s->name_tok].offset - toks_[s->a].offset,
                                "::sm::regions::assign_or_construct("});
                reps.push_back({toks_[s->init_eq].offset, 1, ","});
                reps.push_back({toks_[s->b - 1].offset, 1, ");"});
            } else if (it != rep_index_.end()) { // `T name = v;` -> `name = v;` on the thread's copy (same columns)
                reps.push_back({toks_[s->a].offset, toks_[s->name_tok].offset - toks_[s->a].offset,
                                blank(toks_[s->a].offset, toks_[s->name_tok].offset)});
                // `T name{...};` -> `name = T{...};`
                if (s->init_brace != npos)
                    reps.push_back({toks_[s->init_brace].offset, 1, "= sm_rt" + std::to_string(it->second) + "{"});
                // `T name;` -> `name = default_initialized(name);`: a struct's default member initializers
                // (and default constructor) run where the declaration was, not on the copy's raw storage.
                if (s->init_eq == npos && s->name_tok + 2 == s->b && is(s->b - 1, ";"))
                    reps.push_back({toks_[s->b - 1].offset, 1,
                                    " = ::sm::regions::default_initialized<sm_rt" + std::to_string(it->second) + ">(" +
                                        text(s->name_tok) + ");"});
            }
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
            // A per-thread loop's break/continue: the thread is not live for the rest of the iteration;
            // the loop's step region reads why (1: continue, 2: break; 0 would be a return).
            if (s->jump_mask >= 0)
                for (size_t i : own_jumps(s->a, s->b))
                    reps.push_back({toks_[i].offset, end_of(i + 1) - toks_[i].offset,
                                    "{ sm_alive[sm_t] = 0; sm_mask" + std::to_string(s->jump_mask) + "[2u * sm_count + sm_t] = " +
                                        (is(i, "break") ? "2" : "1") + "; goto " + label + "; }"});
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
        // (Also in a per-thread loop: its masks make any_return_, so only the groups still in it run,
        // with their first live lane's bindings.)
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
    // (SM_LANES_THREAD_LOOP: target_cpu.h says why it differs from SM_THREAD_LOOP.)
    std::string thread_loop() const {
        return "for (unsigned sm_z = 0, sm_t = 0; sm_z < sm_size.z; ++sm_z)\n"
               "for (unsigned sm_y = 0; sm_y < sm_size.y; ++sm_y)\n"
               "SM_LANES_THREAD_LOOP\n"
               "for (unsigned sm_x = 0; sm_x < sm_size.x; ++sm_x, ++sm_t) {\n";
    }
    void emit_lanes(const stmt &s, std::string &out) {
        const int r = s.region;
        const std::string end = "sm_next" + std::to_string(labels_++);
        out += "\n{\n" + thread_loop() + "sm_in[sm_t] = " + (any_return_ ? "sm_alive[sm_t]" : "(unsigned char)1") + ";\n}\n";
        out += "for (unsigned sm_j = 0;; ++sm_j) {\nunsigned sm_any = 0u;\n" + thread_loop() + "if (!sm_in[sm_t]) continue;\n";
        out += bindings(r, "::sm::entry::thread_at(sm_group_ptr, sm_x, sm_y, sm_z)", "sm_t", true, true, s.a);
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
               copy(toks_[s.body_a].offset, end_of(s.b - 1), reps) + "}\n}\n" + end + ":;\n" + write_back(r, "sm_t", s.a) +
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
                emitted_scope_.insert(s.scope_declared.begin(), s.scope_declared.end());
                std::string allocations;
                for (size_t i = 0; i < reps_.size(); ++i) {
                    if (!reps_[i].after_scope || allocated_after_scope_.count(i)) continue;
                    bool complete = true;
                    for (const token &t : tokenize_msl(reps_[i].type)) {
                        const std::string w = reps_[i].type.substr(t.offset, t.length);
                        if (t.kind == token_kind::identifier && scope_names_.count(w) && !emitted_scope_.count(w)) complete = false;
                    }
                    if (!complete) continue;
                    allocations += rep_allocation(i);
                    allocated_after_scope_.insert(i);
                }
                if (!allocations.empty()) out += "\n#line 1 \"softmetal_generated\"\n" + allocations;
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
            } else if (s.kind == stmt_kind::loop && s.per_thread) {
                emit_region(region, out);
                region.clear();
                emit_per_thread_loop(s, out);
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
    // A loop with a per-thread header (per_thread_loop): sm_mask<N> holds, per thread, whether it is live
    // after the loop (cleared by a `return` in the body) and whether it is still in the loop.
    void emit_per_thread_loop(const stmt &s, std::string &out) {
        const std::string m = "sm_mask" + std::to_string(s.mask);
        const std::string after = m + "[sm_t]", in = m + "[sm_count + sm_t]";
        const std::string each = "for (unsigned sm_t = 0; sm_t < sm_count; ++sm_t) ";
        const std::string jump = m + "[2u * sm_count + sm_t]";
        out += "\n{\n" + each + "{ " + after + " = sm_alive[sm_t]; " + in + " = sm_alive[sm_t]; " + jump + " = 0; }\n";
        out += "for (;;) {\nunsigned sm_any = 0u;\n{\n" + thread_loop();
        out += "sm_alive[sm_t] = " + in + ";\nif (!" + in + ") continue;\n";
        out += bindings(s.region, "::sm::entry::thread_at(sm_group_ptr, sm_x, sm_y, sm_z)", "sm_t", false, true);
        if (s.cond_b > s.cond_a) // (`for (...;; ...)`: the loop is left by break or return only)
            out += "{ " + in + " = (" + copy(toks_[s.cond_a].offset, end_of(s.cond_b - 1)) + ") ? 1 : 0; }\n" + write_back(s.region, "sm_t");
        out += "sm_alive[sm_t] = " + in + ";\nsm_any |= " + in + ";\n}\n}\nif (!sm_any) break;\n{\n";
        emit_list(s.body, out);
        out += "}\n{\n" + thread_loop() + "if (!" + in + ") continue;\n";
        out += "if (!sm_alive[sm_t]) {\nconst unsigned char sm_j = " + jump + ";\n" + jump + " = 0;\n" +
               "if (sm_j == 1) sm_alive[sm_t] = 1;\nelse { " + in + " = 0; if (sm_j != 2) " + after + " = 0; continue; }\n}\n";
        if (s.inc_a != npos && s.inc_b > s.inc_a) {
            out += bindings(s.step_region, "::sm::entry::thread_at(sm_group_ptr, sm_x, sm_y, sm_z)", "sm_t", false, true);
            out += "{ " + copy(toks_[s.inc_a].offset, end_of(s.inc_b - 1)) + "; }\n" + write_back(s.step_region, "sm_t");
        }
        out += "}\n}\n}\n" + each + "sm_alive[sm_t] = " + after + ";\n}\n";
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
        out += parameter_copies();
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
    std::vector<size_t> changed_parameters_; // reps_ of the parameters the body changes (replicate_changed_parameters)
    mutable std::set<std::string> changed_positions_; // (changed_positions)
    mutable bool changed_positions_made_ = false;
    std::set<std::string> matrix_names_; // matrices declared at the levels parsed so far
    mutable std::set<std::string> assumed_uniform_; // a loop variable whose own condition is being read (loop_variable_steps)
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
    std::set<std::string> hoisted_names_; // threadgroup variables declared at the top of the split function
    size_t max_calls_ = 0; // the most SIMD-group calls in one statement
    int masks_ = 0;          // branches with a per-thread condition (sm_mask<N>)
    bool macros_read_ = false;
    std::map<std::string, std::set<std::string>> macro_direct_, macro_closure_; // (macro_identifiers)
    int masked_nesting_ = 0; // such branches around the statements being parsed
    int per_thread_loops_ = 0; // per-thread loops among them (whose masks a matrix region reads: classify)
    mutable std::set<std::string> template_parameters_; // the kernel's (template_parameter)
    std::set<std::string> position_derived_; // variables declared from a per-thread position (so far)
    // Loops and branches around split points, nested: ggml's vector flash attention has five (the nsg
    // switch's if-chain, its per-SIMD-group KV loop, a loop over the cache items, `if (NE == 1) ... else`
    // and the `if (NE <= 1)` steps of its else arm); its matrix flash attention more (the loop over key
    // blocks, `if (is_same<...>::value)`, the loops over tiles and `if (DK % 16 != 0)` inside). Each
    // level is one more arm or loop in the split function, not a copy of what it holds: the bound is
    // only a guard on the parser's recursion.
    static constexpr int max_nesting = 12;
    int jump_loop_ = -1; // the mask of the per-thread loop whose body is being parsed, if it is the innermost loop
    mutable std::map<std::string, bool> loop_macros_; // (loop_macro)
    mutable std::map<std::string, bool> program_constants_; // (program_constant)
    std::map<std::string, bool> scope_in_loop_;  // scope names declared inside a loop around split points
    std::map<std::string, std::string> scope_alias_values_; // scope aliases' and constants' values ("" for one declared twice differently)
    std::set<std::string> emitted_scope_;        // scope names emitted so far (emit_list)
    std::set<size_t> allocated_after_scope_;     // replicated variables allocated after their type's scope declarations
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

namespace {
// The kernel's body with the object-like macros it defines expanded at their uses and its
// `#define`/`#undef` lines blanked (body_directives.hpp), appended to the text as the inliner's body
// is; false, with why, when a definition cannot be read that way. `text`/`kernel` unchanged when the
// body defines no macro.
bool expand_body_macros(std::string &text, region_kernel &kernel, std::string &why) {
    std::vector<text_edit> edits;
    if (!body_macro_edits(text, kernel.body_open, kernel.body_close, edits, why)) return false;
    if (edits.empty()) return true;
    const line_map lines(text);
    std::string body = "{" + lines.sync(kernel.body_open + 1);
    size_t pos = kernel.body_open + 1;
    for (const text_edit &e : edits) {
        body.append(text, pos, e.offset - pos);
        body += e.text;
        pos = e.offset + e.length;
        if (e.text.size() != e.length) body += lines.sync(pos);
    }
    body.append(text, pos, kernel.body_close - pos);
    body += lines.sync(kernel.body_close) + "}";
    text += "\n" + body;
    kernel.body_open = text.size() - body.size();
    kernel.body_close = text.size() - 1;
    return true;
}
} // namespace

bool is_simd_group_function(const std::string &name) { return simd_functions().count(name) != 0; }

bool build_region_function(const std::string &translated_text, const region_kernel &kernel, std::string &code, std::string &why,
                           std::string *lane_lines, std::vector<std::string> *probes) {
    std::string translated = translated_text;
    region_kernel k = kernel;
    if (!expand_body_macros(translated, k, why)) return false;
    // (A switch around meetings is rewritten as an if-chain by the inliner: helper_inliner::switch_as_ifs.)
    // (So is a SIMD-group call in another's arguments: hoisted by helper_inliner::hoist_nested_simd_calls.)
    // (And a SIMD-group call in a loop's condition: tested in the loop's body, helper_inliner::loop_header_meeting.)
    bool has_switch = false, has_nested = false, has_loop_condition = false;
    std::vector<bool> headers; // each open parenthesis: whether it opens a for/while header
    int open_headers = 0;
    const std::string body_text = translated.substr(k.body_open, k.body_close - k.body_open);
    const std::vector<token> body_tokens = tokenize_msl(body_text);
    std::vector<int> call_depths; // the parenthesis depth inside each SIMD-group call's arguments
    int depth = 0;
    for (size_t i = 0; i < body_tokens.size(); ++i) {
        const token &t = body_tokens[i];
        const std::string word = body_text.substr(t.offset, t.length);
        if (t.kind == token_kind::identifier && word == "switch") has_switch = true;
        if (word == "(") {
            ++depth;
            const bool header = i > 0 && t.length == 1 && !body_tokens[i - 1].in_directive &&
                                (body_text.compare(body_tokens[i - 1].offset, body_tokens[i - 1].length, "for") == 0 ||
                                 body_text.compare(body_tokens[i - 1].offset, body_tokens[i - 1].length, "while") == 0);
            headers.push_back(header);
            open_headers += header;
        } else if (word == ")") {
            if (!call_depths.empty() && call_depths.back() == depth) call_depths.pop_back();
            --depth;
            if (!headers.empty()) {
                open_headers -= headers.back();
                headers.pop_back();
            }
        } else if (t.kind == token_kind::identifier && simd_functions().count(word) && !k.user_functions.count(word) &&
                   i + 1 < body_tokens.size() && body_text.compare(body_tokens[i + 1].offset, 1, "(") == 0) {
            if (!call_depths.empty()) has_nested = true;
            if (open_headers > 0) has_loop_condition = true;
            call_depths.push_back(depth + 1);
        }
    }
    // A split per instantiation: the arguments its function template parameters are given, appended
    // to the text (the inliner reads them as tokens; nothing compiles them there).
    std::vector<std::pair<std::string, std::pair<size_t, size_t>>> bound;
    for (const auto &a : k.function_arguments) {
        translated += "\n";
        bound.push_back({a.first, {translated.size(), translated.size() + a.second.size()}});
        translated += a.second;
    }
    if (!k.meeting_functions.empty() || has_switch || has_nested || has_loop_condition || !bound.empty()) {
        // Helpers inlined: the splitter reads the new body, appended to the text (it copies pieces of
        // it, under their #line directives, and never compiles the appended body itself).
        helper_inliner inliner(translated, k, bound);
        std::string body;
        const bool inlined = inliner.run(body);
        if (!inliner.probes().empty()) {
            // (Not split until the compiler has said which definitions its objects' types are.)
            if (probes)
                for (const std::string &p : inliner.probes())
                    if (std::find(probes->begin(), probes->end(), p) == probes->end()) probes->push_back(p);
            why = "a call on an object of a class with partial specialisations: which one applies is asked of the compiler first";
            return false;
        }
        if (inlined) {
            const std::string text = translated + "\n" + body;
            region_kernel inlined = k;
            inlined.body_open = translated.size() + 1;
            inlined.body_close = text.size() - 1;
            return split(text, inlined, code, why, lane_lines);
        }
        if (!bound.empty()) {
            why = "the function its instantiation gives '" + bound[0].first + "' could not be inlined";
            return false;
        }
    }
    if (!functor_objects_only_called(body_text, k.functor_types, {})) {
        why = "a functor object whose call operator meets other threads is called where the split cannot inline the call (through "
              "a reference, passed on to a function, or in a helper that cannot be inlined)";
        return false;
    }
    return split(translated, k, code, why, lane_lines);
}

} // namespace detail
} // namespace softmetal
