#include "objects/parameter_names.hpp"

#include <cstring>

namespace softmetal::objects {

std::string parameter_name(const sm_kernel_info& kernel, int position) {
    const std::string fallback = "argument " + std::to_string(position);
    if (position < 0 || !kernel.parameter_names) return fallback;
    // '\n'-separated, one entry per parameter, "" when unnamed.
    const char* names = kernel.parameter_names;
    for (int p = 0; p < position; ++p) {
        names = std::strchr(names, '\n');
        if (!names) return fallback;
        ++names;
    }
    const char* end = std::strchr(names, '\n');
    std::string name = end ? std::string(names, end) : std::string(names);
    return name.empty() ? fallback : name;
}

std::string buffer_argument_name(const sm_kernel_info& kernel, unsigned index) {
    if (index < SM_MAX_BUFFER_BINDINGS && kernel.buffer_parameter[index] != 0) {
        const std::string name = parameter_name(kernel, kernel.buffer_parameter[index] - 1);
        if (name.rfind("argument ", 0) != 0) return name;
    }
    return "buffer" + std::to_string(index);
}

}  // namespace softmetal::objects
