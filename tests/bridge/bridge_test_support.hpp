// Shared helpers for the Objective-C bridge tests: retain counts, unique class names, a class whose
// deallocations are counted.
#pragma once

#include <pymetal/objc.hpp>

#include <atomic>
#include <string>
#include <string_view>

namespace bridge_test {

using namespace pymetal;
using namespace pymetal::literals;

inline bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// -[NSObject retainCount], read through the bridge.
inline ns_uinteger retain_count(id object) { return msg_send<ns_uinteger>(object, "retainCount"); }

// Class names are process-global: every class a test defines gets a name of its own.
inline std::string unique_class_name(std::string_view base) {
    static std::atomic<int> counter{0};
    return "BridgeTest_" + std::string(base) + "_" + std::to_string(counter.fetch_add(1));
}

// Number of instances of tracked_class() deallocated so far.
inline std::atomic<int>& tracked_deallocs() {
    static std::atomic<int> count{0};
    return count;
}

// An NSObject subclass whose -dealloc counts itself, then runs NSObject's.
inline Class tracked_class() {
    static const Class cls = class_builder(unique_class_name("Tracked"))
                                 .method("dealloc",
                                         [](id self, SEL sel) {
                                             tracked_deallocs().fetch_add(1);
                                             msg_send_super<void>(self, class_named("NSObject"), sel);
                                         })
                                 .register_class();
    return cls;
}

// A new tracked instance, +1 (the caller owns it).
inline id new_tracked() { return msg_send<id>(tracked_class(), "new"); }

}  // namespace bridge_test
