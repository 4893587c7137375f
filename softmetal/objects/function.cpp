#include "objects/function.hpp"

#include "objects/class_registry.hpp"

namespace softmetal::objects {

namespace {
function_state& state(id self) { return *pymetal::state_of<function_state>(self); }
}  // namespace

id new_function(id device, std::shared_ptr<const softmetal::kernel_module> module, const sm_kernel_info* kernel,
                const std::string& name, std::vector<declared_constant> constants, bool specialised) {
    auto function = std::make_unique<function_state>();
    function->device = pymetal::object::retain(device);
    function->module = std::move(module);
    function->kernel = kernel;
    function->name = name;
    function->name_string = pymetal::make_string(name);
    function->constants = std::move(constants);
    function->specialised = specialised;
    return new_instance(classes().function, std::move(function));
}

Class register_function_class() {
    pymetal::class_builder builder("SoftMetalFunction");
    builder.state<function_state>();
    builder.method("name", [](id self, SEL) -> id { return state(self).name_string.get(); });
    // MTLFunctionType: the kernel table says (vertex 1, fragment 2, kernel 3, as Apple numbers them).
    builder.method("functionType", [](id self, SEL) -> ns_uinteger {
        const sm_kernel_info* k = state(self).kernel;
        return k ? static_cast<ns_uinteger>(k->function_type) : static_cast<ns_uinteger>(pymetal::function_type::kernel);
    });
    builder.method("device", [](id self, SEL) -> id { return state(self).device.get(); });
    builder.method("functionConstantsDictionary", [](id self, SEL) -> id {
        try {
            return autoreleased_constants_dictionary(state(self).constants);
        } catch (...) {
            return nullptr;
        }
    });
    add_label_methods<function_state>(builder);
    return builder.register_class();
}

}  // namespace softmetal::objects
