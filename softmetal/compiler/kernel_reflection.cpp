// Reflection from the kernel table.
//
// What the table lacks, and what the translator must emit for exact reflection (not done here: the
// translator and prelude are being rewritten): one record per kernel parameter with an argument
// attribute, in parameter order, e.g. a table `const sm_argument_info* arguments; uint32_t
// argument_count;` in sm_kernel_info (ABI version 2) with
//   { const char* name; uint32_t kind /* argument_kind */; uint32_t index; uint32_t access /* const or
//     constant address space: read_only, else read_write */; uint64_t data_size /* sizeof(T) */;
//     uint64_t alignment /* alignof(T) */; uint64_t data_type /* MTLDataType of T, 0 for structs */ }
// where data_size and alignment come from sizeof/alignof in the generated C++ (so the translator need
// not understand types). Until then, what the table has is reported and names are placeholders.
#include "compiler/kernel_reflection.hpp"

namespace softmetal {

std::vector<kernel_argument> reflect_kernel(const sm_kernel_info& kernel) {
    std::vector<kernel_argument> arguments;
    for (std::uint32_t n = 0; n < SM_MAX_BUFFER_BINDINGS; ++n) {
        if (!((kernel.buffer_bindings_used >> n) & 1u)) continue;
        kernel_argument a;
        a.name = "buffer" + std::to_string(n);
        a.index = n;
        a.data_size = kernel.buffer_min_length[n];
        // Only `constant T&` / `device T&` arguments have a minimum length in the table; a `constant T&`
        // is what setBytes feeds, but the table cannot tell it from `device T&`, so both read as buffers.
        a.kind = argument_kind::buffer;
        arguments.push_back(a);
    }
    for (std::uint32_t n = 0; n < SM_MAX_THREADGROUP_BINDINGS; ++n) {
        if (!((kernel.threadgroup_bindings_used >> n) & 1u)) continue;
        kernel_argument a;
        a.name = "threadgroup" + std::to_string(n);
        a.kind = argument_kind::threadgroup_memory;
        a.index = n;
        arguments.push_back(a);
    }
    return arguments;
}

}  // namespace softmetal
