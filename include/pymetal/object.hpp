/// \file
/// pymetal::object owns one Objective-C object: copy retains, move steals, the destructor releases.
#pragma once

#include <string_view>
#include <type_traits>
#include <utility>

#include "msg_send.hpp"

namespace pymetal {

/// Owns one reference to an Objective-C object: copying retains, moving steals, the destructor releases.
/// object::adopt takes a +1 reference, object::retain a +0 one. nil is allowed everywhere.
class object {
public:
    object() noexcept = default;
    /// An empty handle (nil).
    object(std::nullptr_t) noexcept {}

    /// Takes over a +1 reference (from alloc/new/copy/mutableCopy/init…).
    static object adopt(id owned) noexcept { return object(owned); }
    /// Retains a +0 reference (anything else) so it outlives the autorelease pool.
    static object retain(id borrowed) {
        if (borrowed) msg_send<id>(borrowed, "retain");
        return object(borrowed);
    }
    /// Adopts or retains `result` of a send of `selector_name`, by Cocoa's method-family rule.
    static object from_result(std::string_view selector_name, id result) {
        return returns_retained(selector_name) ? adopt(result) : retain(result);
    }

    /// Shares the object: retains it.
    object(const object& other) : id_(other.id_) {
        if (id_) msg_send<id>(id_, "retain");
    }
    /// Takes the object over; `other` becomes nil.
    object(object&& other) noexcept : id_(std::exchange(other.id_, nullptr)) {}
    /// Replaces the held object (releasing the old one).
    object& operator=(object other) noexcept {
        std::swap(id_, other.id_);
        return *this;
    }
    ~object() { reset(); }

    /// The object (not retained), nil when empty.
    id get() const noexcept { return id_; }
    /// The same as get().
    id native() const noexcept { return id_; }
    /// Whether an object is held.
    explicit operator bool() const noexcept { return id_ != nullptr; }

    /// Gives up ownership without releasing: the caller now owns the +1 reference.
    [[nodiscard]] id release() noexcept { return std::exchange(id_, nullptr); }
    /// Releases the object; the handle becomes nil.
    void reset() noexcept {
        if (id owned = std::exchange(id_, nullptr)) msg_send<void>(owned, "release");
    }

    /// Whether both hold the same object.
    friend bool operator==(const object& a, const object& b) noexcept { return a.id_ == b.id_; }
    /// Whether they hold different objects.
    friend bool operator!=(const object& a, const object& b) noexcept { return a.id_ != b.id_; }

private:
    explicit object(id owned) noexcept : id_(owned) {}
    id id_ = nullptr;
};

namespace detail {
template <class Sel>
bool selector_returns_retained(const Sel& sel) {
    using T = std::remove_cv_t<std::remove_reference_t<Sel>>;
    if constexpr (is_selector_literal<T>::value) return T::retained;
    else if constexpr (std::is_same_v<T, SEL>) return returns_retained(selector_name(sel));
    else return returns_retained(std::string_view(sel));
}
}  // namespace detail

/// Sends a message whose result is an object and returns it owned, adopting or retaining by the
/// selector's method family: send_object(device, "newCommandQueue") adopts, send_object(queue,
/// "commandBuffer") retains. R may be the declared signature, as in msg_send.
template <class R = id, class Receiver, class Sel, class... Args>
object send_object(const Receiver& receiver, Sel&& sel, Args&&... args) {
    const bool owned = detail::selector_returns_retained(sel);
    id result = msg_send<R>(receiver, std::forward<Sel>(sel), std::forward<Args>(args)...);
    return owned ? object::adopt(result) : object::retain(result);
}

}  // namespace pymetal
