// Reflection from the kernel table: the translator records each parameter's name and whether it is
// read-only, and the prelude which parameter each binding is, what buffers point to and what each
// texture argument is.
#include "compiler/kernel_reflection.hpp"

namespace softmetal {

namespace {

// Parameter `position` (1-based, as the table stores it) of `kernel`: its name, or "" when unknown.
std::string parameter_name(const sm_kernel_info& kernel, unsigned position) {
    if (!kernel.parameter_names || position == 0) return "";
    const std::string all = kernel.parameter_names;
    size_t start = 0;
    for (unsigned p = 1; p < position; ++p) {
        start = all.find('\n', start);
        if (start == std::string::npos) return "";
        ++start;
    }
    const size_t end = all.find('\n', start);
    return all.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

void name_from_table(const sm_kernel_info& kernel, unsigned position, kernel_argument& a) {
    const std::string name = parameter_name(kernel, position);
    if (name.empty()) return;
    a.name = name;
    a.name_known = true;
    if (position <= 64 && ((kernel.read_only_parameters >> (position - 1)) & 1u)) a.access = argument_access::read_only;
}

}  // namespace

std::vector<kernel_argument> reflect_kernel(const sm_kernel_info& kernel) {
    std::vector<kernel_argument> arguments;
    for (std::uint32_t n = 0; n < SM_MAX_BUFFER_BINDINGS; ++n) {
        if (!((kernel.buffer_bindings_used >> n) & 1u)) continue;
        kernel_argument a;
        a.name = "buffer" + std::to_string(n);
        a.index = n;
        // `constant T&` reads as a buffer, as on Metal (setBytes feeds it, but its type is MTLArgumentTypeBuffer).
        a.data_size = kernel.buffer_data_size[n] ? kernel.buffer_data_size[n] : kernel.buffer_min_length[n];
        a.alignment = kernel.buffer_alignment[n];
        a.data_type = kernel.buffer_data_type[n];
        a.kind = argument_kind::buffer;
        name_from_table(kernel, kernel.buffer_parameter[n], a);
        arguments.push_back(a);
    }
    for (std::uint32_t n = 0; n < SM_MAX_THREADGROUP_BINDINGS; ++n) {
        if (!((kernel.threadgroup_bindings_used >> n) & 1u)) continue;
        kernel_argument a;
        a.name = "threadgroup" + std::to_string(n);
        a.kind = argument_kind::threadgroup_memory;
        a.index = n;
        a.data_size = kernel.threadgroup_data_size[n];
        a.alignment = kernel.threadgroup_alignment[n];
        name_from_table(kernel, kernel.threadgroup_parameter[n], a);
        a.access = argument_access::read_write;
        arguments.push_back(a);
    }
    for (std::uint32_t n = 0; n < SM_MAX_TEXTURE_BINDINGS; ++n) {
        if (!((kernel.texture_bindings_used >> n) & 1u)) continue;
        kernel_argument a;
        a.name = "texture" + std::to_string(n);
        a.kind = argument_kind::texture;
        a.index = n;
        name_from_table(kernel, kernel.texture_parameter[n], a);
        const std::uint32_t k = kernel.texture_argument_kind[n];
        a.texture_type = k & 0xFFu;
        a.texture_data_type = (k >> 16) & 0xFFu;
        // MSL's access::sample and access::read read, write writes, read_write both (MTLBindingAccess).
        const std::uint32_t msl_access = (k >> 8) & 3u;
        a.access = msl_access == 2 ? argument_access::write_only
                   : msl_access == 3 ? argument_access::read_write
                                     : argument_access::read_only;
        arguments.push_back(a);
    }
    for (std::uint32_t n = 0; n < SM_MAX_SAMPLER_BINDINGS; ++n) {
        if (!((kernel.sampler_bindings_used >> n) & 1u)) continue;
        kernel_argument a;
        a.name = "sampler" + std::to_string(n);
        a.kind = argument_kind::sampler;
        a.index = n;
        name_from_table(kernel, kernel.sampler_parameter[n], a);
        a.access = argument_access::read_only;
        arguments.push_back(a);
    }
    return arguments;
}

}  // namespace softmetal
