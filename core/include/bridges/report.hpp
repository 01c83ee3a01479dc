#pragma once
// Human reports of a pipeline's results.json.

#include <string>

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

}  // namespace bridges
