#pragma once
// Experiments as JSON pipelines: the file, its validation, and its resolved
// form. A pipeline names a data set, encoders (each with seeds), anchors,
// projections, aggregators, a decoder and experiments:
//
//   {"name": "fashion-mnist-stitching",
//    "dataset": {"type": "fashion_mnist"},
//    "encoders": [{"type": "cnn", "seeds": [0, 1, 2]}, {"type": "mlp", "seeds": [0, 1, 2]}],
//    "anchors": {"count": 1280, "strategy": "random", "seed": 0},
//    "projections": ["cosine", "euclidean", "l1", "linf"],
//    "aggregators": ["mlp_sum"],
//    "decoder": {"epochs": 5, "seeds": [0, 1, 2], "train_samples": 10000},
//    "experiments": [{"type": "stitching"}],
//    "output": "runs/${USER}/fashion-mnist"}
//
// Every component is {"type": "<name>", ...options} or just "<name>".

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridges/component_source.hpp"
#include "bridges/export.hpp"
#include "bridges/experiments/stitching.hpp"

namespace bridges {

/// One encoder of the pipeline, with a unique name ("cnn-0").
struct BRIDGES_API PipelineEncoder {
  std::string name;
  nlohmann::json spec;  ///< {"type": ..., options with "seed" set}
  std::string group;    ///< the entry it was written in: its "name", or its type ("cnn" for cnn-0, cnn-1, ...)
};

/// A projection (similarity) with the name experiments refer to it by.
struct BRIDGES_API PipelineProjection {
  std::string name;
  nlohmann::json spec;
  /// Its subspace is negated: "orientation" is "closer_is_larger" and the
  /// similarity's manifest declares it a distance.
  bool negated = false;
};

/// One experiment. `type` is "stitching", "ablation", "finetune" or
/// "reconstruction"; `options` holds the rest, validated and completed.
struct BRIDGES_API PipelineExperiment {
  std::string type;
  nlohmann::json options;
};

struct BRIDGES_API Pipeline {
  std::string name;
  std::string description;
  nlohmann::json dataset;                       ///< component spec
  std::vector<PipelineEncoder> encoders;
  nlohmann::json encoder_groups;                ///< the "encoders" entries as written, seeds unexpanded
  nlohmann::json anchors;                       ///< {"count", "strategy", "seed"}
  std::vector<PipelineProjection> projections;
  std::string normalize = "none";               ///< per-subspace normalisation of the projector
  std::string orientation = "raw";              ///< "raw" or "closer_is_larger" (distances negated)
  std::vector<nlohmann::json> aggregators;      ///< component specs
  nlohmann::json decoder;                       ///< DecoderOptions + "seeds", "train_samples", "test_samples"
  std::vector<PipelineExperiment> experiments;
  std::string output;                           ///< run folder
  /// Trained encoders, latents and decoders; empty: <run folder>/cache.
  /// Pipelines that share encoders and anchors (the parts of one study)
  /// share a cache, so each part trains only what no other part did.
  std::string cache;
  /// What is valid but most likely not meant, found while validating (a
  /// symmetric aggregator merging a similarity with distances as they are,
  /// "orientation" left to its default).
  /// `bridges run` prints them, writes them to run.log, results.json
  /// ("warnings") and the report. Not part of to_json(): parse() finds them again.
  std::vector<std::string> warnings;

  /// Reads, expands ${VAR} in every string, and validates the whole file:
  /// unknown keys, unknown component names and invalid options are
  /// ConfigErrors naming the file and the JSON path ("$.encoders[1].type"),
  /// with a "did you mean". Nothing is made or trained.
  static Pipeline load(const std::filesystem::path& file, const ComponentSource& source);
  /// The same from JSON already read; `where` names it in messages.
  static Pipeline parse(const nlohmann::json& j, const ComponentSource& source, const std::string& where = "pipeline");

  /// The resolved pipeline: every default filled in, components in their
  /// {"type": ...} form. parse(to_json()) gives the same pipeline.
  nlohmann::json to_json() const;

  /// Decoder training options with `seed`.
  DecoderOptions decoder_options(uint64_t seed) const;
  /// The projections' names, in order.
  std::vector<std::string> projection_names() const;
  /// Projection sets as experiments write them: "each" -> every projection
  /// alone, "all" -> all together, lists as given; duplicates dropped.
  std::vector<std::vector<std::string>> projection_sets(const nlohmann::json& sets) const;
  /// The aggregator specs named in `names` (null: every one), in pipeline order.
  std::vector<nlohmann::json> aggregator_specs(const nlohmann::json& names) const;
  /// The projection named `name`; throws ConfigError.
  const PipelineProjection& projection(const std::string& name) const;
  /// The encoder named `name`; throws ConfigError.
  const PipelineEncoder& encoder(const std::string& name) const;
};

/// Replaces every ${VAR} in the strings of `j` by the environment variable
/// VAR. Throws ConfigError naming the JSON path for an unset variable.
BRIDGES_API nlohmann::json expand_environment(const nlohmann::json& j, const std::string& where = "pipeline");

}  // namespace bridges
