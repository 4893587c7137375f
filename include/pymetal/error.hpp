/// \file
/// Every failure pymetal reports is a pymetal::error; the subclasses say which kind and carry its facts.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace pymetal {

class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A library or symbol that could not be loaded: names the library, every path tried and what to install.
class load_error : public error {
public:
    /// A load failure of `library`, listing `paths_tried`, with `hint` (what to install or set) and the
    /// loader's `reason`.
    load_error(std::string library, std::vector<std::string> paths_tried, std::string hint,
               std::string reason)
        : error(describe(library, paths_tried, hint, reason)),
          library_(std::move(library)), paths_tried_(std::move(paths_tried)), hint_(std::move(hint)) {}

    /// The library that could not be loaded.
    const std::string& library() const noexcept { return library_; }
    /// Every path tried, in order.
    const std::vector<std::string>& paths_tried() const noexcept { return paths_tried_; }
    /// What to install or set to fix it.
    const std::string& hint() const noexcept { return hint_; }

private:
    static std::string describe(const std::string& library, const std::vector<std::string>& paths,
                                const std::string& hint, const std::string& reason) {
        std::string text = "pymetal: cannot load " + library + " (tried:";
        for (const auto& p : paths) text += " " + p;
        text += ")";
        if (!reason.empty()) text += ": " + reason;
        if (!hint.empty()) text += ". " + hint;
        return text;
    }

    std::string library_;
    std::vector<std::string> paths_tried_;
    std::string hint_;
};

/// An NSError turned into an exception: Metal's and Foundation's failures.
class objc_error : public error {
public:
    /// An NSError's domain, code and localizedDescription.
    objc_error(std::string domain, long code, std::string description)
        : error(domain + " (" + std::to_string(code) + "): " + description),
          domain_(std::move(domain)), code_(code), description_(std::move(description)) {}

    /// The NSError's domain.
    const std::string& domain() const noexcept { return domain_; }
    /// The NSError's code.
    long code() const noexcept { return code_; }
    /// The NSError's localizedDescription.
    const std::string& description() const noexcept { return description_; }

private:
    std::string domain_;
    long code_;
    std::string description_;
};

/// msg_send's C++ signature disagrees with the method's declared type encoding.
class encoding_error : public error {
public:
    /// A mismatch between the C++ signature of a send and the method's type encoding.
    encoding_error(std::string selector, std::string expected, std::string actual)
        : error("pymetal: signature mismatch for selector '" + selector + "': msg_send uses '" + expected +
                "' but the method is declared '" + actual + "'"),
          selector_(std::move(selector)), expected_(std::move(expected)), actual_(std::move(actual)) {}

    /// The selector sent.
    const std::string& selector() const noexcept { return selector_; }
    /// The encoding the C++ signature implies.
    const std::string& expected() const noexcept { return expected_; }
    /// The method's own encoding.
    const std::string& actual() const noexcept { return actual_; }

private:
    std::string selector_, expected_, actual_;
};

}  // namespace pymetal
