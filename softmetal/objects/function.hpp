// SoftMetalFunction (MTLFunction): one kernel of a compiled library (possibly a specialised copy).
// It keeps the loaded module alive for the kernel's code.
#pragma once

#include "compiler/compiler.hpp"
#include "objects/foundation_values.hpp"
#include "objects/function_constant.hpp"

#include <memory>
#include <string>

namespace softmetal::objects {

struct function_state {
    pymetal::object device;
    std::shared_ptr<const softmetal::kernel_module> module;
    const sm_kernel_info* kernel = nullptr;
    std::string name;
    pymetal::object name_string;
    std::vector<declared_constant> constants;  // the library's function constants
    bool specialised = true;  // false: made by newFunctionWithName: although constants are declared
    label_holder label;
};

// A new function object (+1) for `kernel` of `module`.
id new_function(id device, std::shared_ptr<const softmetal::kernel_module> module, const sm_kernel_info* kernel,
                const std::string& name, std::vector<declared_constant> constants, bool specialised);

}  // namespace softmetal::objects
