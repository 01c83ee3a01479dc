#pragma once
// The metric registry: finds plugin manifests, loads plugin libraries on
// first use, and makes components by name.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bridges/component_source.hpp"
#include "bridges/export.hpp"
#include "bridges/registry/manifest.hpp"
#include "bridges/registry/plugin_index.hpp"

namespace bridges {

/// A ComponentSource backed by plugin libraries.
///
/// Construction reads every manifest on the search path and loads no
/// library. A broken manifest is skipped with a warning (see warnings()); the
/// other plugins keep working. A library is loaded with Boost.DLL the first
/// time one of its components is made, its ABI version, build id and
/// component list are checked, and it stays loaded for as long as the
/// registry or any object it made is alive.
///
/// Example:
///   bridges::Registry registry;  // BRIDGES_PLUGIN_PATH, then the installed plugins
///   auto l1 = registry.make<bridges::Similarity>("l1");
class BRIDGES_API Registry final : public ComponentSource {
 public:
  /// PluginIndex::default_search_path(): BRIDGES_PLUGIN_PATH (colon
  /// separated), then <lib folder>/bridges/plugins, which is the install
  /// prefix's lib/bridges/plugins for an installed bridges and the staging
  /// folder for a build tree.
  static std::vector<std::filesystem::path> default_search_path();

  /// Each entry is a folder (every *.plugin.json in it) or a manifest file.
  /// Earlier entries win when two provide the same plugin or component.
  explicit Registry(std::vector<std::filesystem::path> search_path = default_search_path());
  ~Registry() override;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  /// The manifests on the search path (what list/show read; no loading).
  const PluginIndex& index() const;
  const std::vector<std::filesystem::path>& search_path() const;
  /// The manifests that were read, in search order.
  const std::vector<PluginManifest>& plugins() const;
  /// One line per manifest that was skipped or shadowed, naming the file.
  const std::vector<std::string>& warnings() const;
  /// The manifest of plugin `name`; throws UnknownNameError.
  const PluginManifest& plugin(std::string_view name) const;

  std::vector<ComponentInfo> components() const override;
  std::shared_ptr<Component> create(ComponentKind kind, std::string_view name,
                                    const nlohmann::json& options) override;

  /// Loads plugin `name` now (create() does it on first use) and checks it.
  /// Throws LoadError, AbiMismatchError or ManifestError; a failure is
  /// remembered and thrown again on the next attempt.
  void load(std::string_view name);

  /// A problem found by check().
  struct Problem {
    std::string plugin;           ///< empty for a manifest that could not be read
    std::filesystem::path file;   ///< manifest
    std::string message;
  };

  /// Loads every plugin and makes every component that needs no options:
  /// checks that similarities project a small input to finite values of the
  /// right shape, keep prepare()'s contract, and write themselves back to
  /// JSON that makes an equal component. Skipped manifests are problems too.
  std::vector<Problem> check();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bridges
