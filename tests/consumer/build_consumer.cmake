# Run by CTest: cmake -P build_consumer.cmake with PYMETAL_BUILD_DIR, CONSUMER_SOURCE_DIR, WORK_DIR.
# Installs this build to a private prefix; builds a project against it with find_package(pymetal) (and
# with pkg-config); installs that program into the prefix; moves the whole prefix and runs the program
# again; and checks that find_package refuses clearly when a runtime dependency is missing.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(moved ${WORK_DIR}/moved-prefix)

# run(COMMAND...): must succeed. Its output is kept in `last_output`.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}")
  endif()
  set(last_output "${out}${err}" PARENT_SCOPE)
endfunction()
# refused(PATTERN COMMAND...): must fail with output matching PATTERN.
function(refused pattern)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("${out}${err}")
  if(status EQUAL 0)
    message(FATAL_ERROR "succeeded but should have failed: ${ARGN}")
  endif()
  if(NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "failed without saying '${pattern}': ${ARGN}")
  endif()
endfunction()
function(expect_file path)
  if(NOT EXISTS ${path})
    message(FATAL_ERROR "not installed: ${path}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install ${PYMETAL_BUILD_DIR} --prefix ${prefix})
set(libdir lib)
if(EXISTS ${prefix}/lib64/pkgconfig)
  set(libdir lib64)
endif()
expect_file(${prefix}/include/pymetal/version.hpp)
expect_file(${prefix}/share/doc/pymetal/LICENSE)
expect_file(${prefix}/${libdir}/pkgconfig/pymetal.pc)
if(NOT APPLE)
  expect_file(${prefix}/bin/pymetal-msl)
  expect_file(${prefix}/${libdir}/libsoftmetal.so.0.1)
  find_program(objdump NAMES objdump)
  if(objdump)
    run(${objdump} -p ${prefix}/${libdir}/libsoftmetal.so)
    if(NOT last_output MATCHES "SONAME +libsoftmetal\\.so\\.0\\.1")
      message(FATAL_ERROR "libsoftmetal's soname is not versioned")
    endif()
  endif()
endif()

# A sanitizer build's libsoftmetal needs the sanitizer runtimes first in the program that loads it.
set(flags "")
set(sanitize_flags "")
if(CONSUMER_SANITIZE)
  set(flags "-fsanitize=address,undefined")
  set(sanitize_flags -fsanitize=address,undefined)
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${CONSUMER_BUILD_TYPE}
    "-DCMAKE_CXX_FLAGS=${flags}" "-DCMAKE_EXE_LINKER_FLAGS=${flags}")
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
# The consumer must find the installed libsoftmetal, not the build tree's.
run(${WORK_DIR}/build/consumer)

if(NOT APPLE)
  # Relocation: the program installed in the prefix, then the whole prefix moved.
  run(${CMAKE_COMMAND} --install ${WORK_DIR}/build --prefix ${prefix})
  file(RENAME ${prefix} ${moved})
  run(${moved}/bin/consumer)
  # Its precompiled default library runs with no compiler anywhere.
  run(${CMAKE_COMMAND} -E env SOFTMETAL_CXX=/nonexistent/clang++-19 SOFTMETAL_CACHE=0 ${moved}/bin/consumer --default-library)
  if(NOT last_output MATCHES "consumer: ok, default library")
    message(FATAL_ERROR "the default library did not run")
  endif()
  # The build tree's program, away from the moved prefix, cannot find softmetal: the error names every
  # place tried (the stale hint included) and the fixes.
  refused("cannot load softmetal.*tried:.*libsoftmetal\\.so\\.0\\.1.*${prefix}/${libdir}/libsoftmetal\\.so\\.0\\.1.*LD_LIBRARY_PATH.*PYMETAL_METAL"
          ${WORK_DIR}/build/consumer)
  # ... which LD_LIBRARY_PATH fixes.
  run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${moved}/${libdir} ${WORK_DIR}/build/consumer)

  # pkg-config finds the moved package from the .pc file's own place.
  find_program(pkg_config NAMES pkg-config)
  if(pkg_config)
    execute_process(COMMAND ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${moved}/${libdir}/pkgconfig ${pkg_config} --cflags --libs pymetal
                    OUTPUT_VARIABLE pc_flags RESULT_VARIABLE status OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "pkg-config does not know pymetal")
    endif()
    separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
    file(MAKE_DIRECTORY ${WORK_DIR}/pkg-config)
    run(c++ -std=c++17 -O0 ${sanitize_flags} ${CONSUMER_SOURCE_DIR}/main.cpp ${pc_flags} -o ${WORK_DIR}/pkg-config/consumer)
    run(${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${moved}/${libdir} ${WORK_DIR}/pkg-config/consumer)
  else()
    message("pkg-config not installed: the .pc file is checked for presence only")
  endif()

  # find_package(pymetal) with the system's library directories hidden: softmetal's runtime
  # dependencies are missing, and it says which and what to install.
  file(WRITE ${WORK_DIR}/hide-system-libraries.cmake
       "set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu "
       "/lib/aarch64-linux-gnu /usr/lib /lib /usr/local/lib /usr/lib64 /lib64 CACHE STRING \"\")\n")
  refused("pymetal.*NOT FOUND.*libobjc\\.so\\.4: the GNU Objective-C runtime \\(Debian package libobjc4\\)"
          ${CMAKE_COMMAND} -C ${WORK_DIR}/hide-system-libraries.cmake -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build-missing
          -DCMAKE_PREFIX_PATH=${moved})
endif()
message("consumer: ok, relocated")
