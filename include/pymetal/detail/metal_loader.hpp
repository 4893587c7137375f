// Metal itself, loaded with dlopen once, lazily and thread-safely: Apple's Metal.framework on macOS,
// softmetal (libsoftmetal.so, our CPU implementation of Metal's compute API) elsewhere. Everything
// above this file talks to whichever was loaded through the same selectors and never asks which.
#pragma once

#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

#include "../objc_types.hpp"
#include "../version.hpp"
#include "library_loader.hpp"
#include "runtime.hpp"

namespace pymetal::detail {

// The C entry points of Metal; everything else is reached by messages.
struct metal_runtime {
    void* handle = nullptr;
    id (*create_system_default_device)() = nullptr;  // +1 (Create rule)
    id (*copy_all_devices)() = nullptr;              // +1 NSArray (Copy rule); absent on older iOS
};

// The directory of the running executable, with a trailing '/' ("" if unknown).
inline std::string executable_directory() {
#if defined(__linux__)
    char path[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n > 0) {
        std::string exe(path, static_cast<std::size_t>(n));
        return exe.substr(0, exe.rfind('/') + 1);
    }
#endif
    return "";
}

inline library_spec metal_library_spec() {
#if PYMETAL_APPLE_PLATFORM
    return {"Metal.framework", "PYMETAL_METAL", {"/System/Library/Frameworks/Metal.framework/Metal"},
            "it ships with macOS 10.11 and later"};
#else
    // Tried in order (after $PYMETAL_METAL, which alone is tried when set):
    // Grown only by push_back(std::string&&): each other way of adding (emplace_back of a literal,
    // push_back of a const string) is another growth path compiled into every program.
    std::vector<std::string> candidates;
#ifdef PYMETAL_SOFTMETAL_PATH
    // 1. A build tree's own library (the CMake target pymetal, used in-tree): a development build
    //    must not pick up an installed softmetal.
    candidates.push_back(std::string(PYMETAL_SOFTMETAL_PATH));
#endif
    // 2. Beside the program: <exe>/../<libdir>/ and <exe>/, so an installed program and its
    //    libsoftmetal keep finding each other when the whole prefix moves.
    const std::string here = executable_directory();
    if (!here.empty()) {
#ifdef PYMETAL_SOFTMETAL_LIBDIR
        const std::string libdir = PYMETAL_SOFTMETAL_LIBDIR;
        if (libdir != "lib") candidates.push_back(here + "../" + libdir + "/" PYMETAL_SOFTMETAL_SONAME);
#endif
        candidates.push_back(here + "../lib/" PYMETAL_SOFTMETAL_SONAME);
        candidates.push_back(here + PYMETAL_SOFTMETAL_SONAME);
    }
    // 3. The dynamic loader's search: LD_LIBRARY_PATH, the program's RUNPATH, ldconfig's directories.
    candidates.push_back(std::string(PYMETAL_SOFTMETAL_SONAME));
#ifdef PYMETAL_SOFTMETAL_INSTALL_HINT
    // 4. Where the package was when the program was configured against it (it may have moved since).
    candidates.push_back(std::string(PYMETAL_SOFTMETAL_INSTALL_HINT));
#endif
    return {"softmetal (" PYMETAL_SOFTMETAL_SONAME ", pymetal's CPU implementation of Metal)", "PYMETAL_METAL",
            std::move(candidates),
            "Add its directory to LD_LIBRARY_PATH (or install it where ldconfig finds it), or install the "
            "program in <prefix>/bin beside <prefix>/lib; to get it, build it with `cmake --build <build-dir> "
            "--target softmetal` or install pymetal (`cmake --install <build-dir>`)"};
#endif
}

inline metal_runtime load_metal_runtime() {
    // Metal's classes subclass NSObject and answer through the runtime: load it (and Foundation) first.
    (void)runtime();
#if PYMETAL_APPLE_PLATFORM
    // Without CoreGraphics, MTLCreateSystemDefaultDevice returns nil in command-line processes.
    library_spec core_graphics{"CoreGraphics.framework", "PYMETAL_COREGRAPHICS",
                               {"/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics"},
                               "it ships with macOS"};
    open_library(core_graphics);
#endif
    const library_spec spec = metal_library_spec();
    metal_runtime metal;
    metal.handle = open_library(spec);
    metal.create_system_default_device =
        required_symbol<decltype(metal.create_system_default_device)>(metal.handle, "MTLCreateSystemDefaultDevice",
                                                                      spec.name);
    metal.copy_all_devices = optional_symbol<decltype(metal.copy_all_devices)>(metal.handle, "MTLCopyAllDevices");
    return metal;
}

// The process's Metal, loaded on first use. A failed load throws load_error, and is retried by the
// next call (a function-local static whose initialiser throws stays uninitialised).
inline const metal_runtime& metal() {
    static const metal_runtime loaded = load_metal_runtime();
    return loaded;
}

}  // namespace pymetal::detail

namespace pymetal {

// Loads the Objective-C runtime, Foundation and Metal now (they load on first use otherwise).
// Throws load_error naming the library, the paths tried and how to get it.
inline void load_metal() { (void)detail::metal(); }

}  // namespace pymetal
