#include "objects/compute_pipeline_state.hpp"

#include "objects/class_registry.hpp"
#include "objects/device.hpp"
#include "objects/function.hpp"
#include "objects/pipeline_reflection.hpp"

namespace softmetal::objects {

namespace {
compute_pipeline_state_state& state(id self) { return *pymetal::state_of<compute_pipeline_state_state>(self); }
}  // namespace

id new_compute_pipeline_state(id device, id function, const pipeline_settings& settings, id* reflection, id* error) {
    if (reflection) *reflection = nullptr;
    const ns_integer internal = static_cast<ns_integer>(pymetal::library_error::internal);
    try {
        const function_state* f = state_if_instance<function_state>(function, classes().function);
        if (!f || !f->kernel) {
            report_error(error, library_error_domain(), internal,
                         "newComputePipelineState: the function is nil or not a softmetal kernel function");
            return nullptr;
        }
        if (f->kernel->function_type != SM_FUNCTION_TYPE_KERNEL || !f->kernel->run_thread) {
            // What Metal says too: a vertex or fragment function has no compute pipeline.
            report_error(error, library_error_domain(), internal,
                         "newComputePipelineStateWithFunction: '" + f->name + "' is a " +
                             (f->kernel->function_type == SM_FUNCTION_TYPE_VERTEX ? "vertex" : "fragment") +
                             " function, not a kernel function");
            return nullptr;
        }
        if (!f->specialised) {
            std::string names;
            for (const declared_constant& c : f->constants) names += (names.empty() ? "'" : ", '") + c.info.name + "'";
            report_error(error, library_error_domain(), internal,
                         "Function " + f->name + " has function constants (" + names +
                             ") and was not specialised: make it with newFunctionWithName:constantValues:error:");
            return nullptr;
        }
        auto pipeline = std::make_unique<compute_pipeline_state_state>();
        pipeline->device = pymetal::object::retain(device);
        pipeline->module = f->module;
        pipeline->kernel = f->kernel;
        pipeline->name = f->name;
        const ns_uinteger wanted = settings.max_total_threads_per_threadgroup;
        pipeline->max_total_threads_per_threadgroup =
            wanted && wanted < max_threads_per_threadgroup ? wanted : max_threads_per_threadgroup;
        pipeline->code = softmetal::kernel_code_of(*f->kernel);
        pipeline->label.set(settings.label);
        id made = new_instance(classes().compute_pipeline_state, std::move(pipeline));
        if (made && reflection) *reflection = autoreleased_pipeline_reflection(*f->kernel);
        return made;
    } catch (const std::exception& e) {
        report_error(error, library_error_domain(), internal, std::string("softmetal: ") + e.what());
        return nullptr;
    }
}

Class register_compute_pipeline_state_class() {
    pymetal::class_builder builder("SoftMetalComputePipelineState");
    builder.state<compute_pipeline_state_state>();
    builder.method("maxTotalThreadsPerThreadgroup",
                   [](id self, SEL) -> ns_uinteger { return state(self).max_total_threads_per_threadgroup; });
    builder.method("threadExecutionWidth", [](id, SEL) -> ns_uinteger { return thread_execution_width; });
    builder.method("staticThreadgroupMemoryLength",
                   [](id self, SEL) -> ns_uinteger { return state(self).kernel->static_threadgroup_memory_length; });
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    builder.method("label", [](id self, SEL) -> id { return state(self).label.get(); });
    return builder.register_class();
}

}  // namespace softmetal::objects
