// SoftMetalBuffer (MTLBuffer): a span of CPU memory shared by the host and kernels (unified memory).
// Its storage is either softmetal's own (buffer_memory) or the caller's (newBufferWithBytesNoCopy:...,
// whose deallocator block runs when the buffer goes).
#pragma once

#include "objects/buffer_memory.hpp"
#include "objects/foundation_values.hpp"

#include <memory>

namespace softmetal::objects {

struct device_state;

struct buffer_state {
    ~buffer_state();

    pymetal::object device;
    device_state* device_info = nullptr;
    unsigned char* data = nullptr;           // what kernels see (also for private storage)
    std::uint64_t length = 0;
    std::uint64_t allocated_size = 0;
    ns_uinteger options = 0;                 // MTLResourceOptions as given
    std::unique_ptr<buffer_memory> owned;    // null for no-copy buffers
    void* deallocator = nullptr;             // heap copy of the no-copy buffer's block, or null
    label_holder label;
};

// newBufferWithLength:options: (initial == nullptr) and newBufferWithBytes:length:options:. +1 or nil.
id new_buffer(id device, ns_uinteger length, ns_uinteger options, const void* initial);
// newBufferWithBytesNoCopy:length:options:deallocator:. +1 or nil (pointer not page-aligned, length 0).
id new_buffer_no_copy(id device, void* pointer, ns_uinteger length, ns_uinteger options, block_ptr deallocator);

}  // namespace softmetal::objects
