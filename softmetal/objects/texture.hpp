// MTLTextureDescriptor and SoftMetalTexture (MTLTexture): textures of type 1D, 1D array, 2D, 2D array, 3D
// and texture buffer, in device memory of their own, viewing a buffer's bytes, or viewing another
// texture's bytes in another pixel format. Kernels see a texture through its sm_texture (kernel_abi.h),
// fixed at creation: a binding shares it, so recording a dispatch copies one pointer.
#pragma once

#include "kernel_abi.h"
#include "objects/buffer_memory.hpp"
#include "objects/foundation_values.hpp"

#include <memory>
#include <string>

namespace softmetal::objects {

struct device_state;

struct texture_state {
    ~texture_state();

    pymetal::object device;
    device_state* device_info = nullptr;    // set when allocated_size counts in currentAllocatedSize
    std::shared_ptr<buffer_memory> memory;  // shared with views; null for buffer-backed textures
    std::shared_ptr<const sm_texture> layout;
    ns_uinteger storage_mode = 0;
    ns_uinteger cpu_cache_mode = 0;
    ns_uinteger hazard_tracking_mode = 0;
    std::uint64_t allocated_size = 0;
    pymetal::object buffer;                 // newTextureWithDescriptor:offset:bytesPerRow: (retained)
    ns_uinteger buffer_offset = 0;
    ns_uinteger buffer_bytes_per_row = 0;
    pymetal::object parent;                 // newTextureViewWithPixelFormat: (retained)
    label_holder label;
};

// Why region `r` of mipmap level `level`, slice `slice` is not inside `t` ("" when it is), worded for
// error messages (replaceRegion:, getBytes:, blits).
std::string texture_region_problem(const sm_texture& t, const pymetal::mtl_region& r, ns_uinteger level, ns_uinteger slice);

// newTextureWithDescriptor: (device): +1, or nil with a message on stderr saying why.
id new_texture(id device, id descriptor);
// newTextureWithDescriptor:offset:bytesPerRow: (buffer): +1 or nil.
id new_texture_from_buffer(id buffer, id descriptor, ns_uinteger offset, ns_uinteger bytes_per_row);

Class register_texture_descriptor_class();
Class register_texture_class();

// MTLSamplerDescriptor and SoftMetalSamplerState (sampler.cpp).
struct sampler_state_state {
    pymetal::object device;
    std::shared_ptr<const sm_sampler> sampler;
    label_holder label;
};
id new_sampler_state(id device, id descriptor);
Class register_sampler_descriptor_class();
Class register_sampler_state_class();

}  // namespace softmetal::objects
