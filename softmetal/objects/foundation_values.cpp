#include "objects/foundation_values.hpp"

#include <dlfcn.h>
#include <time.h>

namespace softmetal::objects {

using pymetal::msg_send;

id new_string(std::string_view text) { return pymetal::make_string(text).release(); }

id autoreleased_string(std::string_view text) { return autorelease(new_string(text)); }

std::string string_text(id string) { return pymetal::to_string(string); }

id autoreleased_array(const std::vector<id>& items) {
    static const Class array_class = pymetal::class_named("NSArray");
    return msg_send<id(const id*, ns_uinteger)>(array_class, "arrayWithObjects:count:", items.data(), items.size());
}

namespace {
// GNUstep exports the key as a constant NSString; its text is the documented fallback.
id localized_description_key() {
    static const id key = [] {
        if (auto* symbol = static_cast<id*>(dlsym(RTLD_DEFAULT, "NSLocalizedDescriptionKey")); symbol && *symbol)
            return *symbol;
        return new_string("NSLocalizedDescription");  // kept for the process's lifetime
    }();
    return key;
}
}  // namespace

id autoreleased_error(id domain, ns_integer code, const std::string& description) {
    static const Class error_class = pymetal::class_named("NSError");
    static const Class dictionary_class = pymetal::class_named("NSDictionary");
    pymetal::object text = pymetal::make_string(description);
    const id key = localized_description_key();
    const id value = text.get();
    id user_info = msg_send<id(const id*, const id*, ns_uinteger)>(
        dictionary_class, "dictionaryWithObjects:forKeys:count:", &value, &key, 1);
    return msg_send<id(id, ns_integer, id)>(error_class, "errorWithDomain:code:userInfo:", domain, code, user_info);
}

void report_error(id* out, id domain, ns_integer code, const std::string& description) {
    if (out) *out = autoreleased_error(domain, code, description);
}

bool is_kind_of(id object, const char* class_name) {
    if (!object) return false;
    const Class cls = pymetal::detail::runtime().look_up_class(class_name);
    return cls && msg_send<objc_bool(Class)>(object, "isKindOfClass:", cls);
}

id retain(id object) { return object ? msg_send<id>(object, "retain") : nullptr; }

void release(id object) {
    if (object) msg_send<void>(object, "release");
}

id autorelease(id object) { return object ? msg_send<id>(object, "autorelease") : nullptr; }

// Created once and never released: they back the exported NSString* const symbols.
id library_error_domain() {
    static const id domain = new_string(pymetal::library_error_domain);
    return domain;
}

id command_buffer_error_domain() {
    static const id domain = new_string(pymetal::command_buffer_error_domain);
    return domain;
}

double monotonic_seconds() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

}  // namespace softmetal::objects
