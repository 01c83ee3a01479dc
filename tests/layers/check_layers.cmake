# Checks every #include of a bridges header against the layer table:
#
#   cmake -DSOURCE_DIR=<tree> -P check_layers.cmake
#
# A layer may include its own headers and those of the layers it builds on;
# the libraries' include paths already make a wrong include fail to build
# (the header is not found), this check names the rule in plain words and
# also covers plugins, the CLI and the SDK. Keep the table in step with
# target_link_libraries and the README's architecture section.
cmake_minimum_required(VERSION 3.25)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<source tree> -P check_layers.cmake")
endif()

# folder | include prefixes it may use ("core" = <bridges/X.hpp>, util/, plugin_abi.h, version.hpp)
set(layers
  "core|core"
  "formats|core formats"
  "relative|core formats relative"
  "toolkits/text|core text"
  "toolkits/graph|core graph"
  "experiments|core formats relative experiments"
  "registry|core registry"
  "sdk|core sdk"
  "plugins|core sdk formats relative text graph"
  "cli|core formats relative text graph experiments registry"
  "python|core formats relative experiments registry")

function(prefix_of include out)  # bridges/relative/x.hpp -> relative; bridges/x.hpp -> core
  if(include MATCHES "^bridges/([a-z_]+)/")
    set(prefix ${CMAKE_MATCH_1})
    if(prefix STREQUAL "util")
      set(prefix core)
    endif()
  else()
    set(prefix core)
  endif()
  set(${out} ${prefix} PARENT_SCOPE)
endfunction()

set(violations "")
set(checked 0)
foreach(entry ${layers})
  string(REPLACE "|" ";" parts "${entry}")
  list(GET parts 0 folder)
  list(GET parts 1 allowed)
  string(REPLACE " " ";" allowed "${allowed}")
  file(GLOB_RECURSE files "${SOURCE_DIR}/${folder}/*.cpp" "${SOURCE_DIR}/${folder}/*.hpp" "${SOURCE_DIR}/${folder}/*.h")
  foreach(file ${files})
    math(EXPR checked "${checked} + 1")
    file(STRINGS ${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]bridges/")
    foreach(line ${includes})
      string(REGEX MATCH "bridges/[a-z_/]+\\.h(pp)?" include "${line}")
      prefix_of("${include}" prefix)
      if(NOT prefix IN_LIST allowed)
        file(RELATIVE_PATH shown ${SOURCE_DIR} ${file})
        string(APPEND violations "  ${shown}: includes <${include}> (layer '${prefix}'), but ${folder}/ may use only: ${allowed}\n")
      endif()
    endforeach()
  endforeach()
endforeach()

if(checked EQUAL 0)
  message(FATAL_ERROR "check_layers: no source file found under ${SOURCE_DIR}; is SOURCE_DIR the source tree?")
endif()
if(violations)
  message(FATAL_ERROR "layer violations: a layer includes a layer above it or beside it.\n${violations}"
    "Move the code down to a layer both can use, or the include up; the table is in tests/layers/check_layers.cmake.")
endif()
message(STATUS "layers: ${checked} files, every bridges include within its layer")
