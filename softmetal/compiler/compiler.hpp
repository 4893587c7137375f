// softmetal's MSL compiler: Metal Shading Language source in, loaded kernels out.
//
//   compile_result r = softmetal::compile_library(source, options, &runtime, constants);
//   if (!r.module) report(r.log);                       // Metal-shaped: "program_source:3:5: error: ..."
//   const sm_kernel_info *k = r.module->find("add");    // nullptr: no such kernel
//
// Pipeline: translate MSL to C++ that includes softmetal's own metal_stdlib prelude -> compile with
// clang++-19 (posix_spawn; $SOFTMETAL_CXX overrides the path) to a shared object -> cache it on disk
// -> dlopen it and ask it for its kernel table (kernel_abi.h).
//
// Thread safety: every function may be called from several threads at once. Nothing is printed;
// no exception escapes except std::bad_alloc.
//
// Caching: identical calls in one process return the same module (an in-process table). On disk,
// shared objects are kept in $SOFTMETAL_CACHE_DIR, else $XDG_CACHE_HOME/softmetal, else
// ~/.cache/softmetal; the directory must be owned by the user with no group/other permission bits
// and must not be a symlink. If it is unusable (or SOFTMETAL_CACHE=0/off), the library is built in a
// private temporary directory that is deleted after loading, and the log says why (a "softmetal:
// note:" line) when the cache was refused.
//
// Function constants: a library that declares `constant T name [[function_constant(i)]];` reports
// them in kernel_module::function_constants(). To specialise (newFunctionWithName:constantValues:),
// compile the same source again with the values; constants without a value read as zero and their
// is_function_constant_defined(name) is false.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel_abi.h"

namespace softmetal {

struct compile_options {
    bool fast_math = true;         // Metal's default
    uint64_t language_version = 0; // (major << 16) | minor; 0 = newest. Sets __METAL_VERSION__ (e.g. 310 for 3.1)
    std::vector<std::pair<std::string, std::string>> macros; // name -> replacement text ("1", "3.5", "foo")
};

// A value for one function constant, matched by name if the name is non-empty, else by index.
struct function_constant_value {
    std::string name;
    int index = -1;
    uint64_t type = 0; // MTLDataType
    std::vector<unsigned char> bytes;
};

// A function constant declared by the library.
struct function_constant_info {
    std::string name;
    int index = -1;    // -1 when the index is not a plain integer literal
    uint64_t type = 0; // MTLDataType (0 = a type softmetal does not know by name)
    bool has_value = false; // a value was supplied when this module was compiled
};

// One loaded shared object: its kernels stay valid while the module lives.
class kernel_module {
public:
    ~kernel_module();
    kernel_module(const kernel_module &) = delete;
    kernel_module &operator=(const kernel_module &) = delete;

    std::vector<std::string> function_names() const;
    // nullptr if there is no such kernel. A module that compiles on demand compiles the chunk of
    // kernels holding `name` on its first request (its diagnostics: on_demand_log()).
    const sm_kernel_info *find(std::string_view name) const;
    const std::vector<function_constant_info> &function_constants() const { return constants_; }
    bool has_function_constants() const { return !constants_.empty(); }
    // A large library (at least $SOFTMETAL_CODEGEN_ON_DEMAND kernels, default 256): compile_library
    // checked the whole source (every error is reported there, as Metal does), and each kernel's
    // native code is made when find() first asks for it, with the kernels around it.
    bool compiles_on_demand() const { return on_demand_ != nullptr; }
    std::string on_demand_log(std::string_view name) const; // why find(name) failed, "" if it did not

    struct on_demand_state; // compiler.cpp

private:
    friend struct module_loader;
    friend struct on_demand_builder;
    kernel_module() = default;
    void *handle_ = nullptr;
    const sm_kernel_info *kernels_ = nullptr;
    uint32_t count_ = 0;
    std::vector<function_constant_info> constants_;
    std::shared_ptr<on_demand_state> on_demand_;
};

struct compile_result {
    std::shared_ptr<const kernel_module> module; // null on failure
    std::string log;                             // diagnostics; may be non-empty on success (warnings)
};

// `runtime` must outlive the returned module (kernels call its hooks). Modules are cached per
// (source, options, constants, runtime).
compile_result compile_library(const std::string &msl_source, const compile_options &options, const sm_runtime_api *runtime,
                               const std::vector<function_constant_value> &constants = {});

// Ahead of time (pymetal-msl build): the same pipeline, but the shared object is returned as bytes
// instead of being cached and loaded. `target_cpu` is clang's -march value ("" or "native": this
// machine's CPU); the result names the triple, CPU and the CPU features the object was built for.
struct object_result {
    std::string object;                                  // the ELF shared object; empty on failure
    std::string log;
    std::vector<function_constant_info> constants;       // what the library declares
    std::string target_triple, target_cpu;
    std::vector<std::string> target_features;            // clang's "+feature" names, enabled ones only
};
object_result compile_object(const std::string &msl_source, const compile_options &options, const std::string &target_cpu);

// Loads a shared object that compile_object produced (from a verified library file): written to a
// private temporary file, dlopened, and the file removed. No compiler is involved. Null + `error`.
// `constants`: the function constants the library declares (from the file's metadata).
std::shared_ptr<const kernel_module> load_object(const std::string &object, const sm_runtime_api *runtime, std::string &error,
                                                 const std::vector<function_constant_info> &constants = {});

} // namespace softmetal
