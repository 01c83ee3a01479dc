# Installation and the exported CMake package: find_package(bridges CONFIG)
# gives bridges::core, bridges::registry, bridges::sdk and bridges_add_plugin().
include(CMakePackageConfigHelpers)

install(TARGETS bridges_core bridges_registry bridges_sdk EXPORT bridgesTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY core/include/ registry/include/ sdk/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/core/include/bridges/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bridges)

set(BRIDGES_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bridges)
install(EXPORT bridgesTargets NAMESPACE bridges:: DESTINATION ${BRIDGES_CMAKE_DIR})
configure_package_config_file(cmake/bridgesConfig.cmake.in ${PROJECT_BINARY_DIR}/bridgesConfig.cmake
  INSTALL_DESTINATION ${BRIDGES_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bridgesConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/bridgesConfig.cmake
  ${PROJECT_BINARY_DIR}/bridgesConfigVersion.cmake
  sdk/cmake/BridgesPlugin.cmake
  sdk/cmake/bridges_plugin.map
  DESTINATION ${BRIDGES_CMAKE_DIR})
