#pragma once
// The registry over the build tree's plugins, for the suites that make
// components (they link bridges_registry; every suite gets
// BRIDGES_TEST_PLUGIN_DIR from bridges_test()).

#include <nlohmann/json.hpp>

#include <memory>

#include "bridges/dataset.hpp"
#include "bridges/registry/registry.hpp"

namespace bridges::testing {

inline Registry& registry() {
  static Registry r({BRIDGES_TEST_PLUGIN_DIR});
  return r;
}

/// A dataset from its JSON spec, e.g. {"type": "wordnet_nouns", "nodes": 3000}.
inline std::shared_ptr<Dataset> dataset(const nlohmann::json& spec) { return registry().make_from_json<Dataset>(spec); }

}  // namespace bridges::testing
