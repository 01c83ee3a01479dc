#pragma once
// Runs a pipeline into a run folder:
//   <out>/pipeline.json      the resolved pipeline
//   <out>/results.json       every number, and under "provenance" what made them (version,
//                            commit, LibTorch, kernels, threads, date, command, time per
//                            step); all but "provenance" is the same for the same seeds
//   <out>/report.md, report.html
//   <out>/run.log            what was done, with timings
//   <out>/latents/           each encoder's test latents (<encoder>-test.npy), with
//                            labels-test.npy and indices-test.npy: `bridges compare` input
//   <cache>/encoders/        trained encoders (fit_cached)
//   <cache>/latents/         the encoders' latents of the samples used
//   <cache>/decoders/        each trained decoder's scores
// <cache> is <out>/cache unless the pipeline's "cache" or RunOptions say
// otherwise. Every file is written atomically; running again reuses the
// caches; one run at a time writes into a run folder or a cache.

#include <filesystem>
#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "bridges/component_source.hpp"
#include "bridges/dataset.hpp"
#include "bridges/export.hpp"
#include "bridges/experiments/pipeline.hpp"

namespace bridges {

struct BRIDGES_API RunOptions {
  std::filesystem::path out{};    ///< the run folder; empty: the pipeline's "output"
  std::filesystem::path cache{};  ///< the cache folder; empty: the pipeline's "cache", else <out>/cache
  std::string command{};          ///< the command line that asked for the run (for its provenance)
};

/// One stitching run an experiment asks for: a decoder per encoder and
/// decoder seed on this projection set merged by this aggregator.
struct BRIDGES_API PlannedStitching {
  std::string experiment;                ///< its kind: "stitching", "ablation"
  std::vector<std::string> projections;  ///< the projection set
  nlohmann::json aggregator;             ///< the aggregator's spec
};

/// Every stitching run the pipeline's experiments ask for, in the order
/// they run. A run two experiments ask for is listed for each but trained
/// once (and a run in the cache not at all).
BRIDGES_API std::vector<PlannedStitching> planned_stitching(const Pipeline& pipeline);

/// How long the pipeline's stitching runs will take on this machine, before
/// any is run: one decoder of each (aggregator, number of subspaces) is
/// timed now for one epoch on random data of the run's width (at most 1024
/// examples, scaled linearly to the run's training and test sizes), times
/// the epochs (under early stopping, max_epochs: an upper bound) and the
/// decoders (encoders x seeds per run; none assumed cached). Encoder
/// training, fine-tuning steps and measures are not included.
struct BRIDGES_API DecoderEstimate {
  double seconds = 0;        ///< every stitching run's decoders, trained and scored
  std::size_t decoders = 0;  ///< how many that is
  bool upper_bound = false;  ///< early stopping: max_epochs each
  std::string detail;        ///< one line per timed decoder shape
};
BRIDGES_API DecoderEstimate estimate_decoders(const Pipeline& pipeline, ComponentSource& source);

/// How long training the encoders `to_train` (their specs) on `train` takes
/// here, in words: each kind (its settings but the seed) fitted now on 512
/// and 1024 samples after a warm-up fit and extrapolated (a split of at most
/// 1024 timed whole). On graph data, whose full-batch epochs do not scale
/// with a subset, each kind is timed for 1 and 3 epochs on the whole split
/// and extrapolated to its "epochs". A kind whose fit fails is named, not
/// estimated.
BRIDGES_API std::string estimate_encoders(const std::vector<nlohmann::json>& to_train, const Dataset& dataset,
                                          const Examples& train, ComponentSource& source);

/// What the run will do, in words (for `bridges run --dry-run`): its
/// settings, its folders as run_pipeline would use them, which encoders it
/// trains and which the cache holds, how many decoders and how many of them
/// the cache holds (by their keys; unknown for anchors chosen in a latent
/// space), and (with `estimate`) how long the encoders to train take (each
/// kind fitted on 512 and 1024 samples, or timed for 1 and 3 full-batch epochs on graphs, and extrapolated) and
/// the decoders (estimate_decoders). Reads the data (for
/// the encoders' cache keys and the sizes); trains nothing.
BRIDGES_API std::string describe_plan(const Pipeline& pipeline, ComponentSource& source,
                                      const RunOptions& options = {}, bool estimate = false);

/// Runs every experiment; returns the results (also in <out>/results.json).
/// Progress goes to stderr, a summary to `log` and <out>/run.log. Throws
/// Interrupted when interrupt() was requested (Ctrl-C in the CLI); files
/// already written are complete, the caches are kept.
BRIDGES_API nlohmann::json run_pipeline(const Pipeline& pipeline, ComponentSource& source, const RunOptions& options,
                                        std::ostream& log);

}  // namespace bridges
