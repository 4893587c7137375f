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

id new_function_with_name(id self, id name) {
    library_state& library = state(self);
    const std::string function_name = string_text(name);
    const sm_kernel_info* kernel = library.module->find(function_name);
    if (!kernel) return nullptr;
    return new_function(library.device.get(), library.module, kernel, function_name);
}

id new_specialised_function(id self, id name, id constant_values, id* error) {
    library_state& library = state(self);
    const std::string function_name = string_text(name);
    if (!name || !library.module->find(function_name)) {
        report_error(error, library_error_domain(), function_not_found,
                     "Function " + function_name + " was not found in the library");
        return nullptr;
    }
    softmetal::compile_result compiled = softmetal::compile_library(
        library.source, library.options, softmetal::executor::shared().runtime_api(), constant_values_of(constant_values));
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
