#include "objects/compute_pipeline_descriptor.hpp"

#include "objects/class_registry.hpp"
#include "objects/compute_pipeline_state.hpp"
#include "objects/state_on_first_use.hpp"

namespace softmetal::objects {

namespace {

struct descriptor_state {
    std::mutex mutex;  // descriptors are plain objects; guard them as Metal's own property setters do
    pymetal::object function;
    ns_uinteger max_total_threads_per_threadgroup = 0;
    bool threadgroup_size_is_multiple_of_execution_width = false;
    label_holder label;
};

// Instances come from NSObject's +alloc/-init: the state is made on first use.
descriptor_state& state(id self) { return state_on_first_use<descriptor_state>(self); }

}  // namespace

id new_compute_pipeline_state_from_descriptor(id device, id descriptor, id* reflection, id* error) {
    if (reflection) *reflection = nullptr;
    if (!descriptor || pymetal::detail::runtime().object_get_class(descriptor) != classes().compute_pipeline_descriptor) {
        report_error(error, library_error_domain(), static_cast<ns_integer>(pymetal::library_error::internal),
                     "newComputePipelineStateWithDescriptor: the descriptor is nil or not an MTLComputePipelineDescriptor");
        return nullptr;
    }
    descriptor_state& d = state(descriptor);
    pymetal::object function, label;
    pipeline_settings settings;
    {
        std::lock_guard<std::mutex> lock(d.mutex);
        function = d.function;
        settings.max_total_threads_per_threadgroup = d.max_total_threads_per_threadgroup;
    }
    label = pymetal::object::retain(d.label.get());
    settings.label = label.get();
    return new_compute_pipeline_state(device, function.get(), settings, reflection, error);
}

Class register_compute_pipeline_descriptor_class() {
    pymetal::class_builder builder("MTLComputePipelineDescriptor");
    builder.state<descriptor_state>();
    builder.method("computeFunction", [](id self, SEL) -> id {
        descriptor_state& d = state(self);
        std::lock_guard<std::mutex> lock(d.mutex);
        return d.function.get();
    });
    builder.method("setComputeFunction:", [](id self, SEL, id function) {
        pymetal::object kept = pymetal::object::retain(function);
        descriptor_state& d = state(self);
        std::lock_guard<std::mutex> lock(d.mutex);
        std::swap(d.function, kept);
    });
    builder.method("maxTotalThreadsPerThreadgroup", [](id self, SEL) -> ns_uinteger {
        descriptor_state& d = state(self);
        std::lock_guard<std::mutex> lock(d.mutex);
        return d.max_total_threads_per_threadgroup;
    });
    builder.method("setMaxTotalThreadsPerThreadgroup:", [](id self, SEL, ns_uinteger value) {
        descriptor_state& d = state(self);
        std::lock_guard<std::mutex> lock(d.mutex);
        d.max_total_threads_per_threadgroup = value;
    });
    // A hint that lets Apple's compiler drop edge handling; softmetal's kernels need none.
    builder.method("threadGroupSizeIsMultipleOfThreadExecutionWidth", [](id self, SEL) -> objc_bool {
        descriptor_state& d = state(self);
        std::lock_guard<std::mutex> lock(d.mutex);
        return d.threadgroup_size_is_multiple_of_execution_width ? yes : no;
    });
    builder.method("setThreadGroupSizeIsMultipleOfThreadExecutionWidth:", [](id self, SEL, objc_bool value) {
        descriptor_state& d = state(self);
        std::lock_guard<std::mutex> lock(d.mutex);
        d.threadgroup_size_is_multiple_of_execution_width = value != 0;
    });
    builder.method("label", [](id self, SEL) -> id { return state(self).label.get(); });
    builder.method("setLabel:", [](id self, SEL, id label) { state(self).label.set(label); });
    // NSCopying, as Apple's descriptors have it (-copy lands here): a +1 descriptor with the same settings.
    builder.method("copyWithZone:", [](id self, SEL, void*) -> id {
        id copy = pymetal::msg_send<id()>(pymetal::msg_send<id()>(classes().compute_pipeline_descriptor, "alloc"), "init");
        if (!copy) return nullptr;
        descriptor_state& from = state(self);
        descriptor_state& to = state(copy);
        {
            std::lock_guard<std::mutex> lock(from.mutex);
            to.function = from.function;
            to.max_total_threads_per_threadgroup = from.max_total_threads_per_threadgroup;
            to.threadgroup_size_is_multiple_of_execution_width = from.threadgroup_size_is_multiple_of_execution_width;
        }
        to.label.set(from.label.get());
        return copy;
    });
    builder.method("reset", [](id self, SEL) {
        descriptor_state& d = state(self);
        pymetal::object dropped;
        {
            std::lock_guard<std::mutex> lock(d.mutex);
            std::swap(d.function, dropped);
            d.max_total_threads_per_threadgroup = 0;
            d.threadgroup_size_is_multiple_of_execution_width = false;
        }
        d.label.set(nullptr);
    });
    return builder.register_class();
}

}  // namespace softmetal::objects
