#include "objects/function_constant.hpp"

#include <cctype>

#include "objects/class_registry.hpp"

namespace softmetal::objects {

namespace {

// MTLFunctionConstant: Apple's public class, read-only properties.
struct function_constant_state {
    pymetal::object name;
    ns_uinteger type = 0;
    ns_uinteger index = 0;
    bool required = true;
};

function_constant_state& state(id self) { return *pymetal::state_of<function_constant_state>(self); }

// True when `source` contains is_function_constant_defined(name), spaces allowed inside the parentheses.
bool asks_if_defined(const std::string& source, const std::string& name) {
    static const std::string call = "is_function_constant_defined";
    for (std::size_t at = source.find(call); at != std::string::npos; at = source.find(call, at + 1)) {
        std::size_t i = at + call.size();
        auto skip_space = [&] { while (i < source.size() && std::isspace(static_cast<unsigned char>(source[i]))) ++i; };
        skip_space();
        if (i >= source.size() || source[i] != '(') continue;
        ++i;
        skip_space();
        if (source.compare(i, name.size(), name) != 0) continue;
        i += name.size();
        skip_space();
        if (i < source.size() && source[i] == ')') return true;
    }
    return false;
}

std::string describe(const softmetal::function_constant_info& c) {
    return "function constant '" + c.name + "'" +
           (c.index >= 0 ? " [[function_constant(" + std::to_string(c.index) + ")]]" : std::string());
}

}  // namespace

std::string data_type_name(std::uint64_t type) {
    static const struct {
        std::uint64_t first;
        const char* scalar;
    } families[] = {{3, "float"}, {16, "half"}, {29, "int"}, {33, "uint"}, {37, "short"}, {41, "ushort"},
                    {45, "char"}, {49, "uchar"}, {53, "bool"}, {81, "long"}, {85, "ulong"}, {121, "bfloat"}};
    for (const auto& f : families) {
        if (type >= f.first && type <= f.first + 3) {
            const std::uint64_t lanes = type - f.first + 1;
            return std::string(f.scalar) + (lanes > 1 ? std::to_string(lanes) : std::string());
        }
    }
    return "MTLDataType " + std::to_string(type);
}

std::vector<declared_constant> declared_constants(const softmetal::kernel_module& module, const sm_kernel_info& kernel,
                                                  const std::string& source) {
    std::vector<declared_constant> declared;
    const std::string used = kernel.function_constants ? "\n" + std::string(kernel.function_constants) + "\n" : std::string();
    for (const softmetal::function_constant_info& info : module.function_constants())
        if (used.find("\n" + info.name + "\n") != std::string::npos) declared.push_back({info, !asks_if_defined(source, info.name)});
    return declared;
}

std::optional<std::vector<softmetal::function_constant_value>> resolve_constant_values(
    const std::vector<declared_constant>& declared, const std::vector<softmetal::function_constant_value>& given,
    std::string& error) {
    std::vector<softmetal::function_constant_value> resolved;
    for (const declared_constant& d : declared) {
        const softmetal::function_constant_value* match = nullptr;
        for (const auto& v : given)  // by index first...
            if (v.name.empty() && d.info.index >= 0 && v.index == d.info.index) match = &v;
        if (!match)
            for (const auto& v : given)  // ...then by name
                if (!v.name.empty() && v.name == d.info.name) match = &v;
        if (!match) {
            if (d.required) {
                error = describe(d.info) + " of type " + data_type_name(d.info.type) +
                        " is required but no value was given (by index or by name)";
                return std::nullopt;
            }
            continue;
        }
        if (d.info.type != 0 && match->type != d.info.type) {
            error = describe(d.info) + " is declared " + data_type_name(d.info.type) + " but its value was given as " +
                    data_type_name(match->type);
            return std::nullopt;
        }
        softmetal::function_constant_value v = *match;
        v.name = d.info.name;  // the compiler matches by name: the lookup above already decided which value
        v.index = d.info.index;
        resolved.push_back(std::move(v));
    }
    return resolved;
}

id autoreleased_constants_dictionary(const std::vector<declared_constant>& declared) {
    std::vector<pymetal::object> keys, values;
    for (const declared_constant& d : declared) {
        auto c = std::make_unique<function_constant_state>();
        c->name = pymetal::make_string(d.info.name);
        c->type = d.info.type;
        c->index = d.info.index >= 0 ? static_cast<ns_uinteger>(d.info.index) : 0;
        c->required = d.required;
        keys.push_back(c->name);
        values.push_back(pymetal::object::adopt(new_instance(classes().function_constant, std::move(c))));
    }
    std::vector<id> raw_keys, raw_values;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        raw_keys.push_back(keys[i].get());
        raw_values.push_back(values[i].get());
    }
    // The dictionary retains (copies) keys and values; ours go with the vectors.
    return pymetal::msg_send<id(const id*, const id*, ns_uinteger)>(
        pymetal::class_named("NSDictionary"), "dictionaryWithObjects:forKeys:count:", raw_values.data(), raw_keys.data(),
        static_cast<ns_uinteger>(raw_keys.size()));
}

Class register_function_constant_class() {
    pymetal::class_builder builder("MTLFunctionConstant");
    builder.state<function_constant_state>();
    builder.method("name", [](id self, SEL) -> id { return state(self).name.get(); });
    builder.method("type", [](id self, SEL) -> ns_uinteger { return state(self).type; });
    builder.method("index", [](id self, SEL) -> ns_uinteger { return state(self).index; });
    builder.method("required", [](id self, SEL) -> objc_bool { return state(self).required ? yes : no; });
    return builder.register_class();
}

}  // namespace softmetal::objects
