#pragma once
// Plugin manifests: the JSON file beside each plugin library, read without
// loading the library.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridges/component_source.hpp"
#include "bridges/export.hpp"

namespace bridges {

/// A parsed, validated manifest:
///
///   {"manifest_version": 1, "plugin": "distances", "version": "0.1.0",
///    "library": "libbridges_distances.so", "abi": 1,
///    "description": "...",                                  (optional)
///    "provides": [{"kind": "similarity", "name": "cosine",
///                  "description": "...",
///                  "invariances": ["isotropic_scaling", ...],  (similarities)
///                  "options": {...OptionSchema spec...}}]}
struct BRIDGES_API PluginManifest {
  std::filesystem::path file;      ///< the manifest itself
  std::string plugin;              ///< plugin name
  std::string version;
  std::string description;
  std::filesystem::path library;   ///< resolved against the manifest's folder
  uint32_t abi = 0;
  std::vector<ComponentInfo> provides;
};

/// The file name a manifest must have to be found on the search path.
inline constexpr std::string_view kManifestSuffix = ".plugin.json";

/// Reads and validates a manifest. Throws ManifestError naming the file, the
/// JSON path, what was expected and what was found; AbiMismatchError when it
/// declares another plugin ABI; IoError when it cannot be read.
BRIDGES_API PluginManifest read_manifest(const std::filesystem::path& file);

/// Validates an already parsed manifest; `file` is used in messages and to
/// resolve the library path.
BRIDGES_API PluginManifest parse_manifest(const nlohmann::json& manifest, const std::filesystem::path& file);

}  // namespace bridges
