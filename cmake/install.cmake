# Installs the headers, libsoftmetal.so (not on Apple) and an exported target set, so that a consumer's
#   find_package(pymetal) + target_link_libraries(app PRIVATE pymetal::pymetal)
# just works.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/pymetal DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS pymetal EXPORT pymetalTargets)
install(EXPORT pymetalTargets
        NAMESPACE pymetal::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pymetal)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/pymetalConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/pymetalConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pymetal)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pymetalConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pymetalConfig.cmake ${PROJECT_BINARY_DIR}/pymetalConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/pymetalKernelLibrary.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/pymetal)
