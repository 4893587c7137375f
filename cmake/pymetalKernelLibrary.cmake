# pymetal_add_kernel_library(<target> SOURCES kernels.metal [OUTPUT <file>] [CPU <name>] [OPTIONS <flag>...])
#
# Builds a precompiled kernel library at build time, for device.load_library(path) at run time:
#   Linux:  `pymetal-msl build` -> <target>.smlib (softmetal's library file; no compiler needed to load it)
#   Apple:  `xcrun metal` + `xcrun metallib` -> <target>.metallib
# OUTPUT defaults to ${CMAKE_CURRENT_BINARY_DIR}/<target>.smlib (.metallib on Apple). CPU is clang's
# -march for softmetal (default `native`: this machine; x86-64-v3 for one that runs on most x86 CPUs).
# OPTIONS go to the compiler as they are (-D NAME=VALUE, -std=metal3.1, -fno-fast-math).
# One MSL source per library (Metal's own tools link several; pymetal-msl does not yet).
# The target's PYMETAL_LIBRARY_FILE property is the file's path.
function(pymetal_add_kernel_library target)
  cmake_parse_arguments(arg "" "OUTPUT;CPU" "SOURCES;OPTIONS" ${ARGN})
  list(LENGTH arg_SOURCES count)
  if(NOT count EQUAL 1)
    message(FATAL_ERROR "pymetal_add_kernel_library(${target}): exactly one MSL source, got ${count}")
  endif()
  get_filename_component(source "${arg_SOURCES}" ABSOLUTE)
  if(APPLE)
    set(extension .metallib)
  else()
    set(extension .smlib)
  endif()
  if(NOT arg_OUTPUT)
    set(arg_OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${target}${extension})
  endif()
  if(APPLE)
    set(air ${CMAKE_CURRENT_BINARY_DIR}/${target}.air)
    add_custom_command(OUTPUT ${arg_OUTPUT}
      COMMAND xcrun -sdk macosx metal ${arg_OPTIONS} -c ${source} -o ${air}
      COMMAND xcrun -sdk macosx metallib ${air} -o ${arg_OUTPUT}
      DEPENDS ${source}
      COMMENT "Building the Metal library ${arg_OUTPUT}"
      VERBATIM)
  else()
    if(TARGET pymetal-msl)
      set(tool pymetal-msl)
    elseif(TARGET pymetal::pymetal-msl)
      set(tool pymetal::pymetal-msl)
    else()
      message(FATAL_ERROR "pymetal_add_kernel_library(${target}): pymetal-msl is not part of this pymetal")
    endif()
    set(cpu native)
    if(arg_CPU)
      set(cpu ${arg_CPU})
    endif()
    add_custom_command(OUTPUT ${arg_OUTPUT}
      COMMAND ${tool} build ${source} -o ${arg_OUTPUT} --cpu=${cpu} ${arg_OPTIONS}
      DEPENDS ${source} ${tool}
      COMMENT "Building the softmetal library ${arg_OUTPUT}"
      VERBATIM)
  endif()
  add_custom_target(${target} ALL DEPENDS ${arg_OUTPUT})
  set_target_properties(${target} PROPERTIES PYMETAL_LIBRARY_FILE ${arg_OUTPUT})
endfunction()
