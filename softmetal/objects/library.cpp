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
std::string out_of_range_binding(const std::string& name, const sm_kernel_info& kernel) {
    const char* kind = (kernel.buffer_bindings_used >> 31) ? "buffer" : (kernel.threadgroup_bindings_used >> 31) ? "threadgroup" : nullptr;
    if (!kind) return "";
    return "program_source: error: '" + std::string(kind) + "' attribute parameter is out of bounds: must be between 0 and 30 (kernel '" +
           name + "')\n";
}
// A library whose code is made on demand (compiler.hpp) is checked kernel by kernel, when each is
// first found: looking at every kernel here would make all their code.
std::string out_of_range_binding(const softmetal::kernel_module& module) {
    if (module.compiles_on_demand()) return "";
    for (const std::string& name : module.function_names()) {
        const sm_kernel_info* kernel = module.find(name);
        if (!kernel) continue;
        std::string refused = out_of_range_binding(name, *kernel);
        if (!refused.empty()) return refused;
    }
    return "";
}
// The kernel `name` of `module`, or null; for a library compiled on demand, null also when its
// code could not be made or a binding is out of range (`why` says which).
const sm_kernel_info* find_kernel(const softmetal::kernel_module& module, const std::string& name, std::string* why = nullptr) {
    const sm_kernel_info* kernel = module.find(name);
    if (!module.compiles_on_demand()) return kernel;
    if (!kernel) {
        if (why) *why = module.on_demand_log(name);
        return nullptr;
    }
    std::string refused = out_of_range_binding(name, *kernel);
    if (refused.empty()) return kernel;
    if (why) *why = refused;
    return nullptr;
}

id new_function_with_name(id self, id name) {
    library_state& library = state(self);
    if (!is_string(name)) return nullptr;
    const std::string function_name = string_text(name);
    const sm_kernel_info* kernel = find_kernel(*library.module, function_name);
    if (!kernel) return nullptr;
    // With function constants declared, this is Metal's non-specialised function: it reflects its
    // constants, but a pipeline is refused until it is made with constant values.
    std::vector<declared_constant> constants = declared_constants(*library.module, *kernel, library.source);
    const bool specialised = constants.empty();
    return new_function(library.device.get(), library.module, kernel, function_name, std::move(constants), specialised);
}

id new_specialised_function(id self, id name, id constant_values, id* error) {
    library_state& library = state(self);
    if (!is_string(name)) {
        report_error(error, library_error_domain(), function_not_found, "Function name is not a string");
        return nullptr;
    }
    const std::string function_name = string_text(name);
    std::string why;
    const sm_kernel_info* declared_in = find_kernel(*library.module, function_name, &why);
    if (!declared_in) {
        if (!why.empty()) {
            report_error(error, library_error_domain(), compile_failure, failure_description(why));
            return nullptr;
        }
        report_error(error, library_error_domain(), function_not_found,
                     "Function " + function_name + " was not found in the library");
        return nullptr;
    }
    // A library file without function constants carries no source: the values are unused, as Metal
    // ignores values for constants a function does not declare.
    if (library.precompiled && library.source.empty()) return new_function_with_name(self, name);
    std::vector<declared_constant> constants = declared_constants(*library.module, *declared_in, library.source);
    std::string rule_broken;
    auto values = resolve_constant_values(constants, constant_values_of(constant_values), rule_broken);
    if (!values) {
        report_error(error, library_error_domain(), compile_failure,
                     "Function " + function_name + " could not be specialised: " + rule_broken);
        return nullptr;
    }
    softmetal::compile_result compiled = softmetal::compile_library(
        library.source, library.options, softmetal::executor::shared().runtime_api(), *values);
    if (!compiled.module) {
        // From a library file, the compile is the one step that needs a compiler on this machine: say so.
        const std::string why = library.precompiled
                                    ? "Function " + function_name + " of a precompiled library could not be specialised: " +
                                          "specialising function constants compiles the library's source with clang++-19 at run time" +
                                          " (install the Debian package clang-19 or set SOFTMETAL_CXX)\n\n" + compiled.log
                                    : failure_description(compiled.log);
        report_error(error, library_error_domain(), compile_failure, why);
        return nullptr;
    }
    const sm_kernel_info* kernel = find_kernel(*compiled.module, function_name, &why);
    if (!kernel && !why.empty()) {
        report_error(error, library_error_domain(), compile_failure, failure_description(why));
        return nullptr;
    }
    if (!kernel) {
        report_error(error, library_error_domain(), function_not_found,
                     "Function " + function_name + " was not found in the specialised library");
        return nullptr;
    }
    return new_function(library.device.get(), compiled.module, kernel, function_name, std::move(constants), true);
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
