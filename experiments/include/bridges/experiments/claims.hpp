#pragma once
// The method's claims, checked against run folders: docs/reproduction.md is
// written by `bridges report --claims RUN...` from this, so that every
// number in it comes from a results.json and anyone can regenerate it.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridges/export.hpp"

namespace bridges {

/// One run folder, as the claims report reads it.
struct ClaimsRun {
  std::string folder;         ///< as given on the command line
  nlohmann::json results;     ///< its results.json
  std::string log;            ///< its run.log ("" when absent): run time and cache use
  std::string pipeline_file;  ///< the pipeline file that made it ("" when not found)
  /// A merge (bridges report --merge): the pipeline file of each of its
  /// "parts", in order ("" for one not found).
  std::vector<std::string> part_pipeline_files{};
};

/// Markdown: for each claim C1-C6 of the method, the settings the runs
/// cover, the numbers (mean ± std over seeds or pairs, how many pairs), a
/// verdict (holds / holds partly / does not hold here / not measured by
/// these runs), the pipeline and the command that reproduce it, and the
/// run time its log states.
BRIDGES_API std::string claims_report(const std::vector<ClaimsRun>& runs);

}  // namespace bridges
