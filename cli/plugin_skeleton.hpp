#pragma once
// `bridges plugins new KIND NAME`: the files of a plugin that builds, loads
// and passes its own test as written (no LibTorch: the front end runs it).

#include <filesystem>
#include <string>
#include <vector>

namespace bridges::cli {

/// The kinds there is a skeleton for: similarity, aggregator, encoder, dataset.
std::vector<std::string> skeleton_kinds();

/// Writes CMakeLists.txt, NAME.plugin.json, NAME.cpp, test_NAME.cpp and
/// README.md into `folder` (created; it must be absent or empty: nothing is
/// overwritten). Returns the files written. Throws ConfigError for an
/// unknown kind, a name that is not an identifier, or a folder in use.
std::vector<std::filesystem::path> write_plugin_skeleton(const std::string& kind, const std::string& name,
                                                         const std::filesystem::path& folder);

}  // namespace bridges::cli
