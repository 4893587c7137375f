# PYMETAL_BUILD_SOFTMETAL=OFF: use an installed softmetal (and pymetal-msl) instead of building them.
# PYMETAL_SOFTMETAL_LIBRARY and PYMETAL_MSL_EXECUTABLE may be set to their paths; otherwise they are
# looked for as find_library / find_program do (CMAKE_PREFIX_PATH, the system's directories).
find_library(PYMETAL_SOFTMETAL_LIBRARY NAMES ${PYMETAL_SOFTMETAL_SONAME} softmetal
             DOC "an installed libsoftmetal (PYMETAL_BUILD_SOFTMETAL=OFF)")
if(NOT PYMETAL_SOFTMETAL_LIBRARY)
  message(FATAL_ERROR "pymetal: PYMETAL_BUILD_SOFTMETAL=OFF, but no installed ${PYMETAL_SOFTMETAL_SONAME} was found: "
                      "install pymetal first and add its prefix to CMAKE_PREFIX_PATH, set PYMETAL_SOFTMETAL_LIBRARY "
                      "to the library's path, or leave PYMETAL_BUILD_SOFTMETAL ON")
endif()
get_filename_component(pymetal_softmetal_dir ${PYMETAL_SOFTMETAL_LIBRARY} DIRECTORY)
find_program(PYMETAL_MSL_EXECUTABLE NAMES pymetal-msl HINTS ${pymetal_softmetal_dir}/../bin
             DOC "an installed pymetal-msl (PYMETAL_BUILD_SOFTMETAL=OFF)")
message(STATUS "pymetal: using the installed softmetal ${PYMETAL_SOFTMETAL_LIBRARY}")
# The header tries this path first, as it does a build tree's own library.
target_compile_definitions(pymetal INTERFACE $<BUILD_INTERFACE:PYMETAL_SOFTMETAL_PATH="${PYMETAL_SOFTMETAL_LIBRARY}">)
if(PYMETAL_MSL_EXECUTABLE AND NOT TARGET pymetal::pymetal-msl)
  add_executable(pymetal::pymetal-msl IMPORTED GLOBAL)
  set_target_properties(pymetal::pymetal-msl PROPERTIES IMPORTED_LOCATION ${PYMETAL_MSL_EXECUTABLE})
endif()
