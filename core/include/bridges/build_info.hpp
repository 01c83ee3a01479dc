#pragma once
// Versions, and the build id that a plugin must share with the loader.

// TORCH_VERSION, for BRIDGES_BUILD_ID: a plugin stamps the LibTorch its own
// headers are. (Guarded: the LibTorch-free front end includes this header
// for version() only.)
#if __has_include(<torch/version.h>)
#include <torch/version.h>
#endif

#include <map>
#include <string>
#include <string_view>

#include "bridges/export.hpp"
#include "bridges/version.hpp"

#define BRIDGES_STRINGIFY_(x) #x
#define BRIDGES_STRINGIFY(x) BRIDGES_STRINGIFY_(x)

/// What must match between the core and a plugin for C++ objects to cross
/// between them: the bridges major.minor (the interfaces), LibTorch's
/// version (the tensor type), the compiler family and major version, and the
/// libstdc++ string ABI. Evaluated where it is expanded: the SDK embeds the
/// plugin's view, the core its own.
#define BRIDGES_BUILD_ID                                                                             \
  "bridges=" BRIDGES_STRINGIFY(BRIDGES_VERSION_MAJOR) "." BRIDGES_STRINGIFY(BRIDGES_VERSION_MINOR) \
  ";torch=" TORCH_VERSION ";cxx=gcc-" BRIDGES_STRINGIFY(__GNUC__)                                    \
  ";cxx11abi=" BRIDGES_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)

namespace bridges {

/// "0.1.0"
BRIDGES_API std::string_view version();

/// The core's BRIDGES_BUILD_ID.
BRIDGES_API std::string_view build_id();

/// The git commit the library was built from ("0668712a1b2c"), with
/// "+dirty" when tracked files had changes, or "unknown" (not built from a
/// git checkout).
BRIDGES_API std::string_view build_commit();

/// Parses "k=v;k=v" into a map; malformed parts are kept under their text.
BRIDGES_API std::map<std::string, std::string> parse_build_id(std::string_view id);

/// The differences between two build ids ("torch: 1.13.0 here, 2.1.0 in the
/// plugin"); empty when they are compatible.
BRIDGES_API std::string build_id_differences(std::string_view ours, std::string_view theirs);

}  // namespace bridges
