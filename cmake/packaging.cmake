# CPack: `cpack -G DEB` (or TGZ) in the build directory packages what `cmake --install` installs, under
# /usr. The .deb's dependencies are Debian's (bookworm's) package names: the libraries softmetal links
# (libcrypto, Boost.Context) and those it loads at run time (the GNU Objective-C runtime, GNUstep Base);
# clang-19 is recommended, not required: precompiled .smlib libraries run without it.
set(CPACK_PACKAGE_NAME pymetal)
set(CPACK_PACKAGE_VENDOR pymetal)
set(CPACK_PACKAGE_CONTACT "pymetal maintainers <pymetal@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}: header, softmetal (Metal's compute API on Linux), pymetal-msl")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR TGZ)
if(NOT APPLE)
  list(APPEND CPACK_GENERATOR DEB)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6, libstdc++6, libobjc4, libgnustep-base1.28, libssl3, libboost-context1.74.0")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "clang-19, libclang-rt-19-dev")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake, pkg-config")
include(CPack)
