#include "objects/event.hpp"

#include <algorithm>

#include "objects/class_registry.hpp"
#include "objects/command_buffer.hpp"

namespace softmetal::objects {

namespace {

event_state& state(id self) { return *pymetal::state_of<event_state>(self); }

// How a notification block is called: void (^)(id<MTLSharedEvent> event, uint64_t value).
void call_notification(void* block, id event, std::uint64_t value) {
    pymetal::autorelease_pool pool;
    pymetal::block_abi::invoke<void, id, std::uint64_t>(block, event, value);
}

}  // namespace

event_core::~event_core() {
    // Listeners whose value was never reached are dropped without being called, as Metal drops them.
    for (const pending_notification& p : pending_) {
        pymetal::block_abi::release(p.block);
        release(p.listener);
    }
}

std::uint64_t event_core::value() {
    std::lock_guard<std::mutex> lock(mutex_);
    return value_;
}

void event_core::signal(std::uint64_t value) {
    std::vector<pending_notification> due;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        value_ = value;
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->value <= value) {
                due.push_back(*it);
                it = pending_.erase(it);
            } else {
                ++it;
            }
        }
    }
    changed_.notify_all();
    notify(std::move(due), value);
}

void event_core::wait_until_reached(std::uint64_t value) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return value_ >= value; });
}

bool event_core::wait_until_reached(std::uint64_t value, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return value_ >= value; });
}

void event_core::add_listener(id listener, std::uint64_t value, block_ptr block) {
    if (!block || !is_shared_event_listener(listener)) return;
    pending_notification p{value, retain(listener), pymetal::block_abi::copy(block)};
    std::vector<pending_notification> due;
    std::uint64_t now;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        now = value_;
        if (value_ >= value) due.push_back(p);
        else pending_.push_back(p);
    }
    notify(std::move(due), now);  // a value already reached notifies at once (still on the listener's thread)
}

void event_core::notify(std::vector<pending_notification> due, std::uint64_t value) {
    for (const pending_notification& p : due) {
        id event = retain(object);  // alive until the listener's block has run
        void* block = p.block;
        submit_to_listener(p.listener, [event, block, value] {
            call_notification(block, event, value);
            pymetal::block_abi::release(block);
            release(event);
        });
        release(p.listener);
    }
}

id new_event(id device, bool shared) {
    try {
        auto event = std::make_unique<event_state>();
        event->device = pymetal::object::retain(device);
        event_core* core = event->core.get();
        id object = new_instance(shared ? classes().shared_event : classes().event, std::move(event));
        if (object) core->object = object;
        return object;
    } catch (...) {
        return nullptr;
    }
}

std::shared_ptr<event_core> event_core_of(id event) {
    if (auto* e = state_if_instance<event_state>(event, classes().shared_event)) return e->core;
    if (auto* e = state_if_instance<event_state>(event, classes().event)) return e->core;
    return nullptr;
}

Class register_event_class() {
    // MTLEvent has only device and label: its value lives on the GPU timeline.
    pymetal::class_builder builder("SoftMetalEvent");
    builder.state<event_state>();
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    add_label_methods<event_state>(builder);
    return builder.register_class();
}

Class register_shared_event_class() {
    pymetal::class_builder builder("SoftMetalSharedEvent");
    builder.state<event_state>();
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    builder.method("signaledValue", [](id self, SEL) -> std::uint64_t {
        yield_to_busy_queues();  // the value may be waited for by polling (command_buffer.hpp)
        return state(self).core->value();
    });
    builder.method("setSignaledValue:", [](id self, SEL, std::uint64_t value) { state(self).core->signal(value); });
    builder.method("notifyListener:atValue:block:", [](id self, SEL, id listener, std::uint64_t value, block_ptr block) {
        try {
            state(self).core->add_listener(listener, value, block);
        } catch (...) {
        }
    });
    builder.method("waitUntilSignaledValue:timeoutMS:", [](id self, SEL, std::uint64_t value, std::uint64_t ms) -> objc_bool {
        // Clamped so that "forever" (UINT64_MAX) does not overflow the clock's arithmetic.
        const std::uint64_t bounded = std::min<std::uint64_t>(ms, std::uint64_t{1} << 40);
        return state(self).core->wait_until_reached(value, std::chrono::milliseconds(bounded)) ? yes : no;
    });
    add_label_methods<event_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
