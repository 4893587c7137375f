// The last stage of the compiler, for ahead-of-time builds: a compiled library as a file (.smlib),
// written by `pymetal-msl build` and read by newLibraryWithURL:error: / newLibraryWithData:error:.
//
// Layout (integers little-endian):
//   magic            8 bytes  "\x89SMLIB\r\n"  (binary, and a line-ending mangler is caught)
//   format version   u32      library_file_format_version
//   reserved         u32      0
//   metadata length  u64      M (at most 1 MiB)
//   object length    u64      N (at most 1 GiB)
//   source length    u64      S (at most 16 MiB; 0 unless the library declares function constants)
//   metadata         M bytes  UTF-8 text, one "key value" line per fact (below)
//   object           N bytes  the ELF shared object clang built (kernel_abi.h's contract)
//   source           S bytes  the MSL source the object was built from
//   checksum         64 bytes SHA-256 of every byte before it, lowercase hex
// The file is exactly 40 + M + N + S + 64 bytes long.
//
// Metadata lines, in this order, the first six exactly once:
//   softmetal-abi 3                 SM_ABI_VERSION the object was built for
//   softmetal-version 0.1.0         who wrote it (for messages)
//   triple x86_64-pc-linux-gnu      clang's target triple
//   cpu znver5                      clang's -target-cpu
//   features avx,avx2,...           the CPU features the object may use
//   fast-math 1
//   language-version <n>            (major << 16) | minor, 0 for the newest (at most once)
//   define <hex name> <hex value>   a -D macro the source was built with ("-" for an empty value)
//   constant <name> index=<i> type=<MTLDataType>   a [[function_constant(i)]] the library declares
//   kernel <name> type=3 groups=1 barriers=0 buffers=<hex> threadgroups=<hex> static-tg=<n> min=<i>:<n>,...
//
// Function constants: the object is the library without constant values (each reads as zero), which
// is what reflection and Metal's non-specialised MTLFunction need. A specialised function has to be
// compiled with the values (constants may size arrays and pick templates), so such a library carries
// its source, the macros and the language version, and newFunctionWithName:constantValues:error:
// compiles that source again with clang++-19 on the machine that specialises it, as it does for a
// library compiled from source. Without the compiler it fails with an NSError saying so; functions
// without constants never need it. (Apple's .metallib carries AIR that the driver specialises; the
// source is softmetal's only form that can be specialised without a compiler of its own in the file.)
//
// Reading trusts nothing: every length is checked against the data, the checksum before anything is
// parsed, each line's syntax strictly, then the ABI version, the architecture and the CPU features
// against this machine, and, after loading, the object's own kernel table against the metadata.
// The checksum detects damage, not tampering: the object is native code, and loading a library runs it
// with the process's rights, as loading any shared object does. Load only libraries you trust.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/compiler.hpp"

namespace softmetal {

inline constexpr uint32_t library_file_format_version = 2;
inline constexpr const char library_file_extension[] = ".smlib";

struct library_file_kernel {
    std::string name;
    uint32_t function_type = SM_FUNCTION_TYPE_KERNEL;
    bool runs_as_group = false; // run_group is set
    uint32_t uses_barriers = 0;
    uint32_t buffer_bindings_used = 0;
    uint32_t threadgroup_bindings_used = 0;
    uint64_t static_threadgroup_memory_length = 0;
    uint64_t buffer_min_length[SM_MAX_BUFFER_BINDINGS] = {};
};

struct library_file {
    uint32_t abi_version = SM_ABI_VERSION;
    std::string softmetal_version;
    std::string triple, cpu;
    std::vector<std::string> features;
    bool fast_math = true;
    uint64_t language_version = 0;                            // compile_options::language_version
    std::vector<std::pair<std::string, std::string>> macros;  // compile_options::macros
    std::vector<function_constant_info> constants;            // declared by the library (has_value false)
    std::vector<library_file_kernel> kernels;
    std::string object;
    std::string source;  // empty unless `constants` is not
};

// The kernels of a loaded module, as the metadata describes them.
std::vector<library_file_kernel> describe_kernels(const kernel_module &module);

std::string encode_library_file(const library_file &file);

// Checks layout, lengths, checksum and syntax. False with `error` saying what is wrong.
bool decode_library_file(const unsigned char *data, std::size_t size, library_file &out, std::string &error);

// Empty when this softmetal and this CPU can run the library, else why not.
std::string check_runs_here(const library_file &file);

// Empty when the loaded module's kernel table is the one the metadata describes, else the difference.
std::string check_module_matches(const library_file &file, const kernel_module &module);

// Why a library file was refused: it is damaged (or not a library file), or it is sound but made for
// another softmetal (format or kernel ABI version) or another CPU.
enum class library_file_refusal { damaged, foreign };

// decode + check_runs_here + load_object + check_module_matches: the whole of loading a library file.
// Null with `error` (a sentence for an NSError) and `refusal` on any failure. With `described`, the
// file's facts (its object cleared) for specialising its functions: source, macros, language version.
std::shared_ptr<const kernel_module> load_library_file(const unsigned char *data, std::size_t size, const sm_runtime_api *runtime,
                                                       std::string &error, library_file_refusal &refusal,
                                                       library_file *described = nullptr);

// This softmetal's version ("0.1.0").
const char *softmetal_version();

} // namespace softmetal
