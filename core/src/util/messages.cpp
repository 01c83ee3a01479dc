#include "bridges/util/messages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <numeric>

#include "bridges/error.hpp"

namespace bridges {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance: Levenshtein plus adjacent swaps,
  // the commonest typo ("cosnie").
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  std::iota(prev.begin(), prev.end(), std::size_t{0});
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::optional<std::string> closest_name(std::string_view name, const std::vector<std::string>& candidates) {
  // Short names allow one slip: "zq" is no typo of "l1".
  const std::size_t limit = name.size() <= 3 ? 1 : std::max<std::size_t>(2, name.size() / 3);
  std::optional<std::string> best;
  std::size_t best_distance = SIZE_MAX;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(name, candidate);
    // A truncated or extended name ("farthest", "l2norm") is a plausible
    // slip even when many characters differ.
    const std::string_view shorter = name.size() < candidate.size() ? name : std::string_view(candidate);
    const std::string_view longer = name.size() < candidate.size() ? std::string_view(candidate) : name;
    const bool prefix = shorter.size() >= 2 && longer.substr(0, shorter.size()) == shorter;
    if ((d <= limit || prefix) && d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
  auto best = closest_name(name, candidates);
  return best ? fmt::format(" Did you mean '{}'?", *best) : std::string{};
}

std::string counted(std::size_t n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

std::string join(const std::vector<std::string>& items, std::string_view separator, std::string_view empty) {
  if (items.empty()) return std::string(empty);
  return fmt::format("{}", fmt::join(items, separator));
}

std::vector<std::string> split_list(std::string_view text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = end + 1;
  }
  return out;
}

std::vector<std::string> close_names(std::string_view name, const std::vector<std::string>& candidates,
                                     std::size_t count) {
  const std::size_t limit = name.size() <= 3 ? 1 : std::max<std::size_t>(2, name.size() / 2);
  std::vector<std::pair<std::size_t, std::string>> near;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(name, candidate);
    const bool part = name.size() >= 2 && (candidate.find(name) != std::string::npos ||
                                           (candidate.size() >= 2 && name.find(candidate) != std::string_view::npos));
    if (d <= limit || part) near.emplace_back(d, candidate);
  }
  std::sort(near.begin(), near.end());
  std::vector<std::string> out;
  for (auto& [d, candidate] : near) {
    if (out.size() == count) break;
    if (std::find(out.begin(), out.end(), candidate) == out.end()) out.push_back(std::move(candidate));
  }
  return out;
}

void throw_unknown_name(std::string_view what, std::string_view name, const std::vector<std::string>& available) {
  std::vector<std::string> names;
  for (const auto& n : available)
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  // A list of 80 names hides the one the reader wants: past 20, the close
  // ones and the count.
  constexpr std::size_t longest_list = 20;
  if (names.size() <= longest_list)
    throw UnknownNameError(
        fmt::format("{} '{}' does not exist.{} Available: {}.", what, name, did_you_mean(name, names), join(names)));
  const std::vector<std::string> near = close_names(name, names);
  if (near.empty())
    throw UnknownNameError(
        fmt::format("{} '{}' does not exist, nor any name close to it ({} names in all).", what, name, names.size()));
  throw UnknownNameError(fmt::format("{} '{}' does not exist.{} Close names: {} ({} names in all).", what, name,
                                     did_you_mean(name, names), join(near), names.size()));
}

}  // namespace bridges
