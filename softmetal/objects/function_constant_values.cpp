#include "objects/function_constant_values.hpp"

#include <cstring>

#include "objects/class_registry.hpp"

namespace softmetal::objects {

namespace {

function_constant_values_state& state(id self) {
    auto* existing = pymetal::state_of<function_constant_values_state>(self);
    if (!existing) {
        // Instances come from +alloc/-init (NSObject's): state is created on first use.
        existing = new function_constant_values_state;
        pymetal::set_state(self, existing);
    }
    return *existing;
}

// Replaces the value with the same key (index, or name) or adds it.
void store(id self, softmetal::function_constant_value value) {
    auto& values = state(self).values;
    for (auto& existing : values) {
        const bool same_key = value.name.empty() ? (existing.name.empty() && existing.index == value.index)
                                                 : existing.name == value.name;
        if (same_key) {
            existing = std::move(value);
            return;
        }
    }
    values.push_back(std::move(value));
}

softmetal::function_constant_value make_value(const void* bytes, ns_uinteger type) {
    softmetal::function_constant_value value;
    value.type = type;
    const std::size_t size = data_type_size(type);
    const auto* first = static_cast<const unsigned char*>(bytes);
    value.bytes.assign(first, first + size);
    return value;
}

}  // namespace

std::size_t data_type_size(ns_uinteger type) {
    struct family {
        ns_uinteger first;  // the scalar's MTLDataType; first + 1..3 are its 2-, 3- and 4-vectors
        std::size_t scalar_size;
    };
    static constexpr family families[] = {
        {3, 4},   // float
        {16, 2},  // half
        {29, 4},  // int
        {33, 4},  // uint
        {37, 2},  // short
        {41, 2},  // ushort
        {45, 1},  // char
        {49, 1},  // uchar
        {53, 1},  // bool
        {81, 8},  // long
        {85, 8},  // ulong
        {121, 2}, // bfloat
    };
    for (const family& f : families) {
        if (type >= f.first && type <= f.first + 3) {
            const std::size_t lanes = type - f.first + 1;
            return f.scalar_size * (lanes == 3 ? 4 : lanes);
        }
    }
    return 0;
}

std::vector<softmetal::function_constant_value> constant_values_of(id values) {
    if (!values || pymetal::detail::runtime().object_get_class(values) != classes().function_constant_values) return {};
    return state(values).values;
}

Class register_function_constant_values_class() {
    pymetal::class_builder builder("MTLFunctionConstantValues");
    builder.state<function_constant_values_state>();
    builder.method("setConstantValue:type:atIndex:", [](id self, SEL, const void* value, ns_uinteger type, ns_uinteger index) {
        if (!value || data_type_size(type) == 0 || index > 65535) return;
        softmetal::function_constant_value v = make_value(value, type);
        v.index = static_cast<int>(index);
        store(self, std::move(v));
    });
    builder.method("setConstantValue:type:withName:", [](id self, SEL, const void* value, ns_uinteger type, id name) {
        if (!value || !name || !is_kind_of(name, "NSString") || data_type_size(type) == 0) return;
        softmetal::function_constant_value v = make_value(value, type);
        v.name = string_text(name);
        store(self, std::move(v));
    });
    // Values lie one after another, each data_type_size(type) bytes, for indices range.location onward.
    builder.method("setConstantValues:type:withRange:",
                   [](id self, SEL, const void* values, ns_uinteger type, pymetal::ns_range range) {
                       const std::size_t size = data_type_size(type);
                       // Metal's function constant indices are 0 to 65535; also keeps i * size and the int index from overflowing.
                       if (!values || size == 0 || range.location > 65535 || range.length > 65536 - range.location) return;
                       const auto* bytes = static_cast<const unsigned char*>(values);
                       for (ns_uinteger i = 0; i < range.length; ++i) {
                           softmetal::function_constant_value v = make_value(bytes + i * size, type);
                           v.index = static_cast<int>(range.location + i);
                           store(self, std::move(v));
                       }
                   });
    builder.method("reset", [](id self, SEL) { state(self).values.clear(); });
    return builder.register_class();
}

}  // namespace softmetal::objects
