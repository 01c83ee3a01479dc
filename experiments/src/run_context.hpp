#pragma once
// What every experiment of a run shares: the pipeline, the data, each
// encoder's latents and relative spaces on the current anchors, and the
// decoders' stitching matrices (trained once per projection set and
// aggregator, whichever experiment asks first). The runner (runner.cpp)
// fills it; the experiment kinds (kinds/) read it.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridges/component_source.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/examples.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "stats.hpp"

namespace bridges {

class RelativeClassifier;

using Names = std::vector<std::string>;

/// One encoder of the run and what was computed from it.
struct EncoderState {
  std::string name;
  std::shared_ptr<Encoder> encoder;
  std::string key;                                      ///< its cache key (type, options, training data)
  Tensor anchors, train, test;                          ///< latents
  std::map<std::string, std::pair<Tensor, Tensor>> rel;  ///< projection -> (train, test) relative spaces [n, k]
};

class RunContext {
 public:
  RunContext(const Pipeline& pipeline, ComponentSource& source, std::filesystem::path out, std::filesystem::path cache,
             std::ostream& log);

  const Pipeline& pipeline() const { return p_; }
  ComponentSource& source() { return source_; }
  /// A line in the log and run.log, with the time since the start.
  void note(const std::string& text);

  // ---- data: the decoders' training samples and the test samples ----
  const Examples& train() const { return train_; }
  const Examples& test() const { return test_; }
  const Tensor& train_labels() const { return train_labels_; }
  const Tensor& test_labels() const { return test_labels_; }
  int64_t classes() const { return classes_; }
  /// The current anchors (indices into the full training split).
  const Tensor& anchors() const { return anchors_; }

  // ---- encoders and their spaces ----
  const std::vector<EncoderState>& encoders() const { return encoders_; }
  Names encoder_names() const;
  /// The "encoders" entry an encoder was written in (its architecture, or its "name").
  const std::string& group(const EncoderState& e) const;
  Names projection_names() const;
  /// The relative spaces of `set`, of the training or the test samples.
  std::vector<Tensor> space(const EncoderState& e, const Names& set, bool train) const;
  /// "each" -> every projection alone, "all" -> all together, lists as given; duplicates dropped.
  std::vector<Names> expand_sets(const nlohmann::json& sets) const;
  /// The aggregator specs named in `names` (null: every one), in pipeline order.
  std::vector<nlohmann::json> aggregators(const nlohmann::json& names) const;
  std::vector<uint64_t> decoder_seeds() const;

  // ---- decoders ----
  /// The stitching matrices of one projection set and aggregator: a decoder
  /// trained on every encoder for every seed, scored on every encoder.
  /// Computed once per anchor setting; each decoder's scores are kept in
  /// the run folder's cache/decoders under a key of everything that decides
  /// them, so an interrupted or extended run trains only what is missing.
  nlohmann::json stitch(const Names& set, const nlohmann::json& aggregator);
  /// A result derived from the decoder stitch() would train on encoder i
  /// with `seed` (e.g. that decoder fine-tuned to another encoder), cached
  /// under the decoder's key and `extra` (what else decides it) in
  /// <cache>/<kind>/, checksummed: null when absent or damaged.
  nlohmann::json cached_result(const std::string& kind, const Names& set, const nlohmann::json& aggregator,
                               std::size_t i, uint64_t seed, const nlohmann::json& extra) const;
  /// Writes it there, atomically.
  void cache_result(const std::string& kind, const Names& set, const nlohmann::json& aggregator, std::size_t i,
                    uint64_t seed, const nlohmann::json& extra, const nlohmann::json& value) const;
  /// The same under any decoder key (e.g. absolute_key()).
  nlohmann::json cached_result(const std::string& kind, const std::string& decoder, const nlohmann::json& extra) const;
  void cache_result(const std::string& kind, const std::string& decoder, const nlohmann::json& extra,
                    const nlohmann::json& value) const;
  /// The cache key of the decoder on encoder i's raw latents with `seed`:
  /// data rows, encoders, decoder options and seed (not the anchors).
  std::string absolute_key(std::size_t i, uint64_t seed) const;
  /// Matrices and summaries from accuracy and macro-F1 cubes.
  static nlohmann::json stitching_result(const Cube& acc, const Cube& f1, const nlohmann::json& projections,
                                         const nlohmann::json& aggregator);
  /// Stitched accuracy and index per group of encoder pairs, when the
  /// encoders come from more than one entry.
  void add_pair_groups(nlohmann::json& out, const Cube& acc) const;
  /// The decoder on encoder i's raw latents with decoder seed `seed`
  /// (trained on first use and kept for the run: it does not depend on the
  /// anchors). The absolute baseline and the translations score with it.
  RelativeClassifier& absolute_decoder(std::size_t i, uint64_t seed);
  /// A value an experiment computes once per anchor setting (null until set).
  nlohmann::json& memo(const std::string& key) { return memo_[key]; }

 protected:
  /// The cache key of one decoder of stitch(): trained on encoder i with
  /// `seed`, scored on every encoder.
  std::string decoder_key(const Names& set, const nlohmann::json& aggregator, std::size_t i, uint64_t seed) const;
  /// Whether the cache holds that decoder's scores, intact (checksum).
  bool holds_decoder(const Names& set, const nlohmann::json& aggregator, std::size_t i, uint64_t seed) const;

  const Pipeline& p_;
  ComponentSource& source_;
  std::filesystem::path out_;    ///< the run folder
  std::filesystem::path cache_;  ///< encoders, latents and decoders (<out_>/cache unless shared)
  std::ostream& log_;
  std::ofstream logfile_;
  std::chrono::steady_clock::time_point start_;
  nlohmann::json steps_ = nlohmann::json::array();  ///< every note(): {"step", "seconds" since the one before}
  double last_note_ = 0;
  // The run's progress over its decoders, for "k of n, ETA" in the log:
  // decoders_planned_ is set once the plan is known (0: not counted).
  std::size_t decoders_planned_ = 0, decoders_done_ = 0, decoders_trained_ = 0;
  double training_seconds_ = 0;
  /// " [36 of 162 decoders, 12m30s so far, about 40m left]", or "" before the plan is known.
  std::string progress_note() const;
  Examples train_full_, train_, test_;
  Tensor train_labels_, test_labels_, anchors_;
  int64_t classes_ = 0;
  std::string modality_;  ///< the data set's: vision, text, graph, embeddings
  std::vector<EncoderState> encoders_;
  std::map<std::string, nlohmann::json> memo_;  ///< cleared for each anchor setting
  std::map<std::pair<std::size_t, uint64_t>, std::shared_ptr<RelativeClassifier>> absolute_;
};

}  // namespace bridges
