#include "objects/command_queue.hpp"

#include "objects/class_registry.hpp"
#include "objects/command_buffer.hpp"
#include "objects/gnustep_thread.hpp"

namespace softmetal::objects {

namespace {
command_queue_state& state(id self) { return *pymetal::state_of<command_queue_state>(self); }
}  // namespace

command_queue_state::command_queue_state() : lane(std::make_unique<softmetal::serial_lane>()) {
    // The lane's first task introduces its thread to Foundation: command buffers' work and handlers
    // create autoreleased objects there.
    lane->submit([this] {
        lane_thread.store(std::this_thread::get_id());
        register_current_thread_with_foundation();
    });
}

command_queue_state::~command_queue_state() {
    // Last task: leave Foundation before the thread exits, so its NSThread object is freed.
    lane->submit([] { unregister_current_thread_from_foundation(); });
    if (std::this_thread::get_id() != lane_thread.load()) {
        lane.reset();  // runs what is queued, then joins the thread
        return;
    }
    // The last reference went on the lane itself (a command buffer released after completing): a thread
    // cannot join itself, so another one joins the lane once its current task has returned.
    std::thread([finished_lane = std::move(lane)]() mutable { finished_lane.reset(); }).detach();
}

id new_command_queue(id device, ns_uinteger max_command_buffer_count) {
    try {
        auto queue = std::make_unique<command_queue_state>();
        queue->device = pymetal::object::retain(device);
        queue->max_command_buffer_count = max_command_buffer_count;
        return new_instance(classes().command_queue, std::move(queue));
    } catch (...) {
        return nullptr;
    }
}

Class register_command_queue_class() {
    pymetal::class_builder builder("SoftMetalCommandQueue");
    builder.state<command_queue_state>();
    builder.method("commandBuffer", [](id self, SEL) -> id { return autorelease(new_command_buffer(self, true)); });
    builder.method("commandBufferWithUnretainedReferences",
                   [](id self, SEL) -> id { return autorelease(new_command_buffer(self, false)); });
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    add_label_methods<command_queue_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
