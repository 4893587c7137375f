/// \file
/// Foundation values at the C++ boundary: NSString <-> std::string (UTF-8), NSError -> pymetal::objc_error,
/// and the few collections the Metal layer needs.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "autorelease_pool.hpp"
#include "object.hpp"

namespace pymetal {

// NSStringEncoding is NSUInteger on Apple's platforms and a 32-bit enum in GNUstep Base.
#if PYMETAL_APPLE_PLATFORM
using ns_string_encoding = ns_uinteger;
#else
/// NSStringEncoding.
using ns_string_encoding = unsigned int;
#endif
/// NSUTF8StringEncoding.
inline constexpr ns_string_encoding ns_utf8_string_encoding = 4;

/// Looks a class up by name; throws if the runtime has no such class.
inline Class class_named(const char* name) {
    Class cls = detail::runtime().look_up_class(name);
    if (!cls) throw error(std::string("pymetal: Objective-C class ") + name + " not found");
    return cls;
}

/// A new NSString holding `text` (UTF-8, need not be NUL-terminated). No autorelease pool needed.
inline object make_string(std::string_view text) {
    static const Class string_class = class_named("NSString");
    id allocated = msg_send<id>(string_class, "alloc");
    id string = msg_send<id(const void*, ns_uinteger, ns_string_encoding)>(allocated, "initWithBytes:length:encoding:",
                                                                   text.data(), text.size(),
                                                                   ns_utf8_string_encoding);
    if (!string) throw error("pymetal: text is not valid UTF-8 for NSString");
    return object::adopt(string);
}

/// The UTF-8 text of an NSString ("" for nil).
inline std::string to_string(id string) {
    if (!string) return {};
    autorelease_pool pool;  // UTF8String's buffer may be autoreleased
    const char* utf8 = msg_send<const char*>(string, "UTF8String");
    return utf8 ? std::string(utf8) : std::string();
}

/// An objc_error with the NSError's domain, code and localized description.
inline objc_error make_objc_error(id ns_error) {
    autorelease_pool pool;
    std::string domain = to_string(msg_send<id>(ns_error, "domain"));
    long code = msg_send<ns_integer>(ns_error, "code");
    std::string description = to_string(msg_send<id>(ns_error, "localizedDescription"));
    return objc_error(std::move(domain), code, std::move(description));
}

/// Throws the NSError as objc_error, or does nothing for nil.
inline void throw_if_error(id ns_error) {
    if (ns_error) throw make_objc_error(ns_error);
}

/// NSArray access.
inline ns_uinteger array_count(id array) { return msg_send<ns_uinteger>(array, "count"); }
/// [array objectAtIndex:index] (+0, not retained).
inline id array_at(id array, ns_uinteger index) {
    return msg_send<id(ns_uinteger)>(array, "objectAtIndex:", index);
}
/// An NSArray of NSStrings as std::strings (an empty vector for nil).
inline std::vector<std::string> string_array(id array) {
    std::vector<std::string> strings;
    const ns_uinteger count = array_count(array);
    for (ns_uinteger i = 0; i < count; ++i) strings.push_back(to_string(array_at(array, i)));
    return strings;
}

/// NSNumber and NSDictionary, for Metal's preprocessor macros.
inline object make_number(long long value) {
    static const Class number_class = class_named("NSNumber");
    autorelease_pool pool;
    return object::retain(msg_send<id(long long)>(number_class, "numberWithLongLong:", value));
}
namespace detail {
/// A +1 NSDictionary of `count` values and keys (the dictionary retains them).
inline object dictionary_of(const id* values, const id* keys, ns_uinteger count) {
    static const Class dictionary_class = class_named("NSDictionary");
    autorelease_pool pool;
    return object::retain(msg_send<id(const id*, const id*, ns_uinteger)>(
        dictionary_class, "dictionaryWithObjects:forKeys:count:", values, keys, count));
}
/// Hands a +1 object to the current autorelease pool and returns it (+0, alive until the pool drains).
inline id autoreleased(object owned) {
    id handed = owned.release();
    return msg_send<id()>(handed, "autorelease");
}
}  // namespace detail

/// A +1 NSDictionary of the given key/value pairs (the dictionary retains them).
/// (A template only so that the vector of pairs is compiled where it is called, not in every
/// translation unit that includes the header; `Deferred` is never given.)
template <class Deferred = void>
object make_dictionary(const std::vector<std::pair<object, object>>& entries) {
    std::vector<id> keys_then_values(2 * entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        keys_then_values[i] = entries[i].first.get();
        keys_then_values[entries.size() + i] = entries[i].second.get();
    }
    return detail::dictionary_of(keys_then_values.data() + entries.size(), keys_then_values.data(), entries.size());
}

namespace detail {

/// What newLibraryWithData:error: takes (+1, holding a copy of the bytes): a dispatch_data_t on Apple's
/// platforms (from libdispatch, which every process has through libSystem); on softmetal, whose GNUstep
/// has no libdispatch, an NSData (dispatch_data_t is an NSData subclass on Apple's side too).
inline object make_library_data(const void* data, std::size_t size) {
#if PYMETAL_APPLE_PLATFORM
    using create_fn = id (*)(const void*, std::size_t, void* queue, void* destructor);
    static const auto create = reinterpret_cast<create_fn>(dlsym(RTLD_DEFAULT, "dispatch_data_create"));
    if (!create) throw error("pymetal: dispatch_data_create not found (libdispatch)");
    // A null destructor is DISPATCH_DATA_DESTRUCTOR_DEFAULT: the bytes are copied.
    return object::adopt(create(data, size, nullptr, nullptr));
#else
    static const Class data_class = class_named("NSData");
    id allocated = msg_send<id>(data_class, "alloc");
    return object::adopt(msg_send<id(const void*, ns_uinteger)>(allocated, "initWithBytes:length:", data, size));
#endif
}

}  // namespace detail

}  // namespace pymetal
