// SoftMetalEvent (MTLEvent) and SoftMetalSharedEvent (MTLSharedEvent): a 64-bit value that command
// buffers signal (encodeSignalEvent:value:) and wait for (encodeWaitForEvent:value:), on any queue.
// The shared kind is also read and set by the host (signaledValue) and notifies listeners
// (notifyListener:atValue:block:) once the value reaches theirs.
#pragma once

#include "objects/foundation_values.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace softmetal::objects {

class event_core {
public:
    ~event_core();

    std::uint64_t value();
    // Sets the value (Metal does not require it to grow) and hands every listener whose value is now
    // reached its notification.
    void signal(std::uint64_t value);
    // Blocks until the value is at least `value`.
    void wait_until_reached(std::uint64_t value);
    // As wait_until_reached, giving up after `timeout`; true when reached.
    bool wait_until_reached(std::uint64_t value, std::chrono::milliseconds timeout);
    // notifyListener:atValue:block: `listener` and `block` are retained / copied here.
    void add_listener(id listener, std::uint64_t value, block_ptr block);

    id object = nullptr;  // the event object that owns this core (not retained: it owns us)

private:
    struct pending_notification {
        std::uint64_t value;
        id listener;  // +1
        void* block;  // heap copy
    };
    void notify(std::vector<pending_notification> due, std::uint64_t value);

    std::mutex mutex_;
    std::condition_variable changed_;
    std::uint64_t value_ = 0;
    std::vector<pending_notification> pending_;
};

struct event_state {
    pymetal::object device;
    std::shared_ptr<event_core> core = std::make_shared<event_core>();
    label_holder label;
};

// newEvent / newSharedEvent of `device`: +1 or nil.
id new_event(id device, bool shared);
// The core of an event made by new_event (either kind), or null for nil and foreign objects.
std::shared_ptr<event_core> event_core_of(id event);

// MTLSharedEventListener (shared_event_listener.cpp): runs `task` on the listener's own thread, in order.
bool is_shared_event_listener(id object);
void submit_to_listener(id listener, std::function<void()> task);

}  // namespace softmetal::objects
