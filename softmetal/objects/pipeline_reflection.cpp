#include "objects/pipeline_reflection.hpp"

#include "compiler/kernel_reflection.hpp"
#include "objects/class_registry.hpp"

namespace softmetal::objects {

namespace {

struct argument_state {
    softmetal::kernel_argument argument;
    pymetal::object name;
};

struct reflection_state {
    pymetal::object arguments;  // NSArray of MTLArgument
    pymetal::object bindings;   // NSArray of SoftMetalBinding
};

const softmetal::kernel_argument& argument_of(id self) { return pymetal::state_of<argument_state>(self)->argument; }

bool is_kind(id self, softmetal::argument_kind kind) { return argument_of(self).kind == kind; }
bool is_buffer(id self) { return is_kind(self, softmetal::argument_kind::buffer); }
bool is_threadgroup(id self) { return is_kind(self, softmetal::argument_kind::threadgroup_memory); }
bool is_texture(id self) { return is_kind(self, softmetal::argument_kind::texture); }

// MTLArgumentType and MTLBindingType agree: buffer 0, threadgroup memory 1, texture 2, sampler 3.
ns_uinteger type_of(id self) { return static_cast<ns_uinteger>(argument_of(self).kind); }

// Properties MTLArgument and MTLBufferBinding / MTLThreadgroupBinding share. A property that does not
// apply to the argument's kind reads 0 / nil, as Apple's do.
void add_common_methods(pymetal::class_builder& builder) {
    builder.method("name", [](id self, SEL) -> id { return pymetal::state_of<argument_state>(self)->name.get(); });
    builder.method("access", [](id self, SEL) -> ns_uinteger { return static_cast<ns_uinteger>(argument_of(self).access); });
    builder.method("index", [](id self, SEL) -> ns_uinteger { return argument_of(self).index; });
    builder.method("bufferAlignment", [](id self, SEL) -> ns_uinteger { return is_buffer(self) ? argument_of(self).alignment : 0; });
    builder.method("bufferDataSize", [](id self, SEL) -> ns_uinteger { return is_buffer(self) ? argument_of(self).data_size : 0; });
    builder.method("bufferDataType", [](id self, SEL) -> ns_uinteger { return is_buffer(self) ? argument_of(self).data_type : 0; });
    // Struct and pointer type descriptions need the translator's type records (kernel_reflection.cpp).
    builder.method("bufferStructType", [](id, SEL) -> id { return nullptr; });
    builder.method("bufferPointerType", [](id, SEL) -> id { return nullptr; });
    builder.method("threadgroupMemoryAlignment",
                   [](id self, SEL) -> ns_uinteger { return is_threadgroup(self) ? argument_of(self).alignment : 0; });
    builder.method("threadgroupMemoryDataSize",
                   [](id self, SEL) -> ns_uinteger { return is_threadgroup(self) ? argument_of(self).data_size : 0; });
    // MTLArgument's and MTLTextureBinding's texture properties (0 / NO for other kinds).
    builder.method("textureType", [](id self, SEL) -> ns_uinteger { return is_texture(self) ? argument_of(self).texture_type : 0; });
    builder.method("textureDataType",
                   [](id self, SEL) -> ns_uinteger { return is_texture(self) ? argument_of(self).texture_data_type : 0; });
    builder.method("isDepthTexture", [](id, SEL) -> objc_bool { return no; });  // depth textures are refused at compile time
}

id new_argument_object(Class cls, const softmetal::kernel_argument& argument) {
    auto a = std::make_unique<argument_state>();
    a->argument = argument;
    a->name = pymetal::make_string(argument.name);
    return new_instance(cls, std::move(a));
}

}  // namespace

id autoreleased_pipeline_reflection(const sm_kernel_info& kernel) {
    std::vector<pymetal::object> arguments, bindings;
    for (const softmetal::kernel_argument& a : softmetal::reflect_kernel(kernel)) {
        arguments.push_back(pymetal::object::adopt(new_argument_object(classes().argument, a)));
        bindings.push_back(pymetal::object::adopt(new_argument_object(classes().binding, a)));
    }
    auto raw = [](const std::vector<pymetal::object>& objects) {
        std::vector<id> items;
        for (const auto& o : objects) items.push_back(o.get());
        return items;
    };
    auto reflection = std::make_unique<reflection_state>();
    reflection->arguments = pymetal::object::retain(autoreleased_array(raw(arguments)));
    reflection->bindings = pymetal::object::retain(autoreleased_array(raw(bindings)));
    return autorelease(new_instance(classes().compute_pipeline_reflection, std::move(reflection)));
}

Class register_compute_pipeline_reflection_class() {
    pymetal::class_builder builder("MTLComputePipelineReflection");
    builder.state<reflection_state>();
    builder.method("arguments", [](id self, SEL) -> id { return pymetal::state_of<reflection_state>(self)->arguments.get(); });
    builder.method("bindings", [](id self, SEL) -> id { return pymetal::state_of<reflection_state>(self)->bindings.get(); });
    return builder.register_class();
}

Class register_argument_class() {
    pymetal::class_builder builder("MTLArgument");
    builder.state<argument_state>();
    add_common_methods(builder);
    builder.method("type", [](id self, SEL) -> ns_uinteger { return type_of(self); });  // MTLArgumentType
    builder.method("isActive", [](id, SEL) -> objc_bool { return yes; });  // every reported argument is used
    builder.method("arrayLength", [](id, SEL) -> ns_uinteger { return 1; });
    return builder.register_class();
}

Class register_binding_class() {
    pymetal::class_builder builder("SoftMetalBinding");
    builder.state<argument_state>();
    add_common_methods(builder);
    builder.method("type", [](id self, SEL) -> ns_integer { return static_cast<ns_integer>(type_of(self)); });  // MTLBindingType
    builder.method("isUsed", [](id, SEL) -> objc_bool { return yes; });
    builder.method("isArgument", [](id, SEL) -> objc_bool { return yes; });  // a parameter of the kernel itself
    builder.method("arrayLength", [](id, SEL) -> ns_uinteger { return 1; });  // MTLTextureBinding: no texture arrays of arguments
    return builder.register_class();
}

}  // namespace softmetal::objects
