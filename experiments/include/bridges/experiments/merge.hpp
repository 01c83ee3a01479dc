#pragma once
// The parts of one study, each run into its own folder (a pipeline too long
// for one sitting, cut into pipelines that differ only in their
// experiments), joined into one results.json and one report:
// `bridges report --merge PART... -o FOLDER`.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridges/export.hpp"

namespace bridges {

/// One part, as read from its run folder.
struct MergePart {
  std::string folder;         ///< named in errors
  nlohmann::json pipeline;    ///< its resolved pipeline.json
  nlohmann::json results;     ///< its results.json
};

/// The results of every part as one run's: the shared facts (data set,
/// samples, anchors, encoders, ...) once, each experiment's results joined
/// by its kind (each stitching run and ablation row once), "pipeline"
/// `name` and "parts" the parts' pipeline names and folders.
///
/// Throws ConfigError, naming the folder and the field, when the parts
/// differ in anything but their name, description, experiments, output and
/// cache (decoders, anchors, encoders, data), when one ran an anchor sweep,
/// or when two computed the same stitching run differently.
BRIDGES_API nlohmann::json merge_runs(const std::vector<MergePart>& parts, const std::string& name);

/// The default name of a merge: the parts' pipeline names' common prefix
/// without its trailing "-" or "_" ("fashion-mnist-paper-1", "...-2" give
/// "fashion-mnist-paper"), or the names joined by " + " when they share none.
BRIDGES_API std::string merged_name(const std::vector<MergePart>& parts);

}  // namespace bridges
