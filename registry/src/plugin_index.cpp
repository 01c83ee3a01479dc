#include "bridges/registry/plugin_index.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> manifests_in(const fs::path& entry, std::vector<std::string>& warnings) {
  std::error_code ec;
  if (fs::is_regular_file(entry, ec)) return {entry};
  if (!fs::is_directory(entry, ec)) {
    warnings.push_back(fmt::format("{}: plugin search path entry does not exist; it is ignored.", entry.string()));
    return {};
  }
  std::vector<fs::path> found;
  for (const auto& item : fs::directory_iterator(entry, ec)) {
    const std::string name = item.path().filename().string();
    if (name.size() > kManifestSuffix.size() && name.ends_with(kManifestSuffix)) found.push_back(item.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

// The folder of the shared library this code is in.
fs::path this_library_folder() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&this_library_folder), &info) == 0 || info.dli_fname == nullptr) return {};
  return fs::path(info.dli_fname).parent_path();
}

}  // namespace

std::vector<fs::path> PluginIndex::default_search_path() {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("BRIDGES_PLUGIN_PATH"))
    for (const auto& part : split_list(env, ':')) out.emplace_back(part);
  std::error_code ec;
  // The loader may have found this library through an RPATH like
  // $ORIGIN/../lib: normalise "bin/../lib" so that messages show clean paths.
  const fs::path beside = (this_library_folder() / "bridges" / "plugins").lexically_normal();
  if (fs::is_directory(beside, ec)) out.push_back(beside);
  return out;
}

PluginIndex::PluginIndex(std::vector<fs::path> search_path) : search_path_(std::move(search_path)) {
  for (const auto& entry : search_path_) {
    for (const auto& file : manifests_in(entry, warnings_)) {
      PluginManifest manifest;
      try {
        manifest = read_manifest(file);
      } catch (const Error& e) {
        warnings_.push_back(fmt::format("skipped: {}", e.what()));
        skipped_.emplace_back(file, e.what());
        continue;
      }
      const auto same = std::find_if(plugins_.begin(), plugins_.end(),
                                     [&](const auto& p) { return p.plugin == manifest.plugin; });
      if (same != plugins_.end()) {
        warnings_.push_back(fmt::format("{}: plugin '{}' is shadowed by {}, earlier on the search path.",
                                        file.string(), manifest.plugin, same->file.string()));
        continue;
      }
      const std::size_t index = plugins_.size();
      for (const auto& c : manifest.provides) {
        const std::string qualified = c.qualified_name();
        if (const auto earlier = provider_of(qualified)) {
          warnings_.push_back(fmt::format("{}: {} is shadowed by plugin '{}', earlier on the search path.",
                                          file.string(), qualified, plugins_[*earlier].plugin));
          continue;
        }
        const auto at = std::lower_bound(by_component_.begin(), by_component_.end(), qualified,
                                         [](const auto& item, const std::string& q) { return item.first < q; });
        by_component_.insert(at, {qualified, index});
      }
      plugins_.push_back(std::move(manifest));
    }
  }
}

std::size_t PluginIndex::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < plugins_.size(); ++i)
    if (plugins_[i].plugin == name) return i;
  std::vector<std::string> names;
  for (const auto& p : plugins_) names.push_back(p.plugin);
  throw_unknown_name("plugin", name, names);
}

std::optional<std::size_t> PluginIndex::provider_of(std::string_view qualified) const {
  const auto at = std::lower_bound(by_component_.begin(), by_component_.end(), qualified,
                                   [](const auto& item, std::string_view q) { return item.first < q; });
  if (at == by_component_.end() || at->first != qualified) return std::nullopt;
  return at->second;
}

std::vector<ComponentInfo> PluginIndex::components() const {
  std::vector<ComponentInfo> out;
  for (const auto& [qualified, index] : by_component_)
    for (const auto& c : plugins_[index].provides)
      if (c.qualified_name() == qualified) out.push_back(c);
  return out;
}

}  // namespace bridges
