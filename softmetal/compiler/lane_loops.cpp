#include "compiler/lane_loops.hpp"
#include "compiler/operand_repair.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

#include "compiler/kernel_body_tokens.hpp"
#include "compiler/msl_tokenizer.hpp"

namespace softmetal {
namespace detail {

namespace {

constexpr size_t npos = static_cast<size_t>(-1);

// A statement at the top level of the kernel body.
struct part {
    enum kind_t { plain, hoisted, lanes } kind = plain;
    size_t a = 0, b = 0; // tokens [a, b)
    int region = -1;
    // plain: a declaration `T name = v;` / `T name;` (name_tok != npos).
    size_t name_tok = npos;       // the first declarator's name
    std::vector<size_t> names;    // every declarator's name
    bool simple_decl = false, is_const = false;
    std::string type; // as declared, without top-level const
    // lanes: the loop's pieces (token ranges; npos when absent)
    enum loop_kind { while_loop, do_loop, for_loop } loop = while_loop;
    size_t cond_a = npos, cond_b = npos, init_a = npos, init_b = npos, step_a = npos, step_b = npos;
    size_t body_a = npos, body_b = npos;
    size_t init_name = npos; // for: the variable the init declares
    bool init_const = false;
    std::string init_type;
    bool has_return = false;
};

// A variable with one copy per lane of the chunk.
struct variable {
    std::string name, type;
    bool is_const;
    int region;      // where it is declared
    bool loop_local; // a `for` loop's own variable: visible in that region only
};

struct replacement {
    size_t offset, length;
    std::string text;
};

// Math functions that reach libm (glibc's vector math, libmvec, once vectorized) in every math mode:
// libmvec has 8-lane AVX2 variants only for LLVM 19, so a 16-lane loop calling these would call them
// once per lane. A lane loop calling any of them takes the narrow chunks (SM_LANES_NARROW).
const std::set<std::string> &libm_vector_functions() {
    static const std::set<std::string> s = {"log",   "log2",  "log10", "tan",   "tanpi", "asin",  "acos",   "atan",
                                            "atan2", "sinh",  "cosh",  "tanh",  "asinh", "acosh", "atanh",  "pow",
                                            "powr",  "erf",   "erfc",  "cbrt",  "sincos", "fmod", "log1p",  "expm1",
                                            "hypot", "tgamma", "lgamma"};
    return s;
}

// The functions the prelude writes out itself under fast math (math_functions.inc's SM_MATH_FN:
// target_cpu.h's fast_exp, fast_exp2, fast_sin, fast_cos), which LLVM vectorizes at any width; libm's
// under precise:: and in libraries built without fast math. A lane loop whose vector math is only
// these takes SM_LANES_FAST_MATH: the wide chunks under fast math (Metal's default), the narrow ones
// without it.
const std::set<std::string> &prelude_fast_math_functions() {
    static const std::set<std::string> s = {"exp", "exp2", "exp10", "sin", "cos", "sinpi", "cospi"};
    return s;
}

class lane_builder : kernel_body_tokens {
public:
    lane_builder(const std::string &text, const translated_lines &lines, const region_kernel &k)
        : kernel_body_tokens(text), k_(k), lines_(lines) {}

    bool run(std::string &code, std::string &why, std::string &loop_lines) {
        // Most kernels have no loop at all: a look at the text spares tokenizing them (large libraries).
        const std::string::const_iterator from = s_.begin() + std::ptrdiff_t(k_.body_open), to = s_.begin() + std::ptrdiff_t(k_.body_close);
        bool loop_word = false;
        for (const char *w : {"for", "while", "do"})
            loop_word = loop_word || std::search(from, to, w, w + std::char_traits<char>::length(w)) != to;
        if (!loop_word) {
            why = "no loop at the top level of the kernel body whose trip count may differ between threads";
            return false;
        }
        if (!read_body(k_.body_open, k_.body_close, why)) return false;
        for (size_t i = 0; i < toks_.size(); ++i)
            if (is_lambda(i)) {
                why = "a lambda in the kernel body";
                return false;
            }
        if (!parse(why)) return false;
        find_varying();
        jam_ = interleaves_uniform_loops();
        int lane_loops = 0;
        std::string not_lanes;
        int region = -1;
        bool previous_plain = false;
        for (part &p : parts_) {
            if (p.kind == part::hoisted) continue;
            if (p.kind == part::lanes && !lane_candidate(p, not_lanes)) p.kind = part::plain;
            if (p.kind == part::lanes) {
                ++lane_loops;
                p.region = ++region;
                previous_plain = false;
                loop_lines += (loop_lines.empty() ? "" : ", ") + std::to_string(lines_.line_of(toks_[p.a].offset));
                if (jam_) loop_lines += " (interleaved, not vectorized: vector-typed values)";
            } else {
                if (!previous_plain) ++region;
                p.region = region;
                previous_plain = true;
            }
        }
        if (lane_loops == 0) {
            why = not_lanes.empty() ? "no loop at the top level of the kernel body whose trip count may differ between threads"
                                    : not_lanes;
            return false;
        }
        collect_uses();
        if (!choose_variables(why)) return false;
        emit(code);
        return true;
    }

private:
    // ---- tokens ----
    bool member(size_t i) const { return i > 0 && (is(i - 1, ".") || (is(i - 1, ">") && i > 1 && is(i - 2, "-"))); }
    // `[...](` or `[...]{` where `[` cannot be a subscript: a lambda, whose `return` is not the kernel's.
    bool is_lambda(size_t i) const {
        if (!is(i, "[") || match_[i] == npos) return false;
        const size_t c = match_[i];
        if (!(is(c + 1, "(") || is(c + 1, "{"))) return false;
        return i == 0 || !(is_ident(i - 1) || is(i - 1, ")") || is(i - 1, "]"));
    }
    bool contains(size_t a, size_t b, const char *t) const {
        for (size_t i = a; i < b; ++i)
            if (is(i, t)) return true;
        return false;
    }


    // ---- statements (stmt_end: kernel_body_tokens) ----
    bool parse(std::string &why) {
        for (size_t i = 0; i < toks_.size();) {
            const size_t e = stmt_end(i, toks_.size());
            if (e == npos || e > toks_.size()) {
                why = "cannot parse the statement at token '" + text(i) + "'";
                return false;
            }
            part p;
            p.a = i;
            p.b = e;
            classify(p);
            for (size_t k = p.a; k < p.b; ++k)
                if (is(k, "return")) {
                    if (!is(k + 1, ";")) {
                        why = "'return' with a value in the kernel body";
                        return false;
                    }
                    p.has_return = true;
                }
            parts_.push_back(p);
            i = e;
        }
        return true;
    }

    void classify(part &p) {
        const size_t a = p.a, b = p.b;
        // The translator's threadgroup variables: references into the group's arena, the same for every thread.
        if (is(a, "auto") && is(a + 1, "&") && is_ident(a + 2) && is(a + 3, "=") && is(a + 4, "::") && is(a + 5, "sm") &&
            is(a + 7, "entry") && is(a + 9, "threadgroup_vars")) {
            p.kind = part::hoisted;
            return;
        }
        if (is(a, "while") && is(a + 1, "(")) {
            p.kind = part::lanes;
            p.loop = part::while_loop;
            p.cond_a = a + 2, p.cond_b = match_[a + 1];
            p.body_a = match_[a + 1] + 1, p.body_b = b;
            return;
        }
        if (is(a, "do")) {
            const size_t w = stmt_end(a + 1, b);
            p.kind = part::lanes;
            p.loop = part::do_loop;
            p.body_a = a + 1, p.body_b = w;
            p.cond_a = w + 2, p.cond_b = match_[w + 1];
            return;
        }
        if (is(a, "for") && is(a + 1, "(")) {
            const size_t close = match_[a + 1];
            size_t s1 = npos, s2 = npos;
            for (size_t k = a + 2; k < close; ++k) {
                if (is(k, "(") || is(k, "[") || is(k, "{")) k = match_[k];
                else if (is(k, ";")) (s1 == npos ? s1 : s2) = k;
            }
            if (s1 == npos || s2 == npos) return; // a range-for: plain
            p.kind = part::lanes;
            p.loop = part::for_loop;
            p.init_a = a + 2, p.init_b = s1;
            p.cond_a = s1 + 1, p.cond_b = s2;
            p.step_a = s2 + 1, p.step_b = close;
            p.body_a = close + 1, p.body_b = b;
            if (p.init_a < p.init_b) {
                part d;
                d.a = p.init_a;
                d.b = p.init_b + 1; // with its ';'
                parse_declaration(d);
                if (d.name_tok != npos) {
                    p.init_name = d.name_tok;
                    p.init_const = d.is_const;
                    p.init_type = d.simple_decl && d.names.size() == 1 ? d.type : std::string();
                }
            }
            return;
        }
        parse_declaration(p);
    }

    // `T name = v;`, `T a = v, b;`: where the names are and whether one copy per lane can hold them.
    void parse_declaration(part &p) {
        static const std::set<std::string> keywords = {"return", "goto", "delete", "throw", "case", "default", "else", "typedef",
                                                       "using",  "if",   "for",    "while", "do",   "switch",  "break", "continue",
                                                       "sizeof", "static_assert"};
        const size_t a = p.a, b = p.b;
        if (keywords.count(text(a))) return;
        const declaration_head head = head_of_declaration(a, b);
        const size_t i = head.name;
        if (i == none || (is(i + 1, "=") && is(i + 2, "="))) return;
        const bool is_static = head.has_static, is_auto = head.has_auto;
        if (head.has_constexpr) p.is_const = true;
        p.name_tok = i;
        // The declarators: `name [= init]`, separated by top-level commas.
        bool plain_declarators = true;
        for (size_t k = i; k < b;) {
            if (!is_ident(k)) {
                plain_declarators = false;
                break;
            }
            p.names.push_back(k);
            ++k;
            if (is(k, "=")) {
                ++k;
                while (k < b && !is(k, ",") && !is(k, ";")) k = (is(k, "(") || is(k, "[") || is(k, "{")) ? match_[k] + 1 : k + 1;
            }
            if (is(k, ";") && k + 1 == b) break;
            if (!is(k, ",")) {
                plain_declarators = false;
                break;
            }
            ++k;
        }
        bool has_ref = false, has_ptr = false;
        for (size_t k = a; k < i; ++k) {
            if (is(k, "&")) has_ref = true;
            if (is(k, "*")) has_ptr = true;
        }
        size_t last_star = a;
        for (size_t k = a; k < i; ++k)
            if (is(k, "*")) last_star = k;
        for (size_t k = a; k < i; ++k) {
            if (is(k, "static") || is(k, "constexpr")) continue;
            if ((is(k, "const") || is(k, "volatile")) && (!has_ptr || k > last_star)) {
                if (is(k, "const")) p.is_const = true;
                continue;
            }
            p.type += (p.type.empty() ? "" : " ") + text(k);
        }
        p.simple_decl = !is_static && !is_auto && !has_ref && plain_declarators;
    }

    // ---- which loops run as lanes ----
    // An assignment or increment of the identifier at `i`.
    bool assigned_at(size_t i) const {
        if (member(i)) return false;
        if ((is(i + 1, "+") && is(i + 2, "+")) || (is(i + 1, "-") && is(i + 2, "-"))) return true;
        if (i >= 2 && ((is(i - 1, "+") && is(i - 2, "+")) || (is(i - 1, "-") && is(i - 2, "-")))) return true;
        if (is(i + 1, "=") && !is(i + 2, "=")) return true;
        static const char *ops[] = {"+", "-", "*", "/", "%", "&", "|", "^"};
        for (const char *op : ops)
            if (is(i + 1, op) && is(i + 2, "=") && !is(i + 3, "=")) return true;
        if ((is(i + 1, "<") && is(i + 2, "<") && is(i + 3, "=")) || (is(i + 1, ">") && is(i + 2, ">") && is(i + 3, "="))) return true;
        return false;
    }
    // The names whose value may differ between threads: the position parameters, every variable the
    // body assigns, and the top-level declarations except constants made of uniform values.
    void find_varying() {
        for (const auto &pos : k_.positions) varying_.insert(pos.first);
        for (size_t i = 0; i < toks_.size(); ++i)
            if (is_ident(i) && assigned_at(i)) varying_.insert(text(i));
        for (const part &p : parts_) {
            if (p.kind != part::plain || p.name_tok == npos) continue;
            const bool uniform = p.is_const && p.names.size() == 1 && is(p.name_tok + 1, "=") && !mentions_varying(p.name_tok + 2, p.b);
            if (!uniform)
                for (size_t n : p.names.empty() ? std::vector<size_t>{p.name_tok} : p.names) varying_.insert(text(n));
        }
    }
    bool mentions_varying(size_t a, size_t b) const {
        for (size_t i = a; i < b; ++i)
            if (is_ident(i) && !member(i) && varying_.count(text(i))) return true;
        return false;
    }
    // A counted loop every thread runs alike: `for (T i = A; i < B; ++i)` (or <=, >, >=, !=; i++, --i,
    // i--, i += C, i -= C) with A, B, C made of uniform values, and no break, return or goto, nor a change
    // of i, in the body. LLVM's outer-loop vectorizer takes those as they are.
    bool uniform_counted_loop(const part &p) const {
        if (p.loop != part::for_loop || p.init_name == npos) return false;
        const size_t i = p.init_name;
        const std::string v = text(i);
        if (!is(i + 1, "=") || mentions_varying(i + 2, p.init_b)) return false;
        // condition
        size_t c = p.cond_a;
        if (!is_ident(c) || text(c) != v) return false;
        ++c;
        if (is(c, "!")) {
            if (!is(c + 1, "=")) return false;
            c += 2;
        } else if (is(c, "<") || is(c, ">")) {
            if (is(c + 1, "<") || is(c + 1, ">")) return false;
            c += is(c + 1, "=") ? 2 : 1;
        } else {
            return false;
        }
        if (c >= p.cond_b || mentions_varying(c, p.cond_b)) return false;
        for (size_t k = c; k < p.cond_b; ++k)
            if (is_ident(k) && text(k) == v) return false;
        // step
        const size_t s = p.step_a, n = p.step_b - p.step_a;
        const bool incr = (n == 3 && ((is(s, "+") && is(s + 1, "+")) || (is(s, "-") && is(s + 1, "-"))) && text(s + 2) == v) ||
                          (n == 3 && text(s) == v && ((is(s + 1, "+") && is(s + 2, "+")) || (is(s + 1, "-") && is(s + 2, "-"))));
        const bool add = n >= 4 && text(s) == v && (is(s + 1, "+") || is(s + 1, "-")) && is(s + 2, "=") &&
                         !mentions_varying(s + 3, p.step_b);
        if (!incr && !add) return false;
        for (size_t k = p.body_a; k < p.body_b; ++k) {
            if (is(k, "break") || is(k, "return") || is(k, "goto")) return false;
            if (is_ident(k) && text(k) == v && assigned_at(k)) return false;
        }
        return true;
    }
    // Whether the body names a vector type (float4, half2, packed_float3, vec<T, N>): LLVM's vectorizers
    // take no vector-typed value across threads (the outer-loop path refuses "instruction return type
    // cannot be vectorized"), so a counted loop over such values runs one thread at a time.
    bool names_vector_type() const {
        static const std::set<std::string> scalars = {"float", "half", "bfloat", "int", "uint", "short", "ushort",
                                                      "char", "uchar", "bool", "long", "ulong"};
        for (size_t i = 0; i < toks_.size(); ++i) {
            if (!is_ident(i) || member(i)) continue;
            const std::string t = text(i);
            if (t == "vec" || t.compare(0, 7, "packed_") == 0) return true;
            if (t.size() < 2 || t.back() < '2' || t.back() > '4') continue;
            if (scalars.count(t.substr(0, t.size() - 1))) return true;
        }
        return false;
    }
    // Interleaved lanes (jam_): a kernel whose only loops at the top level are counted loops every thread
    // runs alike, over vector-typed values. Those stay scalar on the plain thread loop, one thread's
    // loop after another's: a chain of dependent FMAs per accumulator, and (SGEMM with float4 register
    // blocks) a column of B walked by each thread alone, at a stride that keeps no line in cache for the
    // next thread. As lanes, the chunk's threads take each iteration side by side (SM_LANES_JAM, a lane
    // loop LLVM unrolls whole instead of vectorizing): their loads of one B row are adjacent, their
    // identical loads of A are one, and their accumulators independent chains (issue #13: 4x4 float4
    // SGEMM 1024, one core, 10 -> 35 GFLOP/s). Bodies are copied once per lane, so only short ones.
    bool interleaves_uniform_loops() const {
        constexpr size_t most_tokens = 400;
        bool uniform = false;
        for (const part &p : parts_) {
            if (p.kind != part::lanes) continue;
            if (!uniform_counted_loop(p) || p.body_b - p.body_a > most_tokens) return false;
            uniform = true;
        }
        return uniform && names_vector_type();
    }
    bool lane_candidate(const part &p, std::string &why) {
        const int line = lines_.line_of(toks_[p.a].offset);
        if (uniform_counted_loop(p) && !jam_) {
            if (why.empty()) why = "the loop at line " + std::to_string(line) + " runs the same number of times in every thread";
            return false;
        }
        for (size_t k = p.body_a; k < p.body_b; ++k)
            if (is(k, "for") || is(k, "while") || is(k, "do") || is(k, "switch") || is(k, "goto")) {
                why = "the loop at line " + std::to_string(line) + " has a '" + text(k) + "' in its body";
                return false;
            }
        if (p.cond_a >= p.cond_b && p.loop != part::for_loop) {
            why = "the loop at line " + std::to_string(line) + " has no condition";
            return false;
        }
        if (p.loop == part::for_loop && p.init_a < p.init_b && p.init_name != npos && p.init_type.empty()) {
            why = "the loop at line " + std::to_string(line) + " declares its variable in a form with no per-lane copy";
            return false;
        }
        return true;
    }

    // ---- variables ----
    void collect_uses() {
        for (const part &p : parts_) {
            if (p.kind == part::hoisted) continue;
            for (size_t i = p.a; i < p.b; ++i)
                if (is_ident(i) && !member(i)) uses_[text(i)].insert(p.region);
        }
    }
    bool used_in(const std::string &name, int region) const {
        auto it = uses_.find(name);
        return it != uses_.end() && it->second.count(region);
    }
    bool choose_variables(std::string &why) {
        if (!copy_changed_parameters(why)) return false;
        for (const part &p : parts_) {
            if (p.kind == part::lanes && p.loop == part::for_loop && p.init_name != npos) {
                if (address_taken(text(p.init_name))) {
                    why = "the address of the loop variable '" + text(p.init_name) + "' is taken";
                    return false;
                }
                vars_.push_back({text(p.init_name), p.init_type, p.init_const, p.region, true});
                continue;
            }
            if (p.kind != part::plain || p.name_tok == npos) continue;
            // A declaration whose variables any other part uses: all of them get copies (the
            // declaration becomes assignments to them).
            bool elsewhere = false;
            for (size_t t : p.names) {
                auto it = uses_.find(text(t));
                if (it != uses_.end())
                    for (int r : it->second) elsewhere = elsewhere || r != p.region;
            }
            if (!elsewhere) continue;
            const std::string name = text(p.name_tok);
            const std::string line = std::to_string(lines_.line_of(toks_[p.name_tok].offset));
            if (!p.simple_decl) {
                why = "the variable '" + name + "' (line " + line +
                      ") lives across a loop that could run as lanes, and is not declared as `T name = value, ...;`";
                return false;
            }
            decl_var_[&p] = vars_.size();
            for (size_t t : p.names) {
                if (address_taken(text(t))) {
                    why = "the address of the variable '" + text(t) + "' is taken, and it lives across a loop that could run as lanes";
                    return false;
                }
                vars_.push_back({text(t), p.type, p.is_const, p.region, false});
            }
        }
        return true;
    }
    // A parameter the body changes (`x += gid * 4;`) is each thread's own in Metal; here the parameters
    // belong to the group, so it gets one copy per lane, set from the argument when a chunk starts
    // (emit_chunks) and visible in every region. A changed position keeps the plain thread loop, and a
    // body that also declares the name the lane form (which of the two a change means is not told).
    bool copy_changed_parameters(std::string &why) {
        std::set<std::string> changed;
        for (size_t i = 0; i < toks_.size(); ++i)
            if (is_ident(i) && !member(i) && assigned_at(i)) changed.insert(text(i));
        for (const parameter &param : parameters(k_.params_open, k_.params_close)) {
            // (A `device T &` parameter changed is memory written, the same for every thread.)
            const std::string &name = param.name;
            if (!changed.count(name) || param.memory_reference) continue;
            for (const auto &pos : k_.positions)
                if (pos.first == name) {
                    why = "the kernel changes its parameter '" + name + "', a position of the thread";
                    return false;
                }
            for (const part &p : parts_)
                for (size_t t : p.names)
                    if (text(t) == name) {
                        why = "the kernel changes its parameter '" + name + "' and declares a variable of that name";
                        return false;
                    }
            parameter_vars_.push_back(vars_.size());
            vars_.push_back({name, "::sm::regions::deduced_value_t<decltype(" + name + ")>", false, -1, false});
        }
        return true;
    }
    // The per-lane variables a region sees, by name (a loop's own variable hides an outer one).
    std::vector<size_t> visible(int region) const {
        std::map<std::string, size_t> by_name;
        for (size_t i = 0; i < vars_.size(); ++i) {
            const variable &v = vars_[i];
            if (v.loop_local ? v.region == region : v.region <= region) by_name[v.name] = i;
        }
        std::vector<size_t> out;
        for (const auto &e : by_name)
            if (used_in(e.first, region)) out.push_back(e.second);
        return out;
    }

    // ---- output ----
    std::string copy(size_t from, size_t to, std::vector<replacement> reps = {}) const {
        std::sort(reps.begin(), reps.end(), [](const replacement &x, const replacement &y) { return x.offset < y.offset; });
        std::string out = lines_.sync(from);
        size_t pos = from;
        for (const replacement &r : reps) {
            out.append(s_, pos, r.offset - pos);
            out += r.text;
            pos = r.offset + r.length;
            if (r.text.size() != r.length) out += lines_.sync(pos);
        }
        out.append(s_, pos, to - pos);
        return out + "\n#line 1 \"softmetal_generated\"\n";
    }
    // `keyword ;` -> `text` (both tokens, so `if (c) break; else ...` stays one statement).
    void jumps(size_t a, size_t b, const char *keyword, const std::string &with, std::vector<replacement> &reps) const {
        for (size_t i = a; i < b; ++i)
            if (is(i, keyword) && is(i + 1, ";")) reps.push_back({toks_[i].offset, end_of(i + 1) - toks_[i].offset, with});
    }
    // The lane's position parameters, for the thread at (sm_x, sm_y, sm_z).
    std::string positions(int region) const {
        std::string out;
        bool any = false;
        for (const auto &p : k_.positions)
            if (used_in(p.first, region)) any = true;
        if (!any) return out;
        out += "const ::sm::entry::thread_ctx sm_c = ::sm::entry::thread_at(sm_group_ptr, sm_x0 + sm_l, sm_y, sm_z);\n";
        for (const auto &p : k_.positions)
            if (used_in(p.first, region))
                out += "sm_ty_" + p.first + " " + p.first + " = ::sm::entry::sm_position<::sm::entry::attr::" + p.second +
                       ">::template get<sm_ty_" + p.first + ">(sm_c);\n";
        return out;
    }
    std::string load(const std::vector<size_t> &vars, int region) const {
        std::string out;
        for (size_t i : vars) {
            const variable &v = vars_[i];
            const bool read_only = v.is_const && !(v.region == region);
            out += v.type + (read_only ? " const " : " ") + v.name + " = sm_rep" + std::to_string(i) + "[sm_l];\n";
        }
        return out;
    }
    std::string store(const std::vector<size_t> &vars, int region) const {
        std::string out;
        for (size_t i : vars) {
            const variable &v = vars_[i];
            if (!v.is_const || v.region == region) out += "sm_rep" + std::to_string(i) + "[sm_l] = " + v.name + ";\n";
        }
        return out;
    }
    std::string loop_pragma() const { return "SM_LANE_LOOP_" + chunk_ + "\n"; }
    std::string lane_loop() const { return loop_pragma() + "for (unsigned sm_l = 0; sm_l < sm_lanes; ++sm_l) {\n"; }

    // Statements outside lane loops: once per live lane (masked), `return` ends the lane.
    void emit_plain(const std::vector<const part *> &list, std::string &out) {
        if (list.empty()) return;
        const int r = list.front()->region;
        const std::string end = "sm_end" + std::to_string(labels_++);
        const std::vector<size_t> vars = visible(r);
        out += lane_loop() + "if (!sm_on[sm_l]) continue;\n" + positions(r) + load(vars, r) + "{\n";
        for (const part *p : list) {
            std::vector<replacement> reps;
            auto it = decl_var_.find(p);
            if (it != decl_var_.end()) { // `T name = v;` -> `name = v;` on the lane's copy (same columns)
                const size_t from = toks_[p->a].offset, to = toks_[p->name_tok].offset;
                reps.push_back({from, to - from, blank(from, to)});
            }
            jumps(p->a, p->b, "return", "{ sm_on[sm_l] = 0u; goto " + end + "; }", reps);
            out += copy(toks_[p->a].offset, end_of(p->b - 1), reps);
        }
        out += "}\n" + store(vars, r) + end + ":;\n}\n";
    }

    // A loop whose trip count differs per lane: while any lane of the chunk is in it, one iteration of
    // every lane, each masked by its own flag. The lane loop loads and stores every variable whole
    // (no masks), so LLVM keeps them in registers across the iterations.
    void emit_lanes(const part &p, std::string &out) {
        const int r = p.region;
        const std::string n = std::to_string(labels_++);
        const std::vector<size_t> vars = visible(r);
        out += "{\n";
        // Entering: every live lane, and a `for` loop's initialisation.
        out += lane_loop() + "sm_in[sm_l] = sm_on[sm_l];\n";
        if (p.loop == part::for_loop && p.init_a < p.init_b) {
            std::vector<replacement> reps;
            if (p.init_name != npos) { // `T i = A` -> `i = A` on the lane's copy
                const size_t from = toks_[p.init_a].offset, to = toks_[p.init_name].offset;
                reps.push_back({from, to - from, blank(from, to)});
            }
            out += "if (sm_on[sm_l]) {\n" + positions(r) + load(vars, r) + "{\n" +
                   copy(toks_[p.init_a].offset, end_of(p.init_b - 1), reps) + ";\n}\n" + store(vars, r) + "}\n";
        }
        out += "}\n";
        out += "for (;;) {\nunsigned sm_any = 0u;\n" + lane_loop() + "unsigned sm_active = sm_in[sm_l];\n";
        if (p.has_return) out += "unsigned sm_alive = sm_on[sm_l];\n";
        out += positions(r) + load(vars, r) + "if (sm_active) {\n";
        const std::string leave = "{ sm_active = 0u; goto sm_wb" + n + "; }";
        if (p.loop != part::do_loop && p.cond_a < p.cond_b)
            out += "if (!(" + copy(toks_[p.cond_a].offset, end_of(p.cond_b - 1)) + ")) " + leave + "\n";
        std::vector<replacement> reps;
        jumps(p.body_a, p.body_b, "break", leave, reps);
        jumps(p.body_a, p.body_b, "continue", "goto sm_cont" + n + ";", reps);
        jumps(p.body_a, p.body_b, "return", "{ sm_active = 0u; sm_alive = 0u; goto sm_wb" + n + "; }", reps);
        out += "{\n" + copy(toks_[p.body_a].offset, end_of(p.body_b - 1), reps) + "}\n";
        out += "sm_cont" + n + ":;\n";
        if (p.loop == part::for_loop && p.step_a < p.step_b) out += copy(toks_[p.step_a].offset, end_of(p.step_b - 1)) + ";\n";
        if (p.loop == part::do_loop)
            out += "if (!(" + copy(toks_[p.cond_a].offset, end_of(p.cond_b - 1)) + ")) sm_active = 0u;\n";
        out += "}\nsm_wb" + n + ":;\n" + store(vars, r) + "sm_in[sm_l] = sm_active;\n";
        if (p.has_return) out += "sm_on[sm_l] = sm_alive;\n";
        out += "sm_any |= sm_active;\n}\nif (!sm_any) break;\n}\n}\n";
    }

    void emit(std::string &out) {
        for (size_t i = 0; i + 1 < toks_.size(); ++i) {
            if (!is_ident(i) || !is(i + 1, "(") || member(i)) continue;
            if (libm_vector_functions().count(text(i))) narrow_ = true;
            else if (prelude_fast_math_functions().count(text(i))) {
                // `precise::exp` (also `metal::precise::exp`) is libm's in every math mode.
                if (i > 1 && is(i - 1, "::") && is(i - 2, "precise")) narrow_ = true;
                else fast_math_ = true;
            }
        }
        // The user's code is here a second time: its warnings were reported for the kernel itself.
        out += "\n#line 1 \"softmetal_generated\"\n#pragma clang diagnostic push\n#pragma clang diagnostic ignored \"-Weverything\"\n";
        if (!k_.template_header.empty()) out += k_.template_header + "\n";
        out += "static void sm_regions_" + k_.name;
        const std::string params = s_.substr(k_.params_open + 1, k_.params_close - k_.params_open - 1);
        const size_t first = params.find_first_not_of(" \t\n");
        const bool none = first == std::string::npos || params.compare(first, 4, "void") == 0;
        out += "(" + (none ? std::string() : params + ", ") + "const sm_group *sm_group_ptr) {\n#line 1 \"softmetal_generated\"\n";
        for (const auto &p : k_.positions) out += "using sm_ty_" + p.first + " = decltype(" + p.first + ");\n";
        out += "const sm_size3 sm_size = sm_group_ptr->size;\n";
        for (const part &p : parts_)
            if (p.kind == part::hoisted) out += copy(toks_[p.a].offset, end_of(p.b - 1));
        // Groups at least as wide as the small chunk get the big one (two registers per variable).
        const std::string kind = jam_ ? "JAM" : narrow_ ? "NARROW" : fast_math_ ? "FAST_MATH" : "WIDE";
        out += "if (sm_size.x > SM_LANES_" + kind + "_SMALL) {\n";
        chunk_ = kind;
        emit_chunks(out);
        out += "} else {\n";
        chunk_ = kind + "_SMALL";
        emit_chunks(out);
        out += "}\n}\n#pragma clang diagnostic pop\n";
    }

    // The group in chunks of sm_lanes threads along x (consecutive threads, so
    // `buffer[thread_position_in_grid]` stays contiguous).
    void emit_chunks(std::string &out) {
        out += "constexpr unsigned sm_lanes = SM_LANES_" + chunk_ + ";\n"
               "for (unsigned sm_z = 0; sm_z < sm_size.z; ++sm_z)\n"
               "for (unsigned sm_y = 0; sm_y < sm_size.y; ++sm_y)\n"
               "for (unsigned sm_x0 = 0; sm_x0 < sm_size.x; sm_x0 += sm_lanes) {\n"
               "unsigned sm_on[sm_lanes]; // a thread of the group that has not returned\n"
               "unsigned sm_in[sm_lanes]; // in the loop being run\n"
               "(void)sm_in;\n";
        for (size_t i = 0; i < vars_.size(); ++i) out += vars_[i].type + " sm_rep" + std::to_string(i) + "[sm_lanes] = {};\n";
        out += lane_loop() + "sm_on[sm_l] = sm_x0 + sm_l < sm_size.x ? 1u : 0u;\n";
        for (size_t i : parameter_vars_) out += "sm_rep" + std::to_string(i) + "[sm_l] = " + vars_[i].name + ";\n";
        out += "}\n";
        std::vector<const part *> plain;
        for (const part &p : parts_) {
            if (p.kind == part::hoisted) continue;
            if (p.kind == part::plain) {
                plain.push_back(&p);
                continue;
            }
            emit_plain(plain, out);
            plain.clear();
            emit_lanes(p, out);
        }
        emit_plain(plain, out);
        out += "}\n";
    }

    const region_kernel &k_;
    const translated_lines &lines_;
    std::vector<part> parts_;
    std::set<std::string> varying_;
    std::map<std::string, std::set<int>> uses_;
    std::vector<variable> vars_;
    std::map<const part *, size_t> decl_var_;
    std::vector<size_t> parameter_vars_; // vars_ of the parameters the body changes (copy_changed_parameters)
    int labels_ = 0;
    bool narrow_ = false;    // calls libm's vector math (libm_vector_functions)
    bool fast_math_ = false; // calls only the prelude's fast-math functions (prelude_fast_math_functions)
    bool jam_ = false; // counted loops over vector-typed values, as interleaved lanes (interleaves_uniform_loops)
    std::string chunk_; // which SM_LANES_* the chunk being written uses
};

} // namespace

bool lane_loops_enabled() {
    const char *v = std::getenv("SOFTMETAL_LANES");
    return !(v && std::string(v) == "0");
}

translated_lines::translated_lines(const std::string &s) {
    std::string file = "program_source";
    int line = 1;
    for (size_t p = 0; p <= s.size();) {
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
            const size_t a = s.find('"', q), b = a == std::string::npos ? a : s.find('"', a + 1);
            if (a < e && b < e) file = s.substr(a + 1, b - a - 1);
            line = n;
        }
        p = e + 1;
    }
}

size_t translated_lines::intern(const std::string &f) {
    for (size_t i = 0; i < names_.size(); ++i)
        if (names_[i] == f) return i;
    names_.push_back(f);
    return names_.size() - 1;
}

std::string line_sync(int line, const std::string &file, size_t column) {
    constexpr size_t max_padded_column = 160;
    return "\n#line " + std::to_string(line) + " \"" + file + "\"\n" +
           (column <= max_padded_column ? std::string(column, ' ') : std::string(columns_not_kept) + " ");
}

std::string translated_lines::sync(size_t off) const {
    const size_t i = size_t(std::upper_bound(starts_.begin(), starts_.end(), off) - starts_.begin()) - 1;
    return line_sync(lines_[i], names_[files_[i]], off - starts_[i]);
}

int translated_lines::line_of(size_t off) const {
    return lines_[size_t(std::upper_bound(starts_.begin(), starts_.end(), off) - starts_.begin()) - 1];
}

bool build_lane_function(const std::string &translated, const translated_lines &where, const region_kernel &k, std::string &code,
                         std::string &why, std::string &lines) {
    lane_builder b(translated, where, k);
    std::string out;
    if (!b.run(out, why, lines)) return false;
    code = std::move(out);
    return true;
}

} // namespace detail
} // namespace softmetal
