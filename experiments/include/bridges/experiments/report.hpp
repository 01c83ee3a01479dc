#pragma once
// Human reports of a pipeline's results.json.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridges/export.hpp"

namespace bridges {

/// Markdown: encoders, the stitching summary and matrices (mean ± std over
/// decoder seeds), the ablation, fine-tuning and reconstruction tables.
BRIDGES_API std::string markdown_report(const nlohmann::json& results);

/// A self-contained HTML page (no external file or script): the same
/// tables, stitching matrices as SVG heatmaps, end-to-end and stitched
/// accuracy per projection set and aggregator as bars with error bars, and
/// attention weights before and after fine-tuning.
BRIDGES_API std::string html_report(const nlohmann::json& results);

/// Markdown comparing the latent-similarity experiments of several runs
/// (e.g. one per data set): for every measure, the most similar relative
/// representation across seeds per architecture and run, and whether that
/// choice changes with the architecture and with the data set. Runs without
/// a latent-similarity experiment are ignored.
BRIDGES_API std::string latent_similarity_comparison(const std::vector<nlohmann::json>& runs);

}  // namespace bridges
