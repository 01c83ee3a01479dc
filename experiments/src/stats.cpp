#include "stats.hpp"

#include <cmath>
#include <numeric>

namespace bridges {

using nlohmann::json;

// mean and sample standard deviation (0 for a single value).
json to_json(const MeanStd& v) {
  if (v.count == 0) return nullptr;
  return {{"mean", v.mean}, {"std", v.std}};
}

json mean_std(const std::vector<double>& v) { return to_json(MeanStd::of(v)); }

// values[seed][i][j] (NaN: not defined) -> {"mean": [[...]], "std": [[...]]}, null cells where undefined.
json matrix_stats(const Cube& values) {
  const std::size_t m = values.at(0).size();
  json mean = json::array(), sd = json::array();
  for (std::size_t i = 0; i < m; ++i) {
    json mrow = json::array(), srow = json::array();
    for (std::size_t j = 0; j < m; ++j) {
      std::vector<double> cell;
      for (const auto& seed : values)
        if (!std::isnan(seed[i][j])) cell.push_back(seed[i][j]);
      const json st = mean_std(cell);
      mrow.push_back(st.is_null() ? json(nullptr) : st["mean"]);
      srow.push_back(st.is_null() ? json(nullptr) : st["std"]);
    }
    mean.push_back(mrow);
    sd.push_back(srow);
  }
  return {{"mean", mean}, {"std", sd}};
}

// Per seed: the mean over the diagonal (end to end) or off it (stitched),
// then mean and std over seeds.
MeanStd seed_means(const Cube& values, bool diagonal) {
  std::vector<double> per_seed;
  for (const auto& seed : values) {
    double sum = 0;
    int count = 0;
    for (std::size_t i = 0; i < seed.size(); ++i)
      for (std::size_t j = 0; j < seed.size(); ++j)
        if ((i == j) == diagonal && !std::isnan(seed[i][j])) {
          sum += seed[i][j];
          ++count;
        }
    if (count > 0) per_seed.push_back(sum / count);
  }
  return MeanStd::of(per_seed);
}

json summary_stats(const Cube& values, bool diagonal) { return to_json(seed_means(values, diagonal)); }

}  // namespace bridges
