#include "objects/buffer.hpp"

#include <cstring>
#include <new>

#include "objects/caller_memory.hpp"
#include "objects/class_registry.hpp"
#include "objects/device.hpp"
#include "objects/texture.hpp"

namespace softmetal::objects {

namespace ro = pymetal::resource_options;

namespace {

buffer_state& state(id self) { return *pymetal::state_of<buffer_state>(self); }

ns_uinteger storage_mode_of(ns_uinteger options) { return (options & ro::storage_mode_mask) >> ro::storage_mode_shift; }

// Buffers may be shared, managed or private; memoryless storage is for render targets only.
bool acceptable_buffer(ns_uinteger length, ns_uinteger options) {
    if (length == 0) return false;  // Metal returns nil for empty buffers
    if (length > shared_device_state().max_buffer_length) return false;
    const ns_uinteger mode = storage_mode_of(options);
    return mode <= static_cast<ns_uinteger>(pymetal::storage_mode::private_);
}

id wrap(id device, std::unique_ptr<buffer_state> buffer) {
    buffer->device = pymetal::object::retain(device);
    buffer->device_info = &shared_device_state();
    buffer->device_info->allocated_bytes += buffer->allocated_size;
    return new_instance(classes().buffer, std::move(buffer));
}

}  // namespace

buffer_state::~buffer_state() {
    if (device_info) device_info->allocated_bytes -= allocated_size;
    if (deallocator) {
        // Metal calls the deallocator with the pointer and length it was given, then drops the block.
        pymetal::block_abi::invoke<void, void*, ns_uinteger>(deallocator, static_cast<void*>(data),
                                                             static_cast<ns_uinteger>(length));
        pymetal::block_abi::release(deallocator);
    }
}

id new_buffer(id device, ns_uinteger length, ns_uinteger options, const void* initial) {
    try {
        if (!acceptable_buffer(length, options)) return nullptr;
        auto memory = std::make_unique<buffer_memory>(length);
        if (!memory->data()) return nullptr;
        if (initial && !copy_from_caller(memory->data(), initial, length)) return nullptr;  // source shorter than length
        auto buffer = std::make_unique<buffer_state>();
        buffer->data = memory->data();
        buffer->length = length;
        buffer->allocated_size = memory->allocated_size();
        buffer->options = options;
        buffer->owned = std::move(memory);
        return wrap(device, std::move(buffer));
    } catch (...) {
        return nullptr;  // allocation failure is a nil buffer, never an exception into the caller
    }
}

id new_buffer_no_copy(id device, void* pointer, ns_uinteger length, ns_uinteger options, block_ptr deallocator) {
    try {
        if (!pointer || reinterpret_cast<std::uintptr_t>(pointer) % page_size() != 0) return nullptr;
        if (!acceptable_buffer(length, options)) return nullptr;
        auto buffer = std::make_unique<buffer_state>();
        buffer->data = static_cast<unsigned char*>(pointer);
        buffer->length = length;
        buffer->allocated_size = (length + page_size() - 1) / page_size() * page_size();
        buffer->options = options;
        buffer->deallocator = pymetal::block_abi::copy(deallocator);
        return wrap(device, std::move(buffer));
    } catch (...) {
        return nullptr;
    }
}

Class register_buffer_class() {
    pymetal::class_builder builder("SoftMetalBuffer");
    builder.state<buffer_state>();
    builder.method("contents", [](id self, SEL) -> void* {
        const buffer_state& b = state(self);
        // Private storage belongs to the GPU side: Metal gives the CPU no pointer to it.
        if (storage_mode_of(b.options) == static_cast<ns_uinteger>(pymetal::storage_mode::private_)) return nullptr;
        return b.data;
    });
    builder.method("length", [](id self, SEL) -> ns_uinteger { return state(self).length; });
    // Memory is unified: a managed buffer's CPU writes are already visible to kernels.
    builder.method("didModifyRange:", [](id, SEL, pymetal::ns_range) {});
    builder.method("storageMode", [](id self, SEL) -> ns_uinteger { return storage_mode_of(state(self).options); });
    builder.method("cpuCacheMode", [](id self, SEL) -> ns_uinteger { return state(self).options & 0xF; });
    builder.method("hazardTrackingMode", [](id self, SEL) -> ns_uinteger {
        // Default means tracked for buffers made by a device, and Metal reports it as such.
        const ns_uinteger mode = (state(self).options >> 8) & 0x3;
        return mode == 0 ? 2 : mode;
    });
    builder.method("resourceOptions", [](id self, SEL) -> ns_uinteger { return state(self).options; });
    builder.method("allocatedSize", [](id self, SEL) -> ns_uinteger { return state(self).allocated_size; });
    builder.method("gpuAddress", [](id self, SEL) -> std::uint64_t {
        return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(state(self).data));
    });
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    builder.method("newTextureWithDescriptor:offset:bytesPerRow:",
                   [](id self, SEL, id descriptor, ns_uinteger offset, ns_uinteger bytes_per_row) -> id {
                       return new_texture_from_buffer(self, descriptor, offset, bytes_per_row);
                   });
    add_label_methods<buffer_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
