#include "compiler/msl_translator.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include "compiler/barrier_regions.hpp"
#include "compiler/body_directives.hpp"
#include "compiler/clang_driver.hpp"
#include "compiler/lane_loops.hpp"
#include "compiler/msl_conversions.hpp"
#include "compiler/msl_confinement.hpp"
#include "compiler/msl_tokenizer.hpp"
#include "compiler/msl_preprocessor.hpp"

namespace softmetal {
namespace detail {

namespace {

constexpr size_t npos = static_cast<size_t>(-1);

struct edit {
    size_t offset;
    size_t length;
    std::string text;
    bool in_directive = false; // cannot be followed by a #line (the directive would end)
    bool synced = false;       // the text already ends with its own #line resynchronisation
    size_t duplicate = 0;      // 1 + index into duplicates_: the text is made by apply_edits (a twin constructor)
};

// A declaration whose translated text is repeated right after it, with one keyword blanked (a
// `thread` constructor's generic twin). Offsets into the source; lines and columns for resyncs.
struct duplicated_declaration {
    size_t begin, blanked, last; // the first token, the keyword to blank, the last token
    size_t blanked_length;
    int line, column;            // of the first token
    int after_line, after_column; // just after the last token
    std::vector<std::pair<size_t, std::string>> insertions; // text put before a token of the copy (by source offset)
};

// Text that makes clang's idea of "where we are" match the user's source again after an edit that
// changed the length of a line: a newline, a #line directive, and spaces up to the column.
std::string resync(int line, int column) {
    return "\n#line " + std::to_string(line) + " \"program_source\"\n" + std::string(size_t(column > 0 ? column - 1 : 0), ' ');
}

struct threadgroup_decl {
    int line, column;     // where the declared type starts
    std::string text;     // "float tile[16][16];" as the user wrote it
};

// What the straight-line bound (sm_kernel_info::straight_line_tokens) needs of one body (a kernel's, a
// function's or a type's): its tokens, how often it names each identifier (a call runs its callee once
// per mention), and whether it holds anything whose running time its size does not bound: a loop or
// `goto`, a lambda (it may call itself through a parameter), a function pointer (a call the names do
// not show), a function defined inside it (a member function calls its siblings by names that are no
// items of their own, so recursion through them would go unseen).
struct straight_facts {
    uint64_t tokens = 0;
    std::map<std::string, uint64_t> names;
    bool unbounded = false;
};

struct kernel_def {
    std::string name;
    std::string host_name;             // [[host_name("x")]] on the definition: the exported name
    std::string scope;                 // "::ns::" prefix (just "::" at global scope)
    bool is_template = false;
    std::string template_params;       // text inside template<...>
    std::string template_args;         // "T, N": the parameters' names, to name the struct
    std::vector<std::string> bindings; // one C++ binding type per parameter (plus the group)
    bool has_threadgroup_vars = false;
    std::set<std::string> refs;        // identifiers in the body
    std::set<std::string> param_refs;  // identifiers in the parameter list (`[[function_constant(x)]]`)
    std::vector<std::string> parameter_names; // per parameter, for reflection ("" when unnamed)
    std::vector<bool> read_only;              // per parameter: const or constant
    int line = 0, column = 0;
    // For barrier_regions: position parameters (name -> kernel_entry.h attr), and where the
    // parameter list's parentheses and the body's braces are in the user's source.
    std::vector<std::pair<std::string, std::string>> positions;
    size_t params_open = npos, params_close = npos, body_open = npos, body_close = npos;
    bool regions = false; // run_group comes from the generated sm_regions_<name>
    int regions_id = -1;  // that function's guard (kernel_table): its place among the split functions
    size_t regions_bytes = 0; // that function's text
    // Split once per instantiation instead (translator::function_instances): by the instantiation's
    // template arguments, its function's guard and text size (in namespace sm_instance_<guard>).
    std::map<std::string, std::pair<int, size_t>> instance_regions;
    int overload = 0;     // which definition of a kernel template of this name (0: the first)
    std::string tg_name;  // its threadgroup-variable struct (sm_tg_<name>, numbered for overloads)
    straight_facts straight; // its body's size and names, for the straight-line bound (straight_line_tokens)
};

// Shader validation: an explicit instantiation's parameters as written (`device float* in, ...`) with
// the pointer parameters in the checked form the kernel's own parameters were rewritten to, so that
// the declaration made of them still names the kernel's specialisation. The same shapes as
// check_pointer_parameter: a pointer in device, constant or threadgroup memory, one `*`, then the name.
std::string checked_signature(const std::string &signature) {
    const std::vector<token> toks = tokenize_msl(signature);
    auto text = [&](size_t i) { return signature.substr(toks[i].offset, toks[i].length); };
    std::string out;
    size_t copied = 0;
    size_t start = 0;
    int depth = 0;
    for (size_t i = 0; i <= toks.size(); ++i) {
        const std::string t = i < toks.size() ? text(i) : ",";
        if (t == "(" || t == "<" || t == "[" || t == "{") ++depth;
        else if (t == ")" || t == ">" || t == "]" || t == "}") --depth;
        else if (t == ">>") depth -= 2;
        if (!(t == "," && depth == 0)) continue;
        // One parameter: tokens [start, i).
        size_t first = start < i && text(start) == "const" ? start + 1 : start, star = SIZE_MAX, name = SIZE_MAX;
        int stars = 0, d = 0;
        for (size_t q = start; q < i; ++q) {
            const std::string u = text(q);
            if (u == "[" && q + 1 < i && text(q + 1) == "[") break;
            if (u == "<" || u == "(") ++d;
            else if (u == ">" || u == ")") --d;
            else if (d == 0 && u == "*") ++stars, star = q;
            else if (d == 0 && toks[q].kind == token_kind::identifier) name = q;
        }
        bool ok = first < i && (text(first) == "device" || text(first) == "constant" || text(first) == "threadgroup") &&
                  stars == 1 && name != SIZE_MAX && name > star;
        for (size_t q = star + 1; ok && q < name; ++q) ok = text(q) == "const";
        if (ok) {
            out += signature.substr(copied, toks[start].offset - copied) + "::sm::checked<" +
                   signature.substr(toks[start].offset, toks[star].offset - toks[start].offset) + ">";
            copied = toks[star].offset + 1;
        }
        start = i + 1;
    }
    return out + signature.substr(copied);
}

struct instantiation {
    std::string kernel, args, host_name;
    std::string signature; // `k(params);` with the template arguments deduced: the parameters as written
    int line, column;
};

// MSL attribute names that are positions the executor provides, mapped to kernel_entry.h's enum.
const std::map<std::string, std::string> &position_attributes() {
    static const std::map<std::string, std::string> m = {
        {"thread_position_in_grid", "thread_position_in_grid"},
        {"thread_position_in_threadgroup", "thread_position_in_threadgroup"},
        {"threadgroup_position_in_grid", "threadgroup_position_in_grid"},
        {"threads_per_threadgroup", "threads_per_threadgroup"},
        {"threadgroups_per_grid", "threadgroups_per_grid"},
        {"threads_per_grid", "threads_per_grid"},
        {"grid_size", "threads_per_grid"},
        {"grid_origin", "grid_origin"},
        {"thread_index_in_threadgroup", "thread_index_in_threadgroup"},
        {"thread_index_in_simdgroup", "thread_index_in_simdgroup"},
        {"simdgroup_index_in_threadgroup", "simdgroup_index_in_threadgroup"},
        {"threads_per_simdgroup", "threads_per_simdgroup"},
        {"thread_execution_width", "threads_per_simdgroup"},
        {"simdgroups_per_threadgroup", "simdgroups_per_threadgroup"},
        // The dispatch_ forms count the threads of this (possibly partial) group, which is what the
        // plain forms give here too: groups are never padded.
        {"dispatch_simdgroups_per_threadgroup", "simdgroups_per_threadgroup"},
        {"dispatch_threads_per_threadgroup", "threads_per_threadgroup"},
        {"thread_index_in_quadgroup", "thread_index_in_quadgroup"},
        {"quadgroup_index_in_threadgroup", "quadgroup_index_in_threadgroup"},
        {"quadgroups_per_threadgroup", "quadgroups_per_threadgroup"},
        {"dispatch_quadgroups_per_threadgroup", "quadgroups_per_threadgroup"},
    };
    return m;
}

bool is_standard_attribute(const std::string &name) {
    static const std::set<std::string> s = {"likely", "unlikely", "maybe_unused", "fallthrough", "nodiscard", "noreturn",
                                            "deprecated", "clang", "gnu"};
    return s.count(name) != 0;
}

uint64_t mtl_data_type_of(const std::string &type) {
    static const std::map<std::string, uint64_t> m = {
        {"float", 3},   {"float2", 4},  {"float3", 5},  {"float4", 6},  {"half", 16},   {"half2", 17},  {"half3", 18},
        {"half4", 19},  {"int", 29},    {"int2", 30},   {"int3", 31},   {"int4", 32},   {"uint", 33},   {"uint2", 34},
        {"uint3", 35},  {"uint4", 36},  {"short", 37},  {"short2", 38}, {"short3", 39}, {"short4", 40}, {"ushort", 41},
        {"ushort2", 42}, {"ushort3", 43}, {"ushort4", 44}, {"char", 45}, {"char2", 46}, {"char3", 47}, {"char4", 48},
        {"uchar", 49},  {"uchar2", 50}, {"uchar3", 51}, {"uchar4", 52}, {"bool", 53},   {"bool2", 54},  {"bool3", 55},
        {"bool4", 56},  {"long", 81},   {"ulong", 85},
    };
    auto it = m.find(type);
    return it == m.end() ? 0 : it->second;
}

// Spaces for everything but line ends, and the backslashes that continue a directive's line.
std::string blank(const std::string &s) {
    std::string r = s;
    for (size_t i = 0; i < r.size(); ++i) {
        size_t next = r.find_first_not_of(" \t\r", i + 1);
        bool continuation = r[i] == '\\' && next != std::string::npos && r[next] == '\n';
        if (r[i] != '\n' && !continuation) r[i] = ' ';
    }
    return r;
}

// `s` as the inside of a C string literal (identifiers and '\n' only, here).
std::string c_string_body(const std::string &s) {
    std::string r;
    for (char c : s) r += c == '\n' ? std::string("\\n") : std::string(1, c);
    return r;
}

std::string newlines_of(const std::string &s) { return std::string(std::count(s.begin(), s.end(), '\n'), '\n'); }

// Where the rewrite pass put a kernel's threadgroup variables and whether it split it at barriers,
// by the kernel's qualified name: what the kernel table needs from the user's own text.
struct rewritten_kernel {
    bool has_threadgroup_vars = false;
    bool regions = false;
    int regions_id = -1; // its split function's guard, SM_REGIONS_<id> (kernel_table)
    size_t regions_bytes = 0; // its split function's text
    std::map<std::string, std::pair<int, size_t>> instance_regions; // kernel_def::instance_regions
};

// One class, two passes over two texts:
//  - analysis reads clang's preprocessed output (every kernel, even those a macro defines) and
//    decides what the library contains: kernels, instantiations, function constants, bindings;
//  - rewrite edits the user's own text for clang (threadgroup variables, function constant values,
//    attributes clang rejects), so diagnostics keep the user's lines and columns.
enum class pass { analysis, rewrite };

class translator {
public:
    translator(const std::string &src, const compile_options &opt, const std::vector<function_constant_value> &values, pass mode,
               const std::string &user_source)
        : src_(src), options_(opt), values_(values), mode_(mode), toks_(tokenize_msl(src)), consumed_(toks_.size(), false) {
        if (mode_ == pass::analysis) map_to_user_lines(user_source);
        for (size_t i = 0; i < toks_.size(); ++i)
            if (!toks_[i].in_directive && !toks_[i].directive_start && in_user_file(i)) code_.push_back(i);
    }

    // ---- analysis: the library's contents ----
    bool analyse() {
        errors_ += check_confinement(src_, toks_, code_, pragmas_);
        parse_top_level();
        check_instantiations();
        member_function_object_address_space(); // records the members it would qualify (macro_member_lines)
        return errors_.empty();
    }
    const std::string &errors() const { return errors_; }
    // SOFTMETAL_REMARKS: which kernels run their threads as SIMD lanes (lane_loops.hpp), and why not.
    const std::string &lane_remarks() const { return lane_remarks_; }
    const std::vector<function_constant_info> &constants() const { return constants_; }

    // ---- rewrite: the text clang compiles ----
    std::string rewrite(std::map<std::string, rewritten_kernel> &kernels) {
        parse_top_level();
        unspecialised_constant_initializers();
        if (shader_validation_enabled()) checked_helper_parameters(), checked_declarations_and_casts();
        rewrite_remaining_tokens();
        single_precision_literals();
        std::string body = apply_edits();
        std::string regions = region_functions(body);
        for (const auto &k : kernels_)
            kernels[rewritten_key(k)] = {k.has_threadgroup_vars, k.regions, k.regions_id, k.regions_bytes, k.instance_regions};
        return body + regions;
    }
    static std::string rewritten_key(const kernel_def &k) { return k.scope + k.name + "#" + std::to_string(k.overload); }
    std::string rewrite_without_regions(std::map<std::string, rewritten_kernel> &kernels) {
        parse_top_level();
        unspecialised_constant_initializers();
        if (shader_validation_enabled()) checked_helper_parameters(), checked_declarations_and_casts();
        rewrite_remaining_tokens();
        single_precision_literals();
        std::string body = apply_edits();
        for (const auto &k : kernels_) kernels[rewritten_key(k)] = {k.has_threadgroup_vars, false, -1, 0, {}};
        return body;
    }

private:
    // ---- token helpers (indices into code_, the tokens outside preprocessor lines) ----
    const token &tk(size_t j) const { return toks_[code_[j]]; }
    std::string text(size_t j) const { return j < code_.size() ? src_.substr(tk(j).offset, tk(j).length) : std::string(); }
    // The `struct` or `class` keywords (indices into code_) followed by the name `type`, in order. Read
    // once: the split's questions about a kernel's types (quiet_type, data_members_of, ...) ask for one
    // name among a whole library's tokens, for each type each kernel reaches.
    const std::vector<size_t> &class_keywords(const std::string &type) {
        if (!class_keywords_read_) {
            for (size_t i = 0; i + 1 < code_.size(); ++i)
                if ((is(i, "struct") || is(i, "class")) && is_ident(i + 1)) class_keywords_[text(i + 1)].push_back(i);
            class_keywords_read_ = true;
        }
        static const std::vector<size_t> nowhere;
        auto it = class_keywords_.find(type);
        return it == class_keywords_.end() ? nowhere : it->second;
    }
    bool is(size_t j, const char *s) const { return j < code_.size() && src_.compare(tk(j).offset, tk(j).length, s) == 0; }
    bool is_ident(size_t j) const { return j < code_.size() && tk(j).kind == token_kind::identifier; }
    size_t end_of(size_t j) const { return tk(j).offset + tk(j).length; }
    std::string span(size_t a, size_t b) const { return src_.substr(tk(a).offset, end_of(b) - tk(a).offset); } // tokens a..b inclusive
    void consume(size_t a, size_t b) {
        for (size_t j = a; j <= b && j < code_.size(); ++j) consumed_[code_[j]] = true;
    }
    void error_at(const token &t, const std::string &msg) {
        errors_ += "program_source:" + std::to_string(t.line) + ":" + std::to_string(t.column) + ": error: " + msg + "\n";
    }
    // Errors about the library's contents come from the analysis only (the rewrite sees the same
    // code, or less of it).
    void analysis_error(const token &t, const std::string &msg) {
        if (mode_ == pass::analysis) error_at(t, msg);
    }

    // Preprocessed text: tokens at the user's lines and columns (map_to_user_positions); tokens of
    // other files (none but the command line's) are not code.
    void map_to_user_lines(const std::string &user) {
        user_positions where = map_to_user_positions(src_, toks_, user);
        user_file_ = std::move(where.in_user_file);
        pragmas_ = std::move(where.pragmas);
    }
    bool in_user_file(size_t i) const { return user_file_.empty() || user_file_[i]; }

    // Index of the bracket closing the one at j ( ( [ { ), counting all three kinds; npos if unbalanced.
    size_t match(size_t j) const {
        if (is(j, "(") || is(j, "[") || is(j, "{")) return brackets().match[j];
        int depth = 0;
        for (size_t k = j; k < code_.size(); ++k) {
            std::string t = text(k);
            if (t == "(" || t == "[" || t == "{") ++depth;
            else if (t == ")" || t == "]" || t == "}") {
                if (--depth == 0) return k;
            }
        }
        return npos;
    }
    // Index of the '>' closing the '<' at j, skipping parenthesised expressions.
    // When there is none, *stop is where the search gave up (a `;` or `{`, or the end).
    // From a table built once (pairs found with a stack per parenthesis level; `;` and `{` end every
    // open `<`), so that 10^5 nested or unclosed `template <` cost one pass, not one pass each.
    size_t match_angle(size_t j, size_t *stop = nullptr) const {
        if (is(j, "<")) {
            const bracket_table &b = brackets();
            if (stop) *stop = b.angle_stop[j];
            return b.angle_match[j];
        }
        int angle = 0, paren = 0;
        for (size_t k = j; k < code_.size(); ++k) {
            std::string t = text(k);
            if (t == "(" || t == "[") ++paren;
            else if (t == ")" || t == "]") --paren;
            else if (paren == 0 && t == "<") ++angle;
            else if (paren == 0 && t == ">") {
                if (--angle == 0) return k;
            } else if (t == ";" || t == "{") {
                if (stop) *stop = k;
                return npos;
            }
        }
        if (stop) *stop = code_.size();
        return npos;
    }
    // `[[` at j: index of the second `]` of the matching `]]`, npos if none.
    size_t attribute_end(size_t j) const {
        if (!(is(j, "[") && is(j + 1, "["))) return npos;
        size_t k = match(j);
        return k == npos ? npos : k;
    }
    // Names explicitly instantiated as kernels (`template [[host_name("x")]] ... name<args>...;`), found
    // before parsing so a plain function template they name can be taken for a kernel template.
    const std::set<std::string> &instantiated_names() {
        if (instantiated_computed_) return instantiated_;
        instantiated_computed_ = true;
        for (size_t j = 0; j + 2 < code_.size(); ++j) {
            if (!is(j, "template") || !is(j + 1, "[") || !is(j + 2, "[")) continue;
            size_t end = find_semicolon(j);
            if (end == npos) break;
            const std::string name = read_instantiation(j, end).kernel;
            if (!name.empty()) instantiated_.insert(name);
            j = end;
        }
        return instantiated_;
    }

    // Whether the attribute list `[[...]]` at j names `name` (`[[kernel, max_total_threads_per_threadgroup(64)]]`).
    bool attribute_names(size_t j, const char *name) const {
        size_t e = attribute_end(j);
        if (e == npos) return false;
        int depth = 0;
        for (size_t k = j + 2; k + 1 < e; ++k) {
            if (is(k, "(")) ++depth;
            else if (is(k, ")")) --depth;
            else if (depth == 0 && is(k, name) && (is(k - 1, "[") || is(k - 1, ","))) return true;
        }
        return false;
    }
    // The string of `host_name("x")` inside the attribute list at j, or "". Adjacent literals are one
    // string, as in C++: macros build names that way (`"gemm_" #tname "_" #iname`, candle's GEMM).
    std::string host_name_in(size_t j) const {
        size_t e = attribute_end(j);
        for (size_t k = j + 2; e != npos && k + 2 < e; ++k)
            if (is(k, "host_name") && is(k + 1, "(") && tk(k + 2).kind == token_kind::string) {
                std::string name;
                for (size_t s = k + 2; s < e && tk(s).kind == token_kind::string; ++s) {
                    const std::string v = text(s);
                    name += v.size() >= 2 ? v.substr(1, v.size() - 2) : v;
                }
                return name;
            }
        return "";
    }

    // Top-level comma split of tokens [a, b).
    std::vector<std::pair<size_t, size_t>> split_commas(size_t a, size_t b) const {
        std::vector<std::pair<size_t, size_t>> parts;
        int depth = 0;
        size_t start = a;
        for (size_t k = a; k < b; ++k) {
            std::string t = text(k);
            if (t == "(" || t == "[" || t == "{" || t == "<") ++depth;
            else if (t == ")" || t == "]" || t == "}" || t == ">") --depth;
            else if (t == "," && depth == 0) {
                parts.push_back({start, k});
                start = k + 1;
            }
        }
        if (start < b) parts.push_back({start, b});
        return parts;
    }
    // The first `;` at or after j not inside brackets opened after j (or after the brackets around j
    // closed). Answered from a table built once (a segment tree over the semicolons' bracket depths):
    // hostile input (`constant ` 10^5 times, no `;`) would otherwise rescan to the end from every token.
    size_t find_semicolon(size_t j) const {
        const bracket_table &b = brackets();
        if (j >= code_.size()) return npos;
        size_t first = size_t(std::lower_bound(b.semicolons.begin(), b.semicolons.end(), j) - b.semicolons.begin());
        size_t i = b.first_at_most(first, b.depth_before[j]);
        return i == npos ? npos : b.semicolons[i];
    }

    // Bracket structure of code_, computed once per pass.
    struct bracket_table {
        std::vector<size_t> match;        // per token: the closing bracket of an opening one (npos: unbalanced, or not one)
        std::vector<size_t> angle_match;  // per `<`: its `>` at the same parenthesis level, npos if none
        std::vector<size_t> angle_stop;   // per unmatched `<`: the `;`/`{` (or the end) that ended the search
        std::vector<int> depth_before;    // per token: bracket depth before it
        std::vector<size_t> semicolons;   // tokens that are `;`
        std::vector<int> tree;            // min of depth_before over semicolons, segment tree
        size_t leaves = 1;
        // Index into `semicolons` of the first one at or after `from` whose depth is <= limit; npos if none.
        size_t first_at_most(size_t from, int limit) const {
            if (from >= semicolons.size()) return npos;
            return descend(1, 0, leaves, from, limit);
        }
        size_t descend(size_t node, size_t lo, size_t hi, size_t from, int limit) const {
            if (hi <= from || tree[node] > limit) return npos;
            if (hi - lo == 1) return lo;
            size_t mid = (lo + hi) / 2;
            size_t r = descend(2 * node, lo, mid, from, limit);
            return r != npos ? r : descend(2 * node + 1, mid, hi, from, limit);
        }
    };
    const bracket_table &brackets() const {
        if (brackets_built_) return brackets_;
        brackets_built_ = true;
        bracket_table &b = brackets_;
        b.match.assign(code_.size(), npos);
        b.depth_before.assign(code_.size() + 1, 0);
        std::vector<size_t> open;
        int depth = 0;
        for (size_t k = 0; k < code_.size(); ++k) {
            b.depth_before[k] = depth;
            const token &t = tk(k);
            if (t.kind != token_kind::punct || t.length != 1) continue;
            const char c = src_[t.offset];
            if (c == '(' || c == '[' || c == '{') {
                ++depth;
                open.push_back(k);
            } else if (c == ')' || c == ']' || c == '}') {
                --depth;
                if (!open.empty()) {
                    b.match[open.back()] = k;
                    open.pop_back();
                }
            } else if (c == ';') {
                b.semicolons.push_back(k);
            }
        }
        b.depth_before[code_.size()] = depth;
        b.angle_match.assign(code_.size(), npos);
        b.angle_stop.assign(code_.size(), npos);
        std::vector<std::vector<size_t>> angles(1); // open `<`, one list per parenthesis level
        auto end_all = [&](size_t at) {
            for (auto &level : angles)
                for (size_t a : level) b.angle_stop[a] = at;
            angles.assign(1, {});
        };
        for (size_t k = 0; k < code_.size(); ++k) {
            const token &t = tk(k);
            if (t.kind != token_kind::punct || t.length != 1) continue;
            const char c = src_[t.offset];
            if (c == '(' || c == '[') angles.emplace_back();
            else if (c == ')' || c == ']') {
                if (angles.size() > 1) {
                    for (size_t a : angles.back()) b.angle_stop[a] = code_.size();
                    angles.pop_back();
                }
            } else if (c == '<') angles.back().push_back(k);
            else if (c == '>' && !angles.back().empty()) {
                b.angle_match[angles.back().back()] = k;
                angles.back().pop_back();
            } else if (c == ';' || c == '{') end_all(k);
        }
        end_all(code_.size());
        while (b.leaves < b.semicolons.size()) b.leaves *= 2;
        b.tree.assign(2 * b.leaves, std::numeric_limits<int>::max());
        for (size_t i = 0; i < b.semicolons.size(); ++i) b.tree[b.leaves + i] = b.depth_before[b.semicolons[i]];
        for (size_t n = b.leaves; n-- > 1;) b.tree[n] = std::min(b.tree[2 * n], b.tree[2 * n + 1]);
        return b;
    }
    void add_edit(size_t offset, size_t length, std::string t, bool in_directive = false, bool synced = false) {
        if (mode_ == pass::analysis) return;
        edits_.push_back({offset, length, std::move(t), in_directive, synced});
    }
    void blank_tokens(size_t a, size_t b) {
        size_t off = tk(a).offset, len = end_of(b) - off;
        add_edit(off, len, blank(src_.substr(off, len)));
        consume(a, b);
    }

    // ---- structure ----
    void parse_top_level() {
        std::vector<std::string> scopes; // namespace names
        size_t template_start = npos, stmt_start = 0, attributes_start = npos;
        std::string template_params;
        for (size_t j = 0; j < code_.size(); ++j) {
            std::string t = text(j);
            // After a macro's use that ends without a ';' (MLX's `instantiate_block_sort_long(int64,
            // int64_t)` lines, `NAME(args)` alone so far), the next declaration starts here: the use is no
            // part of its head (item_name named the struct or function after it by the macro).
            if (is_ident(j) && j > stmt_start + 2 && is(j - 1, ")") && is_ident(stmt_start) && is(stmt_start + 1, "(") &&
                match(stmt_start + 1) == j - 1)
                stmt_start = j;
            if (t == "namespace") {
                size_t k = j + 1;
                std::string name;
                while (k < code_.size() && !is(k, "{") && !is(k, ";")) name += text(k++);
                if (is(k, "{")) {
                    scopes.push_back(name);
                    j = k;
                    stmt_start = j + 1;
                    continue;
                }
            }
            if (t == "}" && !scopes.empty()) {
                scopes.pop_back();
                stmt_start = j + 1;
                template_start = npos;
                continue;
            }
            if (t == ";") {
                note_declaration_uses(stmt_start, j);
                stmt_start = j + 1;
                template_start = npos;
                continue;
            }
            if (t == "template" && is(j + 1, "<")) {
                size_t stop = npos;
                size_t close = match_angle(j + 1, &stop);
                if (close == npos) {
                    // A header that never closes: the rest of it holds no declaration to find (and
                    // scanning it again from each nested `template <` would be quadratic).
                    if (stop != npos && stop > j + 1) j = stop - 1;
                    continue;
                }
                template_start = j;
                template_params = close > j + 2 ? span(j + 2, close - 1) : "";
                j = close;
                // A function template without [[kernel]] becomes a kernel by an explicit instantiation
                // that says [[kernel]] (MLX defines many kernels that way).
                size_t v = close + 1;
                while (v < code_.size() && (is(v, "inline") || is(v, "static") || is(v, "METAL_FUNC") ||
                                            (is(v, "[") && is(v + 1, "[") && !attribute_names(v, "kernel")))) {
                    v = is(v, "[") ? attribute_end(v) + 1 : v + 1;
                    if (v == npos + 1) break;
                }
                if (is(v, "void") && is_ident(v + 1) && is(v + 2, "(") && instantiated_names().count(text(v + 1))) {
                    j = parse_kernel(v, template_start, true, template_params, scopes);
                    stmt_start = j + 1;
                    template_start = npos;
                }
                continue;
            }
            if (t == "template" && is(j + 1, "[") && is(j + 2, "[")) {
                j = parse_instantiation(j);
                stmt_start = j + 1;
                continue;
            }
            if (is(j, "[") && is(j + 1, "[") && !attribute_names(j, "kernel") && !attribute_names(j, "vertex") &&
                !attribute_names(j, "fragment")) {
                size_t e = attribute_end(j); // [[max_total_threads_per_threadgroup(N)]] kernel void ...
                if (e != npos && (is(e + 1, "kernel") || (is(e + 1, "[") && is(e + 2, "[")))) {
                    if (attributes_start == npos) attributes_start = j; // where the declaration starts
                    j = e;
                    continue;
                }
            }
            bool bracket_kernel = is(j, "[") && is(j + 1, "[") && attribute_names(j, "kernel");
            if (t == "kernel" || bracket_kernel) {
                size_t start = template_start != npos ? template_start : attributes_start != npos ? attributes_start : j;
                attributes_start = npos;
                j = parse_kernel(j, start, template_start != npos, template_params, scopes);
                stmt_start = j + 1;
                template_start = npos;
                continue;
            }
            bool bracket_stage = is(j, "[") && is(j + 1, "[") && (attribute_names(j, "vertex") || attribute_names(j, "fragment"));
            if (((t == "vertex" || t == "fragment") && is_ident(j + 1)) || bracket_stage) {
                // Graphics functions belong to the library (listed, with their function type); only a
                // compute pipeline made from one is refused.
                int type = (t == "vertex" || attribute_names(j, "vertex")) ? 1 : 2;
                size_t k = j + 1;
                while (k < code_.size() && !is(k, "(") && !is(k, ";") && !is(k, "{")) ++k;
                if (is(k, "(") && k > 0 && is_ident(k - 1)) {
                    graphics_functions_.push_back({text(k - 1), type});
                    size_t close = match(k);
                    size_t b = close == npos ? npos : close + 1;
                    while (b != npos && b < code_.size() && !is(b, "{") && !is(b, ";")) ++b;
                    j = (b != npos && is(b, "{")) ? match(b) : b;
                    if (j == npos) return;
                    stmt_start = j + 1;
                    template_start = npos;
                    continue;
                }
            }
            // A function constant is recognised by its attribute, not by a leading `constant`: the
            // declaration's specifiers may come from a macro the rewrite sees unexpanded (MLX's
            // `STEEL_CONST bool inv_ [[function_constant(0)]];`, STEEL_CONST being
            // `static constant constexpr const`).
            if (t == "[" && is(j + 1, "[") && is(j + 2, "function_constant") && stmt_start < j &&
                template_start == npos) {
                size_t end = parse_function_constant(stmt_start, j);
                if (end != npos) {
                    j = end;
                    stmt_start = j + 1;
                    attributes_start = npos;
                    continue;
                }
            }
            if (t == "{" && j > stmt_start && is(j - 1, "=")) {
                // A braced initializer (`constant float t[2] = {a, b};`): part of the declaration,
                // which ends at its `;` (note_declaration_uses reads the identifiers inside).
                size_t close = match(j);
                if (close == npos) return;
                j = close;
                continue;
            }
            if (t == "{") {
                size_t close = match(j);
                if (close == npos) return;
                std::string name = item_name(stmt_start, j);
                for (size_t k = j + 1; k < close; ++k)
                    if (is_ident(k)) items_[name].insert(text(k));
                for (size_t k = stmt_start; k < j; ++k)
                    if (is_ident(k)) items_[name].insert(text(k)); // e.g. base classes, default args
                note_straight_item(name, stmt_start, j, close);
                j = close;
                stmt_start = j + 1;
                template_start = npos;
                continue;
            }
        }
    }

    // A top-level declaration [a, semicolon) without a body: what its name stands for uses the identifiers
    // after `=` (`constant bool has_mask = is_function_constant_defined(mask) && ...;`, `using T = ...;`)
    // or, for a typedef, every other one.
    void note_declaration_uses(size_t a, size_t semicolon) {
        if (a >= semicolon) return;
        // A function pointer type at program scope (`using fn = float (*)(float);`) lets a body call
        // through a value no name shows: no kernel of the library is bounded (straight_facts).
        if (mode_ == pass::analysis)
            for (size_t k = a; k + 1 < semicolon; ++k)
                if (is(k, "(") && (is(k + 1, "*") || is(k + 1, "^") || is(k + 1, "&"))) straight_library_unbounded_ = true;
        program_scope_pointer(a, semicolon);
        if (is(a, "typedef")) {
            if (!is_ident(semicolon - 1)) return;
            std::set<std::string> &uses = items_[text(semicolon - 1)];
            for (size_t k = a + 1; k + 1 < semicolon; ++k)
                if (is_ident(k)) uses.insert(text(k));
            return;
        }
        int depth = 0;
        for (size_t k = a; k < semicolon; ++k) {
            if (is(k, "(") || is(k, "[") || is(k, "<")) ++depth;
            else if (is(k, ")") || is(k, "]") || is(k, ">")) --depth;
            else if (depth == 0 && is(k, "=")) {
                size_t n = k;
                while (n > a && is(n - 1, "]")) { // `name[N] =`: back over the array's bounds
                    size_t m = n - 1;
                    for (int d = 0;; --m) {
                        if (is(m, "]")) ++d;
                        else if (is(m, "[")) --d;
                        if (d == 0 || m == a) break;
                    }
                    n = m;
                }
                if (n == a || !is_ident(n - 1)) return;
                std::set<std::string> &uses = items_[text(n - 1)];
                for (size_t q = k + 1; q < semicolon; ++q)
                    if (is_ident(q)) uses.insert(text(q));
                for (size_t q = a; q + 1 < n; ++q)
                    if (is(q, "constant") || constant_aliases_.count(text(q))) {
                        constant_initializers_.push_back({n - 1, k, semicolon});
                        break;
                    }
                return;
            }
        }
    }

    // The name a `{` body belongs to (function or struct), or "" for initialisers and the like.
    std::string item_name(size_t a, size_t brace) const {
        for (size_t k = a; k < brace; ++k) {
            if (is(k, "template") && is(k + 1, "<")) { // `template <class T>`: no class of that name
                int depth = 0;
                // (`typename Op = Less<T>>`: the lexer's `>>` closes two lists)
                for (++k; k < brace; ++k) {
                    if (is(k, "<")) ++depth;
                    else if (is(k, ">") && --depth == 0) break;
                    else if (is(k, ">>") && (depth -= 2) <= 0) break;
                }
                continue;
            }
            if (is(k, "=")) return "";
            if ((is(k, "struct") || is(k, "class") || is(k, "union") || is(k, "enum"))) {
                size_t n = k + 1;
                if (is(n, "class") || is(n, "struct")) ++n;
                return is_ident(n) ? text(n) : "";
            }
            if (is(k, "(")) {
                size_t n = k;
                while (n > a && (is(n - 1, ">"))) { // f<T>(...): skip the template arguments backwards
                    int depth = 0;
                    do {
                        --n;
                        if (is(n, ">")) ++depth;
                        else if (is(n, "<")) --depth;
                    } while (n > a && depth > 0);
                }
                // `void (*table[4])(...) = {...}`: no name before the parenthesis, only a type.
                static const std::set<std::string> not_names = {"void", "auto", "bool", "char", "short", "int", "long",
                                                                "float", "double", "unsigned", "signed", "const", "volatile"};
                return n > a && is_ident(n - 1) && !not_names.count(text(n - 1)) ? text(n - 1) : "";
            }
        }
        return "";
    }

    size_t parse_kernel(size_t j, size_t stmt_start, bool is_template, const std::string &template_params,
                        const std::vector<std::string> &scopes) {
        kernel_def k;
        k.is_template = is_template;
        k.template_params = template_params;
        // `kernel`, `[[kernel]]` and any attribute lists around them ([[host_name("x")]] renames it).
        for (;;) {
            if (is(j, "[") && is(j + 1, "[")) {
                size_t e = attribute_end(j);
                if (e == npos) break;
                std::string host = host_name_in(j);
                if (!host.empty()) k.host_name = host;
                j = e + 1;
            } else if (is(j, "kernel") || is(j, "inline") || is(j, "static") || is(j, "METAL_FUNC")) {
                ++j;
            } else {
                break;
            }
        }
        if (!is(j, "void")) {
            analysis_error(tk(j < code_.size() ? j : code_.size() - 1), "kernel function must return void");
            return j;
        }
        if (!is_ident(j + 1) || !is(j + 2, "(")) {
            analysis_error(tk(j), "expected a kernel function name");
            return j;
        }
        k.name = text(j + 1);
        k.line = tk(j + 1).line;
        k.column = tk(j + 1).column;
        k.scope = "::";
        for (const auto &s : scopes) k.scope += s + "::";
        size_t open = j + 2, close = match(open);
        if (close == npos) {
            error_at(tk(open), "unbalanced parentheses in kernel parameter list");
            return code_.size();
        }
        parse_parameters(k, open, close);
        for (size_t t = open + 1; t < close; ++t)
            if (is_ident(t)) k.param_refs.insert(text(t));
        k.params_open = tk(open).offset;
        k.params_close = tk(close).offset;

        size_t body = close + 1;
        while (body < code_.size() && !is(body, "{") && !is(body, ";")) ++body;
        if (body >= code_.size() || is(body, ";")) return body; // a declaration only
        size_t body_end = match(body);
        if (body_end == npos) {
            error_at(tk(body), "unbalanced braces in kernel body");
            return code_.size();
        }
        if (is_template) {
            k.template_args = template_arg_names(template_params);
        }
        k.body_open = tk(body).offset;
        k.body_close = tk(body_end).offset;
        // Overloaded kernel templates (MLX's gather, one per index count) each get an arena struct.
        k.overload = kernel_overloads_[k.name]++;
        k.tg_name = "sm_tg_" + k.name + (k.overload ? "_" + std::to_string(k.overload) : "");
        const std::string &tg_name = k.tg_name;
        std::string tg_type = k.scope + tg_name + (is_template ? "<" + k.template_args + ">" : "");
        std::vector<threadgroup_decl> decls;
        // Local constants (`constexpr int N = 32;`, `const uint head_size = 64;`) and type aliases
        // (`using kernel_t = ...;`) that a threadgroup array's declaration names: the arena struct gets
        // its own copies of those it needs.
        std::vector<std::pair<std::string, std::string>> local_constants; // name, "static constexpr T name = v;"
        std::set<std::string> needed;
        for (size_t t = body + 1; t < body_end; ++t) {
            if (is_ident(t)) k.refs.insert(text(t));
            bool statement_start = is(t - 1, "{") || is(t - 1, "}") || is(t - 1, ";");
            if (is(t, "using") && statement_start && is_ident(t + 1) && is(t + 2, "=")) { // a local type alias
                size_t end = find_semicolon(t);
                if (end != npos && end < body_end) {
                    local_constants.push_back({text(t + 1), span(t, end) + "\n"});
                    for (size_t q = t + 3; q < end; ++q)
                        if (is_ident(q)) local_constant_uses_[text(t + 1)].insert(text(q));
                }
            }
            if (is(t, "typedef") && statement_start) { // `typedef float U;` (candle's attention kernels)
                size_t end = find_semicolon(t);
                if (end != npos && end < body_end && is_ident(end - 1) && end > t + 2) {
                    local_constants.push_back({text(end - 1), span(t, end) + "\n"});
                    for (size_t q = t + 1; q + 1 < end; ++q)
                        if (is_ident(q)) local_constant_uses_[text(end - 1)].insert(text(q));
                }
            }
            if ((is(t, "constexpr") || is(t, "const")) && statement_start) {
                size_t end = find_semicolon(t);
                if (end == npos || end > body_end) end = body_end; // no `;`: the scan stays in the body (found by the fuzzer: it ran past the end)
                size_t eq = t;
                while (eq < end && !is(eq, "=")) ++eq;
                if (end != npos && end < body_end && eq < end && eq > t + 1 && is_ident(eq - 1)) {
                    size_t type_start = t + 1;
                    while (type_start < eq && (is(type_start, "constexpr") || is(type_start, "const"))) ++type_start;
                    std::set<std::string> uses;
                    for (size_t q = eq + 1; q < end; ++q)
                        if (is_ident(q)) uses.insert(text(q));
                    local_constants.push_back({text(eq - 1), "static constexpr " + span(type_start, end) + "\n"});
                    for (auto &u : uses) local_constant_uses_[text(eq - 1)].insert(u);
                }
            }
            // A threadgroup *variable*: `threadgroup T name...;`. `threadgroup T *p = ...;` is a pointer
            // in thread memory and stays as it is.
            bool pointer = false;
            if (is(t, "threadgroup") && statement_start && !consumed_[code_[t]] && !is(t + 1, "(")) {
                size_t end = find_semicolon(t);
                if (end == npos || end > body_end) break;
                int depth = 0;
                for (size_t q = t + 1; q < end && !pointer; ++q) {
                    if (is(q, "<") || is(q, "(") || is(q, "[")) ++depth;
                    else if (is(q, ">") || is(q, ")") || is(q, "]")) --depth;
                    else if (depth == 0 && (is(q, "*") || is(q, "&"))) pointer = true;
                }
                if (pointer) {
                    t = end;
                    continue;
                }
                threadgroup_decl d{tk(t + 1).line, tk(t + 1).column, span(t + 1, end)};
                threadgroup_decl_lines_.insert(tk(t).line);
                for (size_t q = t + 1; q < end; ++q)
                    if (is_ident(q)) needed.insert(text(q));
                std::string replacement;
                bool ok = true;
                for (auto &part : split_commas(t + 1, end)) {
                    std::string name;
                    int depth2 = 0;
                    for (size_t q = part.first; q < part.second; ++q) {
                        std::string s2 = text(q);
                        if (s2 == "[" || s2 == "(" || s2 == "<") ++depth2;
                        else if (s2 == "]" || s2 == ")" || s2 == ">") --depth2;
                        else if (s2 == "=" && depth2 == 0) ok = false;
                        else if (depth2 == 0 && is_ident(q)) name = s2;
                    }
                    if (!ok) break;
                    replacement += "auto &" + name + " = ::sm::entry::threadgroup_vars<" + tg_type +
                                   ">(::sm::target::current_group()).s" + std::to_string(decls.size()) + "." + name + "; ";
                }
                if (!ok) {
                    if (mode_ == pass::rewrite) error_at(tk(t), "threadgroup variables cannot have initializers");
                    t = end;
                    continue;
                }
                size_t off = tk(t).offset, len = end_of(end) - off;
                add_edit(off, len, replacement + newlines_of(src_.substr(off, len)));
                consume(t, end);
                decls.push_back(d);
                t = end;
            }
        }
        if (!decls.empty()) {
            k.has_threadgroup_vars = true;
            std::string s = "\n#line 1 \"softmetal_generated\"\n";
            if (is_template) s += "template <" + template_params + ">\n";
            // Transitively: a constant sized by another constant.
            for (bool grew = true; grew;) {
                grew = false;
                for (auto &c : local_constants)
                    if (needed.count(c.first))
                        for (auto &u : local_constant_uses_[c.first]) grew = needed.insert(u).second || grew;
            }
            std::string constants;
            std::set<std::string> emitted; // a name once, even if the body declares it in several scopes
            for (auto &c : local_constants)
                if (needed.count(c.first) && emitted.insert(c.first).second) constants += c.second;
            s += "struct " + tg_name + " {\n" + constants;
            for (size_t i = 0; i < decls.size(); ++i) {
                s += "struct {\n#line " + std::to_string(decls[i].line) + " \"program_source\"\n" +
                     std::string(decls[i].column - 1, ' ') + decls[i].text + "\n} s" + std::to_string(i) + ";\n";
            }
            s += "};" + resync(tk(stmt_start).line, tk(stmt_start).column);
            add_edit(tk(stmt_start).offset, 0, s, false, true);
        }
        add_straight_facts(body, body_end, k.straight);
        if (kernel_index_.count(k.name) && !k.is_template) {
            analysis_error(tk(j + 1), "redefinition of kernel '" + k.name + "'");
        } else {
            if (!kernel_index_.count(k.name)) kernel_index_[k.name] = kernels_.size();
            kernels_.push_back(std::move(k));
        }
        return body_end;
    }

    std::string template_arg_names(const std::string &params) {
        std::vector<token> pt = tokenize_msl(params);
        std::string names;
        int depth = 0;
        std::string last;
        bool in_default = false, pack = false;
        auto flush = [&]() {
            if (!last.empty()) {
                if (!names.empty()) names += ", ";
                names += last + (pack ? "..." : "");
            }
            last.clear();
            in_default = pack = false;
        };
        for (const token &t : pt) {
            std::string s = params.substr(t.offset, t.length);
            if (s == "<" || s == "(") ++depth;
            else if (s == ">" || s == ")") --depth;
            else if (depth == 0 && s == ",") flush();
            else if (depth == 0 && s == "=") in_default = true;
            else if (depth == 0 && s == "." ) pack = true;
            else if (depth == 0 && !in_default && t.kind == token_kind::identifier) last = s;
        }
        flush();
        return names;
    }

    // Whether the function constant named `name` has the value true in this specialisation.
    bool function_constant_true(const std::string &name) const {
        for (const auto &c : constants_)
            if (c.name == name)
                for (const auto &v : values_)
                    if ((!v.name.empty() && v.name == c.name) || (v.name.empty() && v.index >= 0 && v.index == c.index))
                        return !v.bytes.empty() && v.bytes[0] != 0;
        return false;
    }

    // "texture", "sampler", or a kind of texture softmetal lacks ("depth", "cube", "multisample") when a
    // parameter's type (tokens [b, e)) is one; else "".
    std::string resource_kind(size_t b, size_t e) const {
        for (size_t q = b; q < e; ++q) {
            if (!is_ident(q)) continue;
            const std::string t = text(q);
            if (t == "metal" || t == "const" || t == "thread" || t == "constant") continue;
            if (t == "sampler") return "sampler";
            if (t == "depth2d" || t == "depth2d_array" || t == "depth2d_ms" || t == "depthcube" || t == "depthcube_array" ||
                t == "depth2d_ms_array")
                return "depth";
            if (t == "texturecube" || t == "texturecube_array") return "cube";
            if (t == "texture2d_ms" || t == "texture2d_ms_array") return "multisample";
            if (t.rfind("texture", 0) == 0) return "texture";
            return "";
        }
        return "";
    }
    static bool unsupported_texture(const std::string &kind) { return kind == "depth" || kind == "cube" || kind == "multisample"; }
    // Metal's compiler takes these; softmetal's runtime has no such textures, so the kernel is refused
    // at the parameter, naming the feature.
    static std::string unsupported_texture_message(const std::string &kind, const std::string &name) {
        return kind + " textures are not supported by softmetal ('" + name + "')";
    }

    // `[[buffer(31)]]`: Metal's compiler refuses an index past its argument tables, in these words. An
    // index that is not a literal (a constant expression) is caught by the prelude's static_assert.
    void binding_index_in_range(const std::string &attr, const std::string &args, size_t at) {
        const unsigned long limit = attr == "buffer" ? SM_MAX_BUFFER_BINDINGS : attr == "threadgroup" ? SM_MAX_THREADGROUP_BINDINGS
                                  : attr == "texture" ? SM_MAX_TEXTURE_BINDINGS : attr == "sampler" ? SM_MAX_SAMPLER_BINDINGS : 0;
        if (limit == 0 || args.empty()) return;
        std::string digits;
        for (char c : args)
            if (c != ' ' && c != '\t') digits += c;
        while (!digits.empty() && (digits.back() == 'u' || digits.back() == 'U')) digits.pop_back();
        if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return;
        if (std::stoull(digits) >= limit)
            analysis_error(tk(at), "'" + attr + "' attribute parameter is out of bounds: must be between 0 and " + std::to_string(limit - 1));
    }

    // Shader validation: a pointer parameter `device float* out` (tokens [b, e), attributes included)
    // becomes `::sm::checked<device float> out` (shader_validation.h), which checks every access against
    // the range bound to it. Only a type with one top-level `*`, followed by nothing but `const`: other
    // shapes (`device float**`, `restrict`) stay plain pointers, unchecked.
    bool check_pointer_parameter(size_t b, size_t e, bool address_space_required = false, bool apply = true) {
        size_t name = npos, star = npos, end = e;
        int stars = 0, depth = 0;
        for (size_t q = b; q < e; ++q) {
            if (is(q, "[") && is(q + 1, "[")) {
                end = q;
                break;
            }
            if (is(q, "<") || is(q, "(")) ++depth;
            else if (is(q, ">") || is(q, ")")) --depth;
            else if (is(q, ">>")) depth -= 2;
            else if (depth == 0 && is(q, "*")) ++stars, star = q;
            else if (depth == 0 && (is(q, "&") || is(q, "&&"))) return false;
            else if (depth == 0 && is_ident(q)) name = q;
        }
        if (stars != 1 || star == b) return false;
        if (name == npos || name < star) name = end; // unnamed (a declaration's `device float*`)
        if (address_space_required) {
            const size_t first = is(b, "const") ? b + 1 : b;
            if (!is(first, "device") && !is(first, "constant") && !is(first, "threadgroup") && !is(first, "thread")) return false;
        }
        for (size_t q = star + 1; q < name; ++q)
            if (!is(q, "const")) return false;
        if (tk(b).in_directive || tk(star).in_directive) return false;
        if (!apply) return true;
        add_edit(tk(b).offset, 0, "::sm::checked<");
        add_edit(tk(star).offset, 1, ">");
        return true;
    }

    // Shader validation: the pointer parameters of helper functions (`void store(device float* p, ...)`)
    // and function templates (`template <class T> void put(device T* p, ...)`) become checked pointers
    // too, so an argument's range follows it into the helper (a plain pointer passed there takes the
    // range it points into). A template's `checked<device T>` deduces T from a checked argument as
    // `device T*` did from a plain one. Constructors with initializer lists are left alone.
    void checked_helper_parameters() {
        static const std::set<std::string> not_functions = {"if", "while", "for", "switch", "return", "sizeof", "alignof",
                                                            "decltype", "static_assert", "catch", "alignas", "noexcept",
                                                            "__attribute__", "static_cast", "reinterpret_cast", "const_cast",
                                                            "defined", "typeid", "operator"};
        std::set<size_t> kernel_lists;
        for (const auto &k : kernels_) kernel_lists.insert(k.params_open);
        // A function's parameter list `name(...)` followed by a body: its closing parenthesis, else npos.
        auto definition = [&](size_t j, bool or_declaration = false) -> size_t {
            if (!is_ident(j) || !is(j + 1, "(") || not_functions.count(text(j)) || kernel_lists.count(tk(j + 1).offset)) return npos;
            const size_t close = match(j + 1);
            if (close == npos) return npos;
            size_t after = close + 1;
            while (after < code_.size() && (is(after, "const") || is(after, "thread") || is(after, "device") ||
                                            is(after, "threadgroup") || is(after, "constant") || is(after, "noexcept")))
                ++after;
            return is(after, "{") || (or_declaration && is(after, ";")) ? close : npos;
        };
        // Overloads (`pick(device float*)`, `pick(constant float*)`) and templates: their calls' arguments
        // in positions that are a checked pointer in every definition of the name are wrapped (below), so
        // that a plain argument deduces (templates) and each argument is an exact match for one overload
        // (checked parameters alone would make a plain argument a user-defined conversion to each).
        std::map<std::string, int> definitions;
        for (size_t j = 1; j + 1 < code_.size(); ++j)
            if (definition(j) != npos) ++definitions[text(j)];
        // Each declaration of a function (its `(`), with each parameter's range.
        struct declaration {
            std::string name;
            size_t open;
            bool is_template;
            std::vector<std::pair<size_t, size_t>> parameters;
        };
        std::vector<declaration> declarations;
        for (size_t j = 1; j + 1 < code_.size(); ++j) {
            // Its declarations too (`void store(device float*, uint);` before the body), or they would
            // declare another overload.
            const size_t close = definition(j, true);
            if (close == npos) continue;
            // `clear(tile, i);` is a call, not a declaration: nothing names a type before it.
            if (definition(j) == npos && !(is(j - 1, "*") || is(j - 1, "&") || is(j - 1, ">") ||
                                           (is_ident(j - 1) && !is(j - 1, "return") && !is(j - 1, "else") && !is(j - 1, "do") &&
                                            !is(j - 1, "case") && !is(j - 1, "goto"))))
                continue;
            bool is_template = false;
            for (size_t q = j; q-- > 0;) {
                if (is(q, ";") || is(q, "{") || is(q, "}")) break;
                if (is(q, "template")) {
                    is_template = true;
                    break;
                }
            }
            declarations.push_back({text(j), j + 1, is_template, split_commas(j + 2, close)});
        }
        // Overloads that differ in a pointer's address space (`pick(device const float*)`,
        // `pick(constant float*)`) keep plain parameters: a checked argument would convert to each of
        // their checked parameters alike (user-defined conversions rank equal), so the call would be
        // ambiguous. Their arguments are passed as plain pointers (`::sm::plain_of`), resolving as
        // without validation, and each definition's body sees a checked pointer of the parameter's
        // name made from it (the parameter itself is renamed), with the range it points into.
        std::map<std::string, std::map<size_t, std::set<std::string>>> spaces; // name -> position -> address spaces
        std::map<std::string, std::vector<std::vector<bool>>> pointer_parameters; // name -> per declaration: which are checked
        for (const declaration &d : declarations) {
            std::vector<bool> pointers;
            for (size_t k = 0; k < d.parameters.size(); ++k) {
                const auto &part = d.parameters[k];
                const bool pointer = check_pointer_parameter(part.first, part.second, true, false);
                pointers.push_back(pointer);
                if (pointer) spaces[d.name][k].insert(text(is(part.first, "const") ? part.first + 1 : part.first));
            }
            pointer_parameters[d.name].push_back(pointers);
        }
        std::set<std::string> plain_names;
        for (const auto &entry : spaces)
            for (const auto &position : entry.second)
                if (position.second.size() > 1) plain_names.insert(entry.first);
        std::set<std::string> wrapped_names;  // templates and overloads
        std::set<size_t> parameter_lists;     // their declarations' `(`
        for (const declaration &d : declarations) {
            parameter_lists.insert(d.open);
            if (d.is_template || definitions[d.name] > 1) wrapped_names.insert(d.name);
            if (plain_names.count(d.name)) {
                checked_inside_plain_overload(d.open, d.parameters);
                continue;
            }
            for (const auto &part : d.parameters) check_pointer_parameter(part.first, part.second, true);
        }
        std::map<std::string, std::pair<std::vector<bool>, bool>> wrap; // name -> (positions, as plain pointers)
        for (const std::string &name : wrapped_names) {
            const auto &all = pointer_parameters[name];
            size_t most = 0;
            for (const auto &v : all) most = std::max(most, v.size());
            std::vector<bool> positions(most, true);
            for (size_t k = 0; k < most; ++k)
                for (const auto &v : all) positions[k] = positions[k] && (k >= v.size() || v[k]);
            if (std::find(positions.begin(), positions.end(), true) != positions.end())
                wrap[name] = {positions, plain_names.count(name) != 0};
        }
        checked_template_arguments(wrap, parameter_lists);
        checked_function_pointer_parameters();
    }

    // A definition whose pointer parameters stay plain (an overload on address spaces): each named one
    // becomes `sm_plain_<name>`, and the body starts with `::sm::checked<T> name = ::sm::checked_of(sm_plain_<name>);`.
    void checked_inside_plain_overload(size_t open, const std::vector<std::pair<size_t, size_t>> &parameters) {
        const size_t close = match(open);
        if (close == npos) return;
        size_t body = close + 1;
        while (body < code_.size() && (is(body, "const") || is(body, "thread") || is(body, "device") || is(body, "threadgroup") ||
                                       is(body, "constant") || is(body, "noexcept")))
            ++body;
        if (!is(body, "{")) return; // a declaration: nothing to check
        std::string locals;
        for (const auto &part : parameters) {
            if (!check_pointer_parameter(part.first, part.second, true, false)) continue;
            size_t star = npos, name = npos;
            for (size_t q = part.first; q < part.second; ++q) {
                if (is(q, "[") && is(q + 1, "[")) break;
                if (is(q, "*")) star = q;
                else if (star != npos && is_ident(q) && !is(q, "const")) name = q;
            }
            if (star == npos || name == npos || tk(name).in_directive || !untouched(name, name)) continue;
            add_edit(tk(name).offset, tk(name).length, "sm_plain_" + text(name));
            consume(name, name);
            locals += " ::sm::checked<" + span(part.first, star - 1) + "> " + text(name) + " = ::sm::checked_of(sm_plain_" +
                      text(name) + ");";
        }
        if (!locals.empty()) add_edit(end_of(body), 0, locals);
    }

    // Function pointers (`void (*op)(device float*, uint) = store;`, a `typedef` or `using` of one):
    // their pointer parameters are checked ones too, as those of the functions they point to, which
    // they must match; a call through one passes a checked argument as it is and makes a plain one
    // checked with the range it points into.
    void checked_function_pointer_parameters() {
        for (size_t j = 0; j + 3 < code_.size(); ++j) {
            if (!is(j, "(") || !is(j + 1, "*")) continue;
            size_t close = j + 2;
            if (is_ident(close)) ++close;
            if (!is(close, ")") || !is(close + 1, "(")) continue;
            const size_t end = match(close + 1);
            if (end == npos || end == close + 2) continue;
            for (const auto &part : split_commas(close + 2, end)) check_pointer_parameter(part.first, part.second, true);
        }
    }

    // A plain pointer (a threadgroup array, `&in[k]`) does not deduce `checked<device T>`: at each call
    // of a function template (or overload) whose pointer parameters became checked, the arguments in
    // those positions are wrapped in `::sm::checked_of(...)`, which is a checked argument itself, makes a
    // plain pointer into a checked one with the range it points into, and passes anything else on as it
    // is (a call of another function of the same name, `metal::max(a, b)`).
    void checked_template_arguments(const std::map<std::string, std::pair<std::vector<bool>, bool>> &templates,
                                    const std::set<size_t> &parameter_lists) {
        for (size_t j = 0; j + 1 < code_.size(); ++j) {
            if (!is_ident(j) || tk(j).in_directive) continue;
            const auto found = templates.find(text(j));
            if (found == templates.end()) continue;
            size_t open = j + 1;
            if (is(open, "<")) { // explicit template arguments: `put<float>(...)`
                int depth = 0;
                for (; open < code_.size(); ++open) {
                    if (is(open, "<")) ++depth;
                    else if (is(open, ">") && --depth == 0) break;
                    else if (is(open, ">>") && (depth -= 2) <= 0) break;
                    else if (is(open, ";") || is(open, "{")) break;
                }
                if (open >= code_.size() || !(is(open, ">") || is(open, ">>"))) continue;
                ++open;
            }
            if (!is(open, "(") || parameter_lists.count(open)) continue;
            const size_t close = match(open);
            if (close == npos || close == open + 1) continue;
            const auto args = split_commas(open + 1, close);
            const std::vector<bool> &positions = found->second.first;
            for (size_t a = 0; a < args.size() && a < positions.size(); ++a) {
                if (!positions[a] || args[a].first >= args[a].second) continue;
                const size_t first = args[a].first, last = args[a].second - 1;
                if (tk(first).in_directive || tk(last).in_directive) continue;
                add_edit(tk(first).offset, 0, found->second.second ? "::sm::plain_of(" : "::sm::checked_of(");
                add_edit(end_of(last), 0, ")");
            }
        }
    }

    // Shader validation: the other places a program spells a pointer type in device, constant or
    // threadgroup memory become checked pointers too, so that the range follows the pointer wherever it
    // goes: declarations in function and struct bodies (`device float* row = out + id;`, a member
    // `device float* data;`, `device float* both[2]`), C-style casts (`(device float4*)in`, whose
    // `::sm::checked<device float4>` is constructed from `in` with its range), and
    // `reinterpret_cast`/`static_cast` to such a type (`::sm::pointer_cast`). `thread` pointers too: one
    // made from a thread array is bounded by it, others (`&x`) carry no range and are not checked.
    // Declarations of several pointers (`device float *a = x, *b = y;`) become one checked type with
    // the other stars dropped; direct initialisation (`device float* p(buf + 4);`) is a declaration
    // like `=`; `auto` variables get their initializer through `::sm::checked_of`, so that a plain
    // pointer they would deduce (`auto p = &buf[i];`) is a checked one. Namespace-scope pointer
    // variables (`constant float* constant p = table;`) are program_scope_pointer's.
    bool address_space(size_t j) const {
        return is(j, "device") || is(j, "constant") || is(j, "threadgroup") || is(j, "thread");
    }
    // Tokens [b, e) are a pointer type `[const] space T [const] * [const]` with one top-level `*`:
    // the position of that `*`, else npos.
    size_t pointer_type_star(size_t b, size_t e) const {
        const size_t first = is(b, "const") ? b + 1 : b;
        if (first >= e || !address_space(first)) return npos;
        size_t star = npos;
        int depth = 0;
        for (size_t q = first + 1; q < e; ++q) {
            if (is(q, "<") || is(q, "(") || is(q, "[")) ++depth;
            else if (is(q, ">") || is(q, ")") || is(q, "]")) --depth;
            else if (is(q, ">>")) depth -= 2;
            else if (depth == 0 && is(q, "*")) {
                if (star != npos) return npos;
                star = q;
            } else if (depth == 0 && !is_ident(q) && !is(q, "::")) return npos;
        }
        if (star == npos || star == first + 1) return npos;
        for (size_t q = star + 1; q < e; ++q)
            if (!is(q, "const")) return npos;
        return star;
    }
    bool untouched(size_t a, size_t b) const {
        for (size_t q = a; q <= b; ++q)
            if (consumed_[code_[q]] || tk(q).in_directive) return false;
        return true;
    }
    // `#define AS_FLOAT4(p) ((device float4*)(p))`: the casts of macro bodies too (the rewrite edits the
    // user's text, where the macro is not yet expanded). Only the cast shape; edits stay on the line.
    void checked_casts_in_macros() {
        auto tok = [&](size_t k) { return src_.substr(toks_[k].offset, toks_[k].length); };
        auto same_directive = [&](size_t k) { return k < toks_.size() && toks_[k].in_directive && !toks_[k].directive_start; };
        for (size_t i = 0; i + 1 < toks_.size(); ++i) {
            if (!same_directive(i) || tok(i) != "(" || consumed_[i]) continue;
            size_t q = i + 1;
            if (same_directive(q) && tok(q) == "const") ++q;
            if (!same_directive(q) || (tok(q) != "device" && tok(q) != "constant" && tok(q) != "threadgroup")) continue;
            size_t star = SIZE_MAX, close = SIZE_MAX;
            bool ok = true;
            for (size_t k = q + 1; same_directive(k); ++k) {
                const std::string t = tok(k);
                if (t == ")") {
                    close = k;
                    break;
                }
                if (t == "*") {
                    if (star != SIZE_MAX) ok = false;
                    star = k;
                } else if (t == "const" || toks_[k].kind == token_kind::identifier || t == "::") {
                    if (star != SIZE_MAX && t != "const") ok = false;
                } else {
                    ok = false;
                }
            }
            if (!ok || star == SIZE_MAX || close == SIZE_MAX || star == q + 1 || !same_directive(close + 1)) continue;
            const std::string next = tok(close + 1);
            const bool operand = toks_[close + 1].kind == token_kind::identifier || toks_[close + 1].kind == token_kind::number ||
                                 next == "(" || next == "&" || next == "*" || next == "::";
            const std::string before = tok(i - 1);
            const bool after_call = toks_[i - 1].kind == token_kind::identifier || before == ")" || before == "]" || before == ">";
            if (!operand || (after_call && before != "return" && !toks_[i - 1].directive_start && i >= 2 &&
                             tok(i - 2) != "define"))
                continue;
            add_edit(toks_[i + 1].offset, 0, "::sm::checked<", true);
            add_edit(toks_[star].offset, 1, ">", true);
            for (size_t k = i + 1; k <= star; ++k) consumed_[k] = true;
        }
    }

    // `(uint i)`, `(device float*, uint)`, `()`: a function's parameter declarations, not an
    // initializer (`(buf + 4)`, `(other)`). A lone name is taken as an expression unless it is a
    // built-in type.
    bool parameter_declarations(size_t open) const {
        static const std::set<std::string> type_words = {
            "void", "bool", "char", "uchar", "short", "ushort", "int", "uint", "long", "ulong", "float", "half", "bfloat",
            "double", "size_t", "ptrdiff_t", "unsigned", "signed", "volatile", "const", "device", "constant", "threadgroup",
            "thread", "int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t", "typename"};
        const size_t close = match(open);
        if (close == npos || close == open + 1) return true;
        for (const auto &part : split_commas(open + 1, close)) {
            if (part.first >= part.second) continue;
            if (type_words.count(text(part.first))) return true;
            for (size_t q = part.first; q + 1 < part.second; ++q)
                if (is_ident(q) && is_ident(q + 1)) return true;
        }
        return false;
    }
    // A declaration shader validation cannot check, refused where it is: a static_assert before its
    // statement (before a `for` whose header it is in), so the error names the line and says why.
    void refuse_before_statement(size_t start, const std::string &why) {
        size_t at = start;
        if (at > 1 && is(at - 1, "(") && is(at - 2, "for")) at -= 2;
        add_edit(tk(at).offset, 0, "static_assert(false, \"" + why + "\"); ");
    }
    // `auto p = &buf[i];`, `auto* p = buf + 4;`, `auto p(x);`, `auto p{x};` in a function body: each
    // initializer through `::sm::checked_of`, which makes a plain pointer in device, constant,
    // threadgroup or thread memory a checked one (with the range it points into, or its array's) and
    // passes anything else on as it is. `auto*` becomes `auto` (a checked pointer is a class), and
    // `const auto*` too (its `const` would be the pointer's own). References, structured bindings
    // and a range-for's variable are left alone.
    void checked_auto_declaration(size_t j) {
        size_t start = j;
        if (start > 0 && is(start - 1, "const")) --start;
        const bool statement_start = start == 0 || is(start - 1, "{") || is(start - 1, ";") || is(start - 1, "}") ||
                                     (is(start - 1, "(") && start > 1 && is(start - 2, "for"));
        if (!statement_start || !untouched(start, j)) return;
        size_t q = j + 1;
        while (is(q, "const")) ++q;
        std::vector<size_t> blanks;
        if (is(q, "*")) {
            blanks.push_back(q++);
            if (start < j) blanks.push_back(start);
            while (is(q, "const")) ++q;
        }
        struct init {
            size_t first, last;
        };
        std::vector<init> inits;
        while (true) {
            if (!is_ident(q)) return;
            const size_t n = q + 1;
            if (is(n, "=")) {
                size_t e = n + 1;
                int d = 0;
                for (; e < code_.size(); ++e) {
                    if (is(e, "(") || is(e, "[") || is(e, "{")) ++d;
                    else if (is(e, ")") || is(e, "]") || is(e, "}")) {
                        if (d == 0) break;
                        --d;
                    } else if (d == 0 && (is(e, ";") || is(e, ","))) break;
                }
                if (e >= code_.size() || e == n + 1) return;
                inits.push_back({n + 1, e - 1});
                q = e;
            } else if (is(n, "(") || is(n, "{")) {
                const size_t close = match(n);
                if (close == npos || close == n + 1) return;
                inits.push_back({n + 1, close - 1});
                q = close + 1;
            } else {
                return; // `auto x;`, `auto x : range`, a function
            }
            if (!is(q, ",")) break;
            ++q;
        }
        if (!is(q, ";") || inits.empty()) return;
        for (const init &i : inits)
            if (!untouched(i.first, i.first) || tk(i.last).in_directive) return;
        for (size_t b : blanks) {
            add_edit(tk(b).offset, tk(b).length, std::string(tk(b).length, ' '));
            consume(b, b);
        }
        for (const init &i : inits) {
            add_edit(tk(i.first).offset, 0, "::sm::checked_of(");
            add_edit(end_of(i.last), 0, ")");
        }
    }

    void checked_declarations_and_casts() {
        checked_casts_in_macros();
        // Which braces are namespaces' (declarations there stay plain), and which are a function's
        // body or inside one (where `T* p(x);` declares a variable, not a function).
        enum brace_kind { namespace_brace, other_brace, function_brace };
        std::vector<brace_kind> braces;
        size_t other_braces = 0, function_braces = 0;
        for (size_t j = 0; j < code_.size(); ++j) {
            if (is(j, "{")) {
                size_t q = j;
                while (q > 0 && (is_ident(q - 1) || is(q - 1, "::")) && !is(q - 1, "namespace")) --q;
                const bool ns = (q > 0 && is(q - 1, "namespace")) || (j > 1 && is(j - 2, "extern"));
                size_t before = j;
                while (before > 0 && (is(before - 1, "const") || is(before - 1, "noexcept") || is(before - 1, "thread") ||
                                      is(before - 1, "device") || is(before - 1, "threadgroup") || is(before - 1, "constant") ||
                                      is(before - 1, "override") || is(before - 1, "final") || is(before - 1, "mutable")))
                    --before;
                const bool body = function_braces > 0 || (before > 0 && (is(before - 1, ")") || is(before - 1, "else") ||
                                                                         is(before - 1, "do")));
                const brace_kind kind = ns ? namespace_brace : body ? function_brace : other_brace;
                braces.push_back(kind);
                if (kind != namespace_brace) ++other_braces;
                if (kind == function_brace) ++function_braces;
                continue;
            }
            if (is(j, "}")) {
                if (!braces.empty()) {
                    if (braces.back() != namespace_brace) --other_braces;
                    if (braces.back() == function_brace) --function_braces;
                    braces.pop_back();
                }
                continue;
            }
            if (function_braces > 0 && is(j, "auto")) {
                checked_auto_declaration(j);
                continue;
            }
            // `reinterpret_cast<device uchar*>(p)`, `static_cast<device float*>(v)`.
            if ((is(j, "reinterpret_cast") || is(j, "static_cast")) && is(j + 1, "<")) {
                size_t close = j + 2;
                for (int depth = 1; close < code_.size(); ++close) {
                    if (is(close, "<")) ++depth;
                    else if (is(close, ">") && --depth == 0) break;
                    else if (is(close, ">>") || is(close, ";") || is(close, "{")) break;
                }
                if (close < code_.size() && is(close, ">") && is(close + 1, "(") && pointer_type_star(j + 2, close) != npos &&
                    untouched(j, close)) {
                    add_edit(tk(j).offset, tk(j).length, "::sm::pointer_cast");
                    consume(j, j);
                }
                continue;
            }
            // `(device float4*)in`: a parenthesised pointer type followed by an operand.
            if (is(j, "(") && address_space(is(j + 1, "const") ? j + 2 : j + 1)) {
                const size_t close = match(j);
                if (close == npos) continue;
                const bool operand = is_ident(close + 1) || is(close + 1, "(") || is(close + 1, "&") || is(close + 1, "*") ||
                                     is(close + 1, "::") || (close + 1 < code_.size() && tk(close + 1).kind == token_kind::number);
                const bool after_call = j > 0 && ((is_ident(j - 1) && !is(j - 1, "return")) || is(j - 1, ")") || is(j - 1, "]") ||
                                                  is(j - 1, ">"));
                const size_t star = pointer_type_star(j + 1, close);
                if (operand && !after_call && star != npos && untouched(j, close)) {
                    add_edit(tk(j + 1).offset, 0, "::sm::checked<");
                    add_edit(tk(star).offset, 1, ">");
                    consume(j + 1, star);
                }
                continue;
            }
            // A declaration at the start of a statement in a function or struct body (or a for's header),
            // or a function's return type at any scope (`device float* row_of(...)`, after `inline`,
            // `static` or a template header): its every declaration has the same shape.
            if (!address_space(is(j, "const") ? j + 1 : j)) continue;
            size_t before = j;
            while (before > 0 && (is(before - 1, "inline") || is(before - 1, "static") || is(before - 1, "constexpr"))) --before;
            const bool statement_start = before == 0 || is(before - 1, "{") || is(before - 1, ";") || is(before - 1, "}") ||
                                         (is(before - 1, "(") && before > 1 && is(before - 2, "for"));
            const bool after_template_header = before > 0 && is(before - 1, ">");
            if (!statement_start && !after_template_header) continue;
            size_t name = j, depth = 0;
            for (; name < code_.size(); ++name) {
                if (is(name, "<") || is(name, "(") || is(name, "[")) ++depth;
                else if ((is(name, ">") || is(name, ")") || is(name, "]")) && depth > 0) --depth;
                else if (is(name, ";") || is(name, "{") || is(name, "=")) break;
                else if (depth == 0 && is_ident(name) && !is(name, "const") && name > j && is(name - 1, "*")) break;
                else if (depth == 0 && is_ident(name) && !is(name, "const") && name > j + 1 && is(name - 1, "const") &&
                         [&] {
                             size_t q = name - 1;
                             while (q > j && is(q, "const")) --q;
                             return is(q, "*");
                         }())
                    break;
            }
            if (name >= code_.size() || !is_ident(name)) continue;
            const size_t star = pointer_type_star(j, name);
            if (star == npos) continue;
            // A member function defined outside its class (`device float* S::get(uint i) {`,
            // `device T* S<T>::get()`): the name is the last of the qualified name.
            const size_t first_name = name;
            while (true) {
                size_t next = name + 1;
                if (is(next, "<")) {
                    const size_t close = match_angle(next, nullptr);
                    if (close == npos) break;
                    next = close + 1;
                }
                if (!is(next, "::") || !is_ident(next + 1)) break;
                name = next + 1;
            }
            bool function = is(name + 1, "(") && !is(name, "operator");
            // In a function body, `device float* p(buf + 4);` is a variable with a direct initializer
            // (a function declared there would have parameter declarations, or none).
            if (function && function_braces > 0 && name == first_name && !parameter_declarations(name + 1)) function = false;
            const bool declarator_end = is(name + 1, "=") || is(name + 1, ";") || is(name + 1, ",") || is(name + 1, "[") ||
                                        is(name + 1, "{") || is(name + 1, ")") || (!function && is(name + 1, "("));
            if (function ? !(statement_start || after_template_header) : (!declarator_end || other_braces == 0 || !statement_start))
                continue;
            if (!untouched(j, star)) continue;
            // `device float *a = x, *b = y;`: one checked type for every declarator, whose own stars
            // are dropped (a declaration in device, constant, threadgroup or thread memory declares
            // pointers or references only). A declarator of another shape (`**b`, `&r`) is refused:
            // it would stay unchecked.
            std::vector<size_t> other_stars;
            bool other_shape = false;
            if (!function) {
                int d = 0;
                for (size_t q = name + 1; q < code_.size() && !is(q, ";") && !(d == 0 && is(q, ")")); ++q) {
                    if (is(q, "(") || is(q, "[") || is(q, "{") || is(q, "<")) ++d;
                    else if (is(q, ")") || is(q, "]") || is(q, "}") || is(q, ">")) --d;
                    else if (is(q, ">>")) d -= 2;
                    else if (d == 0 && is(q, ",")) {
                        size_t r = q + 1;
                        if (!is(r, "*")) {
                            other_shape = true;
                            continue;
                        }
                        const size_t other = r;
                        ++r;
                        while (is(r, "const")) ++r;
                        if (!is_ident(r) || is(r + 1, "::") || !(is(r + 1, "=") || is(r + 1, ",") || is(r + 1, ";") || is(r + 1, "[") ||
                                                                 is(r + 1, "(") || is(r + 1, "{") || is(r + 1, ")")))
                            other_shape = true;
                        else
                            other_stars.push_back(other);
                    }
                }
            }
            if (other_shape) {
                refuse_before_statement(before, "shader validation: declare each pointer of this declaration on its own "
                                                "(a declarator other than '*name' would not be bounds-checked)");
                continue;
            }
            for (size_t q : other_stars) {
                if (!untouched(q, q)) continue;
                add_edit(tk(q).offset, 1, " ");
                consume(q, q);
            }
            // A const pointee is spelled `checked_const<device float>`: the barrier split drops every
            // `const` of a type without a top-level `*` for its per-thread copies, and a
            // `checked<device float>` copy would not take a `checked<const device float>`.
            bool pointee_const = false;
            for (size_t q = j; q < star; ++q)
                if (is(q, "const")) {
                    pointee_const = true;
                    add_edit(tk(q).offset, tk(q).length, std::string(tk(q).length, ' '));
                }
            add_edit(tk(j).offset, 0, pointee_const ? "::sm::checked_const<" : "::sm::checked<");
            add_edit(tk(star).offset, 1, ">");
            consume(j, star);
        }
    }

    void parse_parameters(kernel_def &k, size_t open, size_t close) {
        if (close == open + 1 || (close == open + 2 && is(open + 1, "void"))) return;
        std::string next_buffer = "0", next_texture = "0", next_sampler = "0";
        for (auto &part : split_commas(open + 1, close)) {
            // Every attribute of the parameter: [[buffer(1), function_constant(has_bias)]] [[...]].
            std::vector<std::pair<std::string, std::string>> attrs; // name, arguments
            std::vector<size_t> attr_toks;
            std::string pname;
            for (size_t q = part.first; q < part.second; ++q) {
                if (is(q, "[") && is(q + 1, "[")) {
                    size_t e = attribute_end(q);
                    if (e == npos || e >= part.second) break;
                    for (auto &a : split_commas(q + 2, e - 1)) {
                        size_t n = a.first;
                        if (n >= a.second || !is_ident(n)) continue;
                        std::string args;
                        if (is(n + 1, "(")) {
                            size_t pc = match(n + 1);
                            if (pc != npos && pc > n + 2) args = span(n + 2, pc - 1);
                        }
                        attrs.push_back({text(n), args});
                        attr_toks.push_back(n);
                    }
                    q = e;
                } else if (is_ident(q)) {
                    pname = text(q);
                }
            }
            std::string binding;
            bool absent = false;
            for (size_t a = 0; a < attrs.size(); ++a) {
                const std::string &attr = attrs[a].first, &args = attrs[a].second;
                binding_index_in_range(attr, args, attr_toks[a]);
                if (attr == "buffer") {
                    binding = "::sm::entry::sm_buffer<(" + args + ")>";
                    next_buffer = "(" + args + ") + 1";
                } else if (attr == "threadgroup") {
                    binding = "::sm::entry::sm_threadgroup<(" + args + ")>";
                } else if (position_attributes().count(attr)) {
                    if (!pname.empty()) k.positions.push_back({pname, position_attributes().at(attr)}); // unnamed: never read
                    binding = "::sm::entry::sm_position<::sm::entry::attr::" + position_attributes().at(attr) + ">";
                } else if (attr == "texture" && unsupported_texture(resource_kind(part.first, part.second))) {
                    analysis_error(tk(attr_toks[a]), unsupported_texture_message(resource_kind(part.first, part.second), pname));
                    binding = "-";
                } else if (attr == "texture") {
                    binding = "::sm::entry::sm_texture_binding<(" + args + ")>";
                    next_texture = "(" + args + ") + 1";
                } else if (attr == "sampler") {
                    binding = "::sm::entry::sm_sampler_binding<(" + args + ")>";
                    next_sampler = "(" + args + ") + 1";
                } else if (attr == "function_constant") {
                    if (!function_constant_true(args)) absent = true; // Metal binds nothing there
                } else if (attr == "user" || attr == "raster_order_group" || attr == "id" ||
                           attr == "clang" || attr == "gnu" || attr == "maybe_unused") {
                    // Qualifiers of a binding, not bindings: a buffer present only when the constant is true.
                } else {
                    analysis_error(tk(attr_toks[a]), "unsupported kernel parameter attribute '" + attr + "' on '" + pname + "'");
                    binding = "-";
                }
            }
            // No binding attribute: the next index of the parameter's kind, as Metal assigns them
            // (textures and samplers have index spaces of their own).
            const std::string kind = binding.empty() ? resource_kind(part.first, part.second) : "";
            if (binding.empty() && kind == "texture") {
                binding = "::sm::entry::sm_texture_binding<" + next_texture + ">";
                next_texture = next_texture + " + 1";
            } else if (binding.empty() && kind == "sampler") {
                binding = "::sm::entry::sm_sampler_binding<" + next_sampler + ">";
                next_sampler = next_sampler + " + 1";
            } else if (binding.empty() && unsupported_texture(kind)) {
                analysis_error(tk(part.first), unsupported_texture_message(kind, pname));
                binding = "-";
            } else if (binding.empty()) {
                binding = "::sm::entry::sm_buffer<" + next_buffer + ">";
                next_buffer = next_buffer + " + 1";
            }
            if (absent && binding != "-") binding = "::sm::entry::sm_absent";
            if (shader_validation_enabled() && (binding.rfind("::sm::entry::sm_buffer<", 0) == 0 ||
                                                binding.rfind("::sm::entry::sm_threadgroup<", 0) == 0))
                check_pointer_parameter(part.first, part.second);
            k.bindings.push_back(binding);
            // For reflection: the name, and whether the argument is read-only (`const`, `constant`).
            bool read_only = false;
            for (size_t q = part.first; q < part.second; ++q) {
                if (is(q, "[") && is(q + 1, "[")) break;
                if (is(q, "const") || is(q, "constant")) read_only = true;
            }
            k.parameter_names.push_back(pname);
            k.read_only.push_back(read_only);
        }
    }

    // The kernel an explicit instantiation (tokens j..end, `template` to `;`) names, with its host
    // name and either its template arguments (`k<float, 3>`) or, when they are deduced, its parameters.
    instantiation read_instantiation(size_t j, size_t end) const {
        instantiation inst{};
        int depth = 0;
        for (size_t q = j + 1; q < end; ++q) {
            if (is(q, "[") && is(q + 1, "[") && depth == 0) {
                std::string host = host_name_in(q);
                if (!host.empty()) inst.host_name = host;
                size_t e = attribute_end(q);
                if (e == npos) break;
                q = e;
                continue;
            }
            if (is(q, "(") || is(q, "[") || is(q, "{")) ++depth;
            else if (is(q, ")") || is(q, "]") || is(q, "}")) --depth;
            else if (depth == 0 && is_ident(q) && is(q + 1, "<")) {
                size_t close = match_angle(q + 1);
                if (close != npos && close < end && (is(close + 1, "(") || close + 1 == end)) {
                    inst.kernel = text(q);
                    inst.args = close > q + 2 ? span(q + 2, close - 1) : "";
                    size_t params_close = is(close + 1, "(") ? match(close + 1) : npos;
                    if (params_close != npos && params_close > close + 2) inst.signature = span(close + 2, params_close - 1);
                    q = close;
                }
            }
        }
        if (!inst.kernel.empty()) return inst;
        // `template [[host_name("x")]] [[kernel]] void k(params);`: arguments deduced from the parameters.
        for (size_t q = j + 1; q + 1 < end; ++q) {
            if (is(q, "[") && is(q + 1, "[")) {
                size_t e = attribute_end(q);
                if (e == npos) break;
                q = e;
                continue;
            }
            if (is_ident(q) && is(q + 1, "(") && match(q + 1) + 1 == end) {
                inst.kernel = text(q);
                inst.signature = match(q + 1) > q + 2 ? span(q + 2, match(q + 1) - 1) : "";
                break;
            }
        }
        return inst;
    }

    // `template [[host_name("x")]] kernel void k<T>(params);`, or with the function's type spelled
    // through a typedef or decltype (`template [[host_name("x")]] [[kernel]] decltype(k<T>) k<T>;`):
    // the instantiated kernel is the last `name<args>` at the statement's top level.
    size_t parse_instantiation(size_t j) {
        size_t end = find_semicolon(j);
        if (end == npos) {
            analysis_error(tk(j), "expected ';' after explicit instantiation");
            return code_.size();
        }
        if (mode_ == pass::rewrite) { // the kernel table instantiates it; clang rejects the attributes here
            const instantiation inst = read_instantiation(j, end);
            if (!inst.kernel.empty()) instantiated_with_[inst.kernel].push_back({inst.args, inst.args + " " + parameter_types(inst.signature)});
            blank_tokens(j, end);
            return end;
        }
        instantiation inst = read_instantiation(j, end);
        inst.line = tk(j).line;
        inst.column = tk(j).column;
        if (inst.kernel.empty()) {
            error_at(tk(j), "unsupported explicit instantiation (expected 'template [[host_name(\"name\")]] kernel void k<T>(...);')");
        } else {
            if (inst.host_name.empty()) inst.host_name = inst.kernel + "<" + inst.args + ">";
            instantiations_.push_back(inst);
        }
        return end;
    }

    // `constant T name [[function_constant(i)]];` at namespace scope, from its first token `first`
    // to the attribute's '[' at `attr`; returns its ';' or npos. The declaration specifiers
    // (`static`, `constant`, `constexpr`, `const`) are not part of the constant's type.
    size_t parse_function_constant(size_t first, size_t attr) {
        size_t end = find_semicolon(attr);
        if (end == npos || !is_ident(attr - 1) || attr - 1 <= first) return npos;
        size_t ae = attribute_end(attr);
        if (ae == npos || ae >= end) return npos;
        for (size_t q = first; q < attr; ++q)
            if (is(q, "(") || is(q, "{") || is(q, "=")) return npos; // a function or an initialized variable
        function_constant_info info;
        info.name = text(attr - 1);
        static const std::set<std::string> specifiers = {"static", "constant", "constexpr", "const", "volatile", "inline"};
        std::string type;
        for (size_t q = first; q + 1 < attr; ++q)
            if (!specifiers.count(text(q))) type += (type.empty() ? "" : " ") + text(q);
        std::string idx = is(attr + 3, "(") ? text(attr + 4) : "";
        if (!idx.empty() && idx.size() <= 5 && std::all_of(idx.begin(), idx.end(), [](char c) { return c >= '0' && c <= '9'; }))
            info.index = std::atoi(idx.c_str());
        if (info.index < 0 || info.index > 65535) {
            analysis_error(tk(attr), "function constant index must be between 0 and 65535");
            info.index = -1;
        }
        info.type = mtl_data_type_of(type);
        const function_constant_value *value = nullptr;
        for (const auto &v : values_)
            if ((!v.name.empty() && v.name == info.name) || (v.name.empty() && v.index >= 0 && v.index == info.index)) value = &v;
        std::string init = " = {}";
        if (value) {
            info.has_value = true;
            std::vector<unsigned char> bytes = value->bytes;
            if (info.type == 53 && !bytes.empty()) bytes = {static_cast<unsigned char>(bytes[0] != 0)};
            if (bytes.empty()) bytes.push_back(0);
            // The bytes convert to the declared type by themselves (fc_bytes' conversion): the type as
            // the rewrite sees it may be spelled through a macro that also holds the specifiers.
            init = " = ::sm::entry::fc_bytes<" + std::to_string(bytes.size()) + ">{{";
            for (size_t b = 0; b < bytes.size(); ++b) init += (b ? "," : "") + std::to_string(bytes[b]);
            init += "}}";
        }
        size_t off = tk(attr).offset, len = end_of(ae) - off;
        add_edit(off, len, init);
        consume(attr, ae);
        constants_.push_back(info);
        return end;
    }

    // An object at program scope outside the constant address space (`thread float x = 1.0f;`,
    // `float y = 2.0f;`, `device int n;`): Metal refuses it (one copy would be shared, and written,
    // by every thread); so does softmetal, at its name. Only plain declarations `T name [= v];` are
    // read: const and constexpr objects, `constant` ones, pointers and references (program_scope_pointer),
    // functions, typedefs, templates, using-declarations and the like are left alone.
    void mutable_program_scope_variable(size_t a, size_t semicolon) {
        static const std::set<std::string> not_a_variable = {
            "constant", "const", "constexpr", "typedef", "using", "template", "static_assert", "extern", "struct", "class",
            "enum", "union", "operator", "namespace", "friend", "asm", "__asm", "__asm__", "__attribute__", "decltype",
            "sm_constant_object", "sm_constant_member"};
        size_t end = semicolon;
        int depth = 0;
        for (size_t q = a; q < semicolon; ++q) {
            if (is(q, "<") || is(q, "(") || is(q, "[") || is(q, "{")) ++depth;
            else if (is(q, ">") || is(q, ")") || is(q, "]") || is(q, "}")) --depth;
            else if (depth == 0 && is(q, "=")) {
                end = q;
                break;
            }
        }
        if (end < a + 2 || !is_ident(end - 1)) return; // `T name`: at least two tokens, a name last
        for (size_t q = a; q < end; ++q) {
            const std::string t = text(q);
            if (not_a_variable.count(t) || constant_aliases_.count(t) || t == "*" || t == "&" || t == "&&" || t == "(" || t == "[" ||
                t == "," || t == "::" || t == "<" || t == "...")
                return;
            if (tk(q).kind != token_kind::identifier) return;
        }
        analysis_error(tk(end - 1), "program scope variable '" + text(end - 1) + "' must reside in constant address space");
    }

    // A pointer variable at program scope (the top-level declaration [a, semicolon)): MSL allows
    // program-scope variables only in the constant address space, pointers included, so the pointer
    // itself must be `constant` (`constant float* constant p = table;`, `device float* constant q =
    // nullptr;`, `constant float* const constant t[2] = {a, b};`), its initializer a constant
    // expression as for any program-scope constant. Its `constant` after the `*` becomes the global
    // space clang wants for such an object (`constant` in types is generic const, msl_keywords.h);
    // with shader validation its type is a checked pointer, bounded like any other pointer the
    // program spells (by a table it is made from; checked's constructors are constant expressions for
    // these). A pointer declared without `constant` after its `*` (`constant float* p = table;`: p
    // itself would be in the thread space) is refused at its name, as Metal refuses it.
    void program_scope_pointer(size_t a, size_t semicolon) {
        mutable_program_scope_variable(a, semicolon);
        size_t first = a;
        while (first < semicolon && (is(first, "static") || is(first, "constexpr") || is(first, "inline") || is(first, "const"))) ++first;
        if (first >= semicolon || !address_space(first) || is(first, "typedef") || is(first, "using")) return;
        size_t star = npos;
        int depth = 0;
        for (size_t q = first; q < semicolon; ++q) {
            if (is(q, "<") || is(q, "(") || is(q, "[") || is(q, "{")) ++depth;
            else if (is(q, ">") || is(q, ")") || is(q, "]") || is(q, "}")) --depth;
            else if (is(q, ">>")) depth -= 2;
            else if (depth == 0 && (is(q, "=") || is(q, ","))) break;
            else if (depth == 0 && is(q, "*")) star = q;
            else if (depth == 0 && is(q, "&")) return; // a reference: not a pointer variable
        }
        if (star == npos) return;
        size_t name = star + 1, space = npos;
        for (; name < semicolon && (is(name, "const") || is(name, "volatile") || address_space(name)); ++name)
            if (address_space(name)) space = name;
        if (name >= semicolon || !is_ident(name)) return;
        const bool declarator_end = is(name + 1, "=") || is(name + 1, ";") || is(name + 1, "[") || is(name + 1, "{");
        if (!declarator_end) return; // a function, or a shape this does not read
        for (size_t q = first; q < star; ++q)
            if (is(q, "(")) return; // a function pointer or another shape
        if (space == npos || !is(space, "constant")) {
            analysis_error(tk(name), "program scope variable '" + text(name) +
                                         "' must reside in constant address space (a pointer declared there is written `" +
                                         span(first, star) + " constant " + text(name) + "`)");
            return;
        }
        program_scope_pointer_spaces_.insert(code_[space]);
        if (mode_ == pass::rewrite && shader_validation_enabled() && untouched(first, star) && pointer_type_star(first, star + 1) == star) {
            // The initializer, or each element of a braced one, goes through ::sm::program_scope<T>.
            size_t eq = name + 1;
            for (int d = 0; eq < semicolon && !(d == 0 && is(eq, "=")); ++eq) {
                if (is(eq, "[") || is(eq, "(")) ++d;
                else if (is(eq, "]") || is(eq, ")")) --d;
            }
            std::vector<std::pair<size_t, size_t>> values; // [first, last) token ranges
            if (eq + 1 < semicolon && is(eq + 1, "{")) {
                const size_t close = match(eq + 1);
                if (close == npos || close >= semicolon) return;
                for (const auto &part : split_commas(eq + 2, close))
                    if (part.first < part.second) values.push_back(part);
            } else if (eq + 1 < semicolon) {
                values.push_back({eq + 1, semicolon});
            }
            const std::string pointee = span(first, star - 1);
            for (const auto &v : values) {
                add_edit(tk(v.first).offset, 0, "::sm::program_scope<" + pointee + ">(");
                add_edit(end_of(v.second - 1), 0, ")");
            }
            add_edit(tk(first).offset, 0, "::sm::checked<");
            add_edit(tk(star).offset, 1, ">");
            consume(first, star);
        }
    }

    // A program-scope constant computed from function constants (`constant ushort M_modulo = (M % M_simd
    // == 0) ? M_simd : (M % M_simd);`) has a value only once those have one: Metal evaluates it when the
    // function is specialised. A library built without the values (the one `newLibraryWithSource:`
    // makes, or a specialisation of a kernel that does not use them) has `{}` for a function constant
    // without a value, from which such an initializer may not be a constant expression (a division by
    // zero). So a constant whose initializer reaches (directly, through other constants or helpers) a
    // function constant that has no value here and that the source never asks about with
    // `is_function_constant_defined` has no value either: `{}`. Every kernel that reaches it reaches
    // that function constant too, so it is specialised (with the value) before it runs. Constants the
    // source asks about keep their initializers, which decide what their absence means.
    void unspecialised_constant_initializers() {
        // Asked anywhere, `#define` bodies included (the rewrite reads the user's text, macros
        // unexpanded), as the runtime decides which constants are required (function_constant.cpp).
        std::set<std::string> asked, absent;
        auto tok_is = [&](size_t i, const char *w) { return src_.compare(toks_[i].offset, toks_[i].length, w) == 0; };
        for (size_t i = 0; i + 2 < toks_.size(); ++i)
            if (tok_is(i, "is_function_constant_defined") && tok_is(i + 1, "(") && toks_[i + 2].kind == token_kind::identifier)
                asked.insert(src_.substr(toks_[i + 2].offset, toks_[i + 2].length));
        for (const auto &c : constants_)
            if (!c.has_value && !asked.count(c.name)) absent.insert(c.name);
        if (absent.empty()) return;
        for (const auto &c : constant_initializers_) {
            if (c.semicolon <= c.equals + 1 || absent.count(text(c.name))) continue;
            std::set<std::string> uses;
            for (size_t q = c.equals + 1; q < c.semicolon; ++q)
                if (is_ident(q)) uses.insert(text(q));
            bool reaches = false;
            for (const auto &id : reachable(uses))
                if (absent.count(id)) reaches = true;
            if (!reaches) continue;
            bool untouched = true;
            for (size_t q = c.equals + 1; q < c.semicolon; ++q)
                if (consumed_[code_[q]]) untouched = false;
            if (!untouched) continue;
            // Blanks keep the lines and columns of what follows.
            const size_t off = tk(c.equals + 1).offset, len = tk(c.semicolon).offset - off;
            std::string replacement = blank(src_.substr(off, len));
            if (replacement.size() >= 2 && replacement.find('\n') >= 2) replacement.replace(0, 2, "{}");
            else replacement = "{}" + replacement;
            add_edit(off, len, replacement);
            consume(c.equals + 1, c.semicolon - 1);
        }
    }

    // An unsuffixed floating literal is a float in MSL (Metal has no double), which clang's
    // -cl-single-precision-constant does by an implicit conversion at the literal. Template
    // instantiation rebuilds expressions without their implicit conversions, so in a template
    // (`x * 0.1` with a dependent `x`, `T(1.0 / s[0])`) the literal was a double again: the arithmetic
    // ran in double, the value differed from Metal's, and a double converted to bfloat needed
    // compiler-rt's __truncdfbf2, which libgcc lacks (candle's reduce.metal failed to load). Each such
    // literal gets its `f` here, in the user's code outside preprocessor lines; the columns after it
    // are resynchronised like any edit's. Runs after the other rewrites, so a literal inside text they
    // replaced (consumed) is left to them.
    // The bodies of `#define` lines too (the rewrite reads the user's own text, macros unexpanded).
    void single_precision_literals() {
        bool in_define = false;
        for (size_t i = 0; i < toks_.size(); ++i) {
            const token &t = toks_[i];
            if (t.directive_start)
                in_define = i + 1 < toks_.size() && toks_[i + 1].in_directive && !toks_[i + 1].directive_start &&
                            src_.compare(toks_[i + 1].offset, toks_[i + 1].length, "define") == 0;
            if (t.kind != token_kind::number || consumed_[i] || !in_user_file(i) || (t.in_directive && !in_define)) continue;
            const std::string s = src_.substr(t.offset, t.length);
            const bool hex = s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
            const bool floating = hex ? s.find_first_of("pP") != std::string::npos : s.find_first_of(".eE") != std::string::npos;
            const char last = s.back();
            if (!floating || !((last >= '0' && last <= '9') || last == '.')) continue;
            add_edit(t.offset, t.length, s + "f", t.in_directive);
        }
    }

    // ---- token-level rewrites everywhere else ----
    // `template <..., void (*f)(args)>`: clang's C++ for OpenCL cannot match a function pointer as a
    // template argument; a reference to the function is passed the same way (`k<..., dequantize>`)
    // and called the same way, so the parameter becomes `void (&f)(args)`.
    // `S() thread {}`: a constructor qualified `thread` (MLX's MMATile, candle's simdgroup_matrix_storage).
    // In MSL it also constructs the object as a member of one whose own constructor is unqualified;
    // in C++ for OpenCL that member is in the generic address space, which a `__private` constructor
    // cannot construct. Dropping the qualifier would make `this` generic, and a generic `this` cannot
    // call the `thread` member functions the body calls (`*(elements()) = e`). So the constructor
    // keeps `thread` and gets a generic twin right after it: the same translated text without the
    // qualifier (apply_edits copies it, so it carries every other rewrite). Clang picks by the
    // object's address space: a private object the `__private` one, a member of a generic object the
    // generic one; a class template instantiates the twin only where it is used. Also for
    // `S() thread = default;`. A type that also has a `constant` constructor gets no twin: `constant`
    // is spelled generic here, and it and the twin would then be one (MLX's complex64_t has both).
    void constructor_address_space_qualifiers() {
        struct qualified_constructor {
            size_t qualifier; // index of the address-space keyword
            size_t start;     // the declaration's first token (`template`, METAL_FUNC, the name)
            size_t last;      // the body's `}` or the `;` of `= default;`; npos if not found
            std::string type;
            bool defaulted;
        };
        std::vector<qualified_constructor> qualified;
        for (size_t j = 1; j + 1 < code_.size(); ++j) {
            if (!(is(j, "thread") || is(j, "constant") || is(j, "device") || is(j, "threadgroup")) || !is(j - 1, ")"))
                continue;
            const bool defaulted = is(j + 1, "=") && is(j + 2, "default") && is(j + 3, ";");
            if (!(is(j + 1, "{") || is(j + 1, ":") || defaulted)) continue;
            size_t open = j - 1, depth = 0;
            for (;; --open) { // the '(' of the parameter list
                if (is(open, ")")) ++depth;
                else if (is(open, "(") && --depth == 0) break;
                if (open == 0) break;
            }
            if (depth != 0 || open < 1 || !is_ident(open - 1)) continue;
            // Back over the specifiers and template heads before the name.
            size_t start = open - 1;
            while (start > 0) {
                const size_t p = start - 1;
                if (is(p, "METAL_FUNC") || is(p, "inline") || is(p, "constexpr") || is(p, "explicit")) {
                    start = p;
                    continue;
                }
                if (!is(p, ">")) break;
                size_t q = p, angles = 0;
                for (;; --q) { // the template head's '<' (no `>` expressions inside heads here)
                    if (is(q, ">")) ++angles;
                    else if (is(q, ">>")) angles += 2;
                    else if (is(q, "<") && --angles == 0) break;
                    else if (is(q, ";") || is(q, "{") || is(q, "}") || q == 0) break;
                }
                if (angles != 0 || q == 0 || !is(q, "<") || !is(q - 1, "template")) break;
                start = q - 1;
            }
            if (start == 0 && open - 1 == 0) continue;
            if (start > 0 && !(is(start - 1, ";") || is(start - 1, "{") || is(start - 1, "}") || is(start - 1, ":"))) continue;
            qualified_constructor c{j, start, npos, text(open - 1), defaulted};
            if (defaulted) {
                c.last = j + 3;
            } else if (is(j + 1, "{")) {
                c.last = match(j + 1);
            } else { // member initializers: the body is the `{` after an initializer's `)` or `}`
                for (size_t q = j + 2; q < code_.size(); ++q) {
                    if (is(q, ";")) break;
                    if (is(q, "(")) {
                        q = match(q);
                        if (q == npos) break;
                    } else if (is(q, "{")) {
                        if (is(q - 1, ")") || is(q - 1, "}") || is(q - 1, "...")) {
                            c.last = match(q);
                            break;
                        }
                        q = match(q);
                        if (q == npos) break;
                    }
                }
            }
            qualified.push_back(c);
        }
        std::set<std::string> with_constant;
        for (const auto &q : qualified)
            if (is(q.qualifier, "constant")) with_constant.insert(q.type);
        // The `{` enclosing each qualifier (the class body), in one pass: a stack of open braces.
        std::map<size_t, size_t> enclosing; // qualifier index -> its class body's `{`
        if (mode_ != pass::analysis && !qualified.empty()) {
            std::vector<size_t> open_braces;
            size_t next = 0;
            for (size_t k = 0; k < code_.size() && next < qualified.size(); ++k) {
                if (k == qualified[next].qualifier) enclosing[k] = open_braces.empty() ? npos : open_braces.back(), ++next;
                if (is(k, "{")) open_braces.push_back(k);
                else if (is(k, "}") && !open_braces.empty()) open_braces.pop_back();
            }
        }
        std::map<size_t, std::set<std::string>> members_of; // per class body's `{`
        for (const auto &q : qualified) {
            if (!is(q.qualifier, "thread")) continue;
            if (with_constant.count(q.type) || q.last == npos || !in_user_file(code_[q.start]) || mode_ == pass::analysis) continue;
            const size_t body = enclosing.count(q.qualifier) ? enclosing[q.qualifier] : npos;
            if (body == npos) continue; // not in a class: no constructor
            const token &first = tk(q.start), &last = tk(q.last);
            duplicates_.push_back({first.offset, tk(q.qualifier).offset, last.offset, tk(q.qualifier).length, first.line, first.column,
                                   last.line, last.column + int(last.length), thread_object_calls(body, q.qualifier, q.last, q.type, members_of)});
            edit e{last.offset + last.length, 0, std::string()};
            e.duplicate = duplicates_.size();
            edits_.push_back(std::move(e));
        }
    }

    // In a constructor's generic twin `this` is generic, and a member function of the class called
    // through it (`elements()`, `this->elements()`) would need it `thread`: each such call gets
    // `((thread S*)this)->` before it, so the twin calls what the `thread` original calls (all
    // address spaces are one memory here). The class's member functions: `name (` or
    // `name <...> (` at the top level of its body, not a member initializer. From the qualifier to the
    // body's end (`from`, `to`).
    // `open`: the class body's `{`; `members_of` caches each class's member function names.
    std::vector<std::pair<size_t, std::string>> thread_object_calls(size_t open, size_t from, size_t to, const std::string &type,
                                                                    std::map<size_t, std::set<std::string>> &members_of) {
        std::vector<std::pair<size_t, std::string>> calls;
        const size_t close = match(open);
        if (close == npos || close < to) return calls;
        auto called = [&](size_t k) { // k is a name followed by `(` or by template arguments and `(`
            if (is(k + 1, "(")) return true;
            if (!is(k + 1, "<")) return false;
            const size_t c = match_angle(k + 1);
            return c != npos && is(c + 1, "(");
        };
        const bool known = members_of.count(open) != 0;
        std::set<std::string> &members = members_of[open];
        for (size_t k = open + 1; !known && k < close; ++k) {
            if (is(k, "{") || is(k, "(") || is(k, "[")) {
                k = match(k);
                if (k == npos) return calls;
                continue;
            }
            // (a member initializer `: a(x), b(y)` at this level follows `:` or `,`)
            if (is_ident(k) && text(k) != type && !is(k - 1, "operator") && !is(k - 1, "~") && !is(k - 1, ":") && !is(k - 1, ",") &&
                called(k))
                members.insert(text(k));
        }
        const std::string cast = "((thread " + type + "*)this)";
        for (size_t k = from + 1; k < to; ++k) {
            if (is(k, "this") && is(k + 1, "->") && members.count(text(k + 2)) && called(k + 2)) {
                calls.push_back({tk(k).offset, "((thread " + type + "*)"});
                calls.push_back({tk(k + 1).offset, ")"});
                k += 2;
                continue;
            }
            if (!is_ident(k) || !members.count(text(k)) || !called(k)) continue;
            if (is(k - 1, ".") || is(k - 1, "->") || is(k - 1, "::")) continue;
            calls.push_back({tk(k).offset, cast + "->"});
        }
        return calls;
    }

    // `float get() const {` in a struct: MSL's implicit object of a member function without an
    // address-space qualifier is in the thread address space; C++ for OpenCL's is generic. The
    // difference shows when a member reached through `this` binds a `thread T&` parameter
    // (MLX's BlockMMA passes its tiles to `tile_matmad(thread MMATile&...)`), and when overloads
    // differ only by unqualified vs `constant` (both generic here). Such member functions get an
    // explicit `thread`, in the class and on definitions outside it (`T S<N>::get() const {`).
    // Constructors, destructors, static and friend functions, and defaulted or deleted ones keep
    // their form.
    void member_function_object_address_space() {
        static const std::set<std::string> address_spaces = {"thread", "device", "constant", "threadgroup",
                                                              "threadgroup_imageblock", "ray_data", "object_data"};
        static const std::set<std::string> not_a_name = {"decltype", "alignas", "sizeof", "alignof", "__attribute__",
                                                          "static_assert", "noexcept", "requires", "__declspec"};
        std::set<std::pair<std::string, std::string>> qualified_members; // (class, member) given `thread` in the class
        // Adds `thread` after the cv-qualifiers of the declarator whose parameter list opens at `open`,
        // when nothing there names an address space and a body, `;` or trailing return follows.
        auto qualify = [&](size_t open) {
            const size_t close = match(open);
            if (close == npos) return false;
            size_t k = close + 1, after_cv = close;
            while (is(k, "const") || is(k, "volatile")) after_cv = k++;
            for (size_t q = close + 1; q < code_.size(); ++q) {
                if (address_spaces.count(text(q))) return false;
                if (is(q, "{") || is(q, ";") || is(q, "=") || is(q, "->") || is(q, ":")) {
                    if (is(q, "=") || is(q, ":")) return false; // defaulted, deleted, pure; a constructor's initializers
                    add_edit(end_of(after_cv), 0, " thread");
                    return true;
                }
                if (is(q, "(") || is(q, "[")) {
                    q = match(q);
                    if (q == npos) return false;
                    continue;
                }
                if (!(is(q, "const") || is(q, "volatile") || is(q, "&") || is(q, "&&") || is(q, "noexcept") || is(q, "override") ||
                      is(q, "final") || is(q, "__attribute__")))
                    return false;
            }
            return false;
        };
        // The declaration's first token: after the previous `;`, `{`, `}` or access label at this level.
        auto declaration_start = [&](size_t name, size_t floor) {
            size_t k = name;
            while (k > floor) {
                const size_t p = k - 1;
                if (is(p, ";") || is(p, "{") || is(p, "}") || (is(p, ":") && p > 0 && (is(p - 1, "public") || is(p - 1, "private") || is(p - 1, "protected"))))
                    break;
                if (is(p, ")") || is(p, "]") || is(p, ">")) { // skip back over a bracketed group
                    const char *opening = is(p, ")") ? "(" : is(p, "]") ? "[" : "<";
                    const char *closing = is(p, ")") ? ")" : is(p, "]") ? "]" : ">";
                    int depth = 0;
                    size_t q = p;
                    for (;; --q) {
                        if (is(q, closing)) ++depth;
                        else if (is(q, opening) && --depth == 0) break;
                        if (q == floor) return npos;
                    }
                    k = q;
                    continue;
                }
                --k;
            }
            return k;
        };
        auto member_declarator = [&](size_t start, size_t name_end, const std::string &class_name) {
            // name_end: the last token of the declarator's name (an identifier or an operator's).
            bool has_type = false, conversion = false;
            size_t after_templates = start; // `=` in a template parameter list is a default argument
            for (size_t k = start; k < name_end; ++k)
                if (is(k, ">")) after_templates = k + 1;
            for (size_t k = start; k <= name_end; ++k) {
                const std::string t = text(k);
                if (t == "static" || t == "friend" || t == "typedef" || t == "using" || t == "virtual" || t == "return" ||
                    t == "~" || t == "static_assert" || (t == "=" && k >= after_templates))
                    return false;
                if (t == "operator") conversion = true;
            }
            for (size_t k = start; k < name_end; ++k)
                if (is_ident(k) && !is(k, "template") && !is(k, "inline") && !is(k, "constexpr") && !is(k, "explicit") &&
                    !is(k, "METAL_FUNC") && !is(k, "typename"))
                    has_type = true;
            if (is_ident(name_end) && text(name_end) == class_name && !(name_end > start && is(name_end - 1, "operator"))) return false;
            return has_type || conversion;
        };

        // Class bodies at any nesting: the `{` of `struct|class|union Name ... {`.
        std::vector<std::pair<size_t, std::string>> bodies; // (index of `{`, class name)
        for (size_t j = 0; j + 1 < code_.size(); ++j) {
            if (!(is(j, "struct") || is(j, "class") || is(j, "union")) || !in_user_file(code_[j])) continue;
            if (j > 0 && (is(j - 1, "enum") || is(j - 1, "<") || is(j - 1, ",") || is(j - 1, "friend"))) continue;
            size_t k = j + 1;
            while (is(k, "alignas") || is(k, "__attribute__") || is(k, "[")) k = match(k + (is(k, "[") ? 0 : 1)) + 1;
            if (!is_ident(k)) continue;
            const std::string name = text(k);
            for (++k; k < code_.size(); ++k) {
                if (is(k, "<")) {
                    const size_t c = match_angle(k);
                    if (c == npos) break;
                    k = c;
                } else if (is(k, "{")) {
                    bodies.push_back({k, name});
                    break;
                } else if (is(k, ";") || is(k, "(") || is(k, "=") || is(k, ")")) {
                    break;
                }
            }
        }
        for (const auto &body : bodies) {
            const size_t end = match(body.first);
            if (end == npos) continue;
            for (size_t k = body.first + 1; k < end; ++k) {
                if (is(k, "{")) { // a member function's body or a nested class: handled on its own
                    k = match(k);
                    if (k == npos) break;
                    continue;
                }
                if (is(k, ":") && !(is(k - 1, "public") || is(k - 1, "private") || is(k - 1, "protected"))) {
                    // A constructor's member initializers (up to its body) or a bit-field's width.
                    while (k + 1 < end && !is(k + 1, "{") && !is(k + 1, ";")) {
                        ++k;
                        if (is(k, "(") || is(k, "[")) k = match(k);
                        if (k == npos) break;
                    }
                    if (k == npos) break;
                    continue;
                }
                if (!is(k, "(") || k == 0 || is(k - 1, "operator")) continue; // `operator()`: its name, not parameters
                size_t name_end = k - 1;
                if (is(name_end, ")") && name_end > 0 && is(name_end - 1, "(") && name_end > 1 && is(name_end - 2, "operator")) {
                    // operator(): the name is `operator ( )`
                } else if (!is_ident(name_end) && !(name_end > 0 && is(name_end - 1, "operator")) &&
                           !(name_end > 1 && is(name_end - 2, "operator"))) {
                    const size_t c = match(k); // an expression or attribute: skip it whole
                    if (c != npos) k = c;
                    continue;
                }
                if (is_ident(name_end) && not_a_name.count(text(name_end))) {
                    const size_t c = match(k);
                    if (c != npos) k = c;
                    continue;
                }
                const size_t start = declaration_start(name_end, body.first + 1);
                const size_t close = match(k);
                if (start != npos && member_declarator(start, name_end, body.second) && qualify(k)) {
                    qualified_members.insert({body.second, text(name_end)});
                    qualified_member_names_.push_back({tk(name_end).line, tk(name_end).column, text(name_end)});
                }
                if (close == npos) break;
                k = close;
            }
        }
        // Definitions outside the class: `R S<T>::name(params) const {` at namespace scope.
        for (size_t j = 2; j + 1 < code_.size(); ++j) {
            if (!is(j, "(") || !is_ident(j - 1) || !is(j - 2, "::") || !in_user_file(code_[j])) continue;
            size_t owner = j - 3;
            if (is(owner, ">")) { // S<T>::name
                int depth = 0;
                for (;; --owner) {
                    if (is(owner, ">")) ++depth;
                    else if (is(owner, "<") && --depth == 0) break;
                    if (owner == 0) break;
                }
                if (depth != 0 || owner == 0) continue;
                --owner;
            }
            if (!is_ident(owner) || !qualified_members.count({text(owner), text(j - 1)})) continue;
            const size_t start = declaration_start(owner, 0);
            if (start == npos || start == owner || !member_declarator(start, j - 1, text(owner))) continue;
            bool inside_body = false; // a call `S::f(x)` in a function body is no definition
            for (const auto &body : bodies)
                if (body.first < j && match(body.first) != npos && match(body.first) > j) inside_body = true;
            const size_t close = match(j);
            if (!inside_body && close != npos && (is(close + 1, "{") || is(close + 1, "const") || is(close + 1, "->"))) qualify(j);
        }
    }

    // A parameter may also be spelled with an alias of a function-pointer type (`typedef void
    // (*F)(args);` or `using F = void (*)(args);`): its type becomes ::sm::function_reference<F>.
    void function_pointer_template_parameters() {
        std::set<std::string> aliases;
        for (size_t j = 0; j + 4 < code_.size(); ++j) {
            if (is(j, "typedef")) {
                size_t end = find_semicolon(j);
                for (size_t q = j + 1; end != npos && q + 4 < end; ++q)
                    if (is(q, "(") && is(q + 1, "*") && is_ident(q + 2) && is(q + 3, ")") && is(q + 4, "(")) {
                        aliases.insert(text(q + 2));
                        break;
                    }
            } else if (is(j, "using") && is_ident(j + 1) && is(j + 2, "=")) {
                size_t end = find_semicolon(j);
                for (size_t q = j + 3; end != npos && q + 3 < end; ++q)
                    if (is(q, "(") && is(q + 1, "*") && is(q + 2, ")") && is(q + 3, "(")) {
                        aliases.insert(text(j + 1));
                        break;
                    }
            }
        }
        for (size_t j = 0; j + 1 < code_.size(); ++j) {
            if (!is(j, "template") || !is(j + 1, "<")) continue;
            size_t close = match_angle(j + 1);
            if (close == npos) continue;
            for (size_t q = j + 2; q + 4 < close; ++q)
                if (is(q, "(") && is(q + 1, "*") && is_ident(q + 2) && is(q + 3, ")") && is(q + 4, "(")) add_edit(tk(q + 1).offset, 1, "&");
            for (size_t q = j + 2; q + 1 < close; ++q)
                if ((is(q - 1, "<") || is(q - 1, ",")) && is_ident(q) && aliases.count(text(q)) && is_ident(q + 1) &&
                    (is(q + 2, ",") || is(q + 2, ">") || is(q + 2, "=")))
                    add_edit(tk(q).offset, tk(q).length, "::sm::function_reference<" + text(q) + ">");
        }
    }

    // `float4 acc = {0.f};`: MSL (C++) fills the missing elements with zeros, C++ for OpenCL refuses a
    // partial vector initializer. The braces become a call that does what MSL does.
    void vector_brace_initializers() {
        static const std::set<std::string> scalars = {"float", "half", "int", "uint", "short", "ushort", "char",
                                                      "uchar", "long", "ulong", "bool", "bfloat"};
        for (size_t j = 1; j + 3 < code_.size(); ++j) {
            if (!is_ident(j)) continue;
            std::string type = text(j);
            if (type.size() < 2 || !scalars.count(type.substr(0, type.size() - 1)) || type.back() < '2' || type.back() > '4') continue;
            if (!(is(j - 1, ";") || is(j - 1, "{") || is(j - 1, "}") || is(j - 1, "const") || is(j - 1, "::") ||
                  is(j - 1, "thread") || is(j - 1, "constant") || is(j - 1, "constexpr") || is(j - 1, "(")))
                continue;
            const std::string qualified = is(j - 1, "::") && j >= 2 ? text(j - 2) + "::" + type : type;
            // Every declarator of the statement: `float4 a = {0.f}, b = {1.f};`.
            for (size_t name = j + 1; is_ident(name);) {
                size_t open = is(name + 1, "=") ? name + 2 : name + 1;
                size_t close = is(open, "{") ? match(open) : npos;
                if (close == npos) break;
                add_edit(tk(open).offset, 1, std::string(open == name + 1 ? "= " : "") + "::sm::brace_vector<" + qualified + ">(");
                add_edit(tk(close).offset, 1, ")");
                j = close;
                if (!is(close + 1, ",")) break;
                name = close + 2;
            }
        }
    }

    // Operands clang refused for conversions MSL makes (operand_repair.hpp).
    void repair_operands() {
        if (repairs_.empty()) return;
        std::vector<size_t> line_starts = {0};
        for (size_t i = 0; i < src_.size(); ++i)
            if (src_[i] == '\n') line_starts.push_back(i + 1);
        auto offset_of = [&](int line, int column) {
            if (line < 1 || size_t(line) > line_starts.size() || column < 1) return npos;
            size_t off = line_starts[size_t(line) - 1] + size_t(column) - 1;
            size_t line_end = size_t(line) < line_starts.size() ? line_starts[size_t(line)] : src_.size();
            return off <= line_end ? off : npos;
        };
        for (const operand_repair &repair : repairs_) {
            const source_range &r = repair.range;
            size_t begin = offset_of(r.line, r.column), end = offset_of(r.end_line, r.end_column);
            if (begin == npos || end == npos || end <= begin) continue;
            add_edit(begin, 0, repair_opening(repair.kind));
            add_edit(end, 0, ")");
        }
    }

    void rewrite_remaining_tokens() {
        constructor_address_space_qualifiers();
        member_function_object_address_space();
        function_pointer_template_parameters();
        vector_brace_initializers();
        for (text_replacement &r : vector_conversion_edits(src_, toks_, code_)) add_edit(r.offset, r.length, std::move(r.text));
        repair_operands(); // after the conversions: its ")" closes outside theirs at the same place
        for (size_t i = 0; i < toks_.size(); ++i) {
            if (consumed_[i]) continue;
            const token &t = toks_[i];
            std::string s = src_.substr(t.offset, t.length);
            if (t.directive_start) {
                size_t last = i;
                while (last + 1 < toks_.size() && toks_[last + 1].in_directive && !toks_[last + 1].directive_start) ++last;
                std::string name = i + 1 <= last ? src_.substr(toks_[i + 1].offset, toks_[i + 1].length) : "";
                if (name == "define") {
                    // `#define MTL_CONST constant`: the name stands for `constant` where it declares objects.
                    if (i + 3 == last && toks_[i + 2].kind == token_kind::identifier &&
                        src_.compare(toks_[last].offset, toks_[last].length, "constant") == 0 &&
                        toks_[i + 2].offset + toks_[i + 2].length < toks_[last].offset)
                        constant_aliases_.insert(src_.substr(toks_[i + 2].offset, toks_[i + 2].length));
                    if (i + 2 <= last && toks_[i + 2].kind == token_kind::identifier) {
                        std::set<std::string> &refs = items_[src_.substr(toks_[i + 2].offset, toks_[i + 2].length)];
                        for (size_t q = i + 3; q <= last; ++q)
                            if (toks_[q].kind == token_kind::identifier) refs.insert(src_.substr(toks_[q].offset, toks_[q].length));
                    }
                    consumed_[i] = consumed_[i + 1] = true;
                    // Explicit instantiations in the body (MLX's instantiate_kernel) go, as in code: the
                    // kernel table instantiates each kernel, and clang would reject their attributes.
                    for (size_t q = i + 2; q + 2 <= last; ++q) {
                        auto at = [&](size_t k, const char *w) { return src_.compare(toks_[k].offset, toks_[k].length, w) == 0; };
                        if (!at(q, "template") || !at(q + 1, "[") || !at(q + 2, "[")) continue;
                        size_t end = q;
                        while (end <= last && !at(end, ";")) ++end;
                        if (end > last) break;
                        size_t off = toks_[q].offset, len = toks_[end].offset + 1 - off;
                        add_edit(off, len, blank(src_.substr(off, len)), true);
                        for (size_t k = q; k <= end; ++k) consumed_[k] = true;
                        q = end;
                    }
                    continue; // the rest of the body is rewritten like ordinary code
                }
                for (size_t q = i; q <= last; ++q) consumed_[q] = true;
                continue;
            }
            if (t.kind == token_kind::identifier && s == "thread" && !t.in_directive && thread_object_declaration(i)) {
                // `thread T member;` in a struct (Apple's simdgroup_event, candle's copy of it): objects are
                // in the thread space anyway, and OpenCL allows no address space on a field.
                add_edit(t.offset, t.length, blank(s));
            } else if (program_scope_pointer_spaces_.count(i)) {
                // The pointer variable's own space (program_scope_pointer): an object in global memory.
                add_edit(t.offset, t.length, "sm_constant_member");
            } else if (t.kind == token_kind::identifier && s == "constant" && defaulted_after_parameters(i)) {
                // `T() constant = default;`: a constructor for objects in constant memory. Constructors
                // carry no const (what `constant` means in types here): the generic one serves.
                add_edit(t.offset, t.length, blank(s), t.in_directive);
            } else if (t.kind == token_kind::identifier && (s == "constant" || constant_aliases_.count(s)) && constant_object(i)) {
                // An object in the constant address space (a table, a function constant): program-scope
                // storage in OpenCL's global space. `constant` in types is `__generic const` (see
                // msl_keywords.h), which OpenCL does not allow for objects.
                add_edit(t.offset, t.length, declared_static(i) || qualified_declarator(i) ? "sm_constant_member" : "sm_constant_object",
                         t.in_directive);
            } else if (s == "[" && i + 1 < toks_.size() && src_.compare(toks_[i + 1].offset, 1, "[") == 0 && !consumed_[i + 1]) {
                // An attribute: keep standard C++ ones, blank MSL ones.
                size_t depth = 0, e = i;
                for (; e < toks_.size(); ++e) {
                    char c = src_[toks_[e].offset];
                    if (toks_[e].length == 1 && c == '[') ++depth;
                    else if (toks_[e].length == 1 && c == ']' && --depth == 0) break;
                }
                if (e >= toks_.size()) continue;
                std::string first = i + 2 < e ? src_.substr(toks_[i + 2].offset, toks_[i + 2].length) : "";
                if (!is_standard_attribute(first)) {
                    add_edit(t.offset, toks_[e].offset + 1 - t.offset, blank(src_.substr(t.offset, toks_[e].offset + 1 - t.offset)),
                             t.in_directive);
                }
                for (size_t q = i; q <= e; ++q) consumed_[q] = true;
            }
        }
    }

    // Whether the `thread` at toks_[i] starts the declaration of an object (not a pointer or reference):
    // `thread T name;` after `;`, `{`, `}` or an access label.
    bool thread_object_declaration(size_t i) const {
        auto tok = [&](size_t k) { return src_.substr(toks_[k].offset, toks_[k].length); };
        if (i == 0 || toks_[i - 1].in_directive) return false;
        const std::string p = tok(i - 1);
        if (!(p == ";" || p == "{" || p == "}" || p == ":")) return false;
        int depth = 0;
        // A declaration's type is short: the bound keeps `thread thread ...` from costing quadratic time.
        const size_t limit = std::min(toks_.size(), i + 1024);
        for (size_t k = i + 1; k < limit && !toks_[k].in_directive; ++k) {
            const std::string t = tok(k);
            if (t == "<") ++depth;
            else if (t == ">") --depth;
            else if (depth > 0) continue;
            else if (t == "*" || t == "&" || t == "(" || t == ")" || t == "{") return false;
            else if (t == ";" || t == "=" || t == "[" || t == ",") return true;
        }
        return false;
    }

    // Whether the `constant` at toks_[i] starts the declaration of an object (not a pointer, reference,
    // function or parameter): `constant float table[4] = {...};`, `static constant int k = 3;`.
    bool constant_object(size_t i) const {
        // Works on toks_ (a #define body is rewritten like code): the previous token must start a
        // declaration, and the declarator must be an object's, within the same line of a directive.
        auto same_context = [&](size_t k) { return k < toks_.size() && toks_[k].in_directive == toks_[i].in_directive && !toks_[k].directive_start; };
        auto tok = [&](size_t k) { return src_.substr(toks_[k].offset, toks_[k].length); };
        if (i > 0 && same_context(i - 1)) {
            std::string p = tok(i - 1);
            auto starts_declaration = [&](const std::string &q) {
                return q == ";" || q == "{" || q == "}" || q == "static" || q == "constexpr" || q == "inline" || q == "const" || q == ":";
            };
            bool starts = starts_declaration(p) || (p == ")" && toks_[i].in_directive);
            // `static constexpr int constant n = 4;` (MLX's WorkPerThread): the address space after a
            // one-word type.
            if (!starts && toks_[i - 1].kind == token_kind::identifier && i > 1 && same_context(i - 2) &&
                starts_declaration(tok(i - 2)) && !(tok(i - 2) == "const" && i > 2 && same_context(i - 3) && tok(i - 3) == ")"))
                starts = true;
            if (!starts) return false;
            // `float get() const constant {`: a member function's qualifiers, not an object.
            if (p == "const" && i > 1 && same_context(i - 2) && tok(i - 2) == ")") return false;
        }
        int depth = 0;
        for (size_t k = i + 1; same_context(k); ++k) {
            std::string t = tok(k);
            if (t == "<") ++depth;
            else if (t == ">") --depth;
            else if (depth > 0) continue;
            else if (t == "*" || t == "&" || t == "(" || t == ")" || t == ",") return false;
            else if (t == ";" || t == "=" || t == "[" || t == "{") return true;
            else if (toks_[i].in_directive && !same_context(k + 1) && (t == "const" || t == "constexpr")) return true;
        }
        // `#define CONST static constant constexpr const`: a declaration's specifiers, ending the macro.
        return toks_[i].in_directive && i > 0 && same_context(i - 1) && tok(i - 1) == "static" && !same_context(i + 1);
    }
    // `) constant = default`, `) constant = delete`, `) constant :` (a constructor's qualifier).
    bool defaulted_after_parameters(size_t i) const {
        if (i == 0 || i + 2 >= toks_.size()) return false;
        auto tok = [&](size_t k) { return src_.substr(toks_[k].offset, toks_[k].length); };
        if (tok(i - 1) != ")") return false;
        if (tok(i + 1) == ":" && tok(i + 2) != ":") return true;
        return tok(i + 1) == "=" && (tok(i + 2) == "default" || tok(i + 2) == "delete");
    }

    // Whether the object declared from toks_[i] on is named with `::` (a static member defined outside
    // its class: `constant float T<6>::table[8];`), which takes no `static`.
    bool qualified_declarator(size_t i) const {
        int depth = 0;
        for (size_t k = i + 1; k < toks_.size() && toks_[k].in_directive == toks_[i].in_directive; ++k) {
            std::string t = src_.substr(toks_[k].offset, toks_[k].length);
            if (t == "<") ++depth;
            else if (t == ">") --depth;
            else if (depth > 0) continue;
            else if (t == "::") return true;
            else if (t == ";" || t == "=" || t == "[" || t == "{") return false;
        }
        return false;
    }

    // Whether `static` appears in the declaration before toks_[i] (the object needs no other).
    // A one-word type may stand between them (`static constexpr int constant n`).
    bool declared_static(size_t i) const {
        bool type_seen = false;
        for (size_t k = i; k-- > 0;) {
            if (toks_[k].in_directive != toks_[i].in_directive || toks_[k].directive_start) return false;
            std::string t = src_.substr(toks_[k].offset, toks_[k].length);
            if (t == "static") return true;
            if (t == "const" || t == "constexpr" || t == "inline") continue;
            if (k + 1 == i && !type_seen && toks_[k].kind == token_kind::identifier) {
                type_seen = true;
                continue;
            }
            return false;
        }
        return false;
    }

    // Functions and members the user defines (`name(...) [qualifiers] {`): a user's `simd_sum` is theirs.
    // The user line of byte `offset` of the text.
    int line_at(size_t offset) const {
        auto it = std::upper_bound(toks_.begin(), toks_.end(), offset, [](size_t off, const token &t) { return off < t.offset; });
        return it == toks_.begin() ? 1 : std::prev(it)->line;
    }

public:
    // Analysis: the user lines holding a macro use that defines a kernel with threadgroup variables:
    // in the user's text the kernel's name is not where a definition spells it, after `void` (a
    // macro made the definition; the name may still be written there, as the macro's argument).
    std::set<int> macro_kernel_lines(const std::string &user) const {
        std::set<int> lines;
        const std::vector<size_t> line_starts = user_line_starts(user);
        for (const kernel_def &k : kernels_) {
            if (!k.has_threadgroup_vars || k.line < 1 || size_t(k.line) > line_starts.size() || k.column < 1) continue;
            size_t at = line_starts[size_t(k.line) - 1] + size_t(k.column) - 1;
            bool written = at <= user.size() && user.compare(at, k.name.size(), k.name) == 0;
            size_t before = std::min(at, user.size());
            while (before > 0 && std::isspace((unsigned char)user[before - 1])) --before;
            written = written && before >= 4 && user.compare(before - 4, 4, "void") == 0 &&
                      (before == 4 || !(std::isalnum((unsigned char)user[before - 5]) || user[before - 5] == '_'));
            if (!written) lines.insert(k.line);
        }
        return lines;
    }
    // Lines where a macro declares a kernel's threadgroup variable (`#define SHARED(name, n) threadgroup
    // float name[n]` used in a hand-written kernel): the rewrite must see the declaration expanded to
    // give it storage in the group's arena; unexpanded, clang refused it as a local-address-space
    // variable of a function that is no kernel (the split's). A line where the user's own tokens hold no
    // `threadgroup` (outside directives, comments and strings) did not write the declaration itself.
    std::set<int> macro_threadgroup_lines(const std::string &user) const {
        if (threadgroup_decl_lines_.empty()) return {};
        std::set<int> written;
        for (const token &t : tokenize_msl(user))
            if (t.kind == token_kind::identifier && !t.in_directive && user.compare(t.offset, t.length, "threadgroup") == 0)
                written.insert(t.line);
        std::set<int> lines;
        for (int line : threadgroup_decl_lines_)
            if (!written.count(line)) lines.insert(line);
        return lines;
    }
    // Lines where a macro declares member functions that get `thread` (MLX's DEFINE_SIMD_SCAN() in a
    // struct): the rewrite must see them expanded, or they would keep a generic object while the
    // members they call have a thread one.
    std::set<int> macro_member_lines(const std::string &user) const {
        std::set<int> lines;
        const std::vector<size_t> line_starts = user_line_starts(user);
        for (const member_name &m : qualified_member_names_) {
            if (m.line < 1 || size_t(m.line) > line_starts.size() || m.column < 1) continue;
            const size_t at = line_starts[size_t(m.line) - 1] + size_t(m.column) - 1;
            if (!(at <= user.size() && user.compare(at, m.name.size(), m.name) == 0)) lines.insert(m.line);
        }
        return lines;
    }
    // Analysis: the user lines the preprocessor kept (those of its tokens). Rewrite: set before rewrite().
    std::set<int> active_lines() const {
        std::set<int> lines;
        for (size_t j = 0; j < code_.size(); ++j) lines.insert(tk(j).line);
        return lines;
    }
    void set_active_lines(std::set<int> lines) { active_lines_ = std::move(lines); }
    static std::vector<size_t> user_line_starts(const std::string &user) {
        std::vector<size_t> starts = {0};
        for (size_t i = 0; i < user.size(); ++i)
            if (user[i] == '\n') starts.push_back(i + 1);
        return starts;
    }
    void set_repairs(std::vector<operand_repair> repairs) { repairs_ = std::move(repairs); }
    void set_specialisation_choices(std::map<std::string, int> choices) { specialisation_choices_ = std::move(choices); }
    void set_unsplit(std::map<std::string, std::string> unsplit) { unsplit_ = std::move(unsplit); }
    // Questions for the compiler about which partial specialisation a type means (specialisation_choice.hpp).
    const std::vector<std::string> &specialisation_probes() const { return specialisation_probes_; }

private:
    const std::set<std::string> &user_functions() {
        if (user_functions_computed_) return user_functions_;
        user_functions_computed_ = true;
        for (size_t j = 0; j + 1 < code_.size(); ++j) {
            if (!is_ident(j) || !is(j + 1, "(")) continue;
            size_t k = match(j + 1);
            if (k == npos) continue;
            ++k;
            while (k < code_.size() && (is(k, "const") || is(k, "thread") || is(k, "device") || is(k, "threadgroup") ||
                                        is(k, "constant") || is(k, "noexcept")))
                ++k;
            if (is(k, "{")) user_functions_.insert(text(j));
        }
        return user_functions_;
    }

    void check_instantiations() {
        for (const auto &inst : instantiations_) {
            auto it = kernel_index_.find(inst.kernel);
            if (it == kernel_index_.end() || !kernels_[it->second].is_template) {
                if (mode_ == pass::analysis) errors_ += "program_source:" + std::to_string(inst.line) + ":" + std::to_string(inst.column) +
                           ": error: explicit instantiation of '" + inst.kernel + "' does not name a kernel template\n";
            }
        }
    }

    // ---- straight-line bound ----
    // A kernel whose body, and everything it reaches by name, has no loop, no recursion and nothing that
    // could hide either (straight_facts) runs each thread in time bounded by its code's size: commit may
    // run such a command buffer itself (command_buffer.cpp) without ever being held by a long kernel.
    // The bound is in source tokens, a call counted as its callee's whole bound each time it is named;
    // Metal's library functions (the prelude: math, atomics, textures) have no unbounded loops.
    static constexpr uint64_t straight_unbounded = uint64_t(1) << 24; // and anything past it
    static bool straight_loop_word(const std::string &id) {
        return id == "for" || id == "while" || id == "do" || id == "goto" || id == "asm" || id == "__asm" || id == "__asm__";
    }
    // Adds the tokens strictly between `open` and `close` (a body's braces) to `f`.
    void add_straight_facts(size_t open, size_t close, straight_facts &f) const {
        static const std::set<std::string> not_definitions = {"if", "switch", "while", "for", "catch", "return", "constexpr", "sizeof",
                                                              "alignof", "alignas", "decltype", "static_assert", "noexcept", "throw",
                                                              "else", "case", "static_cast", "reinterpret_cast", "const_cast", "as_type"};
        unsigned open_ternaries = 0; // `?` whose `:` is still to come: a `) :` there is no constructor's
        for (size_t t = open + 1; t < close && t < code_.size(); ++t) {
            ++f.tokens;
            if (is(t, "?")) ++open_ternaries;
            else if (is(t, ":") && open_ternaries > 0) --open_ternaries;
            else if (is(t, ";") || is(t, "{") || is(t, "}")) open_ternaries = 0;
            if (is_ident(t)) {
                const std::string id = text(t);
                if (straight_loop_word(id)) f.unbounded = true;
                ++f.names[id];
                if (is(t + 1, "(") && !not_definitions.count(id)) {
                    // `name(...) {` or `name(...) : init {` inside a body: a function defined in it (not
                    // a ternary's `c ? f(x) : y`).
                    size_t q = match(t + 1);
                    if (q == npos || q >= close) {
                        f.unbounded = true;
                        continue;
                    }
                    for (++q; q < close && (is(q, "const") || is(q, "thread") || is(q, "device") || is(q, "threadgroup") ||
                                            is(q, "constant") || is(q, "noexcept") || is(q, "override") || is(q, "volatile") ||
                                            is(q, "&") || is(q, "mutable"));
                         ++q) {
                    }
                    if (is(q, "{") || (is(q, ":") && open_ternaries == 0) || is(q, "->")) f.unbounded = true;
                }
            } else if (is(t, "]") && (is(t + 1, "(") || is(t + 1, "{"))) {
                f.unbounded = true; // a lambda's introducer (an attribute before a block costs only the bound)
            } else if ((is(t, "(") && (is(t + 1, "*") || is(t + 1, "^") || is(t + 1, "&"))) || (is(t, "^") && is(t + 1, "{"))) {
                f.unbounded = true; // a function pointer or reference declarator, a block (and `(*p)`, conservatively)
            }
        }
    }
    // A top-level body [stmt_start .. brace .. close]: a function's or a type's, under `name`. A body
    // with no name the analysis can tell (an operator, a function named through a qualifier) may be
    // called without its name being seen: no kernel of the library is then bounded.
    void note_straight_item(const std::string &name, size_t stmt_start, size_t brace, size_t close) {
        if (mode_ != pass::analysis) return;
        bool qualified = false;
        for (size_t k = stmt_start; k < brace; ++k)
            if (is(k, "operator") || (is(k, "::") && is_ident(k + 1) && is(k + 2, "("))) qualified = true;
        if (name.empty() || qualified) {
            straight_library_unbounded_ = true;
            return;
        }
        add_straight_facts(brace, close, straight_items_[name]);
    }
    // The bound of what `name` stands for (straight_unbounded when none): memoized; a name being worked
    // out is unbounded meanwhile, so that a cycle (recursion) makes everything on it unbounded.
    uint64_t straight_cost(const std::string &name) {
        if (straight_loop_word(name)) return straight_unbounded;
        auto memo = straight_costs_.find(name);
        if (memo != straight_costs_.end()) return memo->second;
        straight_costs_[name] = straight_unbounded;
        uint64_t cost = 0;
        if (kernel_index_.count(name)) {
            cost = straight_unbounded; // a kernel is no function to call
        } else if (auto f = straight_items_.find(name); f != straight_items_.end()) {
            cost = straight_sum(f->second);
        } else if (auto it = items_.find(name); it != items_.end()) {
            // A declaration without a body (a type alias, a program-scope constant): what it names.
            for (const auto &n : it->second) cost = std::min(straight_unbounded, cost + straight_cost(n));
        }
        straight_costs_[name] = cost;
        return cost;
    }
    uint64_t straight_sum(const straight_facts &f) {
        if (f.unbounded) return straight_unbounded;
        uint64_t cost = f.tokens;
        for (const auto &n : f.names) {
            const uint64_t callee = straight_cost(n.first);
            if (callee == 0) continue;
            if (callee >= straight_unbounded || n.second >= straight_unbounded) return straight_unbounded;
            cost = std::min(straight_unbounded, cost + n.second * callee); // both below 2^24: no overflow
        }
        return cost;
    }
    // A kernel's table entry value: 0 (not bounded) or its bound. `instance`: the instantiation's
    // function expression (`&::k<float, S>`), whose names (template arguments) the body's names do not
    // show: a user type or constant among them leaves the kernel unbounded.
    uint32_t straight_line_tokens(const kernel_def &k, bool meets_threads, const std::string &instance) {
        if (straight_library_unbounded_ || meets_threads || k.regions) return 0;
        if (k.is_template || !k.template_args.empty())
            for (const std::string &id : instance_names(k, instance))
                if (straight_items_.count(id) || items_.count(id) || kernel_index_.count(id)) return 0;
        const uint64_t cost = straight_sum(k.straight);
        return cost >= straight_unbounded ? 0 : uint32_t(std::max<uint64_t>(1, cost));
    }

    // ---- barrier analysis ----
    // Metal's own names that meet the SIMD group or quad: its SIMD-group and quad-group functions, the
    // simdgroup_matrix functions and types, `thread_elements`. Only these: a parameter or member named
    // `simd_lane_id` or `simd_group_id`, or the attribute `[[simdgroup_index_in_threadgroup]]` on a
    // constructor's parameter (MLX's BlockLoader), meets nobody; read as a meeting by its prefix, it made
    // the type holding it "meet" and put its kernel on fibers.
    static bool is_metal_meeting_name(const std::string &id) {
        static const std::set<std::string> matrix_functions = {"load", "store", "multiply", "multiply_accumulate"};
        if (id == "thread_elements" || is_simd_group_function(id)) return true;
        if (id.compare(0, 10, "simdgroup_") == 0) return matrix_functions.count(id.substr(10)) != 0 || is_matrix_type_name(id);
        return false;
    }
    // Calls after which a kernel's threads must be able to wait for each other (fibers, or a split at
    // barriers): barriers, and the SIMD-group functions, which are meetings of 32 lanes.
    // A function of the user's own of such a name is not one, unless it calls the name itself: then it
    // is an overload for a type of its own that wraps Metal's (candle's `simd_shuffle_down(indexed<T>,
    // ushort)` shuffling each member), and reaches the meeting.
    bool is_barrier_seed(const std::string &id) {
        if (id == "threadgroup_barrier" || id == "simdgroup_barrier") return true;
        if (!is_metal_meeting_name(id)) return false;
        if (!user_functions().count(id) && !items_.count(id)) return true;
        if (source_types().count(id)) return false; // (candle's `simdgroup_reducer`: a struct's item names itself)
        auto it = items_.find(id);
        return it != items_.end() && it->second.count(id);
    }
    // The source's own overloads of Metal's shuffles that move a whole value of a type of its own, member by
    // member or as bits (candle's `simd_shuffle_down(indexed<T> iv, ushort delta)` returning
    // `indexed<T>{simd_shuffle_down(iv.i, delta), simd_shuffle_down(iv.val, delta)}`, and
    // `as_type<int64_t>(simd_shuffle_down(as_type<uint2>(data), delta))`): each lane gets the whole value
    // of the lane Metal's shuffle names, as Metal's own does for a type it takes, so the split meets
    // through them as through Metal's (which one a call means, the compiler decides; both move the
    // value alike). A name with any definition of another shape is not one.
    const std::set<std::string> &shuffle_wrappers() {
        if (shuffle_wrappers_computed_) return shuffle_wrappers_;
        shuffle_wrappers_computed_ = true;
        static const std::set<std::string> shuffles = {"simd_shuffle", "simd_shuffle_up", "simd_shuffle_down", "simd_shuffle_xor",
                                                       "simd_shuffle_rotate_up", "simd_shuffle_rotate_down", "simd_broadcast",
                                                       "quad_shuffle", "quad_shuffle_up", "quad_shuffle_down", "quad_shuffle_xor",
                                                       "quad_shuffle_rotate_up", "quad_shuffle_rotate_down", "quad_broadcast"};
        std::map<std::string, bool> all_wrap; // name -> every definition is a wrapper
        for (size_t j = 0; j + 1 < code_.size(); ++j) {
            if (!is_ident(j) || !shuffles.count(text(j)) || !is(j + 1, "(") || (j > 0 && (is(j - 1, ".") || is(j - 1, "->")))) continue;
            const size_t close = match(j + 1);
            if (close == npos || !is(close + 1, "{")) continue; // (a call, not a definition)
            const bool wraps = shuffle_wrapper_definition(j, close);
            auto it = all_wrap.find(text(j));
            all_wrap[text(j)] = (it == all_wrap.end() || it->second) && wraps;
        }
        for (const auto &w : all_wrap)
            if (w.second) shuffle_wrappers_.insert(w.first);
        return shuffle_wrappers_;
    }
    bool shuffle_wrappers_computed_ = false;
    std::set<std::string> shuffle_wrappers_;
    // `R name(X v, D d) { return as_type<R>(name(as_type<U>(v), d)); }` or
    // `R name(X v, D d) { return R{name(v.m1, d), ..., name(v.mk, d)}; }` with m1..mk every data member of
    // R's struct in order, R spelled as X (`j`: the name, `close`: the parameter list's ')').
    bool shuffle_wrapper_definition(size_t j, size_t close) {
        const std::string name = text(j);
        // The parameters: `[qualifiers] X v, [qualifiers] D d`.
        size_t comma = npos;
        for (size_t k = j + 2; k < close; ++k)
            if (is(k, "(") || is(k, "[") || is(k, "<")) {
                if (is(k, "<")) { // (a template-id in X)
                    int d = 0;
                    for (; k < close; ++k) {
                        if (is(k, "<")) ++d;
                        else if (is(k, ">") && --d == 0) break;
                    }
                } else {
                    k = match(k);
                }
            } else if (is(k, ",")) {
                if (comma != npos) return false;
                comma = k;
            }
        if (comma == npos || !is_ident(comma - 1) || !is_ident(close - 1)) return false;
        const std::string v = text(comma - 1), d = text(close - 1);
        std::string x; // X as spelled, without qualifiers
        for (size_t k = j + 2; k + 1 < comma; ++k)
            if (!(is(k, "const") || is(k, "thread"))) x += text(k);
        // The return type right before the name: `T`, or `S<args>` (back over the arguments to the name).
        size_t t = j;
        if (t > 0 && is(t - 1, ">")) {
            int depth = 0;
            for (t = j - 1; t > 0; --t) {
                if (is(t, ">")) ++depth;
                else if (is(t, "<") && --depth == 0) break;
            }
        }
        if (t == 0 || !is_ident(t - 1)) return false;
        --t;
        std::string r;
        for (size_t k = t; k < j; ++k) r += text(k);
        if (r != x) return false;
        const size_t open = close + 1, body_close = match(open);
        if (body_close == npos || !is(open + 1, "return") || !is(body_close - 1, ";")) return false;
        const size_t a = open + 2, b = body_close - 1; // the returned expression
        const std::string builtin = "__metal_" + name; // (MLX's bfloat16 overloads call Metal's builtin)
        auto call_at = [&](size_t k, size_t &arg_a, size_t &arg_b, size_t &end) {
            // `name(ARG, d)`, also as `metal::name`, `::metal::name` or `__metal_name`: ARG's tokens
            // [arg_a, arg_b), `end` after the ')'.
            if (is(k, "::")) ++k;
            if (is(k, "metal") && is(k + 1, "::")) k += 2;
            if (!(is(k, name.c_str()) || is(k, builtin.c_str())) || !is(k + 1, "(")) return false;
            const size_t c = match(k + 1);
            if (c == npos || c < k + 5 || !is(c - 1, d.c_str()) || !is(c - 2, ",")) return false;
            arg_a = k + 2;
            arg_b = c - 2;
            end = c + 1;
            return true;
        };
        size_t arg_a, arg_b, end;
        // name(static_cast<U>(v), d), R and X a narrow integer (or bool) and U a 32-bit one: the
        // value goes there and back unchanged (MLX's `bool simd_shuffle_down(bool data, uint16_t delta)`).
        if (call_at(a, arg_a, arg_b, end) && end == b) {
            static const std::set<std::string> narrow = {"bool", "char", "uchar", "short", "ushort", "int8_t", "uint8_t", "int16_t", "uint16_t"};
            static const std::set<std::string> wide = {"int", "uint", "int32_t", "uint32_t", "unsigned"};
            if (!narrow.count(r) || !is(arg_a, "static_cast") || !is(arg_a + 1, "<") || !is(arg_a + 3, ">") || !wide.count(text(arg_a + 2)))
                return false;
            return is(arg_a + 4, "(") && is(arg_a + 5, v.c_str()) && is(arg_a + 6, ")") && arg_a + 7 == arg_b;
        }
        // as_type<R>(name(as_type<U>(v), d))
        if (is(a, "as_type") && is(a + 1, "<")) {
            size_t k = a + 2;
            std::string cast;
            while (k < b && !is(k, ">")) cast += text(k++);
            if (cast != r || !is(k + 1, "(")) return false;
            const size_t outer_close = match(k + 1);
            if (outer_close == npos || outer_close + 1 != b || !call_at(k + 2, arg_a, arg_b, end) || end != outer_close) return false;
            if (!is(arg_a, "as_type") || !is(arg_a + 1, "<")) return false;
            size_t q = arg_a + 2;
            while (q < arg_b && !is(q, ">")) ++q;
            return is(q + 1, "(") && is(q + 2, v.c_str()) && is(q + 3, ")") && q + 4 == arg_b;
        }
        // R{name(v.m1, d), ...}
        size_t k = a;
        std::string spelled;
        while (k < b && !is(k, "{")) spelled += text(k++);
        if (spelled != r || !is(k, "{") || match(k) + 1 != b) return false;
        std::vector<std::string> members;
        for (size_t q = k + 1; q < match(k);) {
            if (!call_at(q, arg_a, arg_b, end) || arg_b != arg_a + 3 || !is(arg_a, v.c_str()) || !is(arg_a + 1, ".") || !is_ident(arg_a + 2))
                return false;
            members.push_back(text(arg_a + 2));
            q = end;
            if (is(q, ",")) ++q;
        }
        const std::string type = r.substr(0, r.find('<'));
        return !members.empty() && members == data_members_of(type);
    }
    // The data members of struct `type` (its one definition), in order: `T name;` declarations at its own
    // level that are not static; empty when it has another definition or another shape of member.
    std::vector<std::string> data_members_of(const std::string &type) {
        std::vector<std::string> members;
        int definitions = 0;
        for (const size_t i : class_keywords(type)) {
            if (i + 2 >= code_.size()) continue;
            size_t open = i + 2;
            while (open < code_.size() && !is(open, "{") && !is(open, ";") && !is(open, "<")) ++open;
            if (!is(open, "{")) continue;
            if (++definitions > 1) return {};
            const size_t close = match(open);
            if (close == npos) return {};
            size_t head = open + 1;
            for (size_t k = open + 1; k < close; ++k) {
                if ((is(k, "(") || is(k, "[") || is(k, "{")) && match(k) != npos) {
                    const size_t m = match(k);
                    if (is(k, "{") || (is(k, "(") && (is(m + 1, "{") || is(m + 1, "=") || is(m + 1, "threadgroup") || is(m + 1, "const")))) {
                        // a member function, constructor or `= default` one: to its end
                        size_t e = m;
                        while (e < close && !is(e, ";") && !is(e, "{")) ++e;
                        if (is(e, "{")) e = match(e);
                        k = e;
                        head = k + 1;
                        continue;
                    }
                    k = m;
                    continue;
                }
                if (is(k, ";")) {
                    bool is_static = false;
                    for (size_t h = head; h < k; ++h)
                        if (is(h, "static") || is(h, "using") || is(h, "typedef")) is_static = true;
                    if (!is_static && k > head + 1 && is_ident(k - 1)) members.push_back(text(k - 1));
                    head = k + 1;
                }
            }
        }
        return members;
    }
    // The names of the source's structs and classes (`struct S {`, `struct S<...> {`, `class S;`).
    const std::set<std::string> &source_types() {
        if (source_types_computed_) return source_types_;
        source_types_computed_ = true;
        for (size_t j = 0; j + 1 < code_.size(); ++j)
            if ((is(j, "struct") || is(j, "class")) && is_ident(j + 1)) source_types_.insert(text(j + 1));
        return source_types_;
    }
    bool source_types_computed_ = false;
    std::set<std::string> source_types_;
    // Everything `refs` names, directly or through the functions, types and kernels it uses.
    std::set<std::string> reachable(const std::set<std::string> &refs) {
        std::set<std::string> seen;
        std::vector<std::string> todo(refs.begin(), refs.end());
        while (!todo.empty()) {
            std::string id = todo.back();
            todo.pop_back();
            if (!seen.insert(id).second) continue;
            auto it = items_.find(id);
            if (it != items_.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
            auto kit = kernel_index_.find(id);
            if (kit != kernel_index_.end()) todo.insert(todo.end(), kernels_[kit->second].refs.begin(), kernels_[kit->second].refs.end());
        }
        return seen;
    }
    // The function constants among `names` (what a kernel reaches), '\n'-separated: on Metal a function
    // has only those, and a kernel using none needs no specialisation even when the library declares some.
    std::string constants_used(const std::set<std::string> &names) const {
        std::string used;
        for (const auto &c : constants_)
            if (names.count(c.name)) used += (used.empty() ? "" : "\n") + c.name;
        return used;
    }
    bool reaches_seed(const std::set<std::string> &names) {
        for (const auto &id : names)
            if (is_barrier_seed(id)) return true;
        return false;
    }
    // The first name in an instantiation's text (`&::k<SumOp, float>`, its template arguments or
    // signature), besides the kernel itself, of a type or function that reaches a barrier or SIMD-group
    // call; "" when none does.
    // A matrix type (`simdgroup_half8x8`, ggml's `FA_TYPES_F32` list naming one) is not: the body's own
    // simdgroup_* calls on it are what meet, and those the body shows.
    std::string instance_meeting_name(const kernel_def &k, const std::string &instance) {
        for (const std::string &id : instance_names(k, instance))
            if (meets_through_code(id)) return id;
        return "";
    }
    // An instantiation's parameters as written (`device T *out [[buffer(0)]], uint simd_lane_id
    // [[thread_index_in_simdgroup]]`) without their names and attributes: what names a type there. A
    // parameter named like a SIMD-group function (candle's `simd_lane_id`) or a position attribute
    // (`simdgroup_index_in_threadgroup`) is no meeting the instantiation adds; read as one, it put a
    // kernel that meets nobody on fibers.
    static std::string parameter_types(const std::string &signature) {
        const std::vector<token> ts = tokenize_msl(signature);
        auto is = [&](size_t k, const char *w) { return k < ts.size() && signature.compare(ts[k].offset, ts[k].length, w) == 0; };
        std::string out;
        size_t start = 0; // the current parameter's first token
        int depth = 0;
        for (size_t k = 0; k <= ts.size(); ++k) {
            const bool ends = k == ts.size() || (depth == 0 && is(k, ","));
            if (!ends) {
                if (is(k, "(") || is(k, "[") || is(k, "<") || is(k, "{")) ++depth;
                else if ((is(k, ")") || is(k, "]") || is(k, ">") || is(k, "}")) && depth > 0) --depth;
                continue;
            }
            // [start, k): `type name [[attr]]...`; the type ends before the first `[[` at its level.
            size_t type_end = k;
            int d = 0;
            for (size_t j = start; j < k; ++j) {
                if (d == 0 && is(j, "[") && is(j + 1, "[")) {
                    type_end = j;
                    break;
                }
                if (is(j, "(") || is(j, "[") || is(j, "<")) ++d;
                else if ((is(j, ")") || is(j, "]") || is(j, ">")) && d > 0) --d;
            }
            // The declared name: the last token, an identifier after a type (a name, `*`, `&`, `>`).
            if (type_end > start + 1 && ts[type_end - 1].kind == token_kind::identifier &&
                (ts[type_end - 2].kind == token_kind::identifier || is(type_end - 2, "*") || is(type_end - 2, "&") || is(type_end - 2, ">")))
                --type_end;
            for (size_t j = start; j < type_end; ++j) out += signature.substr(ts[j].offset, ts[j].length) + " ";
            out += k < ts.size() ? ", " : "";
            start = k + 1;
        }
        return out;
    }
    // The names an instantiation's text (`&::k<SumOp, float>`, template arguments or a signature) holds
    // besides the kernel's own: what its body's names do not show.
    static std::vector<std::string> instance_names(const kernel_def &k, const std::string &instance) {
        std::vector<std::string> names;
        for (const token &t : tokenize_msl(instance))
            if (t.kind == token_kind::identifier && instance.compare(t.offset, t.length, k.name) != 0)
                names.push_back(instance.substr(t.offset, t.length));
        return names;
    }
    static bool is_matrix_type_name(const std::string &id) {
        return id == "simdgroup_matrix" ||
               (id.compare(0, 10, "simdgroup_") == 0 && id.size() > 13 && id.compare(id.size() - 3, 3, "8x8") == 0);
    }
    // Whether `id` reaches a barrier or SIMD-group function other than by naming a matrix type (remembered).
    bool meets_through_code(const std::string &id) {
        auto it = meets_through_code_.find(id);
        if (it != meets_through_code_.end()) return it->second;
        bool meets = false;
        if (!is_matrix_type_name(id))
            for (const std::string &r : reachable({id}))
                if (is_barrier_seed(r) && !is_matrix_type_name(r)) meets = true;
        return meets_through_code_[id] = meets;
    }
    bool instance_meets(const kernel_def &k, const std::string &instance) { return !instance_meeting_name(k, instance).empty(); }
    // The rewrite pass's record of an explicit instantiation: its template arguments as written, and
    // with its parameter types (what instance_meeting_name reads).
    struct instantiation_text {
        std::string args, names;
    };
    // A template kernel split per instantiation (function_instances): the instantiation's template
    // arguments as written, and region_kernel::function_arguments for it.
    struct instance_split {
        std::string args;
        std::vector<std::pair<std::string, std::string>> function_arguments;
    };
    // A template kernel that meets through its instantiations' arguments, split once per instantiation
    // when each argument that meets names a function of the source's own given to a function template
    // parameter (`template <mul_mv_disp_fn_t disp_fn>`, `template <void (*f)(...)>`): for each explicit
    // instantiation, those parameters and arguments; the functions the arguments name (and the helpers
    // those reach) are added to `meeting`, for the split to inline. False (with `blocked`, when a name
    // says why) otherwise: a type argument whose members meet (`k<SumOp>`) stays on fibers.
    bool function_instances(const kernel_def &k, const std::vector<instantiation_text> &instantiations, std::set<std::string> &meeting,
                            std::vector<instance_split> &instances, std::string &blocked) {
        instances.clear();
        int definitions = 0;
        for (const auto &d : kernels_)
            if (d.name == k.name && d.is_template) ++definitions;
        if (definitions != 1) return false; // (overloads: which one an instantiation names is clang's to say)
        const std::vector<std::string> params = top_level_parts(k.template_params);
        std::set<std::string> seen;
        for (const instantiation_text &inst : instantiations) {
            if (!seen.insert(inst.args).second) continue;
            const std::vector<std::string> args = top_level_parts(inst.args);
            if (args.empty() || args.size() > params.size()) return false; // (deduced arguments: nothing to bind)
            instance_split split{inst.args, {}};
            for (size_t a = 0; a < args.size(); ++a) {
                const std::string through = instance_meeting_name(k, args[a]);
                if (through.empty()) continue;
                const std::string parameter = function_parameter_name(params[a]);
                const std::vector<token> ts = tokenize_msl(args[a]);
                const size_t head = !ts.empty() && args[a].compare(ts[0].offset, ts[0].length, "&") == 0 ? 1 : 0;
                const std::string function = head < ts.size() && ts[head].kind == token_kind::identifier ? args[a].substr(ts[head].offset, ts[head].length) : "";
                if (parameter.empty() || function.empty() || !user_functions().count(function) || kernel_index_.count(function)) {
                    blocked = through;
                    return false;
                }
                // (The function itself, though what it calls may show no meeting: `mmv_fn` calls its own parameter.)
                if (!collect_meeting_helpers(function, meeting, blocked)) return false;
                for (const std::string &id : instance_names(k, args[a]))
                    if (id != function && meets_through_code(id) && !collect_meeting_helpers(id, meeting, blocked)) return false;
                split.function_arguments.push_back({parameter, args[a]});
            }
            instances.push_back(split);
        }
        return !instances.empty();
    }
    // `text` (template parameters or arguments) split at its top-level commas, each part trimmed.
    static std::vector<std::string> top_level_parts(const std::string &text) {
        std::vector<std::string> parts;
        const std::vector<token> ts = tokenize_msl(text);
        int depth = 0;
        size_t start = 0;
        for (size_t k = 0; k <= ts.size(); ++k) {
            const std::string t = k < ts.size() ? text.substr(ts[k].offset, ts[k].length) : ",";
            if (t == "<" || t == "(" || t == "[" || t == "{") ++depth;
            else if ((t == ">" || t == ")" || t == "]" || t == "}") && depth > 0) --depth;
            if (t != "," || (depth > 0 && k < ts.size())) continue;
            if (k > start) parts.push_back(text.substr(ts[start].offset, ts[k - 1].offset + ts[k - 1].length - ts[start].offset));
            start = k + 1;
        }
        return parts;
    }
    // The name a template parameter declares when it takes a function: `F f` (F not a keyword: a typedef of
    // a function type; clang says if it is not), `R (*f)(args)`, `R (&f)(args)`; "" for a type parameter,
    // a number's, or a pack.
    static std::string function_parameter_name(const std::string &param) {
        const std::vector<token> ts = tokenize_msl(param);
        auto word = [&](size_t k) { return param.substr(ts[k].offset, ts[k].length); };
        if (ts.size() >= 5 && word(0) != "typename" && word(0) != "class")
            for (size_t k = 0; k + 4 < ts.size(); ++k)
                if (word(k) == "(" && (word(k + 1) == "*" || word(k + 1) == "&") && ts[k + 2].kind == token_kind::identifier && word(k + 3) == ")" &&
                    word(k + 4) == "(")
                    return word(k + 2);
        static const std::set<std::string> not_functions = {"typename", "class", "template", "bool", "char", "uchar", "short", "ushort",
                                                            "int", "uint", "long", "ulong", "size_t", "half", "float", "const", "unsigned", "signed"};
        if (ts.size() == 2 && ts[0].kind == token_kind::identifier && ts[1].kind == token_kind::identifier && !not_functions.count(word(0)))
            return word(1);
        return "";
    }
    // Whether `names` (what a kernel reaches) holds an atomic_* function or type. LLVM 19's outer-loop
    // vectorizer (-enable-vplan-native-path) drops atomic read-modify-writes in the loops it widens
    // (VPlan widens every instruction of the inner loop without checking it can: an atomicrmw is lost, no
    // error), so a thread loop around a loop reaching an atomic must not ask for it.
    static bool reaches_atomics(const std::set<std::string> &names) {
        for (const auto &id : names)
            if (id.compare(0, 7, "atomic_") == 0) return true;
        return false;
    }
    bool reaches_barrier(const std::set<std::string> &refs) {
        if (refs.size() == 1) { // (asked once per name and kernel: remembered)
            auto it = reaches_cache_.find(*refs.begin());
            if (it != reaches_cache_.end()) return it->second;
            return reaches_cache_[*refs.begin()] = reaches_seed(reachable(refs));
        }
        return reaches_seed(reachable(refs));
    }
    // Adds `f` and the helpers it meets other threads through to `out`; false when one of them is no
    // plain function of the user's own (a type, a member, a library's own overload of a Metal name).
    // `blocked` gets the first name that is not such a function (for the remark).
    bool collect_meeting_helpers(const std::string &f, std::set<std::string> &out, std::string &blocked) {
        if (out.count(f)) return true;
        // (A struct with a constructor is among user_functions: its name is followed by a body.)
        if (!is_barrier_seed(f)) {
            // A struct of the source's own whose static member functions meet (`S::reduce(v)`,
            // `Op::simd_op(v)`): those members are helpers the split inlines where called through the type.
            // (The type's own name is no helper: `S<float> s;` is no call.)
            std::set<std::string> members, others;
            if (collecting_types_.count(f)) return true;
            if (!static_meeting_members(f, members, others)) {
                auto scanned = static_members_cache_.find(f);
                if (scanned != static_members_cache_.end() && scanned->second.quiet) return true; // (a trait: no call meets through it)
            } else {
                unblocked_types_.insert(f);
                out.insert(members.begin(), members.end());
                collecting_types_.insert(f);
                bool ok = true;
                for (const auto &id : others)
                    if (ok && !collect_meeting_helpers(id, out, blocked)) ok = false;
                collecting_types_.erase(f);
                return ok;
            }
        }
        if (!user_functions().count(f) || is_barrier_seed(f) || f.compare(0, 5, "simd_") == 0 || f.compare(0, 5, "quad_") == 0 ||
            f.compare(0, 10, "simdgroup_") == 0) {
            blocked = f;
            return false;
        }
        out.insert(f);
        auto it = items_.find(f);
        if (it == items_.end()) {
            blocked = f;
            return false;
        }
        for (const auto &id : it->second)
            if (id != f && !is_barrier_seed(id) && reaches_barrier({id}) && !collect_meeting_helpers(id, out, blocked)) return false;
        return true;
    }

    // For a struct or class `type` of the source (every definition of it, specialisations too): the
    // names of its member functions that meet other threads (a barrier or SIMD-group call in their
    // bodies, directly or through another of its members), and the other names of the source through
    // which they meet (helpers, other types), when every such member is a named function: a meeting can
    // then only be reached by a call the split sees as one (`S::f(...)`, `f(...)` or `obj.f(...)` by
    // name; the split inlines a non-static one only when it reads nothing of its object, else keeps
    // fibers). False when an operator meets (`reducer(v)` on an object: no call by the member's name),
    // a non-static meeting member names `this`, or `type` is no struct of the source.
    std::set<std::string> collecting_types_; // types whose members collect_meeting_helpers is collecting
    std::set<std::string> unblocked_types_;  // the kernel's types whose static members meet (collect_meeting_helpers)
    std::set<std::string> functor_types_;    // types of the source whose call operator meets (static_meeting_members)
    // A function that calls a meeting member through a template parameter (`Op::simd_op(v)`, Op bound
    // by its caller to `Sum<float>`) meets too, though nothing it names reaches a barrier by itself:
    // every function the kernel reaches that names a meeting member or helper is one to inline (found
    // again until none is added); a type that does, other than those whose static members meet, keeps
    // the kernel on fibers (`blocked` names it), so that no meeting hides in a call the split leaves.
    bool calls_of_members_visible(const std::set<std::string> &refs, std::set<std::string> &meeting, std::string &blocked) {
        const std::set<std::string> all = reachable(refs);
        for (bool grew = true; grew;) {
            grew = false;
            for (const auto &g : all) {
                if (meeting.count(g) || unblocked_types_.count(g) || kernel_index_.count(g)) continue;
                auto it = items_.find(g);
                if (it == items_.end()) continue;
                bool calls = false;
                for (const auto &id : it->second)
                    if (id != g && meeting.count(id)) {
                        calls = true;
                        break;
                    }
                if (!calls) continue;
                // A struct of the source that names a meeting member (Max's own `simd_op`, reached from a
                // kernel of Sum's through a trait's specialisation): fine when its own meetings are calls
                // the split sees, as for a type the kernel names (collect_meeting_helpers).
                std::set<std::string> own_members, own_others;
                if (!user_functions().count(g) && !static_meeting_members(g, own_members, own_others)) {
                    if (quiet_type(g, meeting)) continue; // (MLX's ThreadSort::sort beside BlockMergeSort's)
                    blocked = g;
                    return false;
                }
                if (!collect_meeting_helpers(g, meeting, blocked)) return false;
                grew = true;
            }
        }
        return true;
    }
    struct static_members_result {
        bool ok = false;
        bool functor = false; // its call operator meets (a functor object: `r(v)`)
        bool quiet = false;   // nothing of it meets: only a specialisation's pattern names a type that does (a trait)
        std::set<std::string> members, others;
        std::string why; // when not ok: why its meetings are not calls the split sees (for the remark)
    };
    std::map<std::string, static_members_result> static_members_cache_; // (asked per kernel: a scan of the whole source)
    std::set<std::string> scanning_types_; // types whose scan_static_meeting_members is running
    bool static_meeting_members(const std::string &type, std::set<std::string> &members, std::set<std::string> &others) {
        auto cached = static_members_cache_.find(type);
        if (cached == static_members_cache_.end()) {
            if (!scanning_types_.insert(type).second) return false; // (a member alias naming its own class)
            static_members_result r;
            r.ok = scan_static_meeting_members(type, r.members, r.others, r.functor, r.quiet, r.why);
            scanning_types_.erase(type);
            cached = static_members_cache_.emplace(type, std::move(r)).first;
        }
        members = cached->second.members;
        others = cached->second.others;
        if (cached->second.ok && cached->second.functor) functor_types_.insert(type);
        return cached->second.ok;
    }
    bool scan_static_meeting_members(const std::string &type, std::set<std::string> &members, std::set<std::string> &others,
                                     bool &functor, bool &quiet, std::string &why) {
        struct member_function {
            std::string name;
            bool is_static = false, is_operator = false;
            bool is_call_operator = false; // `operator()`
            std::set<std::string> uses;
        };
        // Data members and the names their declarations hold (`simdgroup_reducer<OP, N, T> simd_reduce;`):
        // a member function naming one whose type meets meets too.
        std::map<std::string, std::set<std::string>> data_members;
        // Its simdgroup_matrix data members (MLX's and candle's BlockMMA: `simdgroup_matrix<AccumType, 8, 8>
        // results[TM * TN] = {...};`): the SIMD group's, not a lane's; the split holds them apart from the
        // object, one copy per SIMD group (helper_inliner::object_matrices), so every member function
        // naming one is inlined like one that meets.
        std::set<std::string> matrix_members;
        std::set<std::string> declaration_names; // the names of the member declaration being read
        std::vector<member_function> functions;
        std::set<std::string> outside; // names in the class outside its member functions' bodies
        std::map<std::string, std::set<std::string>> aliased; // its member aliases' names in their values (`using block_merge_sort_t = BlockMergeSort<...>;`)
        bool found = false, specialised = false;
        for (const size_t i : class_keywords(type)) {
            if (i + 2 >= code_.size()) continue;
            size_t open = i + 2;
            while (open < code_.size() && !is(open, "{") && !is(open, ";") && !is(open, "(") && !is(open, ")")) ++open;
            if (!is(open, "{")) continue;
            const size_t close = match(open);
            if (close == npos) return false;
            found = true;
            size_t h = i + 2;
            if (is(h, "<")) {
                // A partial specialisation's pattern (`S<OP, N, T, enable_if_t<is_simd_op<OP>::value>>`):
                // which definition applies, not a use of its names (the split asks the compiler which,
                // specialisation_choice.hpp).
                specialised = true;
                for (int d = 0; h < open; ++h) {
                    if (is(h, "<")) ++d;
                    else if (is(h, ">") && --d == 0) break;
                    else if (is(h, ">>") && (d -= 2) <= 0) break;
                }
                ++h;
            }
            for (; h < open; ++h) // base classes
                if (is_ident(h)) outside.insert(text(h));
            size_t head = open + 1; // where the current member's declaration starts
            declaration_names.clear();
            for (size_t k = open + 1; k < close; ++k) {
                if (is(k, ";") || is(k, "}") || (is(k, ":") && !is(k - 1, ":") && !is(k + 1, ":"))) {
                    const size_t declared = is(k, ";") ? declared_member(head, k) : npos;
                    if (declared != npos) {
                        data_members[text(declared)] = declaration_names;
                        for (const auto &n : declaration_names)
                            if (is_matrix_type_name(n)) matrix_members.insert(text(declared));
                    }
                    declaration_names.clear();
                    head = k + 1;
                    continue;
                }
                if (k == head && member_alias(k, close, aliased)) continue; // (k at its ';')
                if (is(k, "(") || is(k, "[")) {
                    const size_t m = match(k);
                    if (m == npos) return false;
                    // `name(params) [qualifiers] {`: a member function defined in the class.
                    size_t b = m + 1;
                    while (b < close && (is(b, "const") || is(b, "thread") || is(b, "device") || is(b, "threadgroup") ||
                                         is(b, "constant") || is(b, "noexcept")))
                        ++b;
                    if (is(k, "(") && is(b, "{")) {
                        member_function fn;
                        size_t n = k;
                        if (is(n - 1, ")") && is(n - 2, "(") && is(n - 3, "operator")) fn.is_operator = fn.is_call_operator = true;
                        else if (is(n - 1, ">") || !is_ident(n - 1)) fn.is_operator = true; // (operators and the like)
                        else fn.name = text(n - 1);
                        for (size_t h = head; h < k; ++h) {
                            if (is(h, "static")) fn.is_static = true;
                            if (is(h, "operator")) fn.is_operator = true;
                        }
                        const size_t body_close = match(b);
                        if (body_close == npos) return false;
                        for (size_t u = b + 1; u < body_close; ++u) {
                            if (is_ident(u)) fn.uses.insert(text(u));
                            // `(*this)(v)`: a call of the call operator, as `operator()(v)` names it
                            if (is(u, "(") && is(u + 1, "*") && is(u + 2, "this") && is(u + 3, ")") && is(u + 4, "("))
                                fn.uses.insert("operator");
                        }
                        functions.push_back(fn);
                        k = body_close;
                        head = k + 1;
                        declaration_names.clear();
                        continue;
                    }
                    k = m;
                    continue;
                }
                if (is(k, "{")) { // a nested class or an initializer
                    const size_t m = match(k);
                    if (m == npos) return false;
                    for (size_t h = k; h < m; ++h)
                        if (is_ident(h)) outside.insert(text(h));
                    k = m;
                    continue;
                }
                if (is_ident(k)) {
                    outside.insert(text(k));
                    declaration_names.insert(text(k));
                }
            }
        }
        if (!found) return false;
        // A data member, base or nested class that meets (a functor object called by a member) is a
        // meeting the split would not see.
        std::set<std::string> names;
        for (const auto &fn : functions)
            if (!fn.name.empty()) names.insert(fn.name);
        std::set<std::string> meeting_data_members = matrix_members;
        for (const auto &id : outside)
            // (A data member's own name is no use: candle's `simd_reduce` is not Metal's function. A
            // matrix type names the matrix members above.)
            if (id != type && !names.count(id) && !data_members.count(id) && !is_matrix_type_name(id) &&
                (is_barrier_seed(id) || reaches_barrier({id}))) {
                // A data member whose type is a struct of the source meeting through calls the split sees
                // (`simd_reducer<OP, N, T> simd_reduce;`, called `simd_reduce(v)` in a member function):
                // inlined as a call on the member of the object.
                std::set<std::string> inner_members, inner_others;
                if (!specialised && !is_barrier_seed(id) && !user_functions().count(id) && !collecting_types_.count(id) &&
                    static_meeting_members(id, inner_members, inner_others)) {
                    for (const auto &d : data_members)
                        if (d.second.count(id)) meeting_data_members.insert(d.first);
                    others.insert(id);
                    continue;
                }
                why = specialised ? "'" + type + "' has specialisations, whose arguments or members meet other threads ('" + id +
                                        "'): which definition a use means is the compiler's to choose"
                                  : "'" + type + "' holds a member, base or nested type that meets other threads ('" + id + "')";
                return false;
            }
        // A type a member alias names whose meetings are static member functions (KernelMergeSort's
        // `block_merge_sort_t`, called `block_merge_sort_t::sort(...)`): one more type the kernel meets
        // through, as if it named it; a call through the alias is inlined as through the type.
        std::set<std::string> meeting_aliases;
        if (!aliased_meeting_types(type, aliased, names, others, meeting_aliases, why)) return false;
        // Which meet: a seed, another name of the source that reaches one, or (repeatedly) a meeting member.
        std::vector<bool> meets(functions.size(), false);
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t f = 0; f < functions.size(); ++f) {
                if (meets[f]) continue;
                for (const auto &id : functions[f].uses) {
                    const bool through_member = names.count(id) && members.count(id);
                    // (`this->operator()(a, b)`, `(*this)(v)`: the call operator, which meets)
                    const bool through_call_operator = id == "operator" && members.count("operator()");
                    if (through_member || through_call_operator || meeting_aliases.count(id) || meeting_data_members.count(id) || is_barrier_seed(id) ||
                        (id != type && !names.count(id) && reaches_barrier({id}))) {
                        meets[f] = true;
                        changed = true;
                        if (!functions[f].name.empty()) members.insert(functions[f].name);
                        if (functions[f].is_call_operator) members.insert("operator()"); // (no token is named so: a mark)
                        break;
                    }
                }
            }
        }
        for (size_t f = 0; f < functions.size(); ++f) {
            if (!meets[f]) continue;
            // Its call operator is inlined where an object of it is called (`r(v)`; the split finds the
            // object's declaration); another operator's calls show no name.
            if (functions[f].is_operator && !functions[f].is_call_operator) {
                why = "'" + type + "' meets other threads in an operator other than its call operator";
                return false;
            }
            if (functions[f].is_call_operator) functor = true;
            for (const auto &id : functions[f].uses)
                if (id != type && !names.count(id) && !is_barrier_seed(id) && reaches_barrier({id})) others.insert(id);
        }
        if (members.empty() && !functor && others.empty()) quiet = true; // (only its patterns name what meets)
        return !members.empty() || functor;
    }

    // The name a data member declaration [head, semi) declares (`short sm;`, `T a[N];`,
    // `simdgroup_matrix<T, 8, 8> results[N] = {...};`): its first name after a type, before `[`, `=`, `{`
    // or the end; npos for other declarations (a function's, an alias's).
    size_t declared_member(size_t head, size_t semi) const {
        for (size_t t = head + 1; t < semi; ++t) {
            if (is(t, "(") || is(t, "using") || is(t, "typedef") || is(t, "friend")) return npos;
            if (is_ident(t) && (is_ident(t - 1) || is(t - 1, ">")) && (is(t + 1, "[") || is(t + 1, "=") || is(t + 1, "{") || t + 1 == semi))
                return t;
        }
        return npos;
    }
    // ---- types reached through member aliases, and types whose members meet nobody (MLX's sort) ----
    // At `k` (a member declaration's start): `using X = ...;` adds the names of its value to `aliased`
    // and moves `k` to its ';'.
    bool member_alias(size_t &k, size_t close, std::map<std::string, std::set<std::string>> &aliased) {
        if (!is(k, "using") || !is_ident(k + 1) || !is(k + 2, "=")) return false;
        size_t e = k + 3;
        std::set<std::string> &names = aliased[text(k + 1)];
        for (; e < close && !is(e, ";"); ++e)
            if (is_ident(e)) names.insert(text(e));
        if (e >= close) return false;
        k = e - 1; // (the loop's next token is the ';', which starts the next member)
        return true;
    }
    // The names in `type`'s member aliases that reach a meeting: each must be a struct of the source whose
    // meetings are its static member functions (added to `others`, which the kernel then collects like a
    // type it names), else `why` says which meets and the type keeps the fiber path. `meeting_aliases`
    // gets the aliases naming one: a member function that names such an alias meets.
    bool aliased_meeting_types(const std::string &type, const std::map<std::string, std::set<std::string>> &aliased,
                               const std::set<std::string> &names, std::set<std::string> &others, std::set<std::string> &meeting_aliases,
                               std::string &why) {
        for (const auto &alias : aliased)
            for (const auto &id : alias.second) {
                if (id == type || names.count(id) || !(is_barrier_seed(id) || reaches_barrier({id}))) continue;
                std::set<std::string> members, more;
                if (user_functions().count(id) || !static_meeting_members(id, members, more)) {
                    why = "'" + type + "' holds a member, base or nested type that meets other threads ('" + id + "')";
                    return false;
                }
                others.insert(id);
                meeting_aliases.insert(alias.first);
            }
        return true;
    }
    // A struct of the source no member of which meets other threads (MLX's ThreadSort, whose static
    // `sort` is named like BlockMergeSort's meeting one): its members reach no barrier or SIMD-group call,
    // and the names it shares with `meeting` (what the kernel meets through) are only its own member
    // functions' names where it defines them. A call through it is an ordinary call.
    bool quiet_type(const std::string &type, const std::set<std::string> &meeting) {
        if (user_functions().count(type) || is_barrier_seed(type)) return false;
        std::set<std::string> members, others;
        if (static_meeting_members(type, members, others)) return false;
        const static_members_result &r = static_members_cache_.at(type);
        if (!r.why.empty() || !r.members.empty()) return false;
        bool found = false;
        for (const size_t i : class_keywords(type)) {
            if (i + 2 >= code_.size()) continue;
            size_t open = i + 2;
            while (open < code_.size() && !is(open, "{") && !is(open, ";") && !is(open, "(") && !is(open, ")")) ++open;
            if (!is(open, "{")) continue;
            const size_t close = match(open);
            if (close == npos) return false;
            found = true;
            for (size_t u = i + 2; u < close; ++u) {
                if (!is_ident(u)) continue;
                if (is_barrier_seed(text(u))) return false;
                if (!meeting.count(text(u))) continue;
                // its own definition: `name(params) [qualifiers] {`, not a call (`X::name(`, `x.name(`, `name(`)
                if (is(u - 1, "::") || is(u - 1, ".") || is(u - 1, "->") || !is(u + 1, "(")) return false;
                size_t b = match(u + 1);
                if (b == npos) return false;
                for (++b; b < close && (is(b, "const") || is(b, "thread") || is(b, "noexcept") || is(b, "device") ||
                                        is(b, "threadgroup") || is(b, "constant"));
                     ++b) {
                }
                if (!is(b, "{")) return false;
            }
        }
        return found;
    }
    // The structs the kernel reaches that are quiet_type: calls through them the split leaves as calls.
    std::set<std::string> quiet_types(const std::set<std::string> &refs, const std::set<std::string> &meeting) {
        std::set<std::string> quiet;
        for (const auto &g : reachable(refs))
            if (quiet_type(g, meeting)) quiet.insert(g);
        return quiet;
    }

    // A kernel's template parameter list as the rewrite leaves it: `void (*f)(args)` is `void (&f)(args)`
    // there (see the token-level rewrites), so the split function's own list, written from the
    // original text, says the same (else its address is no match for the kernel table's).
    static std::string function_references(std::string params) {
        for (size_t p = params.find('('); p != std::string::npos; p = params.find('(', p + 1)) {
            size_t q = p + 1;
            while (q < params.size() && std::isspace((unsigned char)params[q])) ++q;
            if (q >= params.size() || params[q] != '*') continue;
            size_t r = q + 1;
            while (r < params.size() && std::isspace((unsigned char)params[r])) ++r;
            const size_t name = r;
            while (r < params.size() && (std::isalnum((unsigned char)params[r]) || params[r] == '_')) ++r;
            if (r == name) continue;
            while (r < params.size() && std::isspace((unsigned char)params[r])) ++r;
            if (r < params.size() && params[r] == ')') {
                size_t t = r + 1;
                while (t < params.size() && std::isspace((unsigned char)params[t])) ++t;
                if (t < params.size() && params[t] == '(') params[q] = '&';
            }
        }
        return params;
    }

    // Barrier kernels whose barriers sit in structured, uniform control flow also get a version split
    // into work-item loops (barrier_regions.hpp); SOFTMETAL_BARRIER_MODE=fibers turns that off.
    std::string region_functions(const std::string &translated) {
        const char *mode = std::getenv("SOFTMETAL_BARRIER_MODE");
        if (mode && std::string(mode) == "fibers") return "";
        translated_lines_.reset(); // this text's, made on first use
        std::string out;
        // The text the split reads: `#if` groups in kernel and helper bodies resolved to their live
        // arm (body_directives.hpp; same offsets), made on first use.
        std::string resolved;
        for (auto &k : kernels_) {
            if (k.body_open == npos || k.body_close == npos || k.params_open == npos || k.params_close == npos) continue;
            // Barriers and SIMD-group calls in the body itself are split points; one reached through a
            // helper or a macro cannot be split here.
            std::set<std::string> others;
            bool direct = false;
            for (const auto &r : k.refs) {
                if (is_barrier_seed(r)) direct = true;
                else others.insert(r);
            }
            // SOFTMETAL_REMARKS: why a kernel that meets other threads stays on fibers, in the library's
            // log with the lanes remarks (the compiler prints those on stderr, also for a library found
            // in the cache).
            auto on_fibers = [&](const std::string &why) {
                if (!remarks_enabled()) return;
                lane_remarks_ += "program_source:" + std::to_string(k.line) + ": remark: kernel '" + k.name + "' runs on fibers: " + why + "\n";
            };
            // Helpers through which the kernel meets other threads are inlined by the split, if they are
            // plain functions of the user's own whose meetings are direct or through such helpers.
            std::set<std::string> meeting;
            bool inlinable = true;
            std::string blocked;
            unblocked_types_.clear();
            for (const auto &r : others)
                if (inlinable && reaches_barrier({r}) && !collect_meeting_helpers(r, meeting, blocked)) inlinable = false;
            // A template kernel meeting through its instantiations' arguments (`Op::simd_op(v)` in the
            // body, `k<SumOp>` instantiated): the body alone shows no meeting, and neither the split nor
            // the lanes could see it, so the kernel meets on fibers; unless each such argument is a
            // function given to a function template parameter (ggml's `kernel_mul_mv_id<mmv_fn<...>>`):
            // then the kernel is split once per instantiation, its calls of the parameter inlined.
            std::vector<instance_split> instances;
            auto inst = instantiated_with_.find(k.name);
            if (inlinable && k.is_template && inst != instantiated_with_.end())
                for (const instantiation_text &i : inst->second) {
                    const std::string through = instance_meeting_name(k, i.names);
                    if (through.empty()) continue;
                    if (function_instances(k, inst->second, meeting, instances, blocked)) break;
                    inlinable = false;
                    if (blocked.empty()) blocked = through;
                    break;
                }
            if (inlinable && !unblocked_types_.empty()) inlinable = calls_of_members_visible(others, meeting, blocked);
            // A kernel that never meets other threads may run its threads as SIMD lanes instead.
            const bool meets = direct || !meeting.empty() || !inlinable;
            if (!inlinable) {
                // A struct's reason, when it is one whose meetings the split cannot see as calls.
                auto type = static_members_cache_.find(blocked);
                const std::string reason = type != static_members_cache_.end() && !type->second.ok && !type->second.why.empty()
                                               ? ": " + type->second.why
                                               : "";
                on_fibers("a barrier or SIMD-group function reached through a type or a function that cannot be inlined ('" + blocked + "')" +
                          reason);
                continue;
            }
            bool plain_scope = k.scope.find("::::") == std::string::npos;
            if (!plain_scope) {
                if (meets) on_fibers("the kernel is in an anonymous namespace");
                continue;
            }
            if (!meets && !lane_loops_enabled()) continue;
            // A kernel whose split function did not build in an earlier round (compiler.cpp,
            // retry_without_failed_splits) keeps its fiber or plain form; the others still split.
            auto failed = unsplit_.find(k.name);
            if (failed != unsplit_.end()) {
                if (meets) on_fibers("its split did not build: " + failed->second);
                else if (remarks_enabled())
                    lane_remarks_ += "program_source:" + std::to_string(k.line) + ": remark: kernel '" + k.name +
                                     "': threads not run as SIMD lanes: its lanes function did not build: " + failed->second + "\n";
                continue;
            }
            region_kernel rk;
            rk.name = k.name;
            if (k.is_template) rk.template_header = "template <" + function_references(k.template_params) + ">";
            rk.params_open = k.params_open;
            rk.params_close = k.params_close;
            rk.body_open = k.body_open;
            rk.body_close = k.body_close;
            rk.positions = k.positions;
            if (meets) { // (copies per kernel: only the split needs them)
                rk.user_functions = user_functions();
                for (const std::string &w : shuffle_wrappers()) rk.user_functions.erase(w); // (Metal's shuffle to the split)
                rk.meeting_functions = meeting;
                if (!unblocked_types_.empty()) rk.quiet_types = quiet_types(k.refs, meeting);
                rk.functor_types = functor_types_;
                rk.specialisation_choices = specialisation_choices_;
                rk.reaches_atomics = reaches_atomics(reachable(k.refs));
            }
            std::string code, why;
            if (!meets) { // no barriers: loops whose trip count differs per thread may run as SIMD lanes
                std::string lines;
                if (!translated_lines_) translated_lines_.reset(new translated_lines(translated));
                const bool lanes = build_lane_function(translated, *translated_lines_, rk, code, why, lines);
                if (remarks_enabled())
                    lane_remarks_ += "program_source:" + std::to_string(k.line) + ": remark: kernel '" + k.name + "': " +
                                     (lanes ? "threads run as SIMD lanes through the loop at line " + lines
                                            : "threads not run as SIMD lanes: " + why) + "\n";
                if (!lanes) continue;
            } else {
                // One split function, or one per instantiation (each in a namespace of its own).
                std::vector<std::string> codes;
                std::string lines;
                if (resolved.empty()) resolved = resolve_conditionals(translated, active_lines_);
                bool built = true;
                for (size_t i = 0; built && i < std::max<size_t>(1, instances.size()); ++i) {
                    if (!instances.empty()) rk.function_arguments = instances[i].function_arguments;
                    std::string instance_lines;
                    codes.emplace_back();
                    built = build_region_function(resolved, rk, codes.back(), why, &instance_lines, &specialisation_probes_);
                    if (lines.find(instance_lines) == std::string::npos) lines += (lines.empty() ? "" : ", ") + instance_lines;
                }
                if (!built) {
                    on_fibers(instances.empty() ? why : "split per instantiation: " + why);
                    continue;
                }
                if (remarks_enabled() && !lines.empty())
                    lane_remarks_ += "program_source:" + std::to_string(k.line) + ": remark: kernel '" + k.name +
                                     "': threads of a barrier region run as SIMD lanes through the loop at line " + lines + "\n";
                if (!instances.empty()) {
                    for (size_t i = 0; i < instances.size(); ++i) {
                        const int id = regions_count_;
                        k.instance_regions[instances[i].args] = {id, codes[i].size()};
                        out += region_function_text(k, "namespace sm_instance_" + std::to_string(id) + " {\n" + codes[i] + "}\n");
                    }
                    continue;
                }
                code = codes[0];
            }
            k.regions_id = regions_count_;
            k.regions_bytes = code.size();
            out += region_function_text(k, code);
            k.regions = true;
        }
        return out;
    }

    // A split function's text at the kernel's namespace scope, under its own guard: compiled on demand, a
    // chunk parses only the split functions of its own kernels (kernel_table's SM_REGIONS_<id>): candle's
    // reduce.metal has 75 of 600 KB each (its reductions inlined once per block size), most of the
    // library's text.
    std::string region_function_text(const kernel_def &k, const std::string &code) {
        std::string open, close;
        for (size_t p = 2; p < k.scope.size();) {
            size_t e = k.scope.find("::", p);
            open += "namespace " + k.scope.substr(p, e - p) + " {\n";
            close += "}\n";
            p = e + 2;
        }
        const std::string id = std::to_string(regions_count_++);
        return "\n#if !defined(SM_CHUNK) || SM_REGIONS_" + id + "\n" + open + code + close + "\n#endif // SM_REGIONS_" + id + "\n";
    }

    // ---- output ----
public:
    std::string preamble() const {
        std::string p = "#include \"metal_stdlib.h\"\n" + msl_predefined_macros(options_);
        for (const auto &c : constants_)
            p += "constexpr bool sm_fc_defined_" + c.name + " = " + (c.has_value ? "true" : "false") + ";\n";
        return p;
    }

private:
    std::string apply_edits() {
        // By place; insertions before replacements at the same place; otherwise in the order made.
        std::vector<size_t> order(edits_.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [this](size_t a, size_t b) {
            const edit &x = edits_[a], &y = edits_[b];
            if (x.offset != y.offset) return x.offset < y.offset;
            if (x.length != y.length) return x.length < y.length;
            return a < b;
        });
        std::vector<edit> sorted;
        for (size_t i : order) sorted.push_back(edits_[i]);
        edits_.swap(sorted);
        std::string out;
        out.reserve(src_.size() + 1024);
        size_t pos = 0;
        // Where the kernels' brackets land in the output (barrier_regions works on the translated text).
        std::map<size_t, size_t *> tracked;
        for (auto &k : kernels_)
            for (size_t *p : {&k.params_open, &k.params_close, &k.body_open, &k.body_close})
                if (*p != npos) tracked[*p] = p;
        // Where the duplicated declarations' tokens land (npos: inside another edit's text).
        std::map<size_t, size_t> placed;
        for (const auto &d : duplicates_) {
            for (size_t off : {d.begin, d.blanked, d.last}) placed[off] = npos;
            for (const auto &ins : d.insertions) placed[ins.first] = npos;
        }
        auto track = [&](size_t from, size_t to) {
            for (auto it = tracked.lower_bound(from); it != tracked.end() && it->first < to; it = tracked.erase(it))
                *it->second = out.size() + (it->first - from);
            for (auto it = placed.lower_bound(from); it != placed.end() && it->first < to; ++it)
                if (it->second == npos) it->second = out.size() + (it->first - from);
        };
        // The twin: the translated text from the first token to the last, the keyword blanked, on the
        // original's lines, then back to the place after the original. Nothing when a token it needs
        // went into another edit's text.
        auto twin = [&](const duplicated_declaration &d) {
            const size_t b = placed[d.begin], k = placed[d.blanked], l = placed[d.last];
            if (b == npos || k == npos || l == npos || !(b <= k && k < l) || l >= out.size() || out[l] != src_[d.last] ||
                out.compare(k, d.blanked_length, src_, d.blanked, d.blanked_length) != 0)
                return std::string();
            std::string copy = out.substr(b, l + 1 - b);
            std::vector<std::pair<size_t, const std::string *>> inserts; // (place in the copy, text)
            for (const auto &ins : d.insertions) {
                const size_t at = placed[ins.first];
                if (at == npos || at <= k || at > l) continue; // inside another edit's text: that call stays as it is
                inserts.push_back({at - b, &ins.second});
            }
            std::stable_sort(inserts.begin(), inserts.end(), [](const auto &x, const auto &y) { return x.first > y.first; });
            for (const auto &ins : inserts) copy.insert(ins.first, *ins.second);
            copy.replace(k - b, d.blanked_length, std::string(d.blanked_length, ' '));
            return resync(d.line, d.column) + copy + resync(d.after_line, d.after_column);
        };
        int padded_line = -1;
        size_t padded_on_line = 0, padded_total = 0;
        for (const edit &e : edits_) {
            if (e.offset < pos) continue; // overlapping edit: the earlier one wins
            // Code the preprocessor skipped (an inactive #if arm) is left alone: a #line there would
            // be skipped too, while its newline still counted, and every later line would be off.
            if (!e.in_directive && !active_lines_.empty() && !active_lines_.count(line_at(e.offset))) continue;
            track(pos, e.offset);
            out.append(src_, pos, e.offset - pos);
            if (e.duplicate) {
                out += twin(duplicates_[e.duplicate - 1]);
                pos = e.offset;
                continue;
            }
            {
                auto at = placed.find(e.offset); // a declaration starting with edited text: the text is its start
                if (at != placed.end() && at->second == npos) at->second = out.size();
            }
            out += e.text;
            pos = e.offset + e.length;
            if (e.text.size() == e.length || e.in_directive || e.synced) continue;
            // The rest of this line moved: resynchronise at the next token if it is on the same line.
            auto by_offset = [](const token &t, size_t off) { return t.offset < off; };
            auto next = std::lower_bound(toks_.begin(), toks_.end(), pos, by_offset);
            if (next == toks_.end() || next->in_directive) continue;
            auto edited = std::lower_bound(toks_.begin(), toks_.end(), e.offset, by_offset);
            if (edited == toks_.end() || edited->line != next->line) continue; // the next token is on a later line
            // The padding costs the column: on an absurdly long line (100 KB of literals) resyncing
            // after every edit would be quadratic. Past the budget the rest of that line keeps
            // clang's columns, off by what the edits added; lines stay right.
            if (next->line != padded_line) {
                padded_line = next->line;
                padded_on_line = 0;
            }
            const size_t cost = size_t(next->column > 0 ? next->column : 1);
            if (padded_on_line + cost > (256u << 10) || padded_total + cost > (16u << 20)) continue;
            padded_on_line += cost;
            padded_total += cost;
            out += resync(next->line, next->column);
            pos = next->offset;
        }
        track(pos, src_.size());
        out.append(src_, pos, npos);
        for (auto &t : tracked) *t.second = npos; // inside an edit: not usable
        return out;
    }

public:
    // The module's kernel table: every kernel and instantiation the analysis found; what the rewrite
    // did to each (threadgroup variables, a split at barriers) comes from `rewritten`.
    // `meets`: per entry, whether its kernel meets the other threads of its group (barriers, SIMD-group
    // functions: what GEMM-like kernels do), the kind whose code costs most to make (compiler.cpp's
    // on-demand cost estimate).
    // `chunk_macros`: what goes before the program: SM_WANT(n) (whether entry n is in the chunk being
    // compiled) and each split function's guard, SM_REGIONS_<id>: whether an entry of the chunk uses it.
    // `split_bytes`: per entry, the size of its split function's text (0: none).
    std::string kernel_table(std::vector<std::string> &names, std::vector<bool> &meets, std::vector<size_t> &split_bytes,
                             const std::map<std::string, rewritten_kernel> &rewritten, std::string &chunk_macros) {
        std::string decls, entries;
        int n = 0;
        std::map<int, std::string> regions_wanted; // a split function's guard -> `|| SM_WANT(n)` for each entry using it
        // What a kernel's body reaches, and what it reaches with its parameters' attributes (function
        // constants), are the same for all its instantiations (MLX makes thousands of one template):
        // walked once per definition. (Parameter attributes such as simdgroup_index_in_threadgroup
        // name no barrier: the barrier question looks at the body alone.)
        std::map<const kernel_def *, std::pair<bool, std::string>> walked;
        auto reach = [&](const kernel_def &k) -> const std::pair<bool, std::string> & {
            auto it = walked.find(&k);
            if (it != walked.end()) return it->second;
            std::set<std::string> names = reachable(k.refs);
            const bool barriers = reaches_seed(names);
            for (const auto &name : reachable(k.param_refs)) names.insert(name);
            return walked.emplace(&k, std::make_pair(barriers, constants_used(names))).first->second;
        };
        // The function constants a kernel reads: a template kernel's also those its instantiation's
        // arguments reach (ggml's `kernel_mul_mv_id<mmv_fn<kernel_mul_mv_t_t_disp<float, float>>>` reads
        // FC_mul_mv_nsg in the function its argument names: without it in the list, the pipeline was made
        // without the value the kernel needs).
        auto constants_of = [&](const kernel_def &k, const std::string &instance) {
            if (!k.is_template) return reach(k).second;
            const std::vector<std::string> ids = instance_names(k, instance);
            std::set<std::string> names = reachable(std::set<std::string>(ids.begin(), ids.end()));
            const std::string &own = reach(k).second;
            for (size_t p = 0; p < own.size();) {
                const size_t e = std::min(own.find('\n', p), own.size());
                names.insert(own.substr(p, e - p));
                p = e + 1;
            }
            return constants_used(names);
        };
        std::map<const kernel_def *, bool> atomics_walked;
        auto reach_atomics = [&](const kernel_def &k) {
            auto it = atomics_walked.find(&k);
            return it != atomics_walked.end() ? it->second : (atomics_walked[&k] = reaches_atomics(reachable(k.refs)));
        };
        // The same through a template kernel's instantiation (`&::k<AtomicCounter>`): its names, each walked once.
        std::map<std::string, bool> atomics_by_name;
        auto instance_atomics = [&](const kernel_def &k, const std::string &instance) {
            if (!k.is_template) return false;
            for (const std::string &id : instance_names(k, instance)) {
                auto it = atomics_by_name.find(id);
                if (it == atomics_by_name.end()) it = atomics_by_name.emplace(id, reaches_atomics(reachable({id}))).first;
                if (it->second) return true;
            }
            return false;
        };
        std::string where; // resync() to the instantiation being emitted, "" for a kernel defined as such
        // One table entry: `fn` names the kernel function; `regions_fn`, when not empty, its split form.
        auto entry = [&](const kernel_def &k, const std::string &exported, const std::string &fn, const std::string &tg_size,
                         const std::string &regions_fn, size_t regions_bytes) {
            for (const auto &b : k.bindings)
                if (b == "-") return; // refused above
            // A template kernel also meets through its instantiation's arguments: `Op::simd_op(v)` in
            // the body names no meeting, `k<SumOp>` does (without this, simd_sum ran as a lone lane).
            const bool meets_threads = reach(k).first || (k.is_template && instance_meets(k, fn));
            std::string b = "sm_bindings_" + std::to_string(n), list;
            for (size_t i = 0; i < k.bindings.size(); ++i) list += (i ? ", " : "") + k.bindings[i];
            // An explicit instantiation's entry is where the user's instantiation happens: an error in
            // its template arguments (a type the source does not declare) is at the user's line.
            const std::string back = where.empty() ? "" : "\n#line 1 \"softmetal_generated\"\n";
            decls += where + "using " + b + " = ::sm::entry::bindings<" + list + ">;\n" + back;
            const std::string slot = "table[SM_SLOT(" + std::to_string(n) + ")]";
            entries += "#if SM_WANT(" + std::to_string(n) + ")\n" + where + "    " + slot + " = ";
            if (!regions_fn.empty()) {
                decls += "using " + b + "_group = ::sm::entry::bindings<" + list + (list.empty() ? "" : ", ") + "::sm::entry::sm_group_binding>;\n";
                entries += "::sm::entry::kernel_info_regions<" + b + ", " + b + "_group, " + fn + ", " + regions_fn + ">(\"" + exported +
                           "\", " + tg_size + ");\n";
            } else {
                // run_group's copy for rows SM_GROUP_ROW wide (kernel_entry.h) doubles the code clang makes
                // of the body: only for bodies as small as barrier_regions' constant-row copies, and not
                // in the unvectorized loop of a kernel that reaches atomics.
                const bool atomics = reach_atomics(k) || instance_atomics(k, fn);
                const bool row_copy = !meets_threads && !atomics && k.straight.tokens <= constant_row_copy_tokens;
                entries += "::sm::entry::kernel_info<" + b + ", " + fn + ", " + (meets_threads ? "true" : "false") +
                           (atomics ? ", true" : row_copy ? ", false, true" : "") +
                           ">(\"" + exported + "\", " + tg_size + ");\n";
            }
            entries += back;
            std::string names_list;
            uint64_t read_only = 0;
            for (size_t p = 0; p < k.parameter_names.size(); ++p) {
                names_list += (p ? "\n" : "") + k.parameter_names[p];
                if (p < 64 && k.read_only[p]) read_only |= uint64_t(1) << p;
            }
            entries += "    " + slot + ".parameter_names = (const char *)(__SIZE_TYPE__)\"" + c_string_body(names_list) + "\";\n    " + slot +
                       ".read_only_parameters = " + std::to_string(read_only) + "ul;\n";
            const std::string used = constants_of(k, fn);
            if (!used.empty()) entries += "    " + slot + ".function_constants = (const char *)(__SIZE_TYPE__)\"" + c_string_body(used) + "\";\n";
            if (const uint32_t bound = straight_line_tokens(k, meets_threads || !regions_fn.empty(), fn))
                entries += "    " + slot + ".straight_line_tokens = " + std::to_string(bound) + "u;\n";
            entries += "#endif\n";
            names.push_back(exported);
            meets.push_back(meets_threads || !regions_fn.empty());
            split_bytes.push_back(regions_fn.empty() ? 0 : regions_bytes);
            ++n;
        };
        // A kernel named by its template arguments (or none): its arena struct and split form can be named too.
        auto emit = [&](const kernel_def &k, const std::string &exported, const std::string &args) {
            auto r = rewritten.find(rewritten_key(k));
            const bool tg = r != rewritten.end() && r->second.has_threadgroup_vars;
            const bool regions = r != rewritten.end() && r->second.regions;
            const std::string targs = k.is_template ? "<" + args + ">" : "";
            std::string regions_fn;
            size_t regions_bytes = 0;
            if (regions) {
                regions_wanted[r->second.regions_id] += " || SM_WANT(" + std::to_string(n) + ")";
                regions_fn = "&" + k.scope + "sm_regions_" + k.name + targs;
                regions_bytes = r->second.regions_bytes;
            } else if (r != rewritten.end() && r->second.instance_regions.count(args)) {
                const std::pair<int, size_t> &split = r->second.instance_regions.at(args);
                regions_wanted[split.first] += " || SM_WANT(" + std::to_string(n) + ")";
                regions_fn = "&" + k.scope + "sm_instance_" + std::to_string(split.first) + "::sm_regions_" + k.name + targs;
                regions_bytes = split.second;
            }
            entry(k, exported, "&" + k.scope + k.name + targs, tg ? "sizeof(" + k.scope + k.tg_name + targs + ")" : "0", regions_fn,
                  regions_bytes);
        };
        // A kernel picked by a function type (deduced arguments, or one overload of several): its arena
        // struct's template arguments are not spelled, so one with threadgroup variables is left out
        // (clang reports them), and it runs unsplit.
        auto emit_as = [&](const kernel_def &k, const std::string &exported, const std::string &fn) {
            // Any definition of that name: the passes may number overloads differently (macro-made ones).
            const std::string prefix = k.scope + k.name + "#";
            for (auto r = rewritten.lower_bound(prefix); r != rewritten.end() && r->first.compare(0, prefix.size(), prefix) == 0; ++r)
                if (r->second.has_threadgroup_vars) return;
            entry(k, exported, fn, "0", "", 0);
        };
        for (const auto &k : kernels_)
            if (!k.is_template) {
                // Its entry is at the kernel's own line too, so that an error its bindings cause (an
                // index given as a constant expression past Metal's table) is reported there.
                where = k.line > 0 ? resync(k.line, k.column) : std::string();
                emit(k, k.host_name.empty() ? k.name : k.host_name, "");
            }
        for (const auto &inst : instantiations_) {
            auto it = kernel_index_.find(inst.kernel);
            if (it == kernel_index_.end()) continue;
            where = inst.line > 0 ? resync(inst.line, inst.column) : std::string();
            // Overloads of one name: the instantiation's parameter count tells them apart.
            std::vector<const kernel_def *> candidates;
            for (const auto &k : kernels_)
                if (k.name == inst.kernel && k.is_template) candidates.push_back(&k);
            const kernel_def *chosen = &kernels_[it->second];
            if (candidates.size() > 1 && !inst.signature.empty()) {
                size_t params = 1;
                int depth = 0;
                for (char c : inst.signature) {
                    if (c == '(' || c == '[' || c == '<' || c == '{') ++depth;
                    else if (c == ')' || c == ']' || c == '>' || c == '}') --depth;
                    else if (c == ',' && depth == 0) ++params;
                }
                for (const kernel_def *k : candidates)
                    if (k->bindings.size() == params) chosen = k;
            }
            if (candidates.size() <= 1 && (!inst.args.empty() || inst.signature.empty())) {
                emit(*chosen, inst.host_name, inst.args);
                continue;
            }
            if (inst.signature.empty()) continue; // overloaded, and nothing says which
            // A declaration with the instantiation's own parameters picks the specialisation (deduced
            // arguments, or one overload among several).
            const std::string sig = "sm_signature_" + std::to_string(n);
            decls += where + "void " + sig + "(" + (shader_validation_enabled() ? checked_signature(inst.signature) : inst.signature) +
                     ");\n" + (where.empty() ? "" : "\n#line 1 \"softmetal_generated\"\n");
            const std::string targs = inst.args.empty() ? "" : "<" + inst.args + ">";
            emit_as(*chosen, inst.host_name, "static_cast<decltype(&" + sig + ")>(&" + chosen->scope + chosen->name + targs + ")");
        }
        where.clear();
        for (const auto &g : graphics_functions_) {
            entries += "#if SM_WANT(" + std::to_string(n) + ")\n    table[SM_SLOT(" + std::to_string(n) +
                       ")] = ::sm::entry::graphics_function_info(\"" + g.first + "\", " + std::to_string(g.second) + ");\n#endif\n";
            names.push_back(g.first);
            meets.push_back(false);
            split_bytes.push_back(0);
            ++n;
        }
        // Filled when the loader asks, not by a static initializer: the module runs no code at load.
        // Compiled with SM_CHUNK=c and SM_CHUNK_SIZE=s (compiler.cpp, a large library's code made on
        // demand), the table holds only entries [c*s, c*s+s), at slots from 0: only their kernels
        // are instantiated, and msl_keywords.h makes `kernel` functions inline, so the others are
        // not compiled either.
        const std::string count = std::to_string(n);
        chunk_macros = "#ifdef SM_CHUNK\n#define SM_WANT(n) ((n) / (SM_CHUNK_SIZE) == (SM_CHUNK))\n#define SM_SLOT(n) ((n) - (SM_CHUNK) * (SM_CHUNK_SIZE))\n"
                       "#define SM_TABLE_COUNT (" + count + " - (SM_CHUNK) * (SM_CHUNK_SIZE) < (SM_CHUNK_SIZE) ? " + count +
                       " - (SM_CHUNK) * (SM_CHUNK_SIZE) : (SM_CHUNK_SIZE))\n";
        for (const auto &w : regions_wanted) chunk_macros += "#define SM_REGIONS_" + std::to_string(w.first) + " (0" + w.second + ")\n";
        chunk_macros += "#else\n#define SM_WANT(n) 1\n#define SM_SLOT(n) (n)\n#define SM_TABLE_COUNT " + count + "\n#endif\n";
        std::string out = decls;
        out += "SM_EXPORT const sm_kernel_info *softmetal_module_kernels(const sm_runtime_api *runtime, uint32_t *count) {\n"
               "    if (!runtime || runtime->abi_version != SM_ABI_VERSION || !count) return nullptr;\n"
               "    ::sm::target::runtime = runtime;\n";
        out += "    static sm_kernel_info table[SM_TABLE_COUNT > 0 ? SM_TABLE_COUNT : 1];\n" + entries;
        out += "    *count = SM_TABLE_COUNT > 0 ? SM_TABLE_COUNT : 0;\n    return table;\n}\n";
        return out;
    }

private:
    const std::string &src_;
    const compile_options &options_;
    const std::vector<function_constant_value> &values_;
    pass mode_;
    std::vector<token> toks_;
    std::vector<bool> consumed_;
    std::vector<size_t> code_;
    struct member_name {
        int line, column;
        std::string name;
    };
    std::vector<member_name> qualified_member_names_; // member functions given `thread`, where the analysis saw them
    std::set<int> threadgroup_decl_lines_;            // user lines of kernels' threadgroup variable declarations
    std::vector<edit> edits_;
    std::vector<duplicated_declaration> duplicates_;
    std::string errors_;
    std::string lane_remarks_;
    std::unique_ptr<translated_lines> translated_lines_; // for lane_loops, made on first use
    std::vector<kernel_def> kernels_;
    std::map<std::string, size_t> kernel_index_; // name -> its first definition
    std::map<std::string, int> kernel_overloads_; // name -> definitions seen
    int regions_count_ = 0;                       // split functions made (region_functions)
    std::map<std::string, std::vector<size_t>> class_keywords_; // (class_keywords)
    bool class_keywords_read_ = false;
    std::vector<instantiation> instantiations_;
    // The rewrite pass's record of them: kernel name -> each one's instantiation_text.
    std::map<std::string, std::vector<instantiation_text>> instantiated_with_;
    std::vector<function_constant_info> constants_;
    std::map<std::string, std::set<std::string>> items_; // function/struct/macro name -> identifiers it uses
    std::map<std::string, straight_facts> straight_items_; // function/struct name -> its bodies' facts (overloads added up)
    std::map<std::string, uint64_t> straight_costs_;       // straight_cost's memo
    bool straight_library_unbounded_ = false;              // a body the analysis cannot name (note_straight_item)
    // Program-scope `constant` objects with an initializer: the name's, the `=`'s and the `;`'s tokens.
    struct constant_initializer {
        size_t name, equals, semicolon;
    };
    std::vector<constant_initializer> constant_initializers_;
    std::set<size_t> program_scope_pointer_spaces_; // toks_ indices of the `constant` after a program-scope pointer's `*`
    std::set<std::string> user_functions_;
    std::map<std::string, bool> reaches_cache_; // name -> whether it reaches a barrier or SIMD-group call
    std::map<std::string, bool> meets_through_code_; // name -> meets_through_code()
    std::set<std::string> constant_aliases_; // object-like macros that are just `constant`
    std::set<std::string> instantiated_;
    bool instantiated_computed_ = false;
    std::set<int> active_lines_;             // rewrite: lines of code the preprocessor kept
    std::vector<operand_repair> repairs_; // rewrite: operands to wrap (operand_repair.hpp)
    std::map<std::string, int> specialisation_choices_; // rewrite: the compiler's answers (specialisation_choice.hpp)
    std::map<std::string, std::string> unsplit_; // rewrite: kernels whose split did not build -> clang's first error for it
    std::vector<std::string> specialisation_probes_;    // rewrite: the split's questions still open
    std::map<std::string, std::set<std::string>> local_constant_uses_; // local constant -> identifiers of its value
    bool user_functions_computed_ = false;
    mutable bracket_table brackets_;
    mutable bool brackets_built_ = false;
    std::vector<bool> user_file_; // analysis: the token comes from the user's source
    std::vector<std::pair<size_t, int>> pragmas_; // analysis: the user's #pragma lines (token, user line)
    std::vector<std::pair<std::string, int>> graphics_functions_; // vertex (1) and fragment (2) functions
};

} // namespace

namespace {

// The last line of a macro use that starts on line `first` (index into `lines`): where its
// parentheses balance. Quotes and // comments are skipped; at most 256 lines.
size_t end_of_macro_use(const std::vector<std::string> &lines, size_t first) {
    int depth = 0;
    bool opened = false;
    for (size_t i = first; i < lines.size() && i < first + 256; ++i) {
        const std::string &l = lines[i];
        for (size_t c = 0; c < l.size(); ++c) {
            const char ch = l[c];
            if (ch == '"' || ch == '\'') {
                for (++c; c < l.size() && l[c] != ch; ++c)
                    if (l[c] == '\\') ++c;
            } else if (ch == '/' && c + 1 < l.size() && l[c + 1] == '/') {
                break;
            } else if (ch == '(') {
                ++depth;
                opened = true;
            } else if (ch == ')') {
                --depth;
            }
        }
        if (!opened || depth <= 0) return i;
    }
    return first;
}

} // namespace

// The user's source with the macro uses on `lines` replaced by clang's expansion of them, so that the
// rewrite pass, which reads the user's own text, sees the kernels those macros define (and can give
// their threadgroup variables storage). The expansion stays on the use's first line and the use's
// other lines are left empty, so every other line keeps its number; errors inside such a kernel are
// reported at the macro use's line.
std::string expand_macro_uses(const std::string &prepared, const std::string &preprocessed, const std::set<int> &lines) {
    // What the preprocessor produced for each user line, from its line markers (`# 12 "program_source"`).
    std::map<int, std::string> produced;
    bool user_file = false;
    int line = 0;
    for (const std::string &l : split_lines(preprocessed)) {
        if (l.size() > 2 && l[0] == '#' && l[1] == ' ' && l[2] >= '0' && l[2] <= '9') {
            line = std::atoi(l.c_str() + 2);
            const size_t q = l.find('"');
            user_file = q != std::string::npos && l.compare(q, 16, "\"program_source\"") == 0;
            continue;
        }
        if (user_file && !l.empty()) produced[line] += (produced[line].empty() ? "" : " ") + l;
        ++line;
    }
    std::vector<std::string> out = split_lines(prepared);
    for (int first : lines) {
        if (first < 1 || size_t(first) > out.size()) continue;
        const size_t last = end_of_macro_use(out, size_t(first) - 1);
        std::string expansion;
        for (size_t i = size_t(first) - 1; i <= last; ++i) {
            auto it = produced.find(int(i) + 1);
            if (it != produced.end()) expansion += (expansion.empty() ? "" : " ") + it->second;
            out[i].clear();
        }
        out[size_t(first) - 1] = expansion;
    }
    std::string text;
    for (size_t i = 0; i < out.size(); ++i) text += out[i] + (i + 1 < out.size() ? "\n" : "");
    return text;
}

translation translate_msl(const preprocessed_msl &source, const compile_options &options,
                          const std::vector<function_constant_value> &constants, const std::vector<operand_repair> &repairs,
                          const std::map<std::string, int> &specialisation_choices, const std::map<std::string, std::string> &unsplit) {
    translation out;
    translator analysis(source.text, options, constants, pass::analysis, source.prepared);
    bool ok = analysis.analyse();
    out.constants = analysis.constants();
    if (!ok) {
        out.log = analysis.errors();
        return out;
    }
    // Kernels that macros define with threadgroup variables, member functions macros declare, and
    // threadgroup variables macros declare need the rewrite to see them expanded.
    std::set<int> macro_lines = analysis.macro_kernel_lines(source.prepared);
    for (int line : analysis.macro_member_lines(source.prepared)) macro_lines.insert(line);
    for (int line : analysis.macro_threadgroup_lines(source.prepared)) macro_lines.insert(line);
    const std::string user_text = macro_lines.empty() ? source.prepared : expand_macro_uses(source.prepared, source.text, macro_lines);
    translator rewrite(user_text, options, constants, pass::rewrite, user_text);
    const std::set<int> active = analysis.active_lines();
    rewrite.set_active_lines(active);
    rewrite.set_repairs(repairs);
    rewrite.set_specialisation_choices(specialisation_choices);
    rewrite.set_unsplit(unsplit);
    std::map<std::string, rewritten_kernel> rewritten;
    std::string body = rewrite.rewrite(rewritten);
    if (!rewrite.errors().empty()) {
        out.log = rewrite.errors();
        return out;
    }
    const std::string table_start = "\n#line 1 \"softmetal_generated\"\n";
    std::string chunk_macros;
    const std::string table = analysis.kernel_table(out.kernel_names, out.meets_threads, out.split_bytes, rewritten, chunk_macros);
    out.cpp = analysis.preamble() + chunk_macros + "#line 1 \"program_source\"\n" + body + table_start + table;
    out.log += rewrite.lane_remarks();
    out.specialisation_probes = rewrite.specialisation_probes();
    bool any_regions = false;
    for (auto &k : rewritten) any_regions = any_regions || k.second.regions || !k.second.instance_regions.empty();
    if (any_regions) {
        // The same library with every barrier kernel on fibers: what the compiler falls back to if
        // the split version does not build (and what reports the user's own errors once).
        for (auto &k : rewritten) {
            k.second.regions = false;
            k.second.instance_regions.clear();
        }
        translator plain(user_text, options, constants, pass::rewrite, user_text);
        plain.set_active_lines(active);
        plain.set_repairs(repairs);
        std::map<std::string, rewritten_kernel> unused;
        std::string plain_body = plain.rewrite_without_regions(unused);
        std::vector<std::string> names;
        std::vector<bool> meets;
        std::vector<size_t> split_bytes;
        const std::string plain_table = analysis.kernel_table(names, meets, split_bytes, rewritten, chunk_macros);
        out.cpp_fibers = analysis.preamble() + chunk_macros + "#line 1 \"program_source\"\n" + plain_body + table_start + plain_table;
    }
    out.ok = true;
    return out;
}

} // namespace detail
} // namespace softmetal
