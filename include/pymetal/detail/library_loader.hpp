// Finds and opens a shared library from a list of candidate paths, with an environment override.
#pragma once

#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "../error.hpp"
#include "platform.hpp"

namespace pymetal::detail {

struct library_spec {
    const char* name;                     // what the user would call it: "the Objective-C runtime"
    const char* env_override;             // e.g. "PYMETAL_LIBOBJC"
    std::vector<std::string> candidates;  // tried in order after the override
    const char* install_hint;             // e.g. "install the Debian package libobjc4"
};

// Opens the first loadable candidate (the environment override first, and only it when set).
// Throws load_error naming the library, every path tried, the last dlerror() and the install hint.
inline void* open_library(const library_spec& spec) {
    std::vector<std::string> tried;
    std::string last_reason;
    const auto try_path = [&](const std::string& path) -> void* {
        tried.push_back(std::string(path));  // every vector<string> here grows by push_back(string&&) alone
        // RTLD_GLOBAL: Foundation and Metal resolve runtime symbols against the same libobjc instance.
        if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) return handle;
        if (const char* reason = dlerror()) last_reason = reason;
        return nullptr;
    };
    if (const char* override_path = std::getenv(spec.env_override); override_path && *override_path) {
        if (void* handle = try_path(override_path)) return handle;
    } else {
        for (const std::string& path : spec.candidates)
            if (void* handle = try_path(path)) return handle;
    }
    std::string hint = spec.install_hint;
    hint += " (or set " + std::string(spec.env_override) + " to its path)";
    throw load_error(spec.name, std::move(tried), std::move(hint), std::move(last_reason));
}

// Looks a symbol up in `handle`; throws load_error if it is absent.
inline void* required_address(void* handle, const char* symbol, const char* library) {
    dlerror();
    void* address = dlsym(handle, symbol);
    if (!address) {
        std::vector<std::string> looked_for;
        looked_for.push_back(std::string(symbol));
        throw load_error(library, std::move(looked_for), "the library is too old or not the expected one",
                         std::string("missing symbol ") + symbol);
    }
    return address;
}

// required_address as a function of type Fn (one small cast per type; the look-up is shared). Forced
// inline: a runtime table names some twenty function types, each otherwise a function to compile.
template <class Fn>
PYMETAL_ALWAYS_INLINE Fn required_symbol(void* handle, const char* symbol, const char* library) {
    return reinterpret_cast<Fn>(required_address(handle, symbol, library));
}

template <class Fn>
PYMETAL_ALWAYS_INLINE Fn optional_symbol(void* handle, const char* symbol) {
    return reinterpret_cast<Fn>(dlsym(handle, symbol));
}

}  // namespace pymetal::detail
