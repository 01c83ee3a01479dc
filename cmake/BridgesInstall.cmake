# Installation and the exported CMake package: find_package(bridges CONFIG
# [COMPONENTS ...]) gives one target per layer (bridges::core, formats,
# relative, text, graph, experiments), bridges::registry, bridges::sdk and
# bridges_add_plugin().
include(CMakePackageConfigHelpers)

get_property(bridges_libraries GLOBAL PROPERTY BRIDGES_LIBRARIES)
get_property(bridges_include_dirs GLOBAL PROPERTY BRIDGES_INCLUDE_DIRS)
install(TARGETS ${bridges_libraries} bridges_sdk EXPORT bridgesTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(dir ${bridges_include_dirs} ${PROJECT_SOURCE_DIR}/sdk/include)
  install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/core/include/bridges/version.hpp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bridges)

# The component names find_package accepts: the libraries' export names.
set(BRIDGES_COMPONENTS sdk)
foreach(target ${bridges_libraries})
  get_target_property(name ${target} EXPORT_NAME)
  list(APPEND BRIDGES_COMPONENTS ${name})
endforeach()

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

# The same package from the build tree, with no install: an out-of-tree
# plugin or host program configured with -Dbridges_DIR=<this build folder>
# finds the build's libraries and headers (bridgesConfig.cmake above, beside
# the build-tree targets and the plugin function).
export(EXPORT bridgesTargets NAMESPACE bridges:: FILE ${PROJECT_BINARY_DIR}/bridgesTargets.cmake)
configure_file(sdk/cmake/BridgesPlugin.cmake ${PROJECT_BINARY_DIR}/BridgesPlugin.cmake COPYONLY)
configure_file(sdk/cmake/bridges_plugin.map ${PROJECT_BINARY_DIR}/bridges_plugin.map COPYONLY)
