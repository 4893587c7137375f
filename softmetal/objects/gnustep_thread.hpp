// GNUstep Base keeps an NSThread object for every thread that uses Foundation. A command queue's lane
// is a plain std::thread: registering it explicitly, and unregistering it before it exits, frees that
// object (otherwise it is created implicitly and leaks when the thread ends).
#pragma once

namespace softmetal::objects {

// GSRegisterCurrentThread(); a no-op when the Foundation in use has no such function.
void register_current_thread_with_foundation();
// GSUnregisterCurrentThread(); call last on the thread, after its final autorelease pool has ended.
void unregister_current_thread_from_foundation();

// An autorelease pool that the command buffers run on a queue's lane share, one per batch of them
// (serial_lane's after_batch), instead of one each: making and draining an NSAutoreleasePool is a few
// message sends and about 5% of a one-dispatch command buffer's CPU time. On the lane only.
// open_lane_autorelease_pool: makes this thread's pool unless it has one.
void open_lane_autorelease_pool();
// drain_lane_autorelease_pool: drains and ends this thread's pool, if it has one.
void drain_lane_autorelease_pool();

}  // namespace softmetal::objects
