#include "objects/blit_command_encoder.hpp"

#include <cstring>
#include <string>

#include "objects/buffer.hpp"
#include "objects/class_registry.hpp"
#include "objects/command_buffer.hpp"
#include "objects/texture.hpp"
#include "objects/texture_blits.hpp"

namespace softmetal::objects {

namespace {

struct blit_command_encoder_state {
    pymetal::object command_buffer;
    id device = nullptr;  // the command buffer's; not retained again (compute_command_encoder.hpp says why)
    std::shared_ptr<command_buffer_core> core;
    std::size_t encoder_index = 0;
    std::size_t command_index = 0;
    bool ended = false;
    label_holder label;
};

blit_command_encoder_state& state(id self) { return *pymetal::state_of<blit_command_encoder_state>(self); }

constexpr ns_integer invalid_resource = static_cast<ns_integer>(pymetal::command_buffer_error::invalid_resource);

// A range check made when the command runs, worded like the dispatch checks. Metal's validation layer
// rejects these at encoding; without it the GPU would write out of bounds.
std::optional<validation_failure> out_of_range(std::size_t encoder, std::size_t command, const std::string& what) {
    return validation_failure{invalid_resource,
                              "blit " + std::to_string(command) + " of encoder " + std::to_string(encoder) + ": " + what};
}

bool fits(std::uint64_t offset, std::uint64_t size, std::uint64_t length) { return offset <= length && size <= length - offset; }

// Records `run` (retaining the buffers with the command buffer) while the encoder is open. Using an
// ended encoder is what Metal's validation layer asserts on: here it fails the command buffer.
template <class Run>
void record(id self, const char* call, std::initializer_list<id> buffers, Run run) {
    blit_command_encoder_state& encoder = state(self);
    try {
        {
            std::lock_guard<std::mutex> lock(encoder.core->mutex);
            if (encoder.core->committed) return;
            if (encoder.ended) {
                encoder.core->record_misuse_locked(std::string(call) + " called on a blit command encoder after endEncoding");
                return;
            }
            for (id buffer : buffers) encoder.core->retain_resource(buffer);
        }
        recorded_command command;
        command.run = std::move(run);
        if (record_command(*encoder.core, std::move(command))) encoder.command_index++;
    } catch (...) {
        // Out of memory while recording: the command is lost, the host keeps running.
    }
}

void copy_buffer(id self, id source, ns_uinteger source_offset, id destination, ns_uinteger destination_offset,
                 ns_uinteger size) {
    const auto* from = state_if_instance<buffer_state>(source, classes().buffer);
    const auto* to = state_if_instance<buffer_state>(destination, classes().buffer);
    if (!from || !to) {  // nil or foreign buffers: Metal's validation layer asserts
        state(self).core->record_misuse("copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size: without two buffers");
        return;
    }
    const std::size_t encoder = state(self).encoder_index, index = state(self).command_index;
    unsigned char* from_data = from->data;
    unsigned char* to_data = to->data;
    const std::uint64_t from_length = from->length, to_length = to->length;
    record(self, "copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:", {source, destination},
           [=](softmetal::run_control&) -> std::optional<validation_failure> {
        if (!fits(source_offset, size, from_length) || !fits(destination_offset, size, to_length)) {
            return out_of_range(encoder, index, "copy of " + std::to_string(size) + " bytes from offset " +
                                                    std::to_string(source_offset) + " (source length " +
                                                    std::to_string(from_length) + ") to offset " +
                                                    std::to_string(destination_offset) + " (destination length " +
                                                    std::to_string(to_length) + ") leaves a buffer");
        }
        // memmove: a copy within one buffer may overlap (Metal leaves that undefined; be kind).
        if (size) std::memmove(to_data + destination_offset, from_data + source_offset, size);
        return std::nullopt;
    });
}

void fill_buffer(id self, id buffer, pymetal::ns_range range, std::uint8_t value) {
    const auto* target = state_if_instance<buffer_state>(buffer, classes().buffer);
    if (!target) {
        state(self).core->record_misuse("fillBuffer:range:value: without a buffer");
        return;
    }
    const std::size_t encoder = state(self).encoder_index, index = state(self).command_index;
    unsigned char* data = target->data;
    const std::uint64_t length = target->length;
    record(self, "fillBuffer:range:value:", {buffer}, [=](softmetal::run_control&) -> std::optional<validation_failure> {
        if (!fits(range.location, range.length, length)) {
            return out_of_range(encoder, index, "fill of range (" + std::to_string(range.location) + ", " +
                                                    std::to_string(range.length) + ") leaves the buffer of length " +
                                                    std::to_string(length));
        }
        if (range.length) std::memset(data + range.location, value, range.length);
        return std::nullopt;
    });
}

using pymetal::mtl_origin;
using pymetal::mtl_size;

// A texture's layout (kept alive by the recorded command) or null for nil / a foreign object.
std::shared_ptr<const sm_texture> layout_of(id texture) {
    const auto* t = state_if_instance<texture_state>(texture, classes().texture);
    return t ? t->layout : nullptr;
}

blit_bytes bytes_of(const buffer_state& b) { return blit_bytes{b.data, b.length}; }

// Records a texture command: `operation` runs on the lane and returns "" or why it copied nothing,
// which ends the command buffer with InvalidResource naming the blit and the selector.
template <class Operation>
void record_texture_command(id self, const char* call, std::initializer_list<id> resources, Operation operation) {
    const std::size_t encoder = state(self).encoder_index, index = state(self).command_index;
    const std::string selector = call;
    record(self, call, resources, [=](softmetal::run_control&) -> std::optional<validation_failure> {
        const std::string bad = operation();
        if (bad.empty()) return std::nullopt;
        return out_of_range(encoder, index, selector + ": " + bad);
    });
}

void copy_texture_to_buffer_command(id self, id source, ns_uinteger slice, ns_uinteger level, mtl_origin origin, mtl_size size,
                                    id destination, ns_uinteger offset, ns_uinteger bytes_per_row, ns_uinteger bytes_per_image) {
    const char* call =
        "copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toBuffer:destinationOffset:destinationBytesPerRow:"
        "destinationBytesPerImage:";
    auto texture = layout_of(source);
    const auto* to = state_if_instance<buffer_state>(destination, classes().buffer);
    if (!texture || !to) return state(self).core->record_misuse(std::string(call) + " without a source texture and a destination buffer");
    const blit_bytes bytes = bytes_of(*to);
    record_texture_command(self, call, {source, destination}, [=] {
        return copy_texture_to_buffer(*texture, texture_box{slice, level, origin}, size, bytes,
                                      linear_layout{offset, bytes_per_row, bytes_per_image});
    });
}

void copy_buffer_to_texture_command(id self, id source, ns_uinteger offset, ns_uinteger bytes_per_row, ns_uinteger bytes_per_image,
                                    mtl_size size, id destination, ns_uinteger slice, ns_uinteger level, mtl_origin origin) {
    const char* call =
        "copyFromBuffer:sourceOffset:sourceBytesPerRow:sourceBytesPerImage:sourceSize:toTexture:destinationSlice:destinationLevel:"
        "destinationOrigin:";
    const auto* from = state_if_instance<buffer_state>(source, classes().buffer);
    auto texture = layout_of(destination);
    if (!from || !texture) return state(self).core->record_misuse(std::string(call) + " without a source buffer and a destination texture");
    const blit_bytes bytes = bytes_of(*from);
    record_texture_command(self, call, {source, destination}, [=] {
        return copy_buffer_to_texture(bytes, linear_layout{offset, bytes_per_row, bytes_per_image}, size, *texture,
                                      texture_box{slice, level, origin});
    });
}

void copy_texture_region_command(id self, id source, ns_uinteger source_slice, ns_uinteger source_level, mtl_origin source_origin,
                                 mtl_size size, id destination, ns_uinteger destination_slice, ns_uinteger destination_level,
                                 mtl_origin destination_origin) {
    const char* call =
        "copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:destinationLevel:"
        "destinationOrigin:";
    auto from = layout_of(source), to = layout_of(destination);
    if (!from || !to) return state(self).core->record_misuse(std::string(call) + " without two textures");
    record_texture_command(self, call, {source, destination}, [=] {
        return copy_texture_region(*from, texture_box{source_slice, source_level, source_origin}, size, *to,
                                   texture_box{destination_slice, destination_level, destination_origin});
    });
}

void copy_texture_command(id self, id source, id destination) {
    const char* call = "copyFromTexture:toTexture:";
    auto from = layout_of(source), to = layout_of(destination);
    if (!from || !to) return state(self).core->record_misuse(std::string(call) + " without two textures");
    record_texture_command(self, call, {source, destination}, [=] { return copy_texture_whole(*from, *to); });
}

void generate_mipmaps_command(id self, id texture) {
    const char* call = "generateMipmapsForTexture:";
    auto layout = layout_of(texture);
    if (!layout) return state(self).core->record_misuse(std::string(call) + " without a texture");
    record_texture_command(self, call, {texture}, [=] { return generate_mipmaps(*layout); });
}

}  // namespace

id new_blit_command_encoder(id command_buffer) {
    try {
        command_buffer_state& owner = *pymetal::state_of<command_buffer_state>(command_buffer);
        auto encoder = std::make_unique<blit_command_encoder_state>();
        {
            std::lock_guard<std::mutex> lock(owner.core->mutex);
            if (owner.core->committed) return nullptr;
            // Metal's validation layer asserts when an encoder is made while another is still open.
            if (owner.core->encoder_open)
                owner.core->record_misuse_locked("a blit command encoder was created while the previous encoder had not ended (endEncoding)");
            owner.core->encoder_open = true;
            encoder->encoder_index = owner.core->encoders_created++;
        }
        encoder->command_buffer = pymetal::object::retain(command_buffer);
        encoder->device = owner.device;
        encoder->core = owner.core;
        return new_instance(classes().blit_command_encoder, std::move(encoder));
    } catch (...) {
        return nullptr;
    }
}

Class register_blit_command_encoder_class() {
    pymetal::class_builder builder("SoftMetalBlitCommandEncoder");
    builder.state<blit_command_encoder_state>();
    builder.method("copyFromBuffer:sourceOffset:toBuffer:destinationOffset:size:",
                   [](id self, SEL, id source, ns_uinteger source_offset, id destination, ns_uinteger destination_offset,
                      ns_uinteger size) { copy_buffer(self, source, source_offset, destination, destination_offset, size); });
    builder.method("fillBuffer:range:value:",
                   [](id self, SEL, id buffer, pymetal::ns_range range, std::uint8_t value) { fill_buffer(self, buffer, range, value); });
    builder.method("copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toBuffer:destinationOffset:"
                   "destinationBytesPerRow:destinationBytesPerImage:",
                   [](id self, SEL, id source, ns_uinteger slice, ns_uinteger level, mtl_origin origin, mtl_size size, id destination,
                      ns_uinteger offset, ns_uinteger bytes_per_row, ns_uinteger bytes_per_image) {
                       copy_texture_to_buffer_command(self, source, slice, level, origin, size, destination, offset, bytes_per_row,
                                                      bytes_per_image);
                   });
    builder.method("copyFromBuffer:sourceOffset:sourceBytesPerRow:sourceBytesPerImage:sourceSize:toTexture:destinationSlice:"
                   "destinationLevel:destinationOrigin:",
                   [](id self, SEL, id source, ns_uinteger offset, ns_uinteger bytes_per_row, ns_uinteger bytes_per_image, mtl_size size,
                      id destination, ns_uinteger slice, ns_uinteger level, mtl_origin origin) {
                       copy_buffer_to_texture_command(self, source, offset, bytes_per_row, bytes_per_image, size, destination, slice,
                                                      level, origin);
                   });
    builder.method("copyFromTexture:sourceSlice:sourceLevel:sourceOrigin:sourceSize:toTexture:destinationSlice:"
                   "destinationLevel:destinationOrigin:",
                   [](id self, SEL, id source, ns_uinteger source_slice, ns_uinteger source_level, mtl_origin source_origin,
                      mtl_size size, id destination, ns_uinteger destination_slice, ns_uinteger destination_level,
                      mtl_origin destination_origin) {
                       copy_texture_region_command(self, source, source_slice, source_level, source_origin, size, destination,
                                                   destination_slice, destination_level, destination_origin);
                   });
    builder.method("copyFromTexture:toTexture:", [](id self, SEL, id source, id destination) { copy_texture_command(self, source, destination); });
    builder.method("generateMipmapsForTexture:", [](id self, SEL, id texture) { generate_mipmaps_command(self, texture); });
    // Unified memory: a managed buffer's GPU writes are already visible to the CPU.
    builder.method("synchronizeResource:", [](id, SEL, id) {});
    // Fences order encoders of one queue, whose commands softmetal already runs in encoding order.
    builder.method("updateFence:", [](id, SEL, id) {});
    builder.method("waitForFence:", [](id, SEL, id) {});
    builder.method("endEncoding", [](id self, SEL) {
        blit_command_encoder_state& encoder = state(self);
        std::lock_guard<std::mutex> lock(encoder.core->mutex);
        if (!encoder.ended) encoder.core->encoder_open = false;
        encoder.ended = true;
    });
    builder.method("device", [](id self, SEL) -> id { return state(self).device; });
    add_label_methods<blit_command_encoder_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
