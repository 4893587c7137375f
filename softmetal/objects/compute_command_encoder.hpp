// SoftMetalComputeCommandEncoder (MTLComputeCommandEncoder): collects bindings and records one
// snapshot of them per dispatch into its command buffer. Nothing runs until the command buffer commits.
#pragma once

#include "objects/command_buffer.hpp"
#include "objects/foundation_values.hpp"
#include "objects/recorded_dispatch.hpp"

#include <memory>

namespace softmetal::objects {

struct compute_command_encoder_state {
    pymetal::object command_buffer;
    // The command buffer's device, not retained again: the command buffer (held above) holds its queue,
    // which holds the device. (A retain and a release per encoder on one shared object, whose count
    // every queue's threads touch, for nothing.)
    id device = nullptr;
    std::shared_ptr<command_buffer_core> core;
    ns_uinteger dispatch_type = 0;
    bool ended = false;
    recorded_dispatch bindings;  // the current bindings; each dispatch copies them
    label_holder label;
};

// A new encoder (+1) of `command_buffer`, or nil once the command buffer is committed.
id new_compute_command_encoder(id command_buffer, ns_uinteger dispatch_type);

}  // namespace softmetal::objects
