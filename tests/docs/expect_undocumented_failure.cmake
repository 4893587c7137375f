# Runs Doxygen's check configuration on tests/docs/undocumented/widget.hpp: it must fail, naming the
# undocumented class, and must not complain about the documented one.
execute_process(COMMAND ${DOXYGEN} ${DOXYFILE} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "doxygen passed a header with an undocumented class:\n${all}")
endif()
if(NOT all MATCHES "pymetal::undocumented_widget is not documented")
  message(FATAL_ERROR "doxygen failed without naming the undocumented class:\n${all}")
endif()
if(all MATCHES "pymetal::documented_widget is not documented|of class pymetal::documented_widget")
  message(FATAL_ERROR "doxygen complained about the documented class:\n${all}")
endif()
message("docs check: ok")
