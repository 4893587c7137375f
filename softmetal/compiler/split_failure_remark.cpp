#include "compiler/split_failure_remark.hpp"

#include <cstdlib>
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

// A split function's span of the user's lines: the `#line N "program_source"` directives between
// its header and the next split function's (helpers inlined into it widen the span).
struct line_span {
    std::string kernel;
    long first = 0, last = 0;
};

std::vector<line_span> user_line_spans(const std::string &split_cpp) {
    std::vector<line_span> spans;
    const std::string header = std::string("static void ") + function_prefix;
    std::vector<std::size_t> starts;
    for (std::size_t at = split_cpp.find(header); at != std::string::npos; at = split_cpp.find(header, at + 1)) starts.push_back(at);
    for (std::size_t i = 0; i < starts.size(); ++i) {
        const std::size_t from = starts[i] + header.size();
        const std::size_t to = i + 1 < starts.size() ? starts[i + 1] : split_cpp.size();
        std::size_t name_end = from;
        while (name_end < to && identifier_char(split_cpp[name_end])) ++name_end;
        line_span span;
        span.kernel = split_cpp.substr(from, name_end - from);
        const std::string directive = "#line ";
        for (std::size_t at = split_cpp.find(directive, from); at != std::string::npos && at < to;
             at = split_cpp.find(directive, at + 1)) {
            char *end = nullptr;
            const long line = std::strtol(split_cpp.c_str() + at + directive.size(), &end, 10);
            if (!end || split_cpp.compare(std::size_t(end - split_cpp.c_str()), 17, " \"program_source\"") != 0) continue;
            if (span.first == 0 || line < span.first) span.first = line;
            if (line > span.last) span.last = line;
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

} // namespace

std::string split_failure_remark(const std::string &clang_output, const std::string &split_cpp, std::size_t max_errors) {
    // Clang's ranges ({12:3-12:9}) are for operand_repair; the remark shows file:line:col only.
    const std::string text = strip_source_ranges(clang_output);
    std::vector<std::string> errors;
    std::size_t error_count = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        if (!is_error_line(line)) continue;
        ++error_count;
        if (errors.size() < max_errors) {
            if (line.size() > max_line_chars) line = line.substr(0, max_line_chars) + " [...]";
            errors.push_back(line);
        }
    }

    // The kernels concerned: named by clang (instantiation notes, candidates) or holding an error line.
    std::vector<std::string> kernels = split_functions_named(text);
    std::set<std::string> listed(kernels.begin(), kernels.end());
    const std::vector<line_span> spans = user_line_spans(split_cpp);
    for (const std::string &e : errors) {
        const long line = user_error_line(e);
        if (line == 0) continue;
        for (const line_span &s : spans)
            if (s.first <= line && line <= s.last && listed.insert(s.kernel).second) kernels.push_back(s.kernel);
    }
    std::string which;
    if (!kernels.empty()) {
        which = (kernels.size() == 1 ? "kernel " : "kernels ") + quoted_list(kernels);
    } else {
        std::vector<std::string> all;
        for (const line_span &s : spans) all.push_back(s.kernel);
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
