// Between compile and load: what a linked kernel object may reach. A Metal kernel cannot call the C
// library, run code when its library loads or keep thread-local state; softmetal's kernels are
// native code in the host process, so the object clang made is read (a small ELF reader, every
// offset checked against the file) and refused before dlopen when it
//   - references a symbol outside the allow-list (the math functions of libm/libmvec, compiler-rt's
//     arithmetic helpers, memcpy/memset/memmove),
//   - has anything that runs at load or unload (.init_array/.fini_array/.preinit_array/.ctors/.dtors,
//     DT_INIT/DT_FINI, GNU indirect functions, IRELATIVE relocations): program-scope constants are
//     initialised by the compiler, as MSL requires (a core constant expression),
//   - has thread-local storage, an interpreter, or needs a library other than libm/libmvec/libgcc_s/libc.
#pragma once

#include <string>
#include <vector>

namespace softmetal {
namespace detail {

struct object_findings {
    bool readable = false;                     // false: not an ELF shared object we can read (see problems)
    std::vector<std::string> forbidden_symbols; // undefined symbols outside the allow-list, in table order
    std::vector<std::string> problems;          // other reasons, as sentences ("it has a .init_array section")
    bool ok() const { return readable && forbidden_symbols.empty() && problems.empty(); }
};

// Inspects the bytes of a linked shared object.
object_findings inspect_kernel_object(const std::string &elf);

// A C math library function (sinf, pow, sincos, ...): what MSL's math reaches.
bool math_function_name(const std::string &name);

// Whether a kernel may reference this (undefined) symbol.
bool symbol_allowed(const std::string &name);

// The C or C++ name a symbol stands for: "system" for "system", "system" for "_Z6systemPKc",
// "ns::f" for "_ZN2ns1fEv"; the symbol itself when it is not a simple mangled name.
std::string symbol_source_name(const std::string &symbol);

} // namespace detail
} // namespace softmetal
