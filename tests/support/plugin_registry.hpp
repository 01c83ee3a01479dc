#pragma once
// The registry over the build tree's plugins, for the suites that make
// components (they link bridges_registry; every suite gets
// BRIDGES_TEST_PLUGIN_DIR from bridges_test()).

#include "bridges/registry/registry.hpp"

namespace bridges::testing {

inline Registry& registry() {
  static Registry r({BRIDGES_TEST_PLUGIN_DIR});
  return r;
}

}  // namespace bridges::testing
