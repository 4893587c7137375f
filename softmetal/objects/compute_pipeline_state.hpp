// SoftMetalComputePipelineState (MTLComputePipelineState): a kernel ready to dispatch, with the limits
// that validation checks dispatches against.
#pragma once

#include "compiler/compiler.hpp"
#include "executor/executor.hpp"
#include "objects/foundation_values.hpp"

#include <memory>
#include <string>

namespace softmetal::objects {

struct compute_pipeline_state_state {
    pymetal::object device;
    std::shared_ptr<const softmetal::kernel_module> module;
    const sm_kernel_info* kernel = nullptr;
    std::string name;
    ns_uinteger max_total_threads_per_threadgroup = 0;
    softmetal::kernel_code code;  // where the kernel's module lies, for fault containment
    label_holder label;  // read-only in Metal (set through a descriptor softmetal does not offer): nil
};

// What the pipeline is made from besides its function (an MTLComputePipelineDescriptor's settings).
struct pipeline_settings {
    ns_uinteger max_total_threads_per_threadgroup = 0;  // 0: the device's limit
    id label = nullptr;
};

// newComputePipelineStateWith{Function,Descriptor}:...error:. +1, or nil with *error set when `function`
// is not a softmetal function or is not specialised although it has function constants. When
// `reflection` is non-null it receives an autoreleased MTLComputePipelineReflection (nil on failure).
id new_compute_pipeline_state(id device, id function, const pipeline_settings& settings, id* reflection, id* error);

}  // namespace softmetal::objects
