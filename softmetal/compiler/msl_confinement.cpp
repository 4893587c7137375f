#include "compiler/msl_confinement.hpp"

#include <cstdlib>
#include <set>
#include <string_view>

#include "compiler/object_check.hpp"

namespace softmetal {
namespace detail {

namespace {

// Attributes (and pragma words) that run code at load, place code or data where the loader looks,
// make symbols the loader resolves at run time, or give a function no prologue.
const std::set<std::string> &refused_attributes() {
    static const std::set<std::string> names = {"constructor", "destructor",  "section",     "alias",      "weak",
                                                "weakref",     "ifunc",       "init_priority", "target_clones", "cpu_dispatch",
                                                "cpu_specific", "tls_model",  "symver",      "naked",      "init_seg",
                                                "code_seg",    "retain",      "used",        "noinit",     "persistent"};
    return names;
}

std::string strip_underscores(const std::string &s) {
    if (s.size() > 4 && s.compare(0, 2, "__") == 0 && s.compare(s.size() - 2, 2, "__") == 0) return s.substr(2, s.size() - 4);
    return s;
}

bool starts_with(const std::string &s, const char *p) {
    size_t n = std::char_traits<char>::length(p);
    return s.size() >= n && s.compare(0, n, p) == 0;
}
bool ends_with(const std::string &s, const char *p) {
    size_t n = std::char_traits<char>::length(p);
    return s.size() >= n && s.compare(s.size() - n, n, p) == 0;
}

} // namespace

bool builtin_allowed(const std::string &name) {
    if (!starts_with(name, "__builtin_")) return true;
    const std::string rest = name.substr(10);
    static const std::set<std::string> exact = {
        "expect", "expect_with_probability", "assume", "unreachable", "trap", "bit_cast", "memcpy", "memset", "memmove",
        "memcpy_inline", "memset_inline", "isnan", "isinf", "isfinite", "isnormal", "isinf_sign", "signbit", "signbitf",
        "signbitl", "fpclassify", "nan", "nanf", "nanl", "nans", "nansf", "inf", "inff", "infl", "huge_val", "huge_valf",
        "huge_vall", "constant_p", "offsetof", "is_constant_evaluated", "convertvector", "shufflevector", "choose_expr",
        "types_compatible_p", "launder", "addressof", "abs", "labs", "llabs", "prefetch", "assume_aligned", "align_up",
        "align_down", "is_aligned", "isgreater", "isgreaterequal", "isless", "islessequal", "islessgreater", "isunordered",
        "complex", "object_size", "dynamic_object_size", "classify_type", "FILE", "LINE", "FUNCTION", "COLUMN",
        "source_location", "nondeterministic_value", "is_aggregate", "popcountg", "clzg", "ctzg", "flt_rounds", "canonicalize",
        "canonicalizef", "issignaling", "issubnormal", "iszero", "isfpclass"};
    if (exact.count(rest)) return true;
    for (const char *family : {"ctz", "clz", "popcount", "parity", "ffs", "clrsb", "bswap", "bitreverse", "rotateleft",
                               "rotateright", "elementwise_", "reduce_", "matrix_", "sadd", "uadd", "ssub", "usub", "smul", "umul",
                               "add_overflow", "sub_overflow", "mul_overflow"})
        if (starts_with(rest, family) && rest.size() <= std::char_traits<char>::length(family) + 14) return true;
    // Math: __builtin_sinf and the like (clang folds them or calls libm, which the object check allows).
    return math_function_name(rest);
}

std::string check_confinement(const std::string &text, const std::vector<token> &toks, const std::vector<size_t> &code,
                              const std::vector<std::pair<size_t, int>> &pragmas) {
    std::string errors;
    auto spelled = [&](size_t j) { return j < code.size() ? text.substr(toks[code[j]].offset, toks[code[j]].length) : std::string(); };
    auto is_ident = [&](size_t j) { return j < code.size() && toks[code[j]].kind == token_kind::identifier; };
    auto error_at = [&](size_t j, const std::string &msg) {
        const token &t = toks[code[j]];
        errors += "program_source:" + std::to_string(t.line) + ":" + std::to_string(t.column) + ": error: " + msg + "\n";
    };
    // Index of the token closing the bracket at j, or code.size() when unbalanced.
    auto closing = [&](size_t j) {
        int depth = 0;
        for (size_t k = j; k < code.size(); ++k) {
            const std::string s = spelled(k);
            if (s == "(" || s == "[" || s == "{") ++depth;
            else if ((s == ")" || s == "]" || s == "}") && --depth == 0) return k;
        }
        return code.size();
    };
    for (size_t j = 0; j < code.size(); ++j) {
        if (!is_ident(j)) continue;
        const std::string id = spelled(j);
        if (id == "asm" || id == "__asm" || id == "__asm__") {
            // Metal's AIR intrinsics are declared `T f(...) __asm("air.name");`: a label, no instructions.
            const bool label = spelled(j + 1) == "(" && j + 2 < code.size() && toks[code[j + 2]].kind == token_kind::string &&
                               spelled(j + 2).compare(0, 5, "\"air.") == 0 && spelled(j + 3) == ")" && j > 0 &&
                               (spelled(j - 1) == ")" || spelled(j - 1) == "const");
            if (!label) error_at(j, "inline assembly is not allowed in a Metal kernel");
            continue;
        }
        if (starts_with(id, "__builtin_")) {
            if (!builtin_allowed(id)) error_at(j, "'" + id + "' is not available in a Metal kernel");
            continue;
        }
        if (id == "thread_local" || id == "__thread" || id == "_Thread_local") {
            error_at(j, "thread-local storage ('" + id + "') is not available in a Metal kernel");
            continue;
        }
        if (id == "__declspec") {
            error_at(j, "'__declspec' is not available in a Metal kernel");
            continue;
        }
        if (id == "extern" && j + 1 < code.size() && toks[code[j + 1]].kind == token_kind::string) {
            error_at(j, "linkage specifications (extern " + spelled(j + 1) + ") are not allowed in a Metal kernel: a kernel "
                        "can call only the Metal standard library and functions defined in its source");
            continue;
        }
        if (id == "__attribute__" || id == "__attribute") {
            if (spelled(j + 1) != "(") continue;
            size_t end = closing(j + 1);
            for (size_t k = j + 2; k < end; ++k)
                if (is_ident(k) && refused_attributes().count(strip_underscores(spelled(k))) &&
                    (spelled(k - 1) == "(" || spelled(k - 1) == ","))
                    error_at(k, "the attribute '" + strip_underscores(spelled(k)) + "' is not allowed in a Metal kernel");
            j = end < code.size() ? end : j;
            continue;
        }
        // [[gnu::constructor]], [[clang::...]]
        if ((id == "gnu" || id == "__gnu__" || id == "clang" || id == "_Clang") && spelled(j + 1) == "::" && is_ident(j + 2) &&
            refused_attributes().count(strip_underscores(spelled(j + 2)))) {
            error_at(j + 2, "the attribute '" + strip_underscores(spelled(j + 2)) + "' is not allowed in a Metal kernel");
            j += 2;
        }
    }
    // Pragmas that apply attributes, make weak symbols or aliases, rename symbols, place code or link
    // libraries. Loop hints, diagnostics and Metal's own stay.
    for (const auto &p : pragmas) {
        std::vector<std::string> words;
        for (size_t k = p.first + 1; k < toks.size() && toks[k].in_directive && !toks[k].directive_start && words.size() < 3; ++k)
            words.push_back(text.substr(toks[k].offset, toks[k].length));
        if (words.empty() || words[0] != "pragma" || words.size() < 2) continue;
        const std::string &w = words[1];
        const std::string w2 = words.size() > 2 ? words[2] : "";
        bool refused = w == "weak" || w == "redefine_extname" || w == "comment" || w == "detect_mismatch" || w == "init_seg" ||
                       w == "section" || w == "data_seg" || w == "code_seg" || w == "bss_seg" || w == "const_seg" || w == "alloc_text" ||
                       ((w == "clang" || w == "GCC") && (w2 == "attribute" || w2 == "section" || w2 == "visibility"));
        if (refused)
            errors += "program_source:" + std::to_string(p.second) + ":1: error: '#pragma " + w + (w2.empty() ? "" : " " + w2) +
                      "' is not allowed in a Metal kernel\n";
    }
    return errors;
}

std::string check_confinement_of_compiled(const std::string &preprocessed, const std::string &user_source) {
    std::vector<token> toks = tokenize_msl(preprocessed);
    const user_positions where = map_to_user_positions(preprocessed, toks, user_source);
    std::vector<size_t> code;
    for (size_t i = 0; i < toks.size(); ++i)
        if (where.in_user_file[i] && !toks[i].in_directive) code.push_back(i);
    return check_confinement(preprocessed, toks, code, where.pragmas);
}

} // namespace detail
} // namespace softmetal
