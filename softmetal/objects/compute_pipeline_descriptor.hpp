// MTLComputePipelineDescriptor (Apple's public class name; +alloc/-init, +new): a pipeline's function
// and settings, for newComputePipelineStateWithDescriptor:options:reflection:error:.
#pragma once

#include "objects/foundation_values.hpp"

namespace softmetal::objects {

// +1 pipeline, or nil with *error set (no descriptor, no compute function, or the function's errors).
id new_compute_pipeline_state_from_descriptor(id device, id descriptor, id* reflection, id* error);

}  // namespace softmetal::objects
