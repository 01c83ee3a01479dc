#include "bridges/anchors.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/from_blob.h>
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <numeric>
#include <random>

#include "bridges/error.hpp"
#include "bridges/random.hpp"
#include "bridges/text.hpp"

namespace bridges {

namespace {

Tensor to_tensor(const std::vector<int64_t>& v) {
  return at::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())}, at::kLong).clone();
}

void check_count(std::string_view strategy, int64_t count, int64_t available) {
  if (count < 1 || count > available)
    throw ConfigError(fmt::format("{} anchors: count must be between 1 and the number of samples ({}), found {}.",
                                  strategy, available, count));
}

}  // namespace

Tensor random_anchors(int64_t num_samples, int64_t count, uint64_t seed) {
  check_count("random", count, num_samples);
  std::vector<int64_t> all(static_cast<std::size_t>(num_samples));
  std::iota(all.begin(), all.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  shuffle_prefix(all, count, rng);
  all.resize(static_cast<std::size_t>(count));
  return to_tensor(all);
}

Tensor stratified_anchors(const Tensor& labels, int64_t count, uint64_t seed) {
  if (!labels.defined() || labels.dim() != 1)
    throw ShapeError(fmt::format("stratified anchors: labels must be [n], found {}.", describe(labels)));
  const Tensor l = labels.to(at::kLong).contiguous();
  const int64_t* p = l.data_ptr<int64_t>();
  std::map<int64_t, std::vector<int64_t>> members;  // label -> sample indices; labels < 0 are unlabelled
  for (int64_t i = 0; i < l.numel(); ++i)
    if (p[i] >= 0) members[p[i]].push_back(i);
  if (members.empty()) throw ConfigError("stratified anchors: no sample has a label (all labels are negative).");
  int64_t labelled = 0;
  for (const auto& [label, m] : members) labelled += static_cast<int64_t>(m.size());
  check_count("stratified", count, labelled);

  std::mt19937_64 rng(seed);
  const auto num_classes = static_cast<int64_t>(members.size());
  std::vector<int64_t> order;
  for (const auto& [label, m] : members) order.push_back(label);
  shuffle_prefix(order, num_classes, rng);  // the first count % C classes get one more
  std::map<int64_t, int64_t> quota;
  for (int64_t c = 0; c < num_classes; ++c)
    quota[order[static_cast<std::size_t>(c)]] = count / num_classes + (c < count % num_classes ? 1 : 0);

  std::vector<int64_t> out;
  for (auto& [label, m] : members) {
    const int64_t want = quota[label];
    if (want > static_cast<int64_t>(m.size()))
      throw ConfigError(fmt::format("stratified anchors: class {} has {} samples but needs {} anchors. "
                                    "Use fewer anchors, or the 'random' strategy.",
                                    label, m.size(), want));
    shuffle_prefix(m, want, rng);
    out.insert(out.end(), m.begin(), m.begin() + want);
  }
  return to_tensor(out);
}

Tensor farthest_point_anchors(const Tensor& latents, int64_t count, uint64_t seed) {
  if (!latents.defined() || latents.dim() != 2 || !latents.is_floating_point())
    throw ShapeError(fmt::format("farthest-point anchors: latents must be [n, d] floating point, found {}.",
                                 describe(latents)));
  const int64_t n = latents.size(0);
  check_count("farthest_point", count, n);
  const Tensor x = latents.contiguous();
  const Tensor sq = x.pow(2).sum({1}).to(at::kDouble).contiguous();  // |x_i|^2
  const double* sqp = sq.data_ptr<double>();

  std::mt19937_64 rng(seed);
  std::vector<int64_t> chosen{static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(n)))};
  // Squared distance of every sample to its nearest chosen anchor; -1 marks
  // a chosen sample, so duplicates in the data never yield duplicate anchors.
  std::vector<double> nearest(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  while (true) {
    const int64_t last = chosen.back();
    nearest[static_cast<std::size_t>(last)] = -1.0;
    if (static_cast<int64_t>(chosen.size()) == count) break;
    // |x_i - c|^2 = |x_i|^2 - 2 <x_i, c> + |c|^2, one matrix-vector product.
    const Tensor dots = x.mv(x[last]).to(at::kDouble).contiguous();
    const double* dp = dots.data_ptr<double>();
    int64_t best = -1;
    double best_distance = -1.0;
    for (int64_t i = 0; i < n; ++i) {
      double& m = nearest[static_cast<std::size_t>(i)];
      if (m < 0) continue;
      m = std::min(m, std::max(0.0, sqp[i] - 2.0 * dp[i] + sqp[last]));
      if (m > best_distance) {
        best_distance = m;
        best = i;
      }
    }
    chosen.push_back(best);
  }
  return to_tensor(chosen);
}

const std::vector<std::string>& anchor_strategies() {
  static const std::vector<std::string> names{"random", "stratified", "farthest_point"};
  return names;
}

Tensor select_anchors(std::string_view strategy, int64_t count, uint64_t seed, const Tensor& labels,
                      const Tensor& latents) {
  if (strategy == "random") {
    const int64_t n = labels.defined() ? labels.size(0) : latents.defined() ? latents.size(0) : 0;
    if (!labels.defined() && !latents.defined())
      throw ConfigError("random anchors: give labels or latents so the number of samples is known.");
    return random_anchors(n, count, seed);
  }
  if (strategy == "stratified") {
    if (!labels.defined()) throw ConfigError("stratified anchors need the samples' labels; this data has none.");
    return stratified_anchors(labels, count, seed);
  }
  if (strategy == "farthest_point") {
    if (!latents.defined()) throw ConfigError("farthest_point anchors need latents to measure distances in.");
    return farthest_point_anchors(latents, count, seed);
  }
  throw_unknown_name("anchor strategy", strategy, anchor_strategies());
}

}  // namespace bridges
