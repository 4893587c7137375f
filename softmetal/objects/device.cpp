#include "objects/device.hpp"

#include <unistd.h>

#include "objects/buffer.hpp"
#include "objects/class_registry.hpp"
#include "objects/command_queue.hpp"
#include "objects/compute_pipeline_descriptor.hpp"
#include "objects/compute_pipeline_state.hpp"
#include "objects/event.hpp"
#include "objects/library.hpp"
#include "objects/texture.hpp"

namespace softmetal::objects {

namespace {

// MTLGPUFamily values softmetal answers YES for. Common1-3 (3001-3003) and Apple1-6 (1001-1006): their
// compute features are what softmetal emulates, non-uniform threadgroups (dispatchThreads, Apple4+),
// 32 KiB threadgroup memory and SIMD-group permutes (Apple6) included. Apple7+ and Mac2 add
// simdgroup_matrix, and Metal3 adds far more; softmetal does not emulate those, so it says NO.
bool supports_family(ns_integer family) {
    return (family >= 1001 && family <= 1006) || (family >= 3001 && family <= 3003);
}

std::uint64_t physical_memory_bytes() {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0) return std::uint64_t{8} << 30;
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
}

id create_device(Class cls) {
    auto state = std::make_unique<device_state>();
    state->name = pymetal::make_string("softmetal CPU");
    const std::uint64_t memory = physical_memory_bytes();
    // Apple reports about half of memory as the largest buffer and three quarters as the working set.
    state->max_buffer_length = memory / 2;
    state->recommended_working_set = memory / 4 * 3;
    return new_instance(cls, std::move(state));
}

device_state& state(id self) { return *pymetal::state_of<device_state>(self); }

}  // namespace

id shared_device() {
    // Created once; the static keeps its +1 for the process's lifetime, so every caller gets the same object.
    static const id device = create_device(classes().device);
    return device;
}

device_state& shared_device_state() { return state(shared_device()); }

Class register_device_class() {
    pymetal::class_builder builder("SoftMetalDevice");
    builder.state<device_state>();
    builder.method("name", [](id self, SEL) -> id { return state(self).name.get(); });
    builder.method("registryID", [](id, SEL) -> std::uint64_t { return 0x50F7'3E7A'0000'0001ull; });
    builder.method("maxThreadsPerThreadgroup", [](id, SEL) -> pymetal::mtl_size {
        return {max_threads_per_threadgroup, max_threads_per_threadgroup, max_threads_per_threadgroup};
    });
    builder.method("maxThreadgroupMemoryLength", [](id, SEL) -> ns_uinteger { return max_threadgroup_memory_length; });
    builder.method("maxBufferLength", [](id self, SEL) -> ns_uinteger { return state(self).max_buffer_length; });
    builder.method("hasUnifiedMemory", [](id, SEL) -> objc_bool { return yes; });
    builder.method("recommendedMaxWorkingSetSize",
                   [](id self, SEL) -> std::uint64_t { return state(self).recommended_working_set; });
    builder.method("currentAllocatedSize", [](id self, SEL) -> ns_uinteger { return state(self).allocated_bytes.load(); });
    builder.method("supportsFamily:", [](id, SEL, ns_integer family) -> objc_bool { return supports_family(family) ? yes : no; });

    builder.method("newCommandQueue", [](id self, SEL) -> id { return new_command_queue(self, 64); });
    builder.method("newCommandQueueWithMaxCommandBufferCount:",
                   [](id self, SEL, ns_uinteger count) -> id { return new_command_queue(self, count); });

    builder.method("newBufferWithLength:options:", [](id self, SEL, ns_uinteger length, ns_uinteger options) -> id {
        return new_buffer(self, length, options, nullptr);
    });
    builder.method("newBufferWithBytes:length:options:",
                   [](id self, SEL, const void* bytes, ns_uinteger length, ns_uinteger options) -> id {
                       return new_buffer(self, length, options, bytes);
                   });
    builder.method("newBufferWithBytesNoCopy:length:options:deallocator:",
                   [](id self, SEL, void* pointer, ns_uinteger length, ns_uinteger options, block_ptr deallocator) -> id {
                       return new_buffer_no_copy(self, pointer, length, options, deallocator);
                   });

    builder.method("newLibraryWithSource:options:error:", [](id self, SEL, id source, id options, id* error) -> id {
        return new_library_with_source(self, source, options, error);
    });
    builder.method("newLibraryWithURL:error:",
                   [](id self, SEL, id url, id* error) -> id { return new_library_with_url(self, url, error); });
    builder.method("newLibraryWithFile:error:",
                   [](id self, SEL, id path, id* error) -> id { return new_library_with_file(self, path, error); });
    builder.method("newLibraryWithData:error:",
                   [](id self, SEL, id data, id* error) -> id { return new_library_with_data(self, data, error); });
    builder.method("newDefaultLibrary", [](id self, SEL) -> id { return new_default_library(self); });

    builder.method("newComputePipelineStateWithFunction:error:", [](id self, SEL, id function, id* error) -> id {
        return new_compute_pipeline_state(self, function, pipeline_settings{}, nullptr, error);
    });
    // The options (MTLPipelineOption: ArgumentInfo, BufferTypeInfo) only decide how much Apple's
    // compiler keeps for reflection; softmetal's reflection costs nothing, so any options get all of it.
    builder.method("newComputePipelineStateWithFunction:options:reflection:error:",
                   [](id self, SEL, id function, ns_uinteger, id* reflection, id* error) -> id {
                       return new_compute_pipeline_state(self, function, pipeline_settings{}, reflection, error);
                   });
    builder.method("newComputePipelineStateWithDescriptor:options:reflection:error:",
                   [](id self, SEL, id descriptor, ns_uinteger, id* reflection, id* error) -> id {
                       return new_compute_pipeline_state_from_descriptor(self, descriptor, reflection, error);
                   });
    builder.method("newTextureWithDescriptor:", [](id self, SEL, id descriptor) -> id { return new_texture(self, descriptor); });
    // softmetal needs a buffer-backed texture's offset and row pitch to be whole texels, nothing more.
    builder.method("minimumLinearTextureAlignmentForPixelFormat:", [](id, SEL, ns_uinteger format) -> ns_uinteger {
        return pymetal::pixel_format_size(static_cast<pymetal::pixel_format>(format));
    });
    builder.method("newSamplerStateWithDescriptor:",
                   [](id self, SEL, id descriptor) -> id { return new_sampler_state(self, descriptor); });
    builder.method("newEvent", [](id self, SEL) -> id { return new_event(self, false); });
    builder.method("newSharedEvent", [](id self, SEL) -> id { return new_event(self, true); });
    builder.method("newFence", [](id self, SEL) -> id { return new_fence(self); });
    return builder.register_class();
}

}  // namespace softmetal::objects
