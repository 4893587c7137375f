// The metal_stdlib prelude, embedded into the library at build time (CMake generates
// prelude_files.cpp from prelude/*.h), so nothing has to find source files at run time.
#pragma once

#include <cstddef>
#include <string>

namespace softmetal {
namespace detail {

struct embedded_file {
    const char *name;
    const char *text;
    size_t size;
};

extern const embedded_file prelude_files[];
extern const size_t prelude_file_count;

// SHA-256 over every file's name and text: the prelude's version, for cache keys and directory names.
const std::string &prelude_hash();

} // namespace detail
} // namespace softmetal
