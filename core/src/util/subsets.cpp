#include "bridges/util/subsets.hpp"

#include <ATen/ops/from_blob.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>

#include "bridges/error.hpp"
#include "bridges/util/random.hpp"

namespace bridges {

namespace {

// Per class, how many rows to keep so that the total is `count` and each
// class keeps its share: floor of the exact share, then the largest
// remainders get one more (ties: smaller label).
std::map<int64_t, int64_t> quotas(const std::map<int64_t, std::vector<int64_t>>& members, int64_t total, int64_t count) {
  std::map<int64_t, int64_t> quota;
  std::vector<std::pair<double, int64_t>> remainders;
  int64_t assigned = 0;
  for (const auto& [label, rows] : members) {
    const double exact = static_cast<double>(count) * static_cast<double>(rows.size()) / static_cast<double>(total);
    quota[label] = static_cast<int64_t>(exact);
    assigned += quota[label];
    remainders.emplace_back(exact - static_cast<double>(quota[label]), label);
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = 0; assigned < count && i < remainders.size(); ++i, ++assigned) ++quota[remainders[i].second];
  return quota;
}

Tensor sorted_tensor(std::vector<int64_t> rows) {
  std::sort(rows.begin(), rows.end());
  return at::from_blob(rows.data(), {static_cast<int64_t>(rows.size())}, at::kLong).clone();
}

// Splits rows into (chosen, rest), `count` chosen, stratified by label.
std::pair<std::vector<int64_t>, std::vector<int64_t>> choose(const Tensor& labels, int64_t count, uint64_t seed) {
  if (!labels.defined() || labels.dim() != 1)
    throw ShapeError(fmt::format("stratified subset: labels must be [n], found {}.", describe(labels)));
  const Tensor l = labels.to(at::kLong).contiguous();
  const int64_t n = l.numel();
  std::map<int64_t, std::vector<int64_t>> members;
  for (int64_t i = 0; i < n; ++i) members[l.data_ptr<int64_t>()[i]].push_back(i);
  const auto quota = quotas(members, n, std::min(count, n));
  std::mt19937_64 rng(seed);
  std::vector<int64_t> chosen, rest;
  for (auto& [label, rows] : members) {
    shuffle_prefix(rows, static_cast<int64_t>(rows.size()), rng);
    const auto take = static_cast<std::size_t>(quota.at(label));
    chosen.insert(chosen.end(), rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(take));
    rest.insert(rest.end(), rows.begin() + static_cast<std::ptrdiff_t>(take), rows.end());
  }
  return {chosen, rest};
}

}  // namespace

Tensor stratified_subset(const Tensor& labels, int64_t count, uint64_t seed) {
  if (count < 1) throw ConfigError(fmt::format("stratified subset: the count must be at least 1, found {}.", count));
  return sorted_tensor(choose(labels, count, seed).first);
}

std::pair<Tensor, Tensor> stratified_split(const Tensor& labels, int64_t test_count, uint64_t seed) {
  if (test_count < 1 || test_count >= labels.size(0))
    throw ConfigError(fmt::format("stratified split: the test count must be between 1 and {} (the samples less one), "
                                  "found {}.",
                                  labels.size(0) - 1, test_count));
  auto [test, train] = choose(labels, test_count, seed);
  return {sorted_tensor(std::move(train)), sorted_tensor(std::move(test))};
}

}  // namespace bridges
