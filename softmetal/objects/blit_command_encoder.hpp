// SoftMetalBlitCommandEncoder (MTLBlitCommandEncoder), buffer forms only (softmetal has no textures
// yet): copies and fills are recorded into the command buffer with the compute dispatches and run in
// encoding order on the lane; synchronizeResource: and fences have nothing to do on unified memory.
#pragma once

#include "objects/foundation_values.hpp"

namespace softmetal::objects {

// A new blit encoder (+1) of `command_buffer`, or nil once the command buffer is committed.
id new_blit_command_encoder(id command_buffer);

}  // namespace softmetal::objects
