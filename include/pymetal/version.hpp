/// \file
/// pymetal's version, for `#if` tests and messages. The project's CMake reads it from here.
#pragma once

/// pymetal's major version.
#define PYMETAL_VERSION_MAJOR 0
/// pymetal's minor version.
#define PYMETAL_VERSION_MINOR 1
/// pymetal's patch version.
#define PYMETAL_VERSION_PATCH 0
/// The version as one number that orders versions, MAJOR * 10000 + MINOR * 100 + PATCH, for `#if`
/// tests: 0.1.0 is 100, 1.2.3 is 10203.
#define PYMETAL_VERSION (PYMETAL_VERSION_MAJOR * 10000 + PYMETAL_VERSION_MINOR * 100 + PYMETAL_VERSION_PATCH)
/// The version as text.
#define PYMETAL_VERSION_STRING "0.1.0"

// softmetal's soname, the name the header asks the dynamic loader for. While the major version is 0
// softmetal's ABI may change with the minor version, so the soname carries both.
/// The soname of the libsoftmetal this header loads on Linux.
#define PYMETAL_SOFTMETAL_SONAME "libsoftmetal.so.0.1"
