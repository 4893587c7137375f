/// \file
/// pymetal::shared_event: an MTLSharedEvent, a 64-bit counter that orders command buffers across
/// queues (command_list::signal / wait) and that the host can read, set, wait for and be notified by.
///
/// \code
///   auto ready = device.new_shared_event();
///   producer.signal(ready, 1).commit();          // on one queue
///   consumer.wait(ready, 1).dispatch_threads(k, {data}, n).commit();  // on another: runs after
///   ready.wait(1, std::chrono::seconds(1));      // the host waits too (true when reached)
/// \endcode
///
/// Thread safety: Metal's shared events are thread-safe; so is the handle (copies share the event).
/// notify() callbacks run on the event's listener thread, one at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

#include "block.hpp"
#include "detail/light_std.hpp"
#include "error.hpp"
#include "foundation.hpp"
#include "object.hpp"

namespace pymetal {

/// One MTLSharedEvent: a counter the GPU and CPU signal and wait on, with listeners called when it reaches a
/// value. A reference-counted handle, shared between threads.
class shared_event {
public:
    shared_event() noexcept = default;
    /// Takes over a +1 MTLSharedEvent (from newSharedEvent).
    static shared_event adopt(id mtl_shared_event) { return shared_event(object::adopt(mtl_shared_event)); }
    /// Wraps an MTLSharedEvent we do not own yet: retains it.
    static shared_event retain(id mtl_shared_event) { return shared_event(object::retain(mtl_shared_event)); }

    /// The MTLSharedEvent (not retained), nullptr when empty.
    id native() const noexcept { return state_ ? state_->event.get() : nullptr; }
    /// Whether this handle holds an event.
    explicit operator bool() const noexcept { return state_ != nullptr; }

    /// signaledValue.
    std::uint64_t value() const { return msg_send<std::uint64_t()>(event(), "signaledValue"); }
    /// setSignaledValue: from the host (releases command buffers waiting for up to `value`).
    void set_value(std::uint64_t value) const { msg_send<void(std::uint64_t)>(event(), "setSignaledValue:", value); }
    /// Blocks until the value is at least `value` or `timeout` passes; true when reached.
    template <class Rep, class Period>
    bool wait(std::uint64_t value, std::chrono::duration<Rep, Period> timeout) const {
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
        return msg_send<objc_bool(std::uint64_t, std::uint64_t)>(event(), "waitUntilSignaledValue:timeoutMS:", value,
                                                                 static_cast<std::uint64_t>(ms < 0 ? 0 : ms)) != 0;
    }
    /// Calls `callback` with the event's value once it reaches `value` (at once if it already has), on
    /// the event's listener thread. The callback must not throw.
    /// (A member template only so that its body, with the callback's block, is compiled where it is called;
    /// `Deferred` is never given.)
    template <class Deferred = void>
    void notify(std::uint64_t value, std::function<void(std::uint64_t)> callback) const {
        block<void(id, std::uint64_t)> notification(
            [callback = std::move(callback)](id, std::uint64_t reached) noexcept { callback(reached); });
        msg_send<void(id, std::uint64_t, id)>(event(), "notifyListener:atValue:block:", listener(), value,
                                               notification.get());  // Metal copies the block
    }

private:
    struct state {
        object event;
        object listener;  ///< made on first notify()
        std::mutex listener_mutex;  ///< a mutex, not std::once_flag: <mutex>'s call_once costs every includer
    };
    explicit shared_event(object mtl_event) : state_(new state) {
        if (!mtl_event) throw error("pymetal: the device returned no shared event");
        state_->event = std::move(mtl_event);
    }
    id event() const {
        if (!state_) throw error("pymetal: use of an empty shared_event handle");
        return state_->event.get();
    }
    id listener() const {
        event();
        std::lock_guard<std::mutex> lock(state_->listener_mutex);
        if (!state_->listener) {
            state_->listener = object::adopt(msg_send<id()>(class_named("MTLSharedEventListener"), "new"));
            if (!state_->listener) throw error("pymetal: Metal could not create an MTLSharedEventListener");
        }
        return state_->listener.get();
    }

    std::shared_ptr<state> state_;
};

}  // namespace pymetal
