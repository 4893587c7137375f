#include "compiler/msl_translator.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "compiler/barrier_regions.hpp"
#include "compiler/msl_tokenizer.hpp"

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

struct kernel_def {
    std::string name;
    std::string scope;                 // "::ns::" prefix (just "::" at global scope)
    bool is_template = false;
    std::string template_params;       // text inside template<...>
    std::string template_args;         // "T, N": the parameters' names, to name the struct
    std::vector<std::string> bindings; // one C++ binding type per parameter (plus the group)
    bool has_threadgroup_vars = false;
    std::set<std::string> refs;        // identifiers in the body
    int line = 0, column = 0;
    // For barrier_regions: position parameters (name -> kernel_entry.h attr), and where the
    // parameter list's parentheses and the body's braces are in the user's source.
    std::vector<std::pair<std::string, std::string>> positions;
    size_t params_open = npos, params_close = npos, body_open = npos, body_close = npos;
    bool regions = false; // run_group comes from the generated sm_regions_<name>
};

struct instantiation {
    std::string kernel, args, host_name;
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

std::string blank(const std::string &s) {
    std::string r = s;
    for (char &c : r)
        if (c != '\n') c = ' ';
    return r;
}

std::string newlines_of(const std::string &s) { return std::string(std::count(s.begin(), s.end(), '\n'), '\n'); }

class translator {
public:
    translator(const std::string &src, const compile_options &opt, const std::vector<function_constant_value> &values)
        : src_(src), options_(opt), values_(values), toks_(tokenize_msl(src)), consumed_(toks_.size(), false) {
        for (size_t i = 0; i < toks_.size(); ++i)
            if (!toks_[i].in_directive) code_.push_back(i);
    }

    translation run() {
        translation out;
        parse_top_level();
        rewrite_remaining_tokens();
        check_instantiations();
        check_macros();
        out.constants = constants_;
        if (!errors_.empty()) {
            out.log = errors_;
            return out;
        }
        std::string body = apply_edits();
        std::string regions = region_functions(body);
        out.cpp = preamble() + "#line 1 \"program_source\"\n" + body + regions + "\n#line 1 \"softmetal_generated\"\n" +
                  kernel_table(out.kernel_names);
        if (!regions.empty()) {
            // The same library with every barrier kernel on fibers: what the compiler falls back to if
            // the split version does not build (and what reports the user's own errors once).
            for (auto &k : kernels_) k.regions = false;
            std::vector<std::string> names;
            out.cpp_fibers = preamble() + "#line 1 \"program_source\"\n" + body + "\n#line 1 \"softmetal_generated\"\n" +
                             kernel_table(names);
        }
        out.log = errors_;
        out.ok = errors_.empty();
        return out;
    }

private:
    // ---- token helpers (indices into code_, the tokens outside preprocessor lines) ----
    const token &tk(size_t j) const { return toks_[code_[j]]; }
    std::string text(size_t j) const { return j < code_.size() ? src_.substr(tk(j).offset, tk(j).length) : std::string(); }
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

    // Index of the bracket closing the one at j ( ( [ { ), counting all three kinds; npos if unbalanced.
    size_t match(size_t j) const {
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
    size_t match_angle(size_t j) const {
        int angle = 0, paren = 0;
        for (size_t k = j; k < code_.size(); ++k) {
            std::string t = text(k);
            if (t == "(" || t == "[") ++paren;
            else if (t == ")" || t == "]") --paren;
            else if (paren == 0 && t == "<") ++angle;
            else if (paren == 0 && t == ">") {
                if (--angle == 0) return k;
            } else if (t == ";" || t == "{") return npos;
        }
        return npos;
    }
    // `[[` at j: index of the second `]` of the matching `]]`, npos if none.
    size_t attribute_end(size_t j) const {
        if (!(is(j, "[") && is(j + 1, "["))) return npos;
        size_t k = match(j);
        return k == npos ? npos : k;
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
    size_t find_semicolon(size_t j) const {
        int depth = 0;
        for (size_t k = j; k < code_.size(); ++k) {
            std::string t = text(k);
            if (t == "(" || t == "[" || t == "{") ++depth;
            else if (t == ")" || t == "]" || t == "}") --depth;
            else if (t == ";" && depth <= 0) return k;
        }
        return npos;
    }
    void add_edit(size_t offset, size_t length, std::string t, bool in_directive = false, bool synced = false) {
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
        size_t template_start = npos, stmt_start = 0;
        std::string template_params;
        for (size_t j = 0; j < code_.size(); ++j) {
            std::string t = text(j);
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
                stmt_start = j + 1;
                template_start = npos;
                continue;
            }
            if (t == "template" && is(j + 1, "<")) {
                size_t close = match_angle(j + 1);
                if (close == npos) continue;
                template_start = j;
                template_params = close > j + 2 ? span(j + 2, close - 1) : "";
                j = close;
                continue;
            }
            if (t == "template" && is(j + 1, "[") && is(j + 2, "[")) {
                j = parse_instantiation(j);
                stmt_start = j + 1;
                continue;
            }
            bool bracket_kernel = is(j, "[") && is(j + 1, "[") && is(j + 2, "kernel") && is(j + 3, "]") && is(j + 4, "]");
            if (t == "kernel" || bracket_kernel) {
                size_t start = template_start != npos ? template_start : j;
                j = parse_kernel(j, start, template_start != npos, template_params, scopes);
                stmt_start = j + 1;
                template_start = npos;
                continue;
            }
            if ((t == "vertex" || t == "fragment") && is_ident(j + 1)) {
                error_at(tk(j), "softmetal supports compute kernels only; '" + t + "' functions are not supported");
                continue;
            }
            if (t == "constant") {
                size_t end = parse_function_constant(j);
                if (end != npos) {
                    j = end;
                    stmt_start = j + 1;
                    continue;
                }
            }
            if (t == "{") {
                size_t close = match(j);
                if (close == npos) return;
                std::string name = item_name(stmt_start, j);
                for (size_t k = j + 1; k < close; ++k)
                    if (is_ident(k)) items_[name].insert(text(k));
                for (size_t k = stmt_start; k < j; ++k)
                    if (is_ident(k)) items_[name].insert(text(k)); // e.g. base classes, default args
                j = close;
                stmt_start = j + 1;
                template_start = npos;
                continue;
            }
        }
    }

    // The name a `{` body belongs to (function or struct), or "" for initialisers and the like.
    std::string item_name(size_t a, size_t brace) const {
        for (size_t k = a; k < brace; ++k) {
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
                return n > a && is_ident(n - 1) ? text(n - 1) : "";
            }
        }
        return "";
    }

    size_t parse_kernel(size_t j, size_t stmt_start, bool is_template, const std::string &template_params,
                        const std::vector<std::string> &scopes) {
        kernel_def k;
        k.is_template = is_template;
        k.template_params = template_params;
        if (is(j, "[")) {
            size_t off = tk(j).offset, len = end_of(j + 4) - off;
            std::string r = "static";
            r.resize(std::max(len, r.size()), ' ');
            add_edit(off, len, r);
            consume(j, j + 4);
            j += 5;
        } else {
            add_edit(tk(j).offset, tk(j).length, "static");
            consume(j, j);
            j += 1;
        }
        // Attributes between `kernel` and `void` (e.g. [[max_total_threads_per_threadgroup(n)]]) are blanked later.
        while (is(j, "[") && is(j + 1, "[")) {
            size_t e = attribute_end(j);
            if (e == npos) break;
            j = e + 1;
        }
        if (!is(j, "void")) {
            error_at(tk(j < code_.size() ? j : code_.size() - 1), "kernel function must return void");
            return j;
        }
        if (!is_ident(j + 1) || !is(j + 2, "(")) {
            error_at(tk(j), "expected a kernel function name");
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
        k.params_open = tk(open).offset;
        k.params_close = tk(close).offset;
        // The hidden group parameter.
        bool no_params = close == open + 1 || (close == open + 2 && is(open + 1, "void"));
        if (close == open + 2 && is(open + 1, "void")) blank_tokens(open + 1, open + 1);
        add_edit(tk(close).offset, 0, no_params ? "const sm_group *sm_group_ptr" : ", const sm_group *sm_group_ptr");
        k.bindings.push_back("::sm::entry::group");

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
        std::string tg_type = k.scope + "sm_tg_" + k.name + (is_template ? "<" + k.template_args + ">" : "");
        std::vector<threadgroup_decl> decls;
        for (size_t t = body + 1; t < body_end; ++t) {
            if (is_ident(t)) k.refs.insert(text(t));
            if (is(t, "threadgroup") && !consumed_[code_[t]] && (is(t - 1, "{") || is(t - 1, "}") || is(t - 1, ";")) &&
                !is(t + 1, "(")) {
                size_t end = find_semicolon(t);
                if (end == npos || end > body_end) break;
                threadgroup_decl d{tk(t + 1).line, tk(t + 1).column, span(t + 1, end)};
                std::string replacement;
                bool ok = true;
                for (auto &part : split_commas(t + 1, end)) {
                    std::string name;
                    int depth = 0;
                    for (size_t q = part.first; q < part.second; ++q) {
                        std::string s = text(q);
                        if (s == "[" || s == "(" || s == "<") ++depth;
                        else if (s == "]" || s == ")" || s == ">") --depth;
                        else if (s == "=" && depth == 0) ok = false;
                        else if (depth == 0 && is_ident(q)) name = s;
                    }
                    if (!ok) break;
                    replacement += "auto &" + name + " = ::sm::entry::threadgroup_vars<" + tg_type + ">(sm_group_ptr).s" +
                                   std::to_string(decls.size()) + "." + name + "; ";
                }
                if (!ok) {
                    error_at(tk(t), "threadgroup variables cannot have initializers");
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
            s += "struct sm_tg_" + k.name + " {\n";
            for (size_t i = 0; i < decls.size(); ++i) {
                s += "struct {\n#line " + std::to_string(decls[i].line) + " \"program_source\"\n" +
                     std::string(decls[i].column - 1, ' ') + decls[i].text + "\n} s" + std::to_string(i) + ";\n";
            }
            s += "};" + resync(tk(stmt_start).line, tk(stmt_start).column);
            add_edit(tk(stmt_start).offset, 0, s, false, true);
        }
        if (kernel_index_.count(k.name)) {
            error_at(tk(j + 1), "redefinition of kernel '" + k.name + "'");
        } else {
            kernel_index_[k.name] = kernels_.size();
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

    void parse_parameters(kernel_def &k, size_t open, size_t close) {
        if (close == open + 1 || (close == open + 2 && is(open + 1, "void"))) return;
        std::string next_buffer = "0";
        for (auto &part : split_commas(open + 1, close)) {
            std::string attr, args, pname;
            size_t attr_tok = npos;
            for (size_t q = part.first; q < part.second; ++q) {
                if (is(q, "[") && is(q + 1, "[")) {
                    size_t e = attribute_end(q);
                    if (e == npos || e >= part.second) break;
                    if (attr.empty() && is_ident(q + 2)) {
                        attr = text(q + 2);
                        attr_tok = q + 2;
                        if (is(q + 3, "(")) {
                            size_t pc = match(q + 3);
                            if (pc != npos && pc > q + 4) args = span(q + 4, pc - 1);
                        }
                    }
                    blank_tokens(q, e);
                    q = e;
                } else if (is_ident(q) && attr.empty()) {
                    pname = text(q);
                }
            }
            if (attr.empty() || attr == "buffer") {
                std::string index = attr.empty() ? next_buffer : "(" + args + ")";
                k.bindings.push_back("::sm::entry::buffer<" + index + ">");
                next_buffer = index + " + 1";
            } else if (attr == "threadgroup") {
                k.bindings.push_back("::sm::entry::threadgroup<(" + args + ")>");
            } else if (position_attributes().count(attr)) {
                if (!pname.empty()) k.positions.push_back({pname, position_attributes().at(attr)}); // unnamed: never read
                k.bindings.push_back("::sm::entry::position<::sm::entry::attr::" + position_attributes().at(attr) + ">");
            } else if (attr == "texture" || attr == "sampler") {
                error_at(tk(attr_tok), "textures and samplers are not supported by softmetal");
            } else {
                error_at(tk(attr_tok), "unsupported kernel parameter attribute '" + attr + "' on '" + pname + "'");
            }
        }
    }

    size_t parse_instantiation(size_t j) {
        size_t end = find_semicolon(j);
        if (end == npos) {
            error_at(tk(j), "expected ';' after explicit instantiation");
            return code_.size();
        }
        instantiation inst{};
        inst.line = tk(j).line;
        inst.column = tk(j).column;
        size_t ae = attribute_end(j + 1);
        if (ae != npos && is(j + 3, "host_name") && is(j + 4, "(") && j + 5 < code_.size() && tk(j + 5).kind == token_kind::string) {
            std::string s = text(j + 5);
            inst.host_name = s.size() >= 2 ? s.substr(1, s.size() - 2) : s;
        }
        size_t v = j;
        while (v < end && !is(v, "void")) ++v;
        if (v + 2 < end && is_ident(v + 1) && is(v + 2, "<")) {
            inst.kernel = text(v + 1);
            size_t close = match_angle(v + 2);
            if (close != npos && close > v + 3) inst.args = span(v + 3, close - 1);
        }
        if (inst.kernel.empty()) {
            error_at(tk(j), "unsupported explicit instantiation (expected 'template [[host_name(\"name\")]] kernel void k<T>(...);')");
        } else {
            if (inst.host_name.empty()) inst.host_name = inst.kernel + "<" + inst.args + ">";
            instantiations_.push_back(inst);
        }
        blank_tokens(j, end);
        return end;
    }

    // `constant T name [[function_constant(i)]];` at namespace scope; returns its ';' or npos.
    size_t parse_function_constant(size_t j) {
        size_t end = find_semicolon(j);
        if (end == npos) return npos;
        size_t attr = npos;
        for (size_t q = j + 1; q < end; ++q)
            if (is(q, "[") && is(q + 1, "[") && is(q + 2, "function_constant")) {
                attr = q;
                break;
            }
        if (attr == npos || !is_ident(attr - 1) || attr - 1 <= j + 1) return npos;
        size_t ae = attribute_end(attr);
        if (ae == npos) return npos;
        function_constant_info info;
        info.name = text(attr - 1);
        std::string type = span(j + 1, attr - 2);
        std::string idx = is(attr + 3, "(") ? text(attr + 4) : "";
        if (!idx.empty() && std::all_of(idx.begin(), idx.end(), [](char c) { return c >= '0' && c <= '9'; }))
            info.index = std::stoi(idx);
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
            init = " = ::sm::entry::fc_value<" + type + ">(::sm::entry::fc_bytes<" + std::to_string(bytes.size()) + ">{{";
            for (size_t b = 0; b < bytes.size(); ++b) init += (b ? "," : "") + std::to_string(bytes[b]);
            init += "}})";
        }
        add_edit(tk(j).offset, tk(j).length, "const   ");
        consume(j, j);
        size_t off = tk(attr).offset, len = end_of(ae) - off;
        add_edit(off, len, init);
        consume(attr, ae);
        constants_.push_back(info);
        return end;
    }

    // ---- token-level rewrites everywhere else ----
    void rewrite_remaining_tokens() {
        for (size_t i = 0; i < toks_.size(); ++i) {
            if (consumed_[i]) continue;
            const token &t = toks_[i];
            std::string s = src_.substr(t.offset, t.length);
            if (t.directive_start) {
                size_t last = i;
                while (last + 1 < toks_.size() && toks_[last + 1].in_directive && !toks_[last + 1].directive_start) ++last;
                std::string name = i + 1 <= last ? src_.substr(toks_[i + 1].offset, toks_[i + 1].length) : "";
                std::string line = src_.substr(t.offset, toks_[last].offset + toks_[last].length - t.offset);
                if (name == "define") {
                    if (i + 2 <= last && toks_[i + 2].kind == token_kind::identifier) {
                        std::set<std::string> &refs = items_[src_.substr(toks_[i + 2].offset, toks_[i + 2].length)];
                        for (size_t q = i + 3; q <= last; ++q)
                            if (toks_[q].kind == token_kind::identifier) refs.insert(src_.substr(toks_[q].offset, toks_[q].length));
                    }
                    consumed_[i] = consumed_[i + 1] = true;
                    continue; // the body is rewritten like ordinary code
                }
                if (name == "include" && (line.find("metal_") != std::string::npos || line.find("simd/") != std::string::npos)) {
                    add_edit(t.offset, line.size(), blank(line));
                }
                for (size_t q = i; q <= last; ++q) consumed_[q] = true;
                continue;
            }
            const std::string prev = i > 0 ? src_.substr(toks_[i - 1].offset, toks_[i - 1].length) : "";
            if (t.kind == token_kind::identifier && !t.in_directive && (s.compare(0, 5, "simd_") == 0 || s.compare(0, 5, "quad_") == 0) &&
                i + 1 < toks_.size() && src_.compare(toks_[i + 1].offset, toks_[i + 1].length, "(") == 0 && !items_.count(s)) {
                // Needs lanes of a SIMD-group to exchange values: an executor service that does not exist yet.
                error_at(t, "SIMD-group function '" + s + "' is not supported by softmetal yet");
                continue;
            }
            if (t.kind == token_kind::identifier && prev != "." && prev != "->") {
                if (s == "device" || s == "thread" || s == "threadgroup") add_edit(t.offset, t.length, blank(s));
                else if (s == "constant") add_edit(t.offset, t.length, "const   ");
                else if (s == "kernel") add_edit(t.offset, t.length, "static");
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
                    add_edit(t.offset, toks_[e].offset + 1 - t.offset, blank(src_.substr(t.offset, toks_[e].offset + 1 - t.offset)));
                }
                for (size_t q = i; q <= e; ++q) consumed_[q] = true;
            } else if (t.kind == token_kind::number) {
                rewrite_number(t, s);
            }
        }
    }

    // MSL floating literals are float (there is no double), and `h` means half.
    void rewrite_number(const token &t, const std::string &s) {
        if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return;
        bool is_float = s.find_first_of(".eE") != std::string::npos;
        if (!is_float) return;
        char last = s.back();
        if (last == 'h' || last == 'H') add_edit(t.offset + t.length - 1, 1, "f16", t.in_directive);
        else if ((last >= '0' && last <= '9') || last == '.') add_edit(t.offset + t.length, 0, "f", t.in_directive);
    }

    // NAME or NAME(params): anything else could smuggle text into the translated source.
    static bool valid_macro_name(const std::string &name) {
        size_t paren = name.find('(');
        std::string id = name.substr(0, paren);
        if (id.empty() || (id[0] >= '0' && id[0] <= '9')) return false;
        for (char c : id)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
        if (paren == std::string::npos) return true;
        if (name.back() != ')') return false;
        for (size_t i = paren + 1; i + 1 < name.size(); ++i) {
            char c = name[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ',' || c == ' ' || c == '.'))
                return false;
        }
        return true;
    }
    void check_macros() {
        for (const auto &m : options_.macros)
            if (!valid_macro_name(m.first)) errors_ += "softmetal: error: invalid preprocessor macro name '" + m.first + "'\n";
    }

    void check_instantiations() {
        for (const auto &inst : instantiations_) {
            auto it = kernel_index_.find(inst.kernel);
            if (it == kernel_index_.end() || !kernels_[it->second].is_template) {
                errors_ += "program_source:" + std::to_string(inst.line) + ":" + std::to_string(inst.column) +
                           ": error: explicit instantiation of '" + inst.kernel + "' does not name a kernel template\n";
            }
        }
    }

    // ---- barrier analysis ----
    static bool is_barrier_seed(const std::string &id) {
        return id == "threadgroup_barrier" || id == "simdgroup_barrier" || id.compare(0, 5, "simd_") == 0 ||
               id.compare(0, 5, "quad_") == 0;
    }
    bool reaches_barrier(const std::set<std::string> &refs) {
        std::set<std::string> seen;
        std::vector<std::string> todo(refs.begin(), refs.end());
        while (!todo.empty()) {
            std::string id = todo.back();
            todo.pop_back();
            if (!seen.insert(id).second) continue;
            if (is_barrier_seed(id)) return true;
            auto it = items_.find(id);
            if (it != items_.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
            auto kit = kernel_index_.find(id); // a kernel called as a function
            if (kit != kernel_index_.end()) todo.insert(todo.end(), kernels_[kit->second].refs.begin(), kernels_[kit->second].refs.end());
        }
        return false;
    }

    // Barrier kernels whose barriers sit in structured, uniform control flow also get a version split
    // into work-item loops (barrier_regions.hpp); SOFTMETAL_BARRIER_MODE=fibers turns that off.
    std::string region_functions(const std::string &translated) {
        const char *mode = std::getenv("SOFTMETAL_BARRIER_MODE");
        if (mode && std::string(mode) == "fibers") return "";
        std::string out;
        for (auto &k : kernels_) {
            if (k.body_open == npos || k.body_close == npos || k.params_open == npos || k.params_close == npos) continue;
            if (!k.refs.count("threadgroup_barrier") && !k.refs.count("simdgroup_barrier")) continue;
            // A barrier reached through a helper or a macro cannot be split here.
            std::set<std::string> others = k.refs;
            others.erase("threadgroup_barrier");
            others.erase("simdgroup_barrier");
            if (reaches_barrier(others)) continue;
            bool plain_scope = k.scope.find("::::") == std::string::npos;
            if (!plain_scope) continue;
            region_kernel rk;
            rk.name = k.name;
            if (k.is_template) rk.template_header = "template <" + k.template_params + ">";
            rk.params_open = k.params_open;
            rk.params_close = k.params_close;
            rk.body_open = k.body_open;
            rk.body_close = k.body_close;
            rk.positions = k.positions;
            std::string code, why;
            if (!build_region_function(translated, rk, code, why)) continue;
            // The function sits at the kernel's namespace scope.
            std::string open, close;
            for (size_t p = 2; p < k.scope.size();) {
                size_t e = k.scope.find("::", p);
                open += "namespace " + k.scope.substr(p, e - p) + " {\n";
                close += "}\n";
                p = e + 2;
            }
            out += "\n" + open + code + close;
            k.regions = true;
        }
        return out;
    }

    // ---- output ----
    std::string preamble() const {
        std::string p = "#include \"metal_stdlib.h\"\n";
        uint64_t v = options_.language_version;
        unsigned version = v == 0 ? 320u : unsigned((v >> 16) * 100 + (v & 0xffff) * 10);
        p += "#define __METAL_VERSION__ " + std::to_string(version) + "\n";
        for (const auto &m : options_.macros) {
            if (!valid_macro_name(m.first)) continue; // reported by check_macros()
            std::string value = m.second;
            for (char &c : value)
                if (c == '\n' || c == '\r') c = ' ';
            p += "#define " + m.first + " " + value + "\n";
        }
        for (const auto &c : constants_)
            p += "constexpr bool sm_fc_defined_" + c.name + " = " + (c.has_value ? "true" : "false") + ";\n";
        return p;
    }

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
        auto track = [&](size_t from, size_t to) {
            for (auto it = tracked.lower_bound(from); it != tracked.end() && it->first < to; it = tracked.erase(it))
                *it->second = out.size() + (it->first - from);
        };
        for (const edit &e : edits_) {
            if (e.offset < pos) continue; // overlapping edit: the earlier one wins
            track(pos, e.offset);
            out.append(src_, pos, e.offset - pos);
            out += e.text;
            pos = e.offset + e.length;
            if (e.text.size() == e.length || e.in_directive || e.synced) continue;
            // The rest of this line moved: resynchronise at the next token if it is on the same line.
            auto next = std::lower_bound(toks_.begin(), toks_.end(), pos, [](const token &t, size_t off) { return t.offset < off; });
            if (next == toks_.end() || next->in_directive) continue;
            if (src_.find('\n', pos) < next->offset) continue;
            out += resync(next->line, next->column);
            pos = next->offset;
        }
        track(pos, src_.size());
        out.append(src_, pos, npos);
        for (auto &t : tracked) *t.second = npos; // inside an edit: not usable
        return out;
    }

    std::string kernel_table(std::vector<std::string> &names) {
        std::string decls, entries;
        int n = 0;
        auto emit = [&](const kernel_def &k, const std::string &exported, const std::string &args) {
            std::string b = "sm_bindings_" + std::to_string(n);
            decls += "using " + b + " = ::sm::entry::bindings<";
            for (size_t i = 0; i < k.bindings.size(); ++i) decls += (i ? ", " : "") + k.bindings[i];
            decls += ">;\n";
            std::string fn = k.scope + k.name + (k.is_template ? "<" + args + ">" : "");
            std::string size = k.has_threadgroup_vars ? "sizeof(" + k.scope + "sm_tg_" + k.name + (k.is_template ? "<" + args + ">" : "") + ")" : "0";
            bool barriers = reaches_barrier(k.refs);
            if (k.regions) {
                std::string rfn = k.scope + "sm_regions_" + k.name + (k.is_template ? "<" + args + ">" : "");
                entries += "    ::sm::entry::kernel_info_regions<" + b + ", &" + fn + ", &" + rfn + ">(\"" + exported + "\", " + size + "),\n";
            } else {
                entries += "    ::sm::entry::kernel_info<" + b + ", &" + fn + ">(\"" + exported + "\", " + size + ", " +
                           (barriers ? "true" : "false") + "),\n";
            }
            names.push_back(exported);
            ++n;
        };
        for (const auto &k : kernels_)
            if (!k.is_template) emit(k, k.name, "");
        for (const auto &inst : instantiations_) {
            auto it = kernel_index_.find(inst.kernel);
            if (it != kernel_index_.end()) emit(kernels_[it->second], inst.host_name, inst.args);
        }
        std::string out = decls;
        if (n > 0) out += "static constexpr sm_kernel_info sm_kernel_table[] = {\n" + entries + "};\n";
        out += "SM_EXPORT const sm_kernel_info *softmetal_module_kernels(const sm_runtime_api *runtime, uint32_t *count) {\n"
               "    if (!runtime || runtime->abi_version != SM_ABI_VERSION || !count) return nullptr;\n"
               "    ::sm::target::runtime = runtime;\n";
        out += "    *count = " + std::to_string(n) + ";\n";
        out += n > 0 ? "    return sm_kernel_table;\n}\n" : "    static const sm_kernel_info none{};\n    return &none;\n}\n";
        return out;
    }

    const std::string &src_;
    const compile_options &options_;
    const std::vector<function_constant_value> &values_;
    std::vector<token> toks_;
    std::vector<bool> consumed_;
    std::vector<size_t> code_;
    std::vector<edit> edits_;
    std::string errors_;
    std::vector<kernel_def> kernels_;
    std::map<std::string, size_t> kernel_index_;
    std::vector<instantiation> instantiations_;
    std::vector<function_constant_info> constants_;
    std::map<std::string, std::set<std::string>> items_; // function/struct/macro name -> identifiers it uses
};

} // namespace

translation translate_msl(const std::string &msl_source, const compile_options &options,
                          const std::vector<function_constant_value> &constants) {
    translator t(msl_source, options, constants);
    return t.run();
}

} // namespace detail
} // namespace softmetal
