// GNUstep Base keeps an NSThread object for every thread that uses Foundation. A command queue's lane
// is a plain std::thread: registering it explicitly, and unregistering it before it exits, frees that
// object (otherwise it is created implicitly and leaks when the thread ends).
#pragma once

namespace softmetal::objects {

// GSRegisterCurrentThread(); a no-op when the Foundation in use has no such function.
void register_current_thread_with_foundation();
// GSUnregisterCurrentThread(); call last on the thread, after its final autorelease pool has ended.
void unregister_current_thread_from_foundation();

}  // namespace softmetal::objects
