// Which partial specialisation a use means, asked of the compiler: probes and answers
// (specialisation_choice.hpp).
#include "compiler/specialisation_choice.hpp"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <set>

namespace softmetal {
namespace detail {

namespace {
const char probe_mark[] = "softmetal-specialisation ";
} // namespace

std::string specialisation_key(const std::string &type_with_arguments) {
    std::uint64_t h = 1469598103934665603ull; // FNV-1a, 64 bits: a name for the question, not a security measure
    for (unsigned char c : type_with_arguments) {
        if (c == ' ' || c == '\t' || c == '\n') continue; // (spelling differences in whitespace only)
        h = (h ^ c) * 1099511628211ull;
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
    return out;
}

std::string specialisation_probe(const std::string &type_with_arguments, const std::map<int, std::string> &conditions) {
    const std::string key = specialisation_key(type_with_arguments);
    std::string out = "static_assert(sizeof(" + type_with_arguments + " *) == 0, \"" + probe_mark + key + " compiled\");\n";
    for (const auto &c : conditions)
        out += "static_assert(!(" + c.second + "), \"" + probe_mark + key + " " + std::to_string(c.first) + "\");\n";
    return out;
}

std::map<std::string, int> specialisation_answers(const std::string &compiler_output) {
    std::set<std::string> compiled;
    std::map<std::string, int> held; // key -> the definition whose condition held (-2: more than one)
    for (size_t p = compiler_output.find(probe_mark); p != std::string::npos; p = compiler_output.find(probe_mark, p + 1)) {
        const size_t k = p + sizeof probe_mark - 1;
        const size_t space = compiler_output.find(' ', k);
        if (space == std::string::npos || space - k != 16) continue;
        const std::string key = compiler_output.substr(k, 16);
        size_t e = space + 1;
        while (e < compiler_output.size() && (std::isalnum(static_cast<unsigned char>(compiler_output[e])) || compiler_output[e] == '-')) ++e;
        const std::string what = compiler_output.substr(space + 1, e - space - 1);
        if (what == "compiled") {
            compiled.insert(key);
        } else if (!what.empty() && what.find_first_not_of("0123456789") == std::string::npos && what.size() < 6) {
            const int index = std::stoi(what);
            auto it = held.find(key);
            held[key] = it == held.end() || it->second == index ? index : -2; // (two holding: ambiguous, as for the compiler)
        }
    }
    std::map<std::string, int> answers;
    for (const std::string &key : compiled) {
        auto it = held.find(key);
        if (it == held.end()) answers[key] = -1;
        else if (it->second >= 0) answers[key] = it->second;
    }
    return answers;
}

} // namespace detail
} // namespace softmetal
