// pymetal's version, for #if tests and messages. The project's CMake reads it from here.
#pragma once

#define PYMETAL_VERSION_MAJOR 0
#define PYMETAL_VERSION_MINOR 1
#define PYMETAL_VERSION_PATCH 0
// One number that orders versions: 0.1.0 is 100, 1.2.3 is 10203.
#define PYMETAL_VERSION (PYMETAL_VERSION_MAJOR * 10000 + PYMETAL_VERSION_MINOR * 100 + PYMETAL_VERSION_PATCH)
#define PYMETAL_VERSION_STRING "0.1.0"

// softmetal's soname, the name the header asks the dynamic loader for. While the major version is 0
// softmetal's ABI may change with the minor version, so the soname carries both.
#define PYMETAL_SOFTMETAL_SONAME "libsoftmetal.so.0.1"
