#include "compiler/vectorize_remarks.hpp"

#include <cctype>
#include <cstdlib>
#include <map>
#include <sstream>
#include <vector>

namespace softmetal {
namespace detail {

namespace {

struct remark {
    std::string kind; // Passed, Missed, Analysis
    std::string function, file, text;
    int line = 0;
};

std::string unquote(std::string v) {
    size_t b = v.find_first_not_of(' ');
    v = b == std::string::npos ? std::string() : v.substr(b);
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') {
        std::string out;
        for (size_t i = 1; i + 1 < v.size(); ++i) {
            out += v[i];
            if (v[i] == '\'' && v[i + 1] == '\'') ++i; // '' is one quote
        }
        return out;
    }
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        std::string out;
        for (size_t i = 1; i + 1 < v.size(); ++i) {
            if (v[i] == '\\' && v[i + 1] == 'n') out += ' ', ++i;
            else out += v[i];
        }
        return out;
    }
    return v;
}

// The record is a stream of small YAML documents ("--- !Missed" ...), one per remark, each with
// Pass, Name, DebugLoc, Function and an Args list of "- Key: value" pieces that make up the text.
std::vector<remark> parse(const std::string &yaml) {
    std::vector<remark> out;
    std::istringstream in(yaml);
    std::string line;
    bool in_args = false;
    while (std::getline(in, line)) {
        if (line.rfind("--- !", 0) == 0) {
            out.push_back(remark{});
            out.back().kind = line.substr(5);
            in_args = false;
            continue;
        }
        if (out.empty()) continue;
        remark &r = out.back();
        if (line.rfind("Function:", 0) == 0) r.function = unquote(line.substr(line.find(':') + 2));
        else if (line.rfind("DebugLoc:", 0) == 0) {
            size_t f = line.find("File: "), l = line.find("Line: ");
            if (f != std::string::npos) r.file = unquote(line.substr(f + 6, line.find(',', f) - f - 6));
            if (l != std::string::npos) r.line = std::atoi(line.c_str() + l + 6);
        } else if (line.rfind("Args:", 0) == 0) in_args = true;
        else if (in_args && line.rfind("  - ", 0) == 0) {
            size_t colon = line.find(": ", 4);
            if (colon == std::string::npos) continue;
            std::string key = line.substr(4, colon - 4), value = unquote(line.substr(colon + 2));
            if (key != "DebugLoc") r.text += value;
        } else if (!line.empty() && line[0] != ' ') in_args = false;
    }
    return out;
}

// A length-prefixed identifier at `at` ("10mandelbrot" -> "mandelbrot"), or "".
std::string length_prefixed(const std::string &s, size_t at) {
    size_t i = at, len = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') len = len * 10 + size_t(s[i++] - '0');
    return i == at || i + len > s.size() ? std::string() : s.substr(i, len);
}

// Which kernel a function belongs to, from its mangled name: run_group<bindings, &kernel> and
// run_thread<...> mangle the kernel as "XadL_Z<length><name>"; a split kernel's group function is
// "sm_regions_<name>" (static: "_ZL<length>sm_regions_<name>..."); the kernel itself "_Z<length><name>".
// `group`: the function that runs a whole threadgroup (the one whose thread loop matters).
// A group function inlined into run_group_regions names it as its (static) template argument,
// "XadL_ZL<length>sm_regions_<name>", so "sm_regions_" is looked for first.
std::string kernel_of(const std::string &function, bool &group) {
    group = false;
    size_t p = function.find("sm_regions_");
    if (p != std::string::npos) {
        size_t d = p;
        while (d > 0 && function[d - 1] >= '0' && function[d - 1] <= '9') --d;
        const std::string name = length_prefixed(function, d);
        group = true;
        return name.size() > 11 ? name.substr(11) : std::string();
    }
    p = function.find("XadL_Z");
    if (p != std::string::npos) {
        group = function.find("run_group") != std::string::npos;
        return length_prefixed(function, p + 6);
    }
    if (function.rfind("_Z", 0) == 0) return length_prefixed(function, 2);
    return "";
}

} // namespace

std::string vectorization_report(const std::string &optimization_record) {
    struct loop_report {
        bool seen_in_group = false, vectorized = false;
        std::string done;
        std::vector<std::string> reasons;
    };
    // kernel -> line (0: the thread loop) -> what happened
    std::map<std::string, std::map<int, loop_report>> kernels;
    const std::vector<remark> remarks = parse(optimization_record);
    for (const remark &r : remarks) { // the kernels: those with a group function
        bool group = false;
        std::string k = kernel_of(r.function, group);
        if (group && !k.empty()) kernels[k];
    }
    for (const remark &r : remarks) {
        bool group = false;
        const std::string k = kernel_of(r.function, group);
        auto it = kernels.find(k);
        if (it == kernels.end()) continue;
        // The thread loop lives in the prelude (kernel_entry.h) or in generated region code; a region's
        // thread loop carries the hint, so its failure reads "(Force=true, Vector Width=N)".
        const bool own = r.file == "program_source" && r.text.find("(Force=") == std::string::npos;
        if (!own && !group) continue;
        loop_report &l = it->second[own ? r.line : (r.file == "program_source" ? -r.line : 0)];
        // The kernel's own loops are also compiled in the kernel's function and in run_thread; the
        // group function's verdict wins, their reasons are kept when it gave none.
        if (group && !l.seen_in_group) {
            l.seen_in_group = true;
            l.reasons.clear();
        } else if (!group && l.seen_in_group) {
            continue;
        }
        if (r.kind == "Passed") {
            l.vectorized = true;
            l.done = r.text;
        } else if (r.text.find("interleaving is not beneficial") == std::string::npos) {
            bool dup = false;
            for (const auto &x : l.reasons) dup = dup || x == r.text;
            if (!dup) l.reasons.push_back(r.text);
        }
    }
    std::string out;
    for (const auto &k : kernels) {
        for (const auto &entry : k.second) {
            const loop_report &l = entry.second;
            const int line = entry.first;
            std::string where = "program_source", what;
            if (line > 0) where += ":" + std::to_string(line), what = "loop: ";
            else if (line < 0) where += ":" + std::to_string(-line), what = "threads of this region: ";
            else what = "threads: ";
            std::string why;
            for (const auto &x : l.reasons) {
                if (x.rfind("loop not vectorized", 0) == 0 && x.find(": ") == std::string::npos && l.reasons.size() > 1) continue;
                why += (why.empty() ? "" : "; ") + x;
            }
            if (why.find("(Force=") != std::string::npos)
                why = "not vectorized as an outer loop around the kernel's loops (a loop whose trip count or exit differs "
                      "per thread, a step other than 1, or a branch that differs per thread around it, keeps it scalar)";
            if (l.vectorized) out += where + ": remark: kernel '" + k.first + "': " + what + l.done + "\n";
            else if (line <= 0) out += where + ": remark: kernel '" + k.first + "': " + what + "run one at a time: " + why + "\n";
            else out += where + ": remark: kernel '" + k.first + "': " + what + why + "\n";
        }
    }
    return out;
}

} // namespace detail
} // namespace softmetal
