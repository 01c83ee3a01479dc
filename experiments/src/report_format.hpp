#pragma once
// What the reports' sections share: number formats, Markdown matrices, SVG
// heatmaps and bar charts.
//
// The reports read results.json from disk, which may be hand-edited or
// foreign. nlohmann's const operator[] on a missing key or past an array's
// end is undefined behaviour (fuzz_results found a use after free), while
// the non-const one inserts null and the next get<>() throws type_error,
// which `bridges report` turns into an error naming the file. So every
// function here takes its JSON by value or by mutable reference, and the
// reports work on a mutable copy of the results (small: kilobytes).

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bridges {

/// An integer read checked (get<int64_t>() of a float past int64's range is undefined).
int64_t integer(const nlohmann::json& v);
/// A number with `digits` decimals, "–" for anything else.
std::string num(nlohmann::json v, int digits = 3);
/// "0.891 ± 0.002" from {"mean", "std"}.
std::string pm(nlohmann::json ms, int digits = 3);
/// "cosine + l1 · sum": a run's projections and aggregator.
std::string run_name(nlohmann::json run);
/// Text made safe for HTML.
std::string escape(const std::string& s);

/// The runner names the group of the pairs of one architecture
/// "<architecture> (across seeds)".
inline constexpr std::string_view kAcrossSeeds = " (across seeds)";
/// The most similar relative representation of each cross-seed group, by
/// measure: measure -> architecture -> representation.
using Winners = std::map<std::string, std::map<std::string, std::string>>;
Winners cross_seed_winners(nlohmann::json latent_similarity);
/// "no: euclidean for every one of ae, vae" or "yes: cosine (ae, vae), l1 (lin_ae)".
std::string choice_statement(const std::map<std::string, std::string>& choice_by_name);

/// A matrix as a Markdown table: rows are the encoder a decoder was trained
/// on, columns the encoder it was evaluated on; each cell "mean ± std", or
/// the mean alone without `spread`.
std::string md_matrix(nlohmann::json names, nlohmann::json stats, int digits, bool spread = true);
/// The smallest [lo, hi] holding every finite number of the [n][n]
/// matrices: one colour scale for several heatmaps, fitted to their values
/// (a 0-1 scale flattens 0.59 against 0.88). [0, 1] when there is none.
std::pair<double, double> fitted_range(const std::vector<nlohmann::json>& matrices);

/// The colour range of each of a figure's matrices: one fitted range shared
/// by every matrix, so they compare at a glance, except those marked `own`
/// (a baseline on raw latents), which get their own: far below the rest,
/// they would stretch the shared range and flatten every other map.
std::vector<std::pair<double, double>> colour_ranges(const std::vector<nlohmann::json>& matrices,
                                                     const std::vector<bool>& own);
/// What a heatmap's axes and colour bar say.
struct HeatmapTitles {
  std::string rows, columns, values;
};
/// A heatmap of `mean` [n][n] over [lo, hi] with the values written in,
/// axis titles and a colour bar with its ticks and title.
std::string svg_heatmap(nlohmann::json names, nlohmann::json mean, double lo, double hi, int digits,
                        const HeatmapTitles& titles);
/// A bar chart's value axis title, and an optional dashed reference line
/// (e.g. chance) with its legend entry.
struct BarAxes {
  std::string values;
  double reference = NAN;
  std::string reference_label{};
};
/// Grouped bars with error bars from 0 to `hi`: one group per label, one bar
/// per series; values[label][series] = (mean, std).
std::string svg_bars(const std::vector<std::string>& labels, const std::vector<std::string>& series,
                     const std::vector<std::vector<std::pair<double, double>>>& values, double hi, const BarAxes& axes);
/// One row of a dot plot: a value with its spread.
struct DotRow {
  std::string label;
  double mean, spread;
  bool highlight = false;  ///< drawn in another colour, label in bold
};
/// A horizontal dot plot with error bars on a fitted scale (not from 0),
/// labels left of the plot, an axis title and a dashed reference line at
/// `reference` (NaN: none) explained by `reference_label`.
std::string svg_dots(const std::vector<DotRow>& rows, const std::string& axis_title, double reference,
                     const std::string& reference_label);
/// (mean, std) of {"mean", "std"}; NaN when missing.
std::pair<double, double> ms_pair(nlohmann::json ms);
/// The stitching runs of the results, the absolute baseline last.
std::vector<nlohmann::json> stitching_runs(nlohmann::json results);

}  // namespace bridges
