// Where in the MSL source an instruction of a loaded kernel module comes from. Kernels are built with
// -gline-tables-only, and the translator's #line directives make their line table speak of
// "program_source" lines and columns, so a fault can be reported at the line of the user's kernel, in
// the shape Metal's compiler uses for errors.
#pragma once

#include <cstdint>
#include <string>

namespace softmetal {

// "program_source:12:9" (or "program_source:12" when no column is known) for an address in a kernel
// module on disk; "" when it cannot be had: the module was built without the cache (its file is gone),
// the address is in softmetal's generated code, or no symbolizer is installed (llvm-symbolizer-19,
// llvm-symbolizer or binutils' addr2line, tried in that order). Starts a process: not for hot paths,
// never for signal handlers.
std::string msl_location_of(std::uintptr_t address);

}  // namespace softmetal
