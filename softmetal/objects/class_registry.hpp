// Every softmetal class, registered with the Objective-C runtime once per process. MTLCompileOptions and
// MTLFunctionConstantValues carry Apple's public names (callers look them up by name); the others are
// private in Apple's Metal too and carry SoftMetal... names.
#pragma once

#include "objects/foundation_values.hpp"

namespace softmetal::objects {

struct class_table {
    Class device;
    Class buffer;
    Class compile_options;
    Class function_constant_values;
    Class library;
    Class function;
    Class compute_pipeline_state;
    Class command_queue;
    Class command_buffer;
    Class compute_command_encoder;
    Class blit_command_encoder;
    Class event;
    Class shared_event;
    Class shared_event_listener;
    Class fence;
    Class compute_pipeline_descriptor;
    Class compute_pipeline_reflection;
    Class argument;
    Class binding;
    Class function_constant;
    Class texture_descriptor;
    Class texture;
    Class sampler_descriptor;
    Class sampler_state;
};

// Registers the classes on the first call (thread-safe; a failed attempt is retried by the next call).
const class_table& classes();

// One registration function per class, each in its class's file.
Class register_device_class();
Class register_buffer_class();
Class register_compile_options_class();
Class register_function_constant_values_class();
Class register_library_class();
Class register_function_class();
Class register_compute_pipeline_state_class();
Class register_command_queue_class();
Class register_command_buffer_class();
Class register_compute_command_encoder_class();
Class register_blit_command_encoder_class();
Class register_event_class();
Class register_shared_event_class();
Class register_shared_event_listener_class();
Class register_fence_class();
Class register_compute_pipeline_descriptor_class();
Class register_compute_pipeline_reflection_class();
Class register_argument_class();
Class register_binding_class();
Class register_function_constant_class();
Class register_texture_descriptor_class();
Class register_texture_class();
Class register_sampler_descriptor_class();
Class register_sampler_state_class();

// newFence (fence.cpp): +1 or nil.
id new_fence(id device);

}  // namespace softmetal::objects
