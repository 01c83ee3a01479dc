#pragma once
// The plugins a search path offers, read from their manifests: no library
// is loaded and LibTorch is not needed (the `bridges` front end lists and
// shows plugins with this; bridges::Registry loads them).

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bridges/component_source.hpp"
#include "bridges/export.hpp"
#include "bridges/registry/manifest.hpp"

namespace bridges {

/// Every manifest on a search path, in search order.
///
/// A broken manifest is skipped with a warning (warnings(), skipped()); a
/// plugin or component that an earlier entry already provides is shadowed,
/// with a warning.
///
/// Example:
///   bridges::PluginIndex index;  // BRIDGES_PLUGIN_PATH, then the installed plugins
///   for (const auto& c : index.components()) std::cout << c.qualified_name() << '\n';
class BRIDGES_API PluginIndex {
 public:
  /// BRIDGES_PLUGIN_PATH (colon separated), then <folder of this library>/
  /// bridges/plugins: the install prefix's lib/bridges/plugins for an
  /// installed bridges and the staging folder for a build tree.
  static std::vector<std::filesystem::path> default_search_path();

  /// Each entry is a folder (every *.plugin.json in it) or a manifest file.
  /// Earlier entries win when two provide the same plugin or component.
  explicit PluginIndex(std::vector<std::filesystem::path> search_path = default_search_path());

  const std::vector<std::filesystem::path>& search_path() const { return search_path_; }
  /// The manifests that were read, in search order.
  const std::vector<PluginManifest>& plugins() const { return plugins_; }
  /// One line per manifest that was skipped or shadowed, naming the file.
  const std::vector<std::string>& warnings() const { return warnings_; }
  /// The manifests that could not be read, each with the reason.
  const std::vector<std::pair<std::filesystem::path, std::string>>& skipped() const { return skipped_; }

  /// The position in plugins() of plugin `name`; throws UnknownNameError
  /// (with the closest names).
  std::size_t index_of(std::string_view name) const;
  /// The manifest of plugin `name`; throws UnknownNameError.
  const PluginManifest& plugin(std::string_view name) const { return plugins_[index_of(name)]; }
  /// The position in plugins() of the plugin that provides `qualified`
  /// ("similarity/cosine"), if any.
  std::optional<std::size_t> provider_of(std::string_view qualified) const;
  /// Every component that is not shadowed, sorted by qualified name.
  std::vector<ComponentInfo> components() const;

 private:
  std::vector<std::filesystem::path> search_path_;
  std::vector<PluginManifest> plugins_;
  std::vector<std::pair<std::string, std::size_t>> by_component_;  // qualified name -> plugin, sorted
  std::vector<std::string> warnings_;
  std::vector<std::pair<std::filesystem::path, std::string>> skipped_;
};

}  // namespace bridges
