#pragma once
// The registry over the build tree's plugins, for the suites that make
// components (they link bridges_registry; every suite gets
// BRIDGES_TEST_PLUGIN_DIR from bridges_test()).

#include <nlohmann/json.hpp>

#include <memory>

#include "bridges/dataset.hpp"
#include "bridges/measure.hpp"
#include "bridges/registry/registry.hpp"

namespace bridges::testing {

inline Registry& registry() {
  static Registry r({BRIDGES_TEST_PLUGIN_DIR});
  return r;
}

/// A dataset from its JSON spec, e.g. {"type": "wordnet_nouns", "nodes": 3000}.
inline std::shared_ptr<Dataset> dataset(const nlohmann::json& spec) { return registry().make_from_json<Dataset>(spec); }

/// Measure NAME (with `options`) of the build tree's plugins on a and b.
inline double measure(const std::string& name, const Tensor& a, const Tensor& b,
                      const nlohmann::json& options = nlohmann::json::object()) {
  return registry().make<Measure>(name, options)->compare(a, b);
}

}  // namespace bridges::testing
