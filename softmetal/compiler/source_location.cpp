#include "compiler/source_location.hpp"

#include "compiler/clang_driver.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <vector>

namespace softmetal {
namespace {

constexpr const char file_name[] = "program_source";

// The first (innermost, for inlined code) "…program_source:L[:C]" in a symbolizer's output.
std::string first_location(const std::string& output) {
    std::size_t start = 0;
    while (start < output.size()) {
        std::size_t end = output.find('\n', start);
        if (end == std::string::npos) end = output.size();
        const std::string line = output.substr(start, end - start);
        const std::size_t at = line.find(file_name);
        if (at != std::string::npos) {
            std::string location = line.substr(at);
            // addr2line appends " (discriminator N)".
            const std::size_t space = location.find(' ');
            if (space != std::string::npos) location.erase(space);
            // Column 0: none known. Line 0: the compiler could not attribute the instruction to a line.
            if (location.size() > 2 && location.compare(location.size() - 2, 2, ":0") == 0) location.erase(location.size() - 2);
            if (location != std::string(file_name) && location.rfind(std::string(file_name) + ":0", 0) != 0) return location;
        }
        start = end + 1;
    }
    return "";
}

}  // namespace

std::string msl_location_of(std::uintptr_t address) {
    Dl_info info{};
    if (address == 0 || !dladdr(reinterpret_cast<void*>(address), &info) || !info.dli_fname || !info.dli_fbase) return "";
    const std::string object = info.dli_fname;
    char offset[32];
    // Shared objects are linked at 0: the address within the file is the distance from the load base.
    std::snprintf(offset, sizeof offset, "0x%llx",
                  static_cast<unsigned long long>(address - reinterpret_cast<std::uintptr_t>(info.dli_fbase)));
    const std::vector<std::vector<std::string>> symbolizers = {
        {"llvm-symbolizer-19", "--obj=" + object, offset},
        {"llvm-symbolizer", "--obj=" + object, offset},
        {"addr2line", "-i", "-e", object, offset},
    };
    for (const auto& argv : symbolizers) {
        const detail::process_output result = detail::run_process(argv);
        if (!result.started || result.exit_code != 0) continue;
        return first_location(result.output);
    }
    return "";
}

}  // namespace softmetal
