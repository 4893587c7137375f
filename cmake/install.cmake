# Installs the headers, libsoftmetal (not on Apple), pymetal-msl, an exported target set, a pkg-config
# file and the LICENSE, so that a consumer's
#   find_package(pymetal) + target_link_libraries(app PRIVATE pymetal::pymetal)
# just works.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pymetal DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS pymetal EXPORT pymetalTargets)
install(EXPORT pymetalTargets
        NAMESPACE pymetal::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pymetal)

if(TARGET softmetal)
  set(PYMETAL_HAS_SOFTMETAL ON)
else()
  set(PYMETAL_HAS_SOFTMETAL OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pymetalConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/pymetalConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pymetal)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pymetalConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pymetalConfig.cmake ${PROJECT_BINARY_DIR}/pymetalConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/pymetalKernelLibrary.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pymetal)

# pkg-config, relocatable: the prefix is found from the .pc file's own directory.
file(RELATIVE_PATH PYMETAL_PC_PREFIX_FROM_PCDIR /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
set(PYMETAL_PC_LIBS ${CMAKE_DL_LIBS})
if(PYMETAL_PC_LIBS)
  set(PYMETAL_PC_LIBS -l${PYMETAL_PC_LIBS})
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/pymetal.pc.in ${PROJECT_BINARY_DIR}/pymetal.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pymetal.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
