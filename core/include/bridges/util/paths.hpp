#pragma once
// Where bridges keeps data and caches.

#include <filesystem>

#include "bridges/export.hpp"

namespace bridges {

/// Data sets fetched by scripts/setup (npm packages, converted files):
/// $BRIDGES_DATA, else $XDG_CACHE_HOME/bridges/data, else ~/.cache/bridges/data.
BRIDGES_API std::filesystem::path data_dir();

/// Trained encoders and other reusable results: $BRIDGES_CACHE, else
/// $XDG_CACHE_HOME/bridges/cache, else ~/.cache/bridges/cache.
BRIDGES_API std::filesystem::path cache_dir();

}  // namespace bridges
