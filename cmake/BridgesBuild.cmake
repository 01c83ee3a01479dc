# Build-speed and hygiene settings shared by every bridges target.

# ccache, when present. PCH use needs these sloppiness settings or ccache
# never hits (the .gch is always newer than the header).
find_program(BRIDGES_CCACHE ccache)
if(BRIDGES_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${BRIDGES_CCACHE})
endif()

# One precompiled header is shared by all targets (REUSE_FROM). GCC rejects a
# PCH built with -fPIC in a -fPIE compile, so every object is compiled -fPIC;
# executables still link as PIE.
add_compile_options(-fPIC)
set(CMAKE_POSITION_INDEPENDENT_CODE OFF)
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)

function(bridges_setup_pch)
  # Heavy headers nearly every bridges TU includes. Loading a PCH is not free
  # (~2 s for this one, measured); <torch/types.h> or <ATen/TensorOperators.h>
  # in it would make every TU pay ~5 s or ~3 s, so they stay out.
  # CONFIGURE writes only when the content changes: no rebuild on reconfigure.
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/bridges_pch.cpp CONTENT "// precompiled-header carrier\n")
  add_library(bridges_pch OBJECT ${PROJECT_BINARY_DIR}/bridges_pch.cpp)
  target_link_libraries(bridges_pch PUBLIC torch nlohmann_json::nlohmann_json fmt::fmt OpenMP::OpenMP_CXX)
  target_precompile_headers(bridges_pch PUBLIC
    <ATen/core/Tensor.h> <nlohmann/json.hpp> <fmt/format.h>
    <filesystem> <map> <memory> <optional> <set> <string> <string_view> <vector>)
endfunction()

# Warnings for our own code; call on every first-party target.
function(bridges_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()

# Use the shared PCH in a target. GCC rejects a PCH when a macro it saw is
# defined differently (FMT_SHARED, torch's USE_* ...), so the target also
# gets the libraries whose compile definitions the PCH was built with.
function(bridges_use_pch target)
  target_link_libraries(${target} PRIVATE torch nlohmann_json::nlohmann_json fmt::fmt OpenMP::OpenMP_CXX)
  target_precompile_headers(${target} REUSE_FROM bridges_pch)
endfunction()

# Compile a target's sources in batches (CMake unity build). Each TU pays
# about 2 s of CPU just to load the PCH and instantiate json/fmt templates;
# batching pays it once per batch. File-local names must therefore be unique
# across a target's files.
function(bridges_unity target)
  set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
endfunction()

# bridges_add_library(<name> [NO_TORCH] SOURCES <files...> [PUBLIC <targets...>] [PRIVATE <targets...>])
#
# One layer of bridges: libbridges_<name>.so, target bridges::<name>, headers
# under <folder>/include/bridges/... . PUBLIC lists the layers below it: the
# include path a library sees is its own plus those of what it links, so a
# header of a higher layer cannot be included (it is not found). The layers
# and their allowed direction are drawn in the README's architecture section
# and checked by tests/layers.
function(bridges_add_library name)
  cmake_parse_arguments(ARG "NO_TORCH" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  set(target bridges_${name})
  add_library(${target} SHARED ${ARG_SOURCES})
  add_library(bridges::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME bridges_${name} EXPORT_NAME ${name}
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    # Installed side by side: each finds the layers it links in its own
    # folder (a program's RUNPATH does not apply to its libraries' needs).
    INSTALL_RPATH "$ORIGIN")
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC} PRIVATE fmt::fmt ${ARG_PRIVATE})
  bridges_warnings(${target})
  bridges_unity(${target})
  # NO_TORCH: a layer that must not load LibTorch (the front end's); the
  # shared PCH would bring LibTorch's headers and its link.
  if(NOT ARG_NO_TORCH)
    bridges_use_pch(${target})
  endif()
  set_property(GLOBAL APPEND PROPERTY BRIDGES_LIBRARIES ${target})
  set_property(GLOBAL APPEND PROPERTY BRIDGES_INCLUDE_DIRS ${CMAKE_CURRENT_SOURCE_DIR}/include)
endfunction()
