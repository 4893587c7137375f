#include "compiler/split_failure_remark.hpp"

#include <cstdlib>
#include <map>
#include <set>
#include <vector>

#include "compiler/operand_repair.hpp"

namespace softmetal {
namespace detail {

namespace {

constexpr const char *function_prefix = "sm_regions_";
constexpr std::size_t max_line_chars = 400; // one template error can run to many kilobytes
constexpr std::size_t max_kernel_names = 10;

bool identifier_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Every `sm_regions_<kernel>` named in `text`, in order of first appearance.
std::vector<std::string> split_functions_named(const std::string &text) {
    std::vector<std::string> names;
    std::set<std::string> seen;
    const std::string prefix = function_prefix;
    for (std::size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
        if (at > 0 && identifier_char(text[at - 1])) continue; // part of a longer name
        std::size_t end = at + prefix.size();
        while (end < text.size() && identifier_char(text[end])) ++end;
        std::string name = text.substr(at + prefix.size(), end - at - prefix.size());
        if (!name.empty() && seen.insert(name).second) names.push_back(name);
    }
    return names;
}

// `text` without its leading and trailing blanks (clang indents the line it shows by a column more).
std::string trimmed(const std::string &text) {
    std::size_t a = 0, b = text.size();
    while (a < b && (text[a] == ' ' || text[a] == '\t')) ++a;
    while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r')) --b;
    return text.substr(a, b - a);
}

// The user's lines a split function holds: each `#line N "program_source"` directive in it starts a
// run of lines N, N+1, ... up to the next directive or the function's end (helpers inlined into it add
// runs of their own). An error on line L is the function's when one of its runs holds L.
// Generated lines between the user's ones carry on the numbering (a write-back after line 8 may read as
// line 13, the next kernel's header): where clang shows the line's text, the function must hold that
// text at that place.
struct line_run {
    long first = 0, last = 0; // lines of program_source
    std::size_t offset = 0;   // where line `first` starts in the split source
};
struct line_span {
    std::string kernel;
    std::vector<line_run> runs;
    // Whether it holds `line`, whose text is `shown` (empty: clang did not show it).
    bool holds(const std::string &split_cpp, long line, const std::string &shown) const {
        for (const line_run &r : runs) {
            if (line < r.first || line > r.last) continue;
            if (shown.empty()) return true;
            std::size_t at = r.offset;
            for (long l = r.first; l < line && at != std::string::npos; ++l) at = split_cpp.find('\n', at) + 1;
            const std::size_t end = split_cpp.find('\n', at);
            std::string text = split_cpp.substr(at, end == std::string::npos ? std::string::npos : end - at);
            if (trimmed(text) == shown) return true;
        }
        return false;
    }
};

std::vector<line_span> user_line_spans(const std::string &split_cpp) {
    std::vector<line_span> spans;
    const std::string header = std::string("static void ") + function_prefix;
    std::vector<std::size_t> starts;
    for (std::size_t at = split_cpp.find(header); at != std::string::npos; at = split_cpp.find(header, at + 1)) starts.push_back(at);
    const std::string directive = "#line ";
    for (std::size_t i = 0; i < starts.size(); ++i) {
        const std::size_t from = starts[i] + header.size();
        const std::size_t to = i + 1 < starts.size() ? starts[i + 1] : split_cpp.size();
        std::size_t name_end = from;
        while (name_end < to && identifier_char(split_cpp[name_end])) ++name_end;
        line_span span;
        span.kernel = split_cpp.substr(from, name_end - from);
        std::size_t at = split_cpp.find(directive, from);
        while (at != std::string::npos && at < to) {
            std::size_t next = split_cpp.find(directive, at + 1);
            if (next == std::string::npos || next > to) next = to;
            char *end = nullptr;
            const long line = std::strtol(split_cpp.c_str() + at + directive.size(), &end, 10);
            if (end && split_cpp.compare(std::size_t(end - split_cpp.c_str()), 17, " \"program_source\"") == 0) {
                // the lines after the directive's own, up to the next directive: one fewer than the
                // line ends from the directive's own to the one before `next`
                const std::size_t body = split_cpp.find('\n', at);
                long ends = 0;
                for (std::size_t c = body; c != std::string::npos && c < next; c = split_cpp.find('\n', c + 1)) ++ends;
                if (ends > 1) span.runs.push_back({line, line + ends - 2, body + 1});
            }
            at = next < to ? next : std::string::npos;
        }
        if (!span.kernel.empty()) spans.push_back(span);
    }
    return spans;
}

// "program_source:12:5: error: ..." -> 12; 0 for other lines.
long user_error_line(const std::string &line) {
    const std::string file = "program_source:";
    if (line.compare(0, file.size(), file) != 0) return 0;
    return std::strtol(line.c_str() + file.size(), nullptr, 10);
}

bool is_error_line(const std::string &line) {
    return line.find(": error: ") != std::string::npos || line.find(": fatal error: ") != std::string::npos;
}

std::string quoted_list(const std::vector<std::string> &names) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < max_kernel_names; ++i) out += (i ? ", '" : "'") + names[i] + "'";
    if (names.size() > max_kernel_names) out += " and " + std::to_string(names.size() - max_kernel_names) + " more";
    return out;
}

// Clang's first `max_errors` error lines in `text` (each cut at max_line_chars); `count`: all of them.
// `shown`, when given: for each, the source line clang shows under it (`   13 |     x = y;` -> "x = y;",
// trimmed), or "".
std::vector<std::string> error_lines(const std::string &text, std::size_t max_errors, std::size_t &count,
                                     std::vector<std::string> *shown = nullptr) {
    std::vector<std::string> errors;
    count = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        if (!is_error_line(line)) continue;
        ++count;
        if (errors.size() < max_errors) {
            if (line.size() > max_line_chars) line = line.substr(0, max_line_chars) + " [...]";
            errors.push_back(line);
            if (shown) {
                const std::size_t next_nl = text.find('\n', pos);
                const std::string next = text.substr(pos, next_nl == std::string::npos ? std::string::npos : next_nl - pos);
                std::size_t k = 0;
                while (k < next.size() && next[k] == ' ') ++k;
                const std::size_t digits = k;
                while (k < next.size() && next[k] >= '0' && next[k] <= '9') ++k;
                shown->push_back(k > digits && next.compare(k, 3, " | ") == 0 ? trimmed(next.substr(k + 3)) : std::string());
            }
        }
    }
    return errors;
}

} // namespace

std::map<std::string, std::string> split_failure_kernels(const std::string &clang_output, const std::string &split_cpp) {
    const std::string text = strip_source_ranges(clang_output);
    std::size_t count = 0;
    std::vector<std::string> shown;
    const std::vector<std::string> errors = error_lines(text, std::size_t(-1), count, &shown);
    std::map<std::string, std::string> kernels;
    if (errors.empty()) return kernels;
    const std::vector<line_span> spans = user_line_spans(split_cpp);
    for (std::size_t i = 0; i < errors.size(); ++i) {
        const long line = user_error_line(errors[i]);
        if (line == 0) continue;
        for (const line_span &s : spans)
            if (s.holds(split_cpp, line, shown[i])) kernels.emplace(s.kernel, errors[i]);
    }
    // Only when no error's line tells: the functions clang's notes name (an instantiation's notes
    // name every split function instantiated on the way, not only the one at fault).
    if (kernels.empty())
        for (const std::string &name : split_functions_named(text)) kernels.emplace(name, errors.front());
    return kernels;
}

std::string split_failure_remark(const std::string &clang_output, const std::string &split_cpp, std::size_t max_errors) {
    // Clang's ranges ({12:3-12:9}) are for operand_repair; the remark shows file:line:col only.
    const std::string text = strip_source_ranges(clang_output);
    std::size_t error_count = 0;
    const std::vector<std::string> errors = error_lines(text, max_errors, error_count);

    // The kernels concerned: as the compiler's per-kernel fall-back tells them (split_failure_kernels).
    std::vector<std::string> kernels;
    for (const auto &k : split_failure_kernels(clang_output, split_cpp)) kernels.push_back(k.first);
    std::string which;
    if (!kernels.empty()) {
        which = (kernels.size() == 1 ? "kernel " : "kernels ") + quoted_list(kernels);
    } else {
        std::vector<std::string> all;
        for (const line_span &s : user_line_spans(split_cpp)) all.push_back(s.kernel);
        which = all.empty() ? std::string("kernels not known") : "split kernels " + quoted_list(all) + "; clang's errors do not say which";
    }

    std::string out = "softmetal: remark: the source with kernels split into regions or SIMD lanes did not build (" + which +
                      "), so the library is built without the split (kernels that meet other threads run on fibers, the "
                      "others in their plain form); clang said:\n";
    for (const std::string &e : errors) out += "softmetal: remark:   " + e + "\n";
    if (error_count > errors.size())
        out += "softmetal: remark:   (and " + std::to_string(error_count - errors.size()) + " more errors)\n";
    if (error_count == 0) out += "softmetal: remark:   (no error lines in clang's output)\n";
    return out;
}

} // namespace detail
} // namespace softmetal
