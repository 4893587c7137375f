// What softmetal knows about a compiled kernel's arguments, for MTLComputePipelineReflection and for
// validation messages that name an argument.
//
//   std::vector<softmetal::kernel_argument> args = softmetal::reflect_kernel(*kernel);
//
// From the kernel table (kernel_abi.h): bindings used, minimum lengths, and the parameters' MSL names
// and read-only flags the translator records. A table without names (a hand-written one) gives "bufferN" /
// "threadgroupN" with name_known == false.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel_abi.h"

namespace softmetal {

enum class argument_kind : std::uint32_t {
    buffer = 0,              // device T* / device T& / constant T* : [[buffer(n)]]
    threadgroup_memory = 1,  // threadgroup T* [[threadgroup(n)]]
    bytes = 2,               // constant T& [[buffer(n)]], usually set with setBytes
};

// MTLBindingAccess / MTLArgumentAccess values.
enum class argument_access : std::uint32_t { read_only = 0, read_write = 1, write_only = 2 };

struct kernel_argument {
    std::string name;          // the MSL parameter name, or "bufferN" / "threadgroupN" when unknown
    bool name_known = false;
    argument_kind kind = argument_kind::buffer;
    std::uint32_t index = 0;   // [[buffer(n)]] or [[threadgroup(n)]]
    argument_access access = argument_access::read_write;
    std::uint64_t data_size = 0;   // sizeof the pointee / referenced type; 0 when unknown
    std::uint64_t alignment = 0;   // alignof the same; 0 when unknown
    std::uint64_t data_type = 0;   // MTLDataType of the pointee (0 = none/unknown)
};

// Every [[buffer(n)]] and [[threadgroup(n)]] argument of `kernel`, buffers first, each by index.
std::vector<kernel_argument> reflect_kernel(const sm_kernel_info& kernel);

}  // namespace softmetal
