// Libraries from files that `pymetal-msl build` wrote (.smlib): Metal's newLibraryWithURL:error:,
// newLibraryWithFile:error:, newLibraryWithData:error: and newDefaultLibrary. No compiler is involved
// (until a function constant is specialised: that compiles the source the file carries, library.cpp);
// the compiler stage's library_file checks everything in the data before and after loading it.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "compiler/library_file.hpp"
#include "executor/executor.hpp"
#include "objects/class_registry.hpp"
#include "objects/library.hpp"

namespace softmetal::objects {

namespace {

constexpr ns_integer unsupported = static_cast<ns_integer>(pymetal::library_error::unsupported);
constexpr ns_integer internal_error = static_cast<ns_integer>(pymetal::library_error::internal);
constexpr ns_integer file_not_found = static_cast<ns_integer>(pymetal::library_error::file_not_found);

// A library file is at most 1 GiB of object and 1 MiB of metadata (library_file.hpp).
constexpr off_t max_file_size = (off_t{1} << 30) + (off_t{1} << 20) + 4096;

id library_from_bytes(id device, const unsigned char* data, std::size_t size, const std::string& where, id* error) {
    std::string why;
    softmetal::library_file_refusal refusal{};
    softmetal::library_file described;
    std::shared_ptr<const kernel_module> module =
        softmetal::load_library_file(data, size, softmetal::executor::shared().runtime_api(), why, refusal, &described);
    if (!module) {
        // Another softmetal's or CPU's library is sound but unusable here (Unsupported); anything else
        // is a damaged file (Internal).
        const bool foreign = refusal == softmetal::library_file_refusal::foreign;
        report_error(error, library_error_domain(), foreign ? unsupported : internal_error, "Invalid library file" + where + ": " + why);
        return nullptr;
    }
    auto library = std::make_unique<library_state>();
    library->device = pymetal::object::retain(device);
    library->precompiled = true;
    library->module = std::move(module);
    // What specialising its function constants compiles (empty for a library without any).
    library->source = std::move(described.source);
    library->options.fast_math = described.fast_math;
    library->options.language_version = described.language_version;
    library->options.macros = std::move(described.macros);
    return new_instance(classes().library, std::move(library));
}

// Reads a regular file whole. False with *error set (FileNotFound or Internal).
bool read_library_file(const std::string& path, std::string& bytes, id* error) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        report_error(error, library_error_domain(), e == ENOENT ? file_not_found : internal_error,
                     "Library file " + path + " cannot be opened: " + std::strerror(e));
        return false;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > max_file_size) {
        close(fd);
        report_error(error, library_error_domain(), internal_error, "Library file " + path + " is not a regular file of a library's size");
        return false;
    }
    bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = read(fd, &bytes[done], bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    close(fd);
    bytes.resize(done);  // a file that shrank while read is judged by what was read
    return true;
}

id library_at_path(id device, const std::string& path, id* error) {
    std::string bytes;
    if (!read_library_file(path, bytes, error)) return nullptr;
    return library_from_bytes(device, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), " " + path, error);
}

template <class Body>
id guarded(id* error, Body body) {
    try {
        return body();
    } catch (const std::exception& e) {
        report_error(error, library_error_domain(), internal_error, std::string("softmetal: ") + e.what());
        return nullptr;
    }
}

}  // namespace

id new_library_with_url(id device, id url, id* error) {
    return guarded(error, [&]() -> id {
        if (!url || !is_kind_of(url, "NSURL") || !pymetal::msg_send<objc_bool>(url, "isFileURL")) {
            report_error(error, library_error_domain(), file_not_found, "Library URL is not a file URL");
            return nullptr;
        }
        return library_at_path(device, string_text(pymetal::msg_send<id>(url, "path")), error);
    });
}

id new_library_with_file(id device, id path, id* error) {
    return guarded(error, [&]() -> id {
        if (!path || !is_kind_of(path, "NSString")) {
            report_error(error, library_error_domain(), file_not_found, "Library path is not a string");
            return nullptr;
        }
        return library_at_path(device, string_text(path), error);
    });
}

// Apple's dispatch_data_t is an NSData subclass; GNUstep has no libdispatch, so softmetal takes NSData.
id new_library_with_data(id device, id data, id* error) {
    return guarded(error, [&]() -> id {
        if (!data || !is_kind_of(data, "NSData")) {
            report_error(error, library_error_domain(), internal_error, "Library data is not dispatch_data_t/NSData");
            return nullptr;
        }
        const auto* bytes = static_cast<const unsigned char*>(pymetal::msg_send<const void*>(data, "bytes"));
        const ns_uinteger length = pymetal::msg_send<ns_uinteger>(data, "length");
        return library_from_bytes(device, bytes, length, "", error);
    });
}

// Metal loads default.metallib from the main bundle; a Linux program's "bundle" is the directory of
// its executable, so softmetal looks for default.smlib there. nil when there is none (as Metal).
id new_default_library(id device) {
    try {
        char exe[PATH_MAX];
        const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) return nullptr;
        std::string path(exe, static_cast<std::size_t>(n));
        path = path.substr(0, path.rfind('/') + 1) + "default" + softmetal::library_file_extension;
        return library_at_path(device, path, nullptr);
    } catch (...) {
        return nullptr;
    }
}

}  // namespace softmetal::objects
