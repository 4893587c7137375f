#include "objects/blit_command_encoder.hpp"

#include <cstring>
#include <string>

#include "objects/buffer.hpp"
#include "objects/class_registry.hpp"
#include "objects/command_buffer.hpp"

namespace softmetal::objects {

namespace {

struct blit_command_encoder_state {
    pymetal::object command_buffer;
    pymetal::object device;
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
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    add_label_methods<blit_command_encoder_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
