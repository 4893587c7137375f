// Reads clang's range-annotated errors; see operand_repair.hpp.
#include "compiler/operand_repair.hpp"

#include <algorithm>
#include <cstdlib>
#include <tuple>

namespace softmetal {
namespace detail {

bool source_range::operator<(const source_range &o) const {
    return std::tie(line, column, end_line, end_column) < std::tie(o.line, o.column, o.end_line, o.end_column);
}
bool source_range::operator==(const source_range &o) const {
    return std::tie(line, column, end_line, end_column) == std::tie(o.line, o.column, o.end_line, o.end_column);
}

bool operand_repair::operator<(const operand_repair &o) const {
    return range < o.range || (range == o.range && kind < o.kind);
}
bool operand_repair::operator==(const operand_repair &o) const { return range == o.range && kind == o.kind; }

const char *repair_opening(repair_kind kind) {
    return kind == repair_kind::loose_scalar ? "::sm::loose(" : "::sm::thread_temporary(";
}

namespace {

// The two forms of clang's refusal to bind a `__private const T&` to a converted argument.
const char temporary_error[] = ": error: reference of type 'const __private ";
const char temporary_error_end[] = " &' cannot bind to a temporary object because of address space mismatch";
const char binding_error[] = ": error: binding reference of type 'const __private ";
const char binding_error_end[] = "' changes address space";

const char rank_error[] = ": error: scalar operand type has greater rank than the type of the vector element. (";

// "{12:5-12:9}" at p: the range, and p moved past it; false if the text is not one.
bool read_range(const std::string &s, size_t &p, source_range &r) {
    if (p >= s.size() || s[p] != '{') return false;
    const char *b = s.c_str() + p + 1;
    char *e = nullptr;
    long v[4];
    const char seps[4] = {':', '-', ':', '}'};
    for (int i = 0; i < 4; ++i) {
        v[i] = std::strtol(b, &e, 10);
        if (e == b || *e != seps[i] || v[i] <= 0 || v[i] > 100000000) return false;
        b = e + 1;
    }
    r = {int(v[0]), int(v[1]), int(v[2]), int(v[3])};
    p = size_t(b - s.c_str());
    return true;
}

// Where the ranges of a diagnostic header start: after "file:L:C:" when '{' follows; npos otherwise.
size_t ranges_start(const std::string &line) {
    size_t brace = line.find(":{");
    if (brace == std::string::npos) return std::string::npos;
    size_t c2 = line.rfind(':', brace - 1), c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : line.rfind(':', c2 - 1);
    if (c1 == std::string::npos) return std::string::npos;
    for (size_t i = c1 + 1; i < brace; ++i)
        if (i != c2 && (line[i] < '0' || line[i] > '9')) return std::string::npos;
    return brace + 1;
}

// For each line of `text` (index 0 = line 1), the line it stands for after `#line N` directives.
std::vector<int> presumed_lines(const std::string &text) {
    std::vector<int> map;
    int next = 1;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        // (0: a line whose columns are not the user's, where no repair is read)
        map.push_back(text.compare(pos, std::char_traits<char>::length(columns_not_kept), columns_not_kept) == 0 ? 0 : next);
        ++next;
        if (text.compare(pos, 6, "#line ") == 0) next = std::atoi(text.c_str() + pos + 6);
        pos = nl + 1;
    }
    return map;
}

} // namespace

std::vector<operand_repair> operand_repairs(const std::string &out, const std::string &compiled) {
    const std::vector<int> presumed = presumed_lines(compiled);
    auto user_line = [&](int physical) { return physical >= 1 && size_t(physical) <= presumed.size() ? presumed[size_t(physical) - 1] : 0; };
    std::vector<operand_repair> found;
    auto add = [&](source_range r, repair_kind kind) {
        r.line = user_line(r.line);
        r.end_line = user_line(r.end_line);
        if (r.line < 1 || r.end_line < r.line || (r.end_line == r.line && r.end_column <= r.column)) return;
        found.push_back({r, kind});
    };
    size_t pos = 0;
    while (pos < out.size()) {
        size_t nl = out.find('\n', pos);
        if (nl == std::string::npos) nl = out.size();
        const std::string line = out.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.compare(0, 15, "program_source:") != 0) continue;
        size_t p = ranges_start(line);
        source_range first, second;
        if (p == std::string::npos || !read_range(line, p, first)) continue;
        if ((line.find(temporary_error) != std::string::npos && line.find(temporary_error_end) != std::string::npos) ||
            (line.find(binding_error) != std::string::npos && line.find(binding_error_end) != std::string::npos)) {
            add(first, repair_kind::thread_temporary); // the range is the argument
            continue;
        }
        size_t err = line.find(rank_error);
        if (err == std::string::npos || !read_range(line, p, second)) continue;
        // "('half4' (vector of 4 'half' values) and 'float')": the operand types, left then right.
        const std::string types = line.substr(err + sizeof(rank_error) - 1);
        size_t and_at = types.find(" and '");
        if (and_at == std::string::npos) continue;
        const bool left_is_vector = types.substr(0, and_at).find("vector") != std::string::npos;
        const bool right_is_vector = types.substr(and_at).find("vector") != std::string::npos;
        if (left_is_vector == right_is_vector) continue;
        add(left_is_vector ? second : first, repair_kind::loose_scalar);
    }
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    return found;
}

std::string strip_source_ranges(const std::string &out) {
    std::string result;
    result.reserve(out.size());
    size_t pos = 0;
    while (pos < out.size()) {
        size_t nl = out.find('\n', pos);
        size_t end = nl == std::string::npos ? out.size() : nl + 1;
        std::string line = out.substr(pos, end - pos);
        pos = end;
        size_t p = ranges_start(line);
        if (p != std::string::npos) {
            size_t q = p;
            source_range r;
            while (read_range(line, q, r)) {
            }
            if (q > p && q < line.size() && line[q] == ':') line.erase(p - 1, q - (p - 1));
        }
        result += line;
    }
    return result;
}

} // namespace detail
} // namespace softmetal
