#include "bridges/experiments/stitching_matrix.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "bridges/aggregator.hpp"
#include "bridges/error.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/messages.hpp"
#include "stats.hpp"

namespace bridges {

MeanStd MeanStd::of(const std::vector<double>& values) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (values.empty()) return {nan, nan, 0};
  const double n = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double ss = 0;
  for (double x : values) ss += (x - mean) * (x - mean);
  return {mean, values.size() > 1 ? std::sqrt(ss / (n - 1)) : 0.0, values.size()};
}

StitchingMatrix::StitchingMatrix(std::vector<std::string> encoders, ScoreCube accuracy)
    : encoders_(std::move(encoders)), accuracy_(std::move(accuracy)) {
  const std::size_t m = encoders_.size();
  if (m == 0 || accuracy_.empty())
    throw ShapeError(fmt::format("stitching matrix: needs at least one encoder and one decoder seed, found {} encoders "
                                 "and {} seeds.",
                                 m, accuracy_.size()));
  for (std::size_t s = 0; s < accuracy_.size(); ++s) {
    if (accuracy_[s].size() != m)
      throw ShapeError(fmt::format("stitching matrix: seed {} has {} rows for {} encoders; expected [seeds][{}][{}].", s,
                                   accuracy_[s].size(), m, m, m));
    for (std::size_t i = 0; i < m; ++i) {
      if (accuracy_[s][i].size() != m)
        throw ShapeError(fmt::format("stitching matrix: seed {}, row {} ({}) has {} values for {} encoders.", s, i,
                                     encoders_[i], accuracy_[s][i].size(), m));
      for (std::size_t j = 0; j < m; ++j) {
        const double a = accuracy_[s][i][j];
        if (!std::isnan(a) && !(a >= 0 && a <= 1))
          throw ConfigError(fmt::format("stitching matrix: seed {}, trained on {}, evaluated on {}: accuracy {} is not "
                                        "in [0, 1] (NaN marks a pair not evaluated).",
                                        s, encoders_[i], encoders_[j], a));
      }
    }
  }
}

ScoreCube StitchingMatrix::index() const {
  ScoreCube out = accuracy_;
  for (std::size_t s = 0; s < accuracy_.size(); ++s)
    for (std::size_t i = 0; i < encoders_.size(); ++i)
      for (std::size_t j = 0; j < encoders_.size(); ++j) {
        const double own = accuracy_[s][j][j];
        out[s][i][j] = !std::isnan(accuracy_[s][i][j]) && own > 0 ? accuracy_[s][i][j] / own
                                                                  : std::numeric_limits<double>::quiet_NaN();
      }
  return out;
}

MeanStd StitchingMatrix::end_to_end() const { return seed_means(accuracy_, true); }
MeanStd StitchingMatrix::stitched() const { return seed_means(accuracy_, false); }
MeanStd StitchingMatrix::stitching_index() const { return seed_means(index(), false); }

std::vector<double> StitchingMatrix::pair_means() const {
  std::vector<double> out;
  for (std::size_t i = 0; i < encoders_.size(); ++i)
    for (std::size_t j = 0; j < encoders_.size(); ++j) {
      if (i == j) continue;
      std::vector<double> values;
      for (const auto& seed : accuracy_)
        if (!std::isnan(seed[i][j])) values.push_back(seed[i][j]);
      out.push_back(MeanStd::of(values).mean);
    }
  return out;
}

std::vector<StitchingMatrix::PairGroup> StitchingMatrix::pair_groups(const std::vector<std::string>& group) const {
  const std::size_t m = encoders_.size();
  if (group.size() != m)
    throw ShapeError(fmt::format("stitching matrix: {} groups given for {} encoders; give each encoder its group.",
                                 group.size(), m));
  if (std::set<std::string>(group.begin(), group.end()).size() < 2) return {};
  std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> pairs;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < m; ++j)
      if (i != j)
        pairs[group[i] == group[j] ? group[i] + " (across seeds)"
                                   : std::min(group[i], group[j]) + " ↔ " + std::max(group[i], group[j])]
            .emplace_back(i, j);
  std::vector<PairGroup> out;
  for (auto& [name, members] : pairs) {
    std::vector<double> stitched, index;
    for (const auto& seed : accuracy_) {
      double a = 0, x = 0;
      int count = 0;
      for (const auto& [i, j] : members)
        if (!std::isnan(seed[i][j]) && seed[j][j] > 0) {
          a += seed[i][j];
          x += seed[i][j] / seed[j][j];
          ++count;
        }
      if (count > 0) {
        stitched.push_back(a / count);
        index.push_back(x / count);
      }
    }
    if (!stitched.empty()) out.push_back({name, std::move(members), MeanStd::of(stitched), MeanStd::of(index)});
  }
  return out;
}

StitchingMatrix stitch(const std::vector<RelativeSpaces>& encoders, const Tensor& train_labels,
                       const Tensor& test_labels, int64_t classes,
                       const std::function<std::shared_ptr<Aggregator>()>& make_aggregator, DecoderOptions options,
                       const std::vector<uint64_t>& seeds) {
  if (encoders.empty() || seeds.empty())
    throw ConfigError(fmt::format("stitch: needs at least one encoder and one decoder seed, found {} and {}.",
                                  encoders.size(), seeds.size()));
  if (!make_aggregator) throw ConfigError("stitch: make_aggregator is empty; give a function that makes an aggregator.");
  const RelativeSpaces& first = encoders.front();
  if (first.train.empty())
    throw ShapeError(fmt::format("stitch: encoder {} has no relative subspace.", first.name));
  for (const auto& e : encoders) {
    if (e.train.size() != first.train.size() || e.test.size() != first.train.size())
      throw ShapeError(fmt::format("stitch: encoder {} has {} training and {} test subspaces; {} has {}. Project every "
                                   "encoder with the same similarities.",
                                   e.name, e.train.size(), e.test.size(), first.name, first.train.size()));
    for (std::size_t s = 0; s < first.train.size(); ++s) {
      const auto check = [&](const Tensor& t, const Tensor& reference, const Tensor& labels, const char* split) {
        if (!t.defined() || t.dim() != 2 || t.sizes() != reference.sizes() || t.size(0) != labels.size(0))
          throw ShapeError(fmt::format("stitch: encoder {}, {} subspace {} is {}; expected {} like encoder {}'s, one row "
                                       "per label ({}).",
                                       e.name, split, s, describe(t), describe(reference), first.name, labels.size(0)));
      };
      check(e.train[s], first.train[s], train_labels, "training");
      check(e.test[s], first.test[s], test_labels, "test");
    }
  }
  const std::size_t m = encoders.size();
  const int64_t k = first.train.front().size(1);
  ScoreCube accuracy(seeds.size(), std::vector<std::vector<double>>(m, std::vector<double>(m)));
  for (std::size_t s = 0; s < seeds.size(); ++s)
    for (std::size_t i = 0; i < m; ++i) {
      throw_if_interrupted();
      DecoderOptions o = options;
      o.seed = seeds[s];
      RelativeClassifier model(make_aggregator(), static_cast<int64_t>(first.train.size()), k, classes, o);
      model.fit(encoders[i].train, train_labels, encoders[i].name);
      for (std::size_t j = 0; j < m; ++j)
        accuracy[s][i][j] = classification_scores(model.predict(encoders[j].test), test_labels, classes).accuracy;
    }
  std::vector<std::string> names;
  for (const auto& e : encoders) names.push_back(e.name);
  return StitchingMatrix(std::move(names), std::move(accuracy));
}

}  // namespace bridges
