// What softmetal knows about a compiled kernel's arguments, for MTLComputePipelineReflection and for
// validation messages that name an argument.
//
//   std::vector<softmetal::kernel_argument> args = softmetal::reflect_kernel(*kernel);
//
// From the kernel table (kernel_abi.h): bindings used, minimum lengths, the parameters' MSL names and
// read-only flags the translator records, each buffer's pointee type and each texture's type, element
// type and access the prelude records. A table without names (a hand-written one) gives "bufferN" /
// "threadgroupN" / "textureN" / "samplerN" with name_known == false.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel_abi.h"

namespace softmetal {

// MTLArgumentType and MTLBindingType values (the two agree on these four).
enum class argument_kind : std::uint32_t {
    buffer = 0,              // device T* / device T& / constant T* / constant T& : [[buffer(n)]]
    threadgroup_memory = 1,  // threadgroup T* [[threadgroup(n)]]
    texture = 2,             // texture2d<T, access> ... [[texture(n)]]
    sampler = 3,             // sampler [[sampler(n)]]
};

// MTLBindingAccess / MTLArgumentAccess values.
enum class argument_access : std::uint32_t { read_only = 0, read_write = 1, write_only = 2 };

struct kernel_argument {
    std::string name;          // the MSL parameter name, or "bufferN" / "threadgroupN" when unknown
    bool name_known = false;
    argument_kind kind = argument_kind::buffer;
    std::uint32_t index = 0;   // [[buffer(n)]], [[threadgroup(n)]], [[texture(n)]] or [[sampler(n)]]
    argument_access access = argument_access::read_write;
    std::uint64_t data_size = 0;   // sizeof the pointee / referenced type; 0 when unknown
    std::uint64_t alignment = 0;   // alignof the same; 0 when unknown
    std::uint64_t data_type = 0;   // MTLDataType of the pointee (0 = none/unknown)
    std::uint64_t texture_type = 0;       // textures: MTLTextureType
    std::uint64_t texture_data_type = 0;  // textures: MTLDataType of the element type (float 3, half 16, ...)
};

// Every [[buffer(n)]], [[threadgroup(n)]], [[texture(n)]] and [[sampler(n)]] argument of `kernel`, in
// that order, each kind by index.
std::vector<kernel_argument> reflect_kernel(const sm_kernel_info& kernel);

}  // namespace softmetal
