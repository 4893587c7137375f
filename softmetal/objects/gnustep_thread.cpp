#include "objects/gnustep_thread.hpp"

#include <dlfcn.h>

#include <pymetal/objc.hpp>

namespace softmetal::objects {

namespace {
// GNUstep Base is loaded RTLD_GLOBAL by the bridge, so the default namespace finds its symbols.
template <class Fn>
Fn foundation_function(const char* name) {
    return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}
}  // namespace

void register_current_thread_with_foundation() {
    static const auto register_thread = foundation_function<unsigned char (*)()>("GSRegisterCurrentThread");
    if (register_thread) register_thread();
}

namespace {
thread_local pymetal::id lane_pool = nullptr;
}  // namespace

void open_lane_autorelease_pool() {
    if (lane_pool) return;
    static const pymetal::Class pool_class = pymetal::class_named("NSAutoreleasePool");
    lane_pool = pymetal::msg_send<pymetal::id>(pymetal::msg_send<pymetal::id>(pool_class, "alloc"), "init");
}

void drain_lane_autorelease_pool() {
    if (!lane_pool) return;
    pymetal::id pool = lane_pool;
    lane_pool = nullptr;  // what the drain deallocates may run a command buffer's code that opens one again
    pymetal::msg_send<void>(pool, "drain");
}

void unregister_current_thread_from_foundation() {
    static const auto unregister_thread = foundation_function<void (*)()>("GSUnregisterCurrentThread");
    if (unregister_thread) unregister_thread();
}

}  // namespace softmetal::objects
