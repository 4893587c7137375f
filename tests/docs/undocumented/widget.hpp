/// \file
/// A header for the API reference check: one documented class, one that is not.
#pragma once

namespace pymetal {

/// A documented class.
class documented_widget {
public:
    /// A documented member.
    int size() const { return 0; }
};

// Doxygen reports an undocumented class only when it has members.
class undocumented_widget {
public:
    int size() const { return 0; }
};

}  // namespace pymetal
