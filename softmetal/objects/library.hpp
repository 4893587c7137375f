// SoftMetalLibrary (MTLLibrary): one compiled MSL source. It keeps the source and options so that
// newFunctionWithName:constantValues:error: can compile a specialised copy.
#pragma once

#include "compiler/compiler.hpp"
#include "objects/foundation_values.hpp"

#include <memory>
#include <string>

namespace softmetal::objects {

struct library_state {
    pymetal::object device;
    std::string source;
    softmetal::compile_options options;
    std::shared_ptr<const softmetal::kernel_module> module;
    label_holder label;
};

// newLibraryWithSource:options:error:. +1 or nil; *error set on failure (CompileFailure, 3) and on
// success with warnings (CompileWarning, 4).
id new_library_with_source(id device, id source, id options, id* error);

}  // namespace softmetal::objects
