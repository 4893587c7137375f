#include "objects/compute_command_encoder.hpp"

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "objects/buffer.hpp"
#include "objects/class_registry.hpp"
#include "objects/compute_pipeline_state.hpp"
#include "objects/texture.hpp"

namespace softmetal::objects {

namespace {

compute_command_encoder_state& state(id self) { return *pymetal::state_of<compute_command_encoder_state>(self); }

// Metal's limit on setBytes:length:atIndex: (larger data belongs in a buffer).
constexpr ns_uinteger max_set_bytes_length = 4096;

// Bindings change only while the encoder is open and its command buffer is not committed. Using an
// ended encoder is what Metal's validation layer asserts on: here it fails the command buffer, naming
// the call.
// With the command buffer's mutex held.
bool accepting_locked(compute_command_encoder_state& encoder, const char* call) {
    if (encoder.core->committed) return false;
    if (encoder.ended) {
        encoder.core->record_misuse_locked(std::string(call) + " called on a compute command encoder after endEncoding");
        return false;
    }
    return true;
}

bool accepting(compute_command_encoder_state& encoder, const char* call) {
    std::lock_guard<std::mutex> lock(encoder.core->mutex);
    return accepting_locked(encoder, call);
}

// A binding index past Metal's argument table (31 entries) fails the command buffer.
bool index_in_range(compute_command_encoder_state& encoder, const char* call, ns_uinteger index, ns_uinteger limit) {
    if (index < limit) return true;
    encoder.core->record_misuse(std::string(call) + " index " + std::to_string(index) + " is out of range (0 to " +
                                std::to_string(limit - 1) + ")");
    return false;
}

// With the command buffer's mutex held.
bool index_in_range_locked(compute_command_encoder_state& encoder, const char* call, ns_uinteger index, ns_uinteger limit) {
    if (index < limit) return true;
    encoder.core->record_misuse_locked(std::string(call) + " index " + std::to_string(index) + " is out of range (0 to " +
                                       std::to_string(limit - 1) + ")");
    return false;
}

void retain_for_command_buffer(compute_command_encoder_state& encoder, id resource) {
    std::lock_guard<std::mutex> lock(encoder.core->mutex);
    encoder.core->retain_resource(resource);
}

// One locked section per call: the check, the retain and the binding (every command buffer makes these calls).
void set_pipeline(id self, id pipeline) {
    compute_command_encoder_state& encoder = state(self);
    const auto* p = state_if_instance<compute_pipeline_state_state>(pipeline, classes().compute_pipeline_state);
    std::lock_guard<std::mutex> lock(encoder.core->mutex);
    if (!accepting_locked(encoder, "setComputePipelineState:")) return;
    recorded_pipeline& current = encoder.bindings.pipeline;
    if (!p) {
        current = recorded_pipeline{};
        return;
    }
    encoder.core->retain_resource(pipeline);
    current.module = p->module;
    current.kernel = p->kernel;
    current.name = p->name;
    current.max_total_threads_per_threadgroup = p->max_total_threads_per_threadgroup;
    current.code = p->code;
}

// With the command buffer's mutex held, after accepting_locked.
void set_buffer_locked(compute_command_encoder_state& encoder, id buffer, ns_uinteger offset, ns_uinteger index) {
    if (!index_in_range_locked(encoder, "setBuffer:offset:atIndex:", index, SM_MAX_BUFFER_BINDINGS)) return;
    recorded_binding& binding = encoder.bindings.buffers.set(index);
    const auto* b = state_if_instance<buffer_state>(buffer, classes().buffer);
    if (!b) {
        binding = recorded_binding{};  // nil (or a foreign object) unbinds
        return;
    }
    encoder.core->retain_resource(buffer);
    binding = recorded_binding{true, b->data, b->length, offset, nullptr};
}

void set_texture(compute_command_encoder_state& encoder, const char* call, id texture, ns_uinteger index) {
    if (!index_in_range(encoder, call, index, SM_MAX_TEXTURE_BINDINGS)) return;
    recorded_texture& binding = encoder.bindings.textures.set(index);
    const auto* t = state_if_instance<texture_state>(texture, classes().texture);
    if (!t) {
        binding = recorded_texture{};  // nil (or a foreign object) unbinds
        return;
    }
    retain_for_command_buffer(encoder, texture);
    binding = recorded_texture{t->layout};
}

void set_sampler(compute_command_encoder_state& encoder, const char* call, id sampler, ns_uinteger index) {
    if (!index_in_range(encoder, call, index, SM_MAX_SAMPLER_BINDINGS)) return;
    recorded_sampler& binding = encoder.bindings.samplers.set(index);
    const auto* s = state_if_instance<sampler_state_state>(sampler, classes().sampler_state);
    if (!s) {
        binding = recorded_sampler{};
        return;
    }
    retain_for_command_buffer(encoder, sampler);
    binding = recorded_sampler{s->sampler};
}

// setSamplerState:lodMinClamp:lodMaxClamp:atIndex:: the state with this binding's own LOD clamps.
void set_sampler_clamped(compute_command_encoder_state& encoder, id sampler, float lod_min, float lod_max, ns_uinteger index) {
    const char* call = "setSamplerState:lodMinClamp:lodMaxClamp:atIndex:";
    set_sampler(encoder, call, sampler, index);
    if (index >= SM_MAX_SAMPLER_BINDINGS) return;
    recorded_sampler& binding = encoder.bindings.samplers.set(index);
    if (!binding.sampler) return;
    try {
        auto clamped = std::make_shared<sm_sampler>(*binding.sampler);
        clamped->lod_min_clamp = lod_min;
        clamped->lod_max_clamp = lod_max;
        binding.sampler = std::move(clamped);
    } catch (...) {
        binding = recorded_sampler{};  // then validation reports the sampler missing
    }
}

// A range of the texture or sampler table, checked as a whole without overflow.
bool range_in(compute_command_encoder_state& encoder, const char* call, pymetal::ns_range range, ns_uinteger limit) {
    if (range.location <= limit && range.length <= limit - range.location) return true;
    encoder.core->record_misuse(std::string(call) + " range (" + std::to_string(range.location) + ", " +
                                std::to_string(range.length) + ") goes past index " + std::to_string(limit - 1));
    return false;
}

void set_bytes(id self, const void* bytes, ns_uinteger length, ns_uinteger index) {
    compute_command_encoder_state& encoder = state(self);
    if (!accepting(encoder, "setBytes:length:atIndex:") ||
        !index_in_range(encoder, "setBytes:length:atIndex:", index, SM_MAX_BUFFER_BINDINGS))
        return;
    if (length > max_set_bytes_length || (!bytes && length)) {
        encoder.core->record_misuse("setBytes:length:atIndex: length " + std::to_string(length) +
                                    (bytes ? " is over Metal's limit of 4096 bytes (use a buffer)" : " with a null pointer"));
        encoder.bindings.buffers.set(index) = recorded_binding{};
        return;
    }
    try {
        auto copy = std::make_shared<const bytes_copy>(bytes, length);
        encoder.bindings.buffers.set(index) = recorded_binding{true, copy->data(), copy->length(), 0, copy};
    } catch (const std::invalid_argument& e) {
        encoder.bindings.buffers.set(index) = recorded_binding{};
        encoder.core->record_misuse(e.what());
    } catch (...) {
        encoder.bindings.buffers.set(index) = recorded_binding{};  // then validation reports the binding missing
    }
}

// Appends a snapshot of the encoder's bindings to the command buffer's commands, made in place (the
// command runs it later, on the lane, and owns it (module, byte copies) until then), and returns it for
// the caller to fill in the grid. With the command buffer's mutex held, after accepting_locked. Throws
// (out of memory) with nothing appended.
recorded_dispatch& record_locked(compute_command_encoder_state& encoder) {
    std::vector<recorded_command>& commands = encoder.core->commands;
    commands.emplace_back();
    try {
        commands.back().dispatch.emplace(encoder.bindings);
    } catch (...) {
        commands.pop_back();
        throw;
    }
    encoder.bindings.dispatch_index++;
    return *commands.back().dispatch;
}

void dispatch(id self, const pymetal::mtl_size& grid, const pymetal::mtl_size& group, bool exact_grid) {
    compute_command_encoder_state& encoder = state(self);
    std::lock_guard<std::mutex> lock(encoder.core->mutex);
    if (!accepting_locked(encoder, exact_grid ? "dispatchThreads:threadsPerThreadgroup:" : "dispatchThreadgroups:threadsPerThreadgroup:"))
        return;
    try {
        recorded_dispatch& snapshot = record_locked(encoder);
        snapshot.exact_grid = exact_grid;
        snapshot.grid = grid;
        snapshot.threads_per_threadgroup = group;
    } catch (...) {
        // Out of memory while recording: the dispatch is lost, the host keeps running.
    }
}

// dispatchThreadgroupsWithIndirectBuffer:indirectBufferOffset:threadsPerThreadgroup:. The buffer is
// retained with the command buffer; its three uint32 threadgroup counts are read when the command runs.
void dispatch_indirect(id self, id buffer, ns_uinteger offset, const pymetal::mtl_size& group) {
    compute_command_encoder_state& encoder = state(self);
    const char* call = "dispatchThreadgroupsWithIndirectBuffer:indirectBufferOffset:threadsPerThreadgroup:";
    const auto* b = state_if_instance<buffer_state>(buffer, classes().buffer);
    std::lock_guard<std::mutex> lock(encoder.core->mutex);
    if (!accepting_locked(encoder, call)) return;
    if (!b) {
        encoder.core->record_misuse_locked(std::string(call) + " without an indirect buffer");
        return;
    }
    try {
        encoder.core->retain_resource(buffer);
        recorded_dispatch& snapshot = record_locked(encoder);
        snapshot.exact_grid = false;
        snapshot.threads_per_threadgroup = group;
        snapshot.indirect = indirect_grid{b->data, b->length, offset};
    } catch (...) {
    }
}

}  // namespace

id new_compute_command_encoder(id command_buffer, ns_uinteger dispatch_type) {
    try {
        command_buffer_state& owner = *pymetal::state_of<command_buffer_state>(command_buffer);
        auto encoder = std::make_unique<compute_command_encoder_state>();
        {
            std::lock_guard<std::mutex> lock(owner.core->mutex);
            if (owner.core->committed) return nullptr;
            // Metal's validation layer asserts when an encoder is made while another is still open.
            if (owner.core->encoder_open)
                owner.core->record_misuse_locked("a compute command encoder was created while the previous one had not ended (endEncoding)");
            owner.core->encoder_open = true;
            encoder->bindings.encoder_index = owner.core->encoders_created++;
        }
        encoder->command_buffer = pymetal::object::retain(command_buffer);
        encoder->device = owner.device;
        encoder->core = owner.core;
        encoder->dispatch_type = dispatch_type;
        return new_instance(classes().compute_command_encoder, std::move(encoder));
    } catch (...) {
        return nullptr;
    }
}

Class register_compute_command_encoder_class() {
    pymetal::class_builder builder("SoftMetalComputeCommandEncoder");
    builder.state<compute_command_encoder_state>();
    builder.method("setComputePipelineState:", [](id self, SEL, id pipeline) { set_pipeline(self, pipeline); });
    builder.method("setBuffer:offset:atIndex:", [](id self, SEL, id buffer, ns_uinteger offset, ns_uinteger index) {
        compute_command_encoder_state& encoder = state(self);
        std::lock_guard<std::mutex> lock(encoder.core->mutex);
        if (accepting_locked(encoder, "setBuffer:offset:atIndex:")) set_buffer_locked(encoder, buffer, offset, index);
    });
    builder.method("setBufferOffset:atIndex:", [](id self, SEL, ns_uinteger offset, ns_uinteger index) {
        compute_command_encoder_state& encoder = state(self);
        if (!accepting(encoder, "setBufferOffset:atIndex:") ||
            !index_in_range(encoder, "setBufferOffset:atIndex:", index, SM_MAX_BUFFER_BINDINGS))
            return;
        recorded_binding& binding = encoder.bindings.buffers.set(index);
        if (binding.bound && !binding.bytes) binding.offset = offset;
    });
    builder.method("setBuffers:offsets:withRange:",
                   [](id self, SEL, const id* buffers, const ns_uinteger* offsets, pymetal::ns_range range) {
                       compute_command_encoder_state& encoder = state(self);
                       std::lock_guard<std::mutex> lock(encoder.core->mutex);
                       if (!accepting_locked(encoder, "setBuffers:offsets:withRange:") || !buffers || !offsets) return;
                       // Checked as a whole, without overflow: location + length must not pass index 31.
                       if (range.location > SM_MAX_BUFFER_BINDINGS || range.length > SM_MAX_BUFFER_BINDINGS - range.location) {
                           encoder.core->record_misuse_locked("setBuffers:offsets:withRange: range (" + std::to_string(range.location) +
                                                              ", " + std::to_string(range.length) + ") goes past index 30");
                           return;
                       }
                       for (ns_uinteger i = 0; i < range.length; ++i)
                           set_buffer_locked(encoder, buffers[i], offsets[i], range.location + i);
                   });
    builder.method("setTexture:atIndex:", [](id self, SEL, id texture, ns_uinteger index) {
        compute_command_encoder_state& encoder = state(self);
        if (accepting(encoder, "setTexture:atIndex:")) set_texture(encoder, "setTexture:atIndex:", texture, index);
    });
    builder.method("setTextures:withRange:", [](id self, SEL, const id* textures, pymetal::ns_range range) {
        compute_command_encoder_state& encoder = state(self);
        const char* call = "setTextures:withRange:";
        if (!accepting(encoder, call) || !range_in(encoder, call, range, SM_MAX_TEXTURE_BINDINGS)) return;
        for (ns_uinteger i = 0; i < range.length; ++i)
            set_texture(encoder, call, textures ? textures[i] : nullptr, range.location + i);
    });
    builder.method("setSamplerState:atIndex:", [](id self, SEL, id sampler, ns_uinteger index) {
        compute_command_encoder_state& encoder = state(self);
        if (accepting(encoder, "setSamplerState:atIndex:")) set_sampler(encoder, "setSamplerState:atIndex:", sampler, index);
    });
    builder.method("setSamplerState:lodMinClamp:lodMaxClamp:atIndex:",
                   [](id self, SEL, id sampler, float lod_min, float lod_max, ns_uinteger index) {
                       compute_command_encoder_state& encoder = state(self);
                       if (accepting(encoder, "setSamplerState:lodMinClamp:lodMaxClamp:atIndex:"))
                           set_sampler_clamped(encoder, sampler, lod_min, lod_max, index);
                   });
    builder.method("setSamplerStates:withRange:", [](id self, SEL, const id* samplers, pymetal::ns_range range) {
        compute_command_encoder_state& encoder = state(self);
        const char* call = "setSamplerStates:withRange:";
        if (!accepting(encoder, call) || !range_in(encoder, call, range, SM_MAX_SAMPLER_BINDINGS)) return;
        for (ns_uinteger i = 0; i < range.length; ++i)
            set_sampler(encoder, call, samplers ? samplers[i] : nullptr, range.location + i);
    });
    builder.method("setBytes:length:atIndex:", [](id self, SEL, const void* bytes, ns_uinteger length, ns_uinteger index) {
        set_bytes(self, bytes, length, index);
    });
    builder.method("setThreadgroupMemoryLength:atIndex:", [](id self, SEL, ns_uinteger length, ns_uinteger index) {
        compute_command_encoder_state& encoder = state(self);
        if (!accepting(encoder, "setThreadgroupMemoryLength:atIndex:") ||
            !index_in_range(encoder, "setThreadgroupMemoryLength:atIndex:", index, SM_MAX_THREADGROUP_BINDINGS))
            return;
        // Metal's rule (its validation layer asserts it): the length is a multiple of 16 bytes.
        if (length % 16 != 0) {
            encoder.core->record_misuse("setThreadgroupMemoryLength:atIndex: length " + std::to_string(length) + " at index " +
                                        std::to_string(index) + " is not a multiple of 16 bytes");
            return;
        }
        encoder.bindings.threadgroup_lengths.set(index) = length;
    });
    builder.method("dispatchThreadgroups:threadsPerThreadgroup:",
                   [](id self, SEL, pymetal::mtl_size groups, pymetal::mtl_size threads) { dispatch(self, groups, threads, false); });
    builder.method("dispatchThreads:threadsPerThreadgroup:",
                   [](id self, SEL, pymetal::mtl_size grid, pymetal::mtl_size threads) { dispatch(self, grid, threads, true); });
    builder.method("dispatchThreadgroupsWithIndirectBuffer:indirectBufferOffset:threadsPerThreadgroup:",
                   [](id self, SEL, id buffer, ns_uinteger offset, pymetal::mtl_size threads) {
                       dispatch_indirect(self, buffer, offset, threads);
                   });
    // Fences order encoders of one queue; softmetal runs a queue's commands one after another in
    // encoding order, so every fence is already satisfied when it is waited for.
    builder.method("updateFence:", [](id, SEL, id) {});
    builder.method("waitForFence:", [](id, SEL, id) {});
    // Dispatches run one after another and each sees every earlier write: barriers have nothing to do.
    builder.method("memoryBarrierWithScope:", [](id, SEL, ns_uinteger) {});
    builder.method("memoryBarrierWithResources:count:", [](id, SEL, const id*, ns_uinteger) {});
    builder.method("endEncoding", [](id self, SEL) {
        compute_command_encoder_state& encoder = state(self);
        std::lock_guard<std::mutex> lock(encoder.core->mutex);
        if (!encoder.ended) encoder.core->encoder_open = false;
        encoder.ended = true;
    });
    builder.method("dispatchType", [](id self, SEL) -> ns_uinteger { return state(self).dispatch_type; });
    builder.method("device", [](id self, SEL) -> id { return state(self).device; });
    add_label_methods<compute_command_encoder_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
