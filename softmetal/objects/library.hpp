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
    bool precompiled = false;  // loaded from a library file (its source is there only with function constants)
    std::string source;
    softmetal::compile_options options;
    std::shared_ptr<const softmetal::kernel_module> module;
    label_holder label;
};

// newLibraryWithSource:options:error:. +1 or nil; *error set on failure (CompileFailure, 3) and on
// success with warnings (CompileWarning, 4).
id new_library_with_source(id device, id source, id options, id* error);

// newLibraryWithURL:error:, newLibraryWithFile:error:, newLibraryWithData:error:, newDefaultLibrary:
// a library file written by `pymetal-msl build` (precompiled_library.cpp). +1 or nil with *error in
// MTLLibraryErrorDomain (FileNotFound for a missing file, Unsupported for another softmetal or CPU,
// Internal for a damaged file).
id new_library_with_url(id device, id url, id* error);
id new_library_with_file(id device, id path, id* error);
id new_library_with_data(id device, id data, id* error);
id new_default_library(id device);

}  // namespace softmetal::objects
