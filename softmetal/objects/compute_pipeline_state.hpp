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

// newComputePipelineStateWithFunction:error:. +1, or nil with *error set when `function` is not a
// softmetal function.
id new_compute_pipeline_state(id device, id function, id* error);

}  // namespace softmetal::objects
