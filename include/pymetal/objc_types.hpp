/// \file
/// The Objective-C runtime's basic types, declared without any Objective-C header.
#pragma once

#include <cstdint>

#include "detail/platform.hpp"

/// The runtime's own struct tags, so these pointer types are the same as <objc/objc.h>'s where both are seen.
struct objc_object;
struct objc_selector;
struct objc_class;
struct objc_method;
struct objc_ivar;

namespace pymetal {

/// An Objective-C object pointer.
using id = ::objc_object*;
/// A selector.
using SEL = ::objc_selector*;
/// A class.
using Class = ::objc_class*;
/// A method (class_getInstanceMethod).
using Method = ::objc_method*;
/// An instance variable.
using Ivar = ::objc_ivar*;
/// A method implementation, cast to its real type before a call.
using IMP = void (*)();

// Objective-C's BOOL: one byte everywhere, but a different C type (and type encoding) per platform.
#if PYMETAL_APPLE_ABI && defined(__aarch64__)
using objc_bool = bool;
#elif PYMETAL_APPLE_ABI
using objc_bool = signed char;
#else
/// Objective-C's BOOL (a signed char on Apple, unsigned on the GNU runtime; 0 or 1 either way).
using objc_bool = unsigned char;
#endif
static_assert(sizeof(objc_bool) == 1, "BOOL is one byte on every supported platform");

/// Foundation's integer types: pointer-sized, `long` on LP64 as Apple declares them.
using ns_uinteger = unsigned long;
/// NSInteger.
using ns_integer = long;
static_assert(sizeof(ns_uinteger) == sizeof(void*), "NSUInteger is pointer-sized");

/// NSRange: 16 bytes, returned in registers on every supported ABI.
struct ns_range {
    ns_uinteger location;  ///< the first index
    ns_uinteger length;  ///< how many
};

}  // namespace pymetal
