#include "bridges/util/paths.hpp"

#include <cstdlib>

namespace bridges {

namespace fs = std::filesystem;

namespace {
fs::path user_cache() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "bridges";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "bridges";
  return fs::temp_directory_path() / "bridges";
}
}  // namespace

fs::path data_dir() {
  if (const char* env = std::getenv("BRIDGES_DATA"); env && *env) return env;
  return user_cache() / "data";
}

fs::path cache_dir() {
  if (const char* env = std::getenv("BRIDGES_CACHE"); env && *env) return env;
  return user_cache() / "cache";
}

}  // namespace bridges
