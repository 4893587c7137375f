// libsoftmetal.so's exported C surface: Metal's device functions and error domain constants.
#include "objects/class_registry.hpp"
#include "objects/device.hpp"

#define SOFTMETAL_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using softmetal::objects::id;

// Registers the classes and makes the device's prerequisites; false when the Objective-C runtime or
// Foundation cannot be loaded (then the entry points return nil, as Metal does without a GPU).
bool ready() noexcept {
    try {
        (void)softmetal::objects::classes();
        return true;
    } catch (...) {
        return false;
    }
}

template <class Make>
id domain_or_nil(Make make) noexcept {
    try {
        return make();
    } catch (...) {
        return nullptr;
    }
}

}  // namespace

// Initialised when the library is loaded, as Apple's NSString* const symbols are. Loading also registers
// the classes, so that MTLCompileOptions can be looked up by name right after dlopen, as with Metal.
SOFTMETAL_EXPORT id const MTLLibraryErrorDomain = domain_or_nil([] {
    (void)ready();
    return softmetal::objects::library_error_domain();
});
SOFTMETAL_EXPORT id const MTLCommandBufferErrorDomain =
    domain_or_nil([] { return softmetal::objects::command_buffer_error_domain(); });

// +1: the same device object on every call, retained for the caller.
SOFTMETAL_EXPORT id MTLCreateSystemDefaultDevice() {
    if (!ready()) return nullptr;
    try {
        return softmetal::objects::retain(softmetal::objects::shared_device());
    } catch (...) {
        return nullptr;
    }
}

// +1 NSArray holding the one device.
SOFTMETAL_EXPORT id MTLCopyAllDevices() {
    if (!ready()) return nullptr;
    try {
        static const pymetal::Class array_class = pymetal::class_named("NSArray");
        const id device = softmetal::objects::shared_device();
        return pymetal::msg_send<id(const id*, pymetal::ns_uinteger)>(pymetal::msg_send<id>(array_class, "alloc"),
                                                                    "initWithObjects:count:", &device, 1);
    } catch (...) {
        return nullptr;
    }
}
