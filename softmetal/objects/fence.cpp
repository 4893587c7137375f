// SoftMetalFence (MTLFence): orders encoders within one command queue (updateFence: / waitForFence:).
// A queue's commands already run one after another in encoding order, so a fence carries no state.
#include "objects/class_registry.hpp"

namespace softmetal::objects {

namespace {
struct fence_state {
    pymetal::object device;
    label_holder label;
};
}  // namespace

id new_fence(id device) {
    try {
        auto fence = std::make_unique<fence_state>();
        fence->device = pymetal::object::retain(device);
        return new_instance(classes().fence, std::move(fence));
    } catch (...) {
        return nullptr;
    }
}

Class register_fence_class() {
    pymetal::class_builder builder("SoftMetalFence");
    builder.state<fence_state>();
    builder.method("device", [](id self, SEL) -> id { return pymetal::state_of<fence_state>(self)->device.get(); });
    add_label_methods<fence_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
