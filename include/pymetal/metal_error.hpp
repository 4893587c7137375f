/// \file
/// The Metal layer's exceptions. All derive from pymetal::error (error.hpp); those that carry an NSError
/// derive from objc_error and keep its domain and code. Messages are built only when something fails.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "error.hpp"
#include "metal_types.hpp"

namespace pymetal {

/// One compiler message, parsed from Metal's "program_source:LINE:COL: error: message" text.
struct diagnostic {
    std::string file;      ///< "program_source" for source compiled from a string
    std::size_t line = 0;  ///< 1-based
    std::size_t column = 0;  ///< 1-based column
    std::string severity;  ///< "error", "warning", "note" or "fatal error"
    std::string message;  ///< the message without its location
};

namespace detail {

inline bool parse_decimal(std::string_view text, std::size_t& value) {
    if (text.empty()) return false;
    value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    return true;
}

/// Parses one line shaped like clang's and Metal's diagnostics: FILE:LINE:COL: SEVERITY: MESSAGE.
inline bool parse_diagnostic_line(std::string_view line, diagnostic& out) {
    for (std::string_view severity : {"fatal error", "error", "warning", "note"}) {
        const std::string marker = ": " + std::string(severity) + ": ";
        const std::size_t at = line.find(marker);
        if (at == std::string_view::npos) continue;
        const std::string_view location = line.substr(0, at);  // FILE:LINE:COL
        const std::size_t column_colon = location.rfind(':');
        if (column_colon == std::string_view::npos) continue;
        const std::size_t line_colon = location.rfind(':', column_colon == 0 ? 0 : column_colon - 1);
        if (line_colon == std::string_view::npos || line_colon >= column_colon) continue;
        diagnostic d;
        if (!parse_decimal(location.substr(column_colon + 1), d.column)) continue;
        if (!parse_decimal(location.substr(line_colon + 1, column_colon - line_colon - 1), d.line)) continue;
        d.file = std::string(location.substr(0, line_colon));
        d.severity = std::string(severity);
        d.message = std::string(line.substr(at + marker.size()));
        out = std::move(d);
        return true;
    }
    return false;
}

/// The first line of `rest` (without its newline), which is removed from `rest`.
inline std::string_view next_line(std::string_view& rest) {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    return line;
}

}  // namespace detail

/// Every diagnostic line in a compiler log, in order. Lines that are not diagnostics (source excerpts,
/// carets, "1 error generated.") are skipped; they stay in the full log.
inline std::vector<diagnostic> parse_diagnostics(std::string_view log) {
    // Counted first, then filled in place: no push_back, whose growth path (some fifteen functions for
    // diagnostic) every program that compiles a library would compile.
    std::size_t count = 0;
    diagnostic d;
    for (std::string_view rest = log; !rest.empty();) count += detail::parse_diagnostic_line(detail::next_line(rest), d);
    std::vector<diagnostic> found(count);
    std::size_t next = 0;
    for (std::string_view rest = log; !rest.empty() && next < count;)
        if (detail::parse_diagnostic_line(detail::next_line(rest), found[next])) ++next;
    return found;
}

/// MSL source that Metal could not compile. what() holds the whole log; diagnostics() each message.
class compile_error : public objc_error {
public:
    /// A compile failure from the NSError's domain, code and compiler log (parsed into diagnostics()).
    compile_error(std::string domain, long code, std::string log)
        : objc_error(std::move(domain), code, log), diagnostics_(parse_diagnostics(log)), log_(std::move(log)),
          summary_(summarize(diagnostics_, log_)) {}

    /// The log's errors and warnings, each with its line and column.
    const std::vector<diagnostic>& diagnostics() const noexcept { return diagnostics_; }
    /// Only those with severity "error" or "fatal error".
    std::vector<diagnostic> errors() const {
        std::vector<diagnostic> result;
        for (const auto& d : diagnostics_)
            if (d.severity == "error" || d.severity == "fatal error") result.push_back(d);
        return result;
    }
    /// The compiler's whole log.
    const std::string& log() const noexcept { return log_; }
    /// The first error with its location, and how many more.
    const char* what() const noexcept override { return summary_.c_str(); }

private:
    static std::string summarize(const std::vector<diagnostic>& diagnostics, const std::string& log) {
        std::size_t errors = 0;
        for (const auto& d : diagnostics) errors += d.severity == "error" || d.severity == "fatal error";
        std::string text = "pymetal: the Metal kernel source did not compile";
        if (errors) text += " (" + std::to_string(errors) + (errors == 1 ? " error" : " errors") + ")";
        text += ":\n" + (log.empty() ? std::string("(Metal gave no compiler log)") : log);
        return text;
    }

    std::vector<diagnostic> diagnostics_;
    std::string log_;
    std::string summary_;
};

/// A precompiled library (a .metallib on Apple's Metal, a .smlib from pymetal-msl on softmetal) that
/// Metal would not load: missing (library_error::file_not_found), built for another softmetal or CPU
/// (unsupported), or damaged (internal). Metal's text names the file and says why.
class library_load_error : public objc_error {
public:
    /// A library file that could not be loaded, from the NSError's domain, code and description.
    library_load_error(std::string domain, long code, std::string description)
        : objc_error(std::move(domain), code, std::move(description)),
          message_("pymetal: cannot load the library: " + std::string(objc_error::what())) {}

    /// The MTLLibraryError code.
    library_error error_code() const noexcept { return static_cast<library_error>(code()); }
    /// What failed and, where known, how to fix it.
    const char* what() const noexcept override { return message_.c_str(); }

private:
    std::string message_;
};

/// A kernel name that the library does not define. available() lists the functions it does define.
class function_not_found : public error {
public:
    /// No function `name` in the library, which has `available`.
    function_not_found(std::string name, std::vector<std::string> available)
        : error(describe(name, available)), name_(std::move(name)), available_(std::move(available)) {}

    /// The function asked for.
    const std::string& name() const noexcept { return name_; }
    /// The functions the library has.
    const std::vector<std::string>& available() const noexcept { return available_; }

private:
    static std::string describe(const std::string& name, const std::vector<std::string>& available) {
        std::string text = "pymetal: the library has no function named '" + name + "'; it defines ";
        if (available.empty()) return text + "no functions";
        for (std::size_t i = 0; i < available.size(); ++i) text += (i ? ", '" : "'") + available[i] + "'";
        return text;
    }

    std::string name_;
    std::vector<std::string> available_;
};

/// Function constants that do not fit the function's declarations: a value of the wrong Metal type, or
/// no value for a required constant. Thrown before Metal specialises (compiles) anything.
class function_constant_error : public error {
public:
    using error::error;
};

/// A buffer could not be created, or an access to it would overrun it.
class buffer_error : public error {
public:
    using error::error;
};

/// A dispatch refused before it reached Metal: a threadgroup over the kernel's limit, a buffer smaller
/// than the elements stated for it, two arguments at one index. Nothing was encoded.
class dispatch_error : public error {
public:
    using error::error;
};

/// A command buffer that Metal ran and that failed: Metal's error text, domain and code.
class command_error : public objc_error {
public:
    /// A failed command buffer, from its NSError's domain, code and description and its final status.
    command_error(std::string domain, long code, std::string description, command_buffer_status status)
        : objc_error(std::move(domain), code, std::move(description)), status_(status),
          message_("pymetal: the command buffer failed: " + std::string(objc_error::what())) {}

    /// The command buffer's final status.
    command_buffer_status status() const noexcept { return status_; }
    /// The code as Metal's enumeration, when the domain is MTLCommandBufferErrorDomain.
    command_buffer_error error_code() const noexcept { return static_cast<command_buffer_error>(code()); }
    /// The error with its domain and code.
    const char* what() const noexcept override { return message_.c_str(); }

private:
    command_buffer_status status_;
    std::string message_;
};

}  // namespace pymetal
