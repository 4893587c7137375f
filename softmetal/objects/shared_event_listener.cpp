// MTLSharedEventListener (Apple's public class name; made with +alloc/-init or +new): where shared
// events run their notification blocks. Apple's listener wraps a dispatch queue; softmetal's has a
// serial lane (a thread) of its own, so blocks run asynchronously, one at a time, in notification order.
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "executor/serial_lane.hpp"
#include "objects/state_on_first_use.hpp"
#include "objects/class_registry.hpp"
#include "objects/event.hpp"
#include "objects/gnustep_thread.hpp"

namespace softmetal::objects {

namespace {

struct listener_state {
    listener_state() : lane(std::make_unique<softmetal::serial_lane>()) {
        lane->submit([this] {
            lane_thread.store(std::this_thread::get_id());
            register_current_thread_with_foundation();
        });
    }
    ~listener_state() {
        lane->submit([] { unregister_current_thread_from_foundation(); });
        if (std::this_thread::get_id() != lane_thread.load()) {
            lane.reset();
            return;
        }
        // The last reference went in one of the lane's own blocks: a thread cannot join itself.
        std::thread([finished = std::move(lane)]() mutable { finished.reset(); }).detach();
    }
    std::unique_ptr<softmetal::serial_lane> lane;
    std::atomic<std::thread::id> lane_thread{};
};

// Instances come from NSObject's +alloc/-init, so the state is made on first use (under a lock: two
// events may notify through one new listener at once).
listener_state& state(id self) { return state_on_first_use<listener_state>(self); }

}  // namespace

bool is_shared_event_listener(id object) {
    return object && pymetal::detail::runtime().object_get_class(object) == classes().shared_event_listener;
}

void submit_to_listener(id listener, std::function<void()> task) { state(listener).lane->submit(std::move(task)); }

Class register_shared_event_listener_class() {
    pymetal::class_builder builder("MTLSharedEventListener");
    builder.state<listener_state>();
    return builder.register_class();
}

}  // namespace softmetal::objects
