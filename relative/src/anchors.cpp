#include "bridges/relative/anchors.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/bincount.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <numeric>
#include <random>

#include "bridges/error.hpp"
#include "bridges/util/random.hpp"
#include "bridges/util/messages.hpp"

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

Tensor kmeans_anchors(const Tensor& latents, int64_t count, uint64_t seed, int64_t iterations) {
  if (!latents.defined() || latents.dim() != 2 || !latents.is_floating_point())
    throw ShapeError(fmt::format("k-means anchors: latents must be [n, d] floating point, found {}.", describe(latents)));
  const int64_t n = latents.size(0);
  check_count("kmeans", count, n);
  if (iterations < 0) throw ConfigError(fmt::format("k-means anchors: iterations must be >= 0, found {}.", iterations));
  const Tensor x = latents.to(at::kDouble).contiguous();
  const Tensor norms = x.pow(2).sum(1);  // |x_i|^2
  const double* np = norms.data_ptr<double>();

  // k-means++: each next centre drawn with probability proportional to the
  // squared distance to the nearest centre so far.
  std::mt19937_64 rng(seed);
  std::vector<int64_t> seeds{static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(n)))};
  std::vector<double> nearest(static_cast<std::size_t>(n), std::numeric_limits<double>::infinity());
  while (true) {
    const int64_t last = seeds.back();
    const Tensor dots = x.mv(x[last]).contiguous();
    const double* dp = dots.data_ptr<double>();
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      double& m = nearest[static_cast<std::size_t>(i)];
      m = std::min(m, std::max(0.0, np[i] - 2.0 * dp[i] + np[last]));
      total += m;
    }
    if (static_cast<int64_t>(seeds.size()) == count) break;
    int64_t next = n - 1;
    if (total > 0) {
      double r = uniform_unit(rng) * total;
      for (int64_t i = 0; i < n; ++i)
        if ((r -= nearest[static_cast<std::size_t>(i)]) < 0) {
          next = i;
          break;
        }
    } else {  // every sample sits on a centre already: any sample not yet used
      std::vector<int64_t> rest;
      for (int64_t i = 0; i < n; ++i)
        if (std::find(seeds.begin(), seeds.end(), i) == seeds.end()) rest.push_back(i);
      next = rest[uniform_below(rng, rest.size())];
    }
    seeds.push_back(next);
  }

  // Lloyd iterations; distances in blocks of rows so n x count never exists whole.
  Tensor centroids = x.index_select(0, to_tensor(seeds));
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 22) / count);
  const auto assign = [&](const Tensor& c) {
    const Tensor c_norms = c.pow(2).sum(1);
    Tensor out = at::empty({n}, at::kLong);
    for (int64_t begin = 0; begin < n; begin += block) {
      const int64_t rows = std::min(block, n - begin);
      const Tensor d = c_norms.unsqueeze(0) - 2 * at::mm(x.narrow(0, begin, rows), c.t());  // + |x|^2, same per row
      out.narrow(0, begin, rows).copy_(d.argmin(1));
    }
    return out;
  };
  Tensor labels = assign(centroids);
  for (int64_t it = 0; it < iterations; ++it) {
    const Tensor sums = at::zeros({count, x.size(1)}, at::kDouble).index_add_(0, labels, x);
    const Tensor sizes = at::bincount(labels, {}, count).to(at::kDouble).unsqueeze(1);
    centroids = at::where(sizes > 0, sums / sizes.clamp_min(1), centroids);  // an empty cluster keeps its centre
    const Tensor next = assign(centroids);
    const bool stable = at::equal(next, labels);
    labels = next;
    if (stable) break;
  }

  // The sample nearest each centroid, never the same sample twice.
  std::vector<int64_t> chosen;
  Tensor taken = at::zeros({n}, at::kBool);
  for (int64_t c = 0; c < count; ++c) {
    const Tensor d = (norms - 2 * x.mv(centroids[c])).masked_fill(taken, std::numeric_limits<double>::infinity());
    const int64_t best = d.argmin().item<int64_t>();
    taken[best] = true;
    chosen.push_back(best);
  }
  return to_tensor(chosen);
}

const std::vector<std::string>& anchor_strategies() {
  static const std::vector<std::string> names{"random", "stratified", "farthest_point", "kmeans"};
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
  if (strategy == "kmeans") {
    if (!latents.defined()) throw ConfigError("kmeans anchors need latents to cluster.");
    return kmeans_anchors(latents, count, seed);
  }
  throw_unknown_name("anchor strategy", strategy, anchor_strategies());
}

}  // namespace bridges
