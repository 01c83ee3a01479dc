#pragma once
// Where the Python module's components come from: the plugin registry, and
// similarities written in Python registered in-process.
#include <map>
#include <memory>
#include <mutex>

#include "bridges/component_source.hpp"
#include "bridges/registry/registry.hpp"
#include "convert.hpp"

namespace bridges::python {

/// The registry's components and the ones registered from Python (each in
/// its own InProcessSource, so registering a name again replaces it: a
/// notebook cell run twice). A Python name may not shadow a plugin's.
class PythonSource final : public ComponentSource {
 public:
  /// The process's one source: made on first use and never destroyed (the
  /// plugins stay loaded, and no Python object is released after the
  /// interpreter is gone).
  static PythonSource& instance();

  Registry& registry() { return registry_; }
  std::vector<ComponentInfo> components() const override;
  std::shared_ptr<Component> create(ComponentKind kind, std::string_view name, const nlohmann::json& options) override;

  /// Registers similarity NAME computed by `function(x, anchors, **options)`
  /// -> [n, k]; `declaration` as InProcessSource::add reads it.
  void add_similarity(const std::string& name, py::function function, const nlohmann::json& declaration);

 private:
  PythonSource() = default;
  Registry registry_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<InProcessSource>, std::less<>> python_;  // by qualified name
};

}  // namespace bridges::python
