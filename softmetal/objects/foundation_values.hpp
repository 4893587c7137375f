// The Foundation objects softmetal hands to its callers (NSString, NSArray, NSError), made through the
// bridge, plus the small C++ helpers every class needs: a mutex-guarded label, instance creation with
// a C++ state object, and copying blocks' type encoding.
#pragma once

#include <pymetal/objc.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// Metal declares block parameters as `@?`; a distinct C++ type makes class_builder spell it that way.
namespace pymetal {
template <>
struct type_encoding<block_abi::literal*> {
    static std::string get() { return "@?"; }
};
}  // namespace pymetal

namespace softmetal::objects {

using pymetal::Class;
using pymetal::id;
using pymetal::ns_integer;
using pymetal::ns_uinteger;
using pymetal::objc_bool;
using pymetal::SEL;
using block_ptr = pymetal::block_abi::literal*;

inline constexpr objc_bool yes = 1;
inline constexpr objc_bool no = 0;

// A new NSString (+1).
id new_string(std::string_view text);
// An autoreleased NSString (+0); needs a pool on the calling thread, as Cocoa's +0 results do.
id autoreleased_string(std::string_view text);
// The UTF-8 text of an NSString ("" for nil).
std::string string_text(id string);
// An autoreleased NSArray (+0) of `items`.
id autoreleased_array(const std::vector<id>& items);
// An autoreleased NSError (+0) in `domain` whose localizedDescription is `description`.
id autoreleased_error(id domain, ns_integer code, const std::string& description);
// Stores an autoreleased NSError in *out when the caller asked for one (out != nullptr).
void report_error(id* out, id domain, ns_integer code, const std::string& description);
// True when `object` is an instance of the class named `class_name` or of a subclass.
bool is_kind_of(id object, const char* class_name);
// +1 on object (nil-safe); returns it.
id retain(id object);
// -1 on object (nil-safe).
void release(id object);
// Hands a +1 reference to the current autorelease pool; returns it.
id autorelease(id object);

// The error domains, the same NSString objects as the exported MTL...ErrorDomain constants.
id library_error_domain();
id command_buffer_error_domain();

// CLOCK_MONOTONIC in seconds: the clock of GPUStartTime and friends.
double monotonic_seconds();

// Metal's `label` property: copied on set, returned +0, safe against concurrent get/set.
class label_holder {
public:
    id get() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return value_.get();
    }
    void set(id label) {
        pymetal::object copy = pymetal::object::adopt(label ? pymetal::msg_send<id>(label, "copy") : nullptr);
        std::lock_guard<std::mutex> lock(mutex_);
        std::swap(value_, copy);  // the old label is released outside the lock
    }
    std::string text() const { return string_text(get()); }

private:
    mutable std::mutex mutex_;
    pymetal::object value_;
};

// Adds `label` / `setLabel:` to a class whose state type has a `label_holder label` member.
template <class State>
void add_label_methods(pymetal::class_builder& builder) {
    builder.method("label", [](id self, SEL) -> id { return pymetal::state_of<State>(self)->label.get(); });
    builder.method("setLabel:", [](id self, SEL, id label) { pymetal::state_of<State>(self)->label.set(label); });
}

// A new instance (+1) of `cls` (built with .state<State>()) owning `state`.
template <class State>
id new_instance(Class cls, std::unique_ptr<State> state) {
    id object = pymetal::msg_send<id>(pymetal::msg_send<id>(cls, "alloc"), "init");
    if (!object) return nullptr;  // the state is freed by unique_ptr
    pymetal::set_state(object, state.release());
    return object;
}

// The state of `self` if it is an instance of `cls` (exactly), else nullptr: guards methods that take
// another softmetal object as an argument against foreign or nil objects.
template <class State>
State* state_if_instance(id object, Class cls) {
    if (!object || pymetal::detail::runtime().object_get_class(object) != cls) return nullptr;
    return pymetal::state_of<State>(object);
}

}  // namespace softmetal::objects
