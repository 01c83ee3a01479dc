#include "cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "bridges/util/io.hpp"
#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges::cli {

Registry& Context::registry() {
  if (!registry_) {
    std::vector<std::filesystem::path> path(plugin_path.begin(), plugin_path.end());
    for (auto& p : Registry::default_search_path()) path.push_back(std::move(p));
    registry_ = std::make_unique<Registry>(std::move(path));
    for (const auto& warning : registry_->warnings()) std::cerr << "warning: " << warning << '\n';
  }
  return *registry_;
}

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c)
      text += c + 1 == cells.size() ? cells[c] : fmt::format("{:<{}}  ", cells[c], width[c]);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
  };
  line(header);
  for (const auto& row : rows) line(row);
}

std::vector<std::string> list_values(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    if (!value.empty() && value.front() == '{') {
      out.push_back(value);
      continue;
    }
    for (auto& item : split_list(value)) out.push_back(std::move(item));
  }
  return out;
}

nlohmann::json parse_spec(const std::string& value, std::string_view option) {
  if (value.empty() || value.front() != '{') return {{"type", value}};
  return parse_json(value, fmt::format("{} {}", option, value));
}

}  // namespace bridges::cli
