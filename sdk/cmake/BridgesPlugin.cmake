# bridges_add_plugin(NAME <name> SOURCES <files...> MANIFEST <file.json>
#                    [LIBRARIES <targets...>] [STAGING_DIR <dir>] [NO_INSTALL])
#
# Builds the plugin library libbridges_<name>.so with hidden visibility and
# only the entry point bridges_plugin_v1 exported, checks the manifest at
# configure time ("plugin" must be <name>, "library" libbridges_<name>.so),
# passes the manifest's name and version to the sources (BRIDGES_PLUGIN_NAME,
# BRIDGES_PLUGIN_VERSION, which BRIDGES_PLUGIN() uses),
# stages library and manifest (as <name>.plugin.json) in
# BRIDGES_PLUGIN_STAGING_DIR so they are found from the build tree, and
# installs both in BRIDGES_PLUGIN_INSTALL_DIR.
#
# Defaults: BRIDGES_PLUGIN_STAGING_DIR = <build>/lib/bridges/plugins,
#           BRIDGES_PLUGIN_INSTALL_DIR = <libdir>/bridges/plugins.
# STAGING_DIR stages this plugin elsewhere; NO_INSTALL leaves it out of the
# install (test fixtures).
# Point BRIDGES_PLUGIN_PATH at either folder to use the plugin.

include_guard(GLOBAL)
include(GNUInstallDirs)
# A cache entry, not a variable: visible from every directory that calls the function.
set(_BRIDGES_PLUGIN_MAP "${CMAKE_CURRENT_LIST_DIR}/bridges_plugin.map" CACHE INTERNAL "bridges plugin version script")

function(bridges_add_plugin)
  cmake_parse_arguments(ARG "NO_INSTALL" "NAME;MANIFEST;STAGING_DIR" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_NAME OR NOT ARG_SOURCES OR NOT ARG_MANIFEST)
    message(FATAL_ERROR "bridges_add_plugin: NAME, SOURCES and MANIFEST are required, e.g.\n"
      "  bridges_add_plugin(NAME angular SOURCES angular.cpp MANIFEST angular.plugin.json)")
  endif()
  if(NOT ARG_NAME MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "bridges_add_plugin: NAME '${ARG_NAME}' must be lower-case letters, digits and '_'.")
  endif()
  if(NOT DEFINED BRIDGES_PLUGIN_STAGING_DIR)
    set(BRIDGES_PLUGIN_STAGING_DIR ${CMAKE_BINARY_DIR}/lib/bridges/plugins)
  endif()
  if(ARG_STAGING_DIR)
    set(BRIDGES_PLUGIN_STAGING_DIR ${ARG_STAGING_DIR})
  endif()
  if(NOT DEFINED BRIDGES_PLUGIN_INSTALL_DIR)
    set(BRIDGES_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/bridges/plugins)
  endif()

  get_filename_component(manifest ${ARG_MANIFEST} ABSOLUTE)
  set(library_file "libbridges_${ARG_NAME}.so")
  file(READ ${manifest} text)
  string(JSON plugin ERROR_VARIABLE error GET "${text}" plugin)
  if(error)
    message(FATAL_ERROR "bridges_add_plugin(${ARG_NAME}): ${manifest} has no readable \"plugin\": ${error}")
  endif()
  string(JSON version ERROR_VARIABLE error GET "${text}" version)
  if(error)
    message(FATAL_ERROR "bridges_add_plugin(${ARG_NAME}): ${manifest} has no readable \"version\": ${error}")
  endif()
  string(JSON library ERROR_VARIABLE error GET "${text}" library)
  if(NOT plugin STREQUAL ARG_NAME OR NOT library STREQUAL library_file)
    message(FATAL_ERROR "bridges_add_plugin(${ARG_NAME}): ${manifest} must say \"plugin\": \"${ARG_NAME}\" and "
      "\"library\": \"${library_file}\"; it says \"plugin\": \"${plugin}\", \"library\": \"${library}\".")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${manifest})

  set(target bridges_plugin_${ARG_NAME})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME bridges_${ARG_NAME} PREFIX lib
    LIBRARY_OUTPUT_DIRECTORY ${BRIDGES_PLUGIN_STAGING_DIR}
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    INSTALL_RPATH "$ORIGIN/../.." INSTALL_RPATH_USE_LINK_PATH ON)
  target_link_libraries(${target} PRIVATE bridges::sdk ${ARG_LIBRARIES})
  # Name and version are said once, in the manifest: BRIDGES_PLUGIN() puts
  # these in the library's descriptor, and the registry checks them.
  target_compile_definitions(${target} PRIVATE BRIDGES_PLUGIN_NAME="${plugin}" BRIDGES_PLUGIN_VERSION="${version}")
  target_link_options(${target} PRIVATE "LINKER:--version-script=${_BRIDGES_PLUGIN_MAP}" "LINKER:--no-undefined")
  if(TARGET bridges_pch)
    target_precompile_headers(${target} REUSE_FROM bridges_pch)
  endif()
  # The staged manifest is a build output of the plugin that depends on the
  # source manifest, so editing only the manifest re-stages it.
  set(staged ${BRIDGES_PLUGIN_STAGING_DIR}/${ARG_NAME}.plugin.json)
  add_custom_command(OUTPUT ${staged}
    COMMAND ${CMAKE_COMMAND} -E copy ${manifest} ${staged}
    DEPENDS ${manifest} VERBATIM)
  target_sources(${target} PRIVATE ${staged})
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${BRIDGES_PLUGIN_INSTALL_DIR})
    install(FILES ${manifest} DESTINATION ${BRIDGES_PLUGIN_INSTALL_DIR} RENAME ${ARG_NAME}.plugin.json)
  endif()
endfunction()
