// MTLComputePipelineReflection (Apple's public class name): a pipeline's kernel arguments, both as
// `arguments` (MTLArgument, the older API) and `bindings` (id<MTLBinding>: MTLBufferBinding,
// MTLThreadgroupBinding, MTLTextureBinding, and samplers as plain MTLBinding), made from
// softmetal::reflect_kernel.
#pragma once

#include "kernel_abi.h"
#include "objects/foundation_values.hpp"

namespace softmetal::objects {

// An autoreleased (+0) reflection object for `kernel`, as the reflection: out-parameter returns it.
id autoreleased_pipeline_reflection(const sm_kernel_info& kernel);

}  // namespace softmetal::objects
