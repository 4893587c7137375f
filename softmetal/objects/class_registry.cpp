#include "objects/class_registry.hpp"

namespace softmetal::objects {

const class_table& classes() {
    // A function-local static: initialised exactly once even when several threads race here, and
    // initialised again on the next call if registration threw.
    static const class_table table = [] {
        class_table t{};
        t.device = register_device_class();
        t.buffer = register_buffer_class();
        t.compile_options = register_compile_options_class();
        t.function_constant_values = register_function_constant_values_class();
        t.library = register_library_class();
        t.function = register_function_class();
        t.compute_pipeline_state = register_compute_pipeline_state_class();
        t.command_queue = register_command_queue_class();
        t.command_buffer = register_command_buffer_class();
        t.compute_command_encoder = register_compute_command_encoder_class();
        t.blit_command_encoder = register_blit_command_encoder_class();
        t.event = register_event_class();
        t.shared_event = register_shared_event_class();
        t.shared_event_listener = register_shared_event_listener_class();
        t.fence = register_fence_class();
        t.compute_pipeline_descriptor = register_compute_pipeline_descriptor_class();
        t.compute_pipeline_reflection = register_compute_pipeline_reflection_class();
        t.argument = register_argument_class();
        t.binding = register_binding_class();
        t.function_constant = register_function_constant_class();
        t.texture_descriptor = register_texture_descriptor_class();
        t.texture = register_texture_class();
        t.sampler_descriptor = register_sampler_descriptor_class();
        t.sampler_state = register_sampler_state_class();
        return t;
    }();
    return table;
}

}  // namespace softmetal::objects
