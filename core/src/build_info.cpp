#include "bridges/build_info.hpp"

#include <fmt/format.h>

#include "bridges/util/messages.hpp"

namespace bridges {

std::string_view version() { return BRIDGES_VERSION_STRING; }

std::string_view build_id() { return BRIDGES_BUILD_ID; }

std::map<std::string, std::string> parse_build_id(std::string_view id) {
  std::map<std::string, std::string> out;
  for (const auto& part : split_list(id, ';')) {
    const auto eq = part.find('=');
    if (eq == std::string::npos)
      out[part] = "";
    else
      out[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return out;
}

std::string build_id_differences(std::string_view ours, std::string_view theirs) {
  const auto a = parse_build_id(ours), b = parse_build_id(theirs);
  std::vector<std::string> diffs;
  for (const auto& [key, value] : a) {
    auto it = b.find(key);
    const std::string other = it == b.end() ? "(missing)" : it->second;
    if (other != value) diffs.push_back(fmt::format("{}: {} here, {} in the plugin", key, value, other));
  }
  for (const auto& [key, value] : b)
    if (a.count(key) == 0) diffs.push_back(fmt::format("{}: (missing) here, {} in the plugin", key, value));
  return join(diffs, "; ", "");
}

}  // namespace bridges
