#include "objects/gnustep_thread.hpp"

#include <dlfcn.h>

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

void unregister_current_thread_from_foundation() {
    static const auto unregister_thread = foundation_function<void (*)()>("GSUnregisterCurrentThread");
    if (unregister_thread) unregister_thread();
}

}  // namespace softmetal::objects
