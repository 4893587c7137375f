// SoftMetalBlitCommandEncoder (MTLBlitCommandEncoder): buffer copies and fills, texture copies (to and
// from buffers and between textures) and mipmap generation (texture_blits.hpp) are recorded into the
// command buffer with the compute dispatches and run in encoding order on the lane, where a copy that
// Metal's validation layer would reject ends the command buffer with InvalidResource naming it;
// synchronizeResource: and fences have nothing to do on unified memory.
#pragma once

#include "objects/foundation_values.hpp"

namespace softmetal::objects {

// A new blit encoder (+1) of `command_buffer`, or nil once the command buffer is committed.
id new_blit_command_encoder(id command_buffer);

}  // namespace softmetal::objects
