# Run by CTest: pymetal-msl's commands, their output and exit status.
# Inputs: MSL (the tool), SOURCE_DIR (this directory), WORK_DIR.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# Runs the tool; expects exit status `want` and output matching `pattern`.
function(expect want pattern)
  execute_process(COMMAND ${MSL} ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("pymetal-msl ${ARGN} -> ${status}\n${out}${err}")
  if(NOT status STREQUAL "${want}")
    message(FATAL_ERROR "exit status ${status}, expected ${want}: pymetal-msl ${ARGN}")
  endif()
  if(NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "output does not match '${pattern}': pymetal-msl ${ARGN}")
  endif()
endfunction()

expect(0 "pymetal-msl [0-9]+\\.[0-9]+\\.[0-9]+ \\(library file format 2, kernel ABI [0-9]+\\)" --version)
# check: a clean source passes silently, an error is reported at the user's file, line and column.
expect(0 "^$" check ${SOURCE_DIR}/precompiled.metal)
expect(1 "broken.metal:5:14: error: use of undeclared identifier 'undefined_thing'" check ${SOURCE_DIR}/broken.metal)
# A -D macro reaches the preprocessor: with it the undeclared name is defined.
expect(0 "^$" check ${SOURCE_DIR}/broken.metal -Dundefined_thing=2.0f)
# Wrong usage is exit status 2, as is an unreadable input.
expect(2 "usage: pymetal-msl check" frobnicate ${SOURCE_DIR}/precompiled.metal)
expect(2 "unknown option --bogus" check ${SOURCE_DIR}/precompiled.metal --bogus)
expect(2 "needs -o" build ${SOURCE_DIR}/precompiled.metal)
expect(2 "cannot read" check ${WORK_DIR}/missing.metal)
# build writes a library file; info describes it; a broken source writes nothing.
expect(0 "^$" build ${SOURCE_DIR}/precompiled.metal -o ${WORK_DIR}/k.smlib --cpu=x86-64-v2)
expect(0 "format 2.*cpu x86-64-v2.*kernel scale_add.*kernel group_sum.*runs on this machine" info ${WORK_DIR}/k.smlib)
expect(1 "broken.metal:5:14: error" build ${SOURCE_DIR}/broken.metal -o ${WORK_DIR}/broken.smlib)
if(EXISTS ${WORK_DIR}/broken.smlib)
  message(FATAL_ERROR "a failed build left a library file")
endif()
# Function constants: the library carries its source (specialising compiles it), and info says so.
expect(0 "^$" build ${SOURCE_DIR}/function_constants.metal -o ${WORK_DIR}/fc.smlib -DBIAS=5)
expect(0 "kernel affine.*function constant factor \\[\\[function_constant\\(0\\)\\]\\].*function constant negate.*source: [0-9]+ bytes.*clang\\+\\+-19.*runs on this machine" info ${WORK_DIR}/fc.smlib)
# Not a library file.
file(WRITE ${WORK_DIR}/garbage.smlib "this is not a library")
expect(1 "not a softmetal library file" info ${WORK_DIR}/garbage.smlib)
message("cli: ok")
