#include "compiler/diagnostics.hpp"
#include "compiler/msl_tokenizer.hpp"

#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace softmetal {
namespace detail {

namespace {

struct diagnostic {
    bool located = false;     // has file:line:col
    std::string file, line, column, severity, message;
    std::vector<std::string> body; // snippet and caret lines that follow
    std::string raw;
};

bool all_digits(const std::string &s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// "file:12:5: error: message" -> diagnostic; returns false if the line is not a diagnostic header.
bool parse_header(const std::string &line, diagnostic &d) {
    static const char *severities[] = {"fatal error", "error", "warning", "note"};
    for (const char *sev : severities) {
        std::string tag = std::string(": ") + sev + ": ";
        size_t p = line.find(tag);
        if (p == std::string::npos) continue;
        d.severity = sev == std::string("fatal error") ? "error" : sev;
        d.message = line.substr(p + tag.size());
        d.raw = line;
        std::string loc = line.substr(0, p);
        size_t c2 = loc.rfind(':');
        size_t c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : loc.rfind(':', c2 - 1);
        if (c1 != std::string::npos && all_digits(loc.substr(c1 + 1, c2 - c1 - 1)) && all_digits(loc.substr(c2 + 1))) {
            d.located = true;
            d.file = loc.substr(0, c1);
            d.line = loc.substr(c1 + 1, c2 - c1 - 1);
            d.column = loc.substr(c2 + 1);
        } else {
            d.file = loc;
        }
        return true;
    }
    return false;
}

bool is_user(const diagnostic &d) { return d.located && d.file == "program_source"; }

// "   12 | translated text" -> "   12 | the user's line 12"; other lines unchanged.
std::string excerpt_line(const std::string &line, const std::vector<std::string> &user_lines) {
    size_t bar = line.find(" | ");
    if (bar == std::string::npos) return line;
    size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos || start >= bar) return line;
    std::string number = line.substr(start, bar - start);
    if (!all_digits(number)) return line;
    size_t n = std::stoul(number);
    if (n == 0 || n > user_lines.size()) return line;
    return line.substr(0, bar + 3) + user_lines[n - 1];
}

} // namespace

// Kernels compile as C++ for OpenCL: clang's messages spell MSL's address spaces as OpenCL's, and
// the macros that make them (msl_keywords.h). Say it in MSL.
std::string in_msl_terms(std::string message) {
    static const std::pair<const char *, const char *> words[] = {
        {"const __generic ", "constant "}, {"__global ", "device "},    {"__local ", "threadgroup "}, {"__private ", ""},
        {"__generic ", ""},                {"__constant ", "constant "}, {"sm_constant_object ", ""},   {"sm_msl_", ""},
        {"sm_atomic_", "atomic_"},         {"sm_make_", ""},             {"'__global'", "'device'"},  {"'__local'", "'threadgroup'"},
        {"'__private'", "'thread'"},       {"'__generic'", "'thread or constant'"},
        {"declaration requires a global constructor [-Werror,-Wglobal-constructors]",
         "the initializer of a program-scope variable must be a constant expression (softmetal evaluates vector and matrix "
         "constructors, conversions, as_type and arithmetic there, not a vector's components or swizzles)"},
    };
    for (const auto &w : words) {
        const size_t n = std::strlen(w.first);
        for (size_t at = message.find(w.first); at != std::string::npos; at = message.find(w.first, at)) {
            message.replace(at, n, w.second);
            at += std::strlen(w.second);
        }
    }
    for (const char *suffix : {" __generic", " __private"}) // method qualifiers: `float () const __generic`
        for (size_t at = message.find(suffix); at != std::string::npos; at = message.find(suffix, at)) message.erase(at, std::strlen(suffix));
    return message;
}

std::string filter_clang_output(const std::string &text, bool failed, int exit_code, const std::string &user_source) {
    const std::vector<std::string> user_lines = split_lines(user_source);
    std::vector<diagnostic> diags;
    std::vector<std::string> other; // lines that are not diagnostics (linker output and the like)
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        diagnostic d;
        if (parse_header(line, d)) {
            diags.push_back(d);
        } else if (line.rfind("In file included from", 0) == 0 || line.find(" generated.") != std::string::npos ||
                   line.rfind("                 from", 0) == 0) {
            continue;
        } else if (!diags.empty() && (line.empty() || line[0] == ' ' || line.find(" | ") != std::string::npos)) {
            diags.back().body.push_back(line);
        } else if (!line.empty()) {
            other.push_back(line);
        }
    }
    std::string out;
    // Errors in generated code that no user line leads to: when the user's own source has errors too,
    // they are that source's consequences (a kernel table naming a template argument the source failed
    // to declare) and only bury the cause, so they are shown only when there is nothing else.
    std::string unplaced;
    bool any_error = false, any_user_error = false;
    std::set<std::string> pinned; // user positions an error in generated code was pinned to
    bool in_generated = false;    // the last error or warning was in generated code
    for (size_t i = 0; i < diags.size(); ++i) {
        const diagnostic &d = diags[i];
        // Notes belong to the diagnostic before them: those of one in generated code, even when they are
        // at a user's line ("in instantiation of sm::entry::... requested here"), name our internals.
        if (d.severity != "note") in_generated = !is_user(d);
        else if (in_generated) continue;
        if (is_user(d)) {
            out += "program_source:" + d.line + ":" + d.column + ": " + d.severity + ": " + in_msl_terms(d.message) + "\n";
            // Only the excerpt of the diagnostic's own line and its caret: clang's extra range lines
            // would show the translated text around our #line resynchronisations.
            for (size_t k = 0; k < d.body.size(); ++k) {
                const std::string &b = d.body[k];
                size_t bar = b.find(" | ");
                size_t start = b.find_first_not_of(' ');
                if (bar == std::string::npos || start == std::string::npos || start >= bar) continue;
                if (b.substr(start, bar - start) != d.line) continue;
                out += excerpt_line(b, user_lines) + "\n";
                if (k + 1 < d.body.size() && d.body[k + 1].find(" | ") != std::string::npos &&
                    d.body[k + 1].find_first_not_of(' ') == d.body[k + 1].find('|'))
                    out += d.body[k + 1] + "\n";
                break;
            }
            any_error = any_error || d.severity == "error";
            any_user_error = any_user_error || d.severity == "error";
            continue;
        }
        if (d.severity != "error") continue; // prelude warnings and notes are not the user's business
        // An error inside the prelude/generated code: pin it to the user's line that led there.
        const diagnostic *user_note = nullptr;
        for (size_t k = i + 1; k < diags.size() && diags[k].severity == "note"; ++k)
            if (is_user(diags[k])) {
                user_note = &diags[k];
                break;
            }
        if (user_note) {
            // The first error that a user's line leads into generated code is the cause; the others
            // there (members missing from a type a failed static_assert refused) only repeat it.
            if (pinned.insert(user_note->line + ":" + user_note->column).second)
                out += "program_source:" + user_note->line + ":" + user_note->column + ": error: " + d.message + "\n";
            any_user_error = true;
        } else {
            unplaced += "softmetal: error: " + d.message +
                        (d.located ? " (in softmetal's generated code, " + d.file + ":" + d.line + ")" : "") + "\n";
        }
        any_error = true;
    }
    if (!any_user_error) out += unplaced;
    if (failed) {
        for (const auto &l : other) {
            if (l.find("error") != std::string::npos || l.find("undefined") != std::string::npos) {
                out += "softmetal: error: " + l + "\n";
                any_error = true;
            }
        }
        if (!any_error) {
            std::string excerpt = text.substr(0, 2000);
            out += "softmetal: error: clang++ failed (exit code " + std::to_string(exit_code) + ")" +
                   (excerpt.empty() ? std::string() : ":\n" + excerpt) + "\n";
        }
    }
    return out;
}

} // namespace detail
} // namespace softmetal
