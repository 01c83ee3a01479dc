#pragma once
// Summaries of scores over decoder seeds and encoder pairs, as results.json
// stores them.

#include <nlohmann/json.hpp>

#include <vector>

#include "bridges/experiments/stitching_matrix.hpp"

namespace bridges {

/// Scores indexed [decoder seed][trained on][evaluated on]; NaN: not defined.
using Cube = ScoreCube;

/// {"mean", "std"}, or null when there was no value.
nlohmann::json to_json(const MeanStd& v);

/// {"mean", "std"} (sample standard deviation, 0 for one value); null for none.
nlohmann::json mean_std(const std::vector<double>& v);
/// {"mean": [[...]], "std": [[...]]} over seeds; null cells where undefined.
nlohmann::json matrix_stats(const Cube& values);
/// Per seed the mean over the diagonal (end to end) or off it (stitched),
/// then mean and std over seeds.
MeanStd seed_means(const Cube& values, bool diagonal);
/// The same as JSON: {"mean", "std"} or null.
nlohmann::json summary_stats(const Cube& values, bool diagonal);

}  // namespace bridges
