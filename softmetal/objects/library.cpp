#include "objects/library.hpp"

#include "executor/executor.hpp"
#include "objects/class_registry.hpp"
#include "objects/compile_options.hpp"
#include "objects/function.hpp"
#include "objects/function_constant_values.hpp"

namespace softmetal::objects {

namespace {

library_state& state(id self) { return *pymetal::state_of<library_state>(self); }

constexpr ns_integer compile_failure = static_cast<ns_integer>(pymetal::library_error::compile_failure);
constexpr ns_integer compile_warning = static_cast<ns_integer>(pymetal::library_error::compile_warning);
constexpr ns_integer function_not_found = static_cast<ns_integer>(pymetal::library_error::function_not_found);
constexpr ns_integer internal_error = static_cast<ns_integer>(pymetal::library_error::internal);

// Metal's text for a failed compile: a headline, then the compiler's diagnostics.
std::string failure_description(const std::string& log) {
    return log.empty() ? std::string("Compilation failed") : "Compilation failed: \n\n" + log;
}

// A name that is not an NSString (an NSNumber, say) would make string_text raise an Objective-C
// exception that nothing catches: such a name finds no function.
bool is_string(id name) { return name && is_kind_of(name, "NSString"); }

// Metal's argument tables have 31 entries; [[buffer(31)]] or [[threadgroup(31)]] would index past
// softmetal's (the translator accepts them). Metal refuses them when compiling.
std::string out_of_range_binding(const softmetal::kernel_module& module) {
    for (const std::string& name : module.function_names()) {
        const sm_kernel_info* kernel = module.find(name);
        if (!kernel) continue;
        const char* kind = (kernel->buffer_bindings_used >> 31) ? "buffer" : (kernel->threadgroup_bindings_used >> 31) ? "threadgroup" : nullptr;
        if (kind) {
            return "program_source: error: '" + std::string(kind) + "' attribute parameter is out of bounds: must be between 0 and 30 (kernel '" +
                   name + "')\n";
        }
    }
    return "";
}

const char* data_type_name(std::uint64_t type) {
    static const char* const names[] = {"none", "struct", "array", "float", "float2", "float3", "float4"};
    if (type < sizeof names / sizeof names[0]) return names[type];
    switch (type) {
        case 16: return "half";
        case 29: return "int";
        case 33: return "uint";
        case 37: return "short";
        case 41: return "ushort";
        case 45: return "char";
        case 49: return "uchar";
        case 53: return "bool";
        case 81: return "long";
        case 85: return "ulong";
        default: return nullptr;
    }
}

std::string type_text(std::uint64_t type) {
    const char* name = data_type_name(type);
    return name ? std::string(name) + " (MTLDataType " + std::to_string(type) + ")" : "MTLDataType " + std::to_string(type);
}

// Metal refuses a constant value whose MTLDataType differs from the constant's declared type (it does not
// convert or reinterpret: an int constant given as MTLDataTypeFloat would otherwise be bit-cast).
std::string mistyped_constant(const softmetal::kernel_module& module, const std::vector<softmetal::function_constant_value>& values) {
    for (const softmetal::function_constant_value& value : values) {
        for (const softmetal::function_constant_info& declared : module.function_constants()) {
            const bool same = value.name.empty() ? declared.index >= 0 && declared.index == value.index : declared.name == value.name;
            if (!same || declared.type == 0 || declared.type == value.type) continue;
            return "Function constant '" + declared.name + "' is declared " + type_text(declared.type) +
                   " but its value was given as " + type_text(value.type);
        }
    }
    return "";
}

id new_function_with_name(id self, id name) {
    library_state& library = state(self);
    if (!is_string(name)) return nullptr;
    const std::string function_name = string_text(name);
    const sm_kernel_info* kernel = library.module->find(function_name);
    if (!kernel) return nullptr;
    return new_function(library.device.get(), library.module, kernel, function_name);
}

id new_specialised_function(id self, id name, id constant_values, id* error) {
    library_state& library = state(self);
    if (!is_string(name)) {
        report_error(error, library_error_domain(), function_not_found, "Function name is not a string");
        return nullptr;
    }
    const std::string function_name = string_text(name);
    if (!library.module->find(function_name)) {
        report_error(error, library_error_domain(), function_not_found,
                     "Function " + function_name + " was not found in the library");
        return nullptr;
    }
    const std::vector<softmetal::function_constant_value> values = constant_values_of(constant_values);
    const std::string mistyped = mistyped_constant(*library.module, values);
    if (!mistyped.empty()) {
        report_error(error, library_error_domain(), compile_failure, mistyped);
        return nullptr;
    }
    softmetal::compile_result compiled =
        softmetal::compile_library(library.source, library.options, softmetal::executor::shared().runtime_api(), values);
    if (!compiled.module) {
        report_error(error, library_error_domain(), compile_failure, failure_description(compiled.log));
        return nullptr;
    }
    const sm_kernel_info* kernel = compiled.module->find(function_name);
    if (!kernel) {
        report_error(error, library_error_domain(), function_not_found,
                     "Function " + function_name + " was not found in the specialised library");
        return nullptr;
    }
    return new_function(library.device.get(), compiled.module, kernel, function_name);
}

}  // namespace

id new_library_with_source(id device, id source, id options, id* error) {
    try {
        if (!source || !is_kind_of(source, "NSString")) {
            report_error(error, library_error_domain(), compile_failure, "Compilation failed: no source string");
            return nullptr;
        }
        auto library = std::make_unique<library_state>();
        library->device = pymetal::object::retain(device);
        library->source = string_text(source);
        library->options = to_compile_options(options);
        softmetal::compile_result compiled =
            softmetal::compile_library(library->source, library->options, softmetal::executor::shared().runtime_api());
        if (!compiled.module) {
            report_error(error, library_error_domain(), compile_failure, failure_description(compiled.log));
            return nullptr;
        }
        const std::string refusal = out_of_range_binding(*compiled.module);
        if (!refusal.empty()) {
            report_error(error, library_error_domain(), compile_failure, failure_description(refusal));
            return nullptr;
        }
        library->module = std::move(compiled.module);
        // Warnings on success: the library is returned and the error says what the compiler warned about.
        if (!compiled.log.empty()) report_error(error, library_error_domain(), compile_warning, compiled.log);
        return new_instance(classes().library, std::move(library));
    } catch (const std::exception& e) {
        report_error(error, library_error_domain(), internal_error, std::string("softmetal: ") + e.what());
        return nullptr;
    }
}

Class register_library_class() {
    pymetal::class_builder builder("SoftMetalLibrary");
    builder.state<library_state>();
    builder.method("newFunctionWithName:", [](id self, SEL, id name) -> id {
        try {
            return new_function_with_name(self, name);
        } catch (...) {
            return nullptr;
        }
    });
    builder.method("newFunctionWithName:constantValues:error:", [](id self, SEL, id name, id values, id* error) -> id {
        try {
            return new_specialised_function(self, name, values, error);
        } catch (const std::exception& e) {
            report_error(error, library_error_domain(), internal_error, std::string("softmetal: ") + e.what());
            return nullptr;
        }
    });
    builder.method("functionNames", [](id self, SEL) -> id {
        std::vector<pymetal::object> names;
        for (const std::string& name : state(self).module->function_names()) names.push_back(pymetal::make_string(name));
        std::vector<id> items;
        for (const auto& name : names) items.push_back(name.get());
        return autoreleased_array(items);  // the array retains the strings; `names` releases ours
    });
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    add_label_methods<library_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
