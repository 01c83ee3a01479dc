#pragma once
// Summaries of scores over decoder seeds and encoder pairs, as results.json
// stores them.

#include <nlohmann/json.hpp>

#include <vector>

namespace bridges {

/// Scores indexed [decoder seed][trained on][evaluated on]; NaN: not defined.
using Cube = std::vector<std::vector<std::vector<double>>>;

/// {"mean", "std"} (sample standard deviation, 0 for one value); null for none.
nlohmann::json mean_std(const std::vector<double>& v);
/// {"mean": [[...]], "std": [[...]]} over seeds; null cells where undefined.
nlohmann::json matrix_stats(const Cube& values);
/// Per seed the mean over the diagonal (end to end) or off it (stitched),
/// then mean and std over seeds.
nlohmann::json summary_stats(const Cube& values, bool diagonal);

}  // namespace bridges
