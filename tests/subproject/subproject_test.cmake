# Run by CTest: pymetal as a subproject of another project, by add_subdirectory and by FetchContent
# from a local clone, with PYMETAL_BUILD_SOFTMETAL=OFF (this build's softmetal and pymetal-msl stand in
# for installed ones, so softmetal is not built again). The parent checks its own settings; the
# program it builds runs a compiled kernel and one from its precompiled default library.
# Inputs: PYMETAL_SOURCE_DIR, SOFTMETAL_LIBRARY, MSL, CONSUMER_DIR (tests/consumer/project), WORK_DIR.
file(REMOVE_RECURSE ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}")
  endif()
  set(last_output "${out}${err}" PARENT_SCOPE)
endfunction()

set(ways subdirectory)
find_program(git NAMES git)
if(git AND EXISTS ${PYMETAL_SOURCE_DIR}/.git)
  execute_process(COMMAND ${git} -C ${PYMETAL_SOURCE_DIR} rev-parse HEAD OUTPUT_VARIABLE head RESULT_VARIABLE status
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(status EQUAL 0)
    list(APPEND ways fetch)
  endif()
else()
  message("git or a git checkout missing: FetchContent is not tested")
endif()

# A sanitizer build's libsoftmetal needs the sanitizer runtimes first in the program that loads it.
set(flags "")
if(CONSUMER_SANITIZE)
  set(flags "-fsanitize=address,undefined")
endif()

foreach(way IN LISTS ways)
  set(build ${WORK_DIR}/${way})
  # FetchContent clones the committed HEAD of this checkout (uncommitted changes are not in it).
  run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR}/parent -B ${build}
      -DPARENT_WAY=${way} -DPYMETAL_SOURCE_DIR=${PYMETAL_SOURCE_DIR}
      -DPYMETAL_GIT_REPOSITORY=${PYMETAL_SOURCE_DIR} -DPYMETAL_GIT_TAG=${head}
      -DPYMETAL_BUILD_SOFTMETAL=OFF -DPYMETAL_SOFTMETAL_LIBRARY=${SOFTMETAL_LIBRARY} -DPYMETAL_MSL_EXECUTABLE=${MSL}
      -DHELLO_SOURCE=${CONSUMER_DIR}/main.cpp -DKERNELS_SOURCE=${CONSUMER_DIR}/kernels.metal
      "-DCMAKE_CXX_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}")
  if(NOT last_output MATCHES "parent: settings untouched \\(build type ''")
    message(FATAL_ERROR "the parent did not check its settings")
  endif()
  run(${CMAKE_COMMAND} --build ${build})
  run(${build}/hello)
  run(${CMAKE_COMMAND} -E env SOFTMETAL_CXX=/nonexistent/clang++-19 SOFTMETAL_CACHE=0 ${build}/hello --default-library)
  message("subproject (${way}): ok")
endforeach()
message("subproject: ok")
