#pragma once
// Zero-shot stitching's scores, for host programs: the matrix of a decoder
// trained on one encoder and evaluated on another, its stitching index and
// pair groups, computed exactly as the pipeline runner computes them for
// results.json (the runner uses this class).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bridges/experiments/stitching.hpp"
#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// Scores indexed [decoder seed][trained on][evaluated on]; NaN: not evaluated.
using ScoreCube = std::vector<std::vector<std::vector<double>>>;

/// A mean with its sample standard deviation (0 for one value) over
/// `count` values; NaN and count 0 when there is none.
struct BRIDGES_API MeanStd {
  double mean;
  double std;
  std::size_t count = 0;
  static MeanStd of(const std::vector<double>& values);
};

/// The stitching matrix of one projection set and aggregator.
///
/// Example:
///   bridges::StitchingMatrix m({"cnn-0", "cnn-1", "mlp-0"}, accuracy);  // accuracy[seed][i][j]
///   m.stitched().mean;                 // mean off-diagonal accuracy (per seed, then over seeds)
///   m.index();                          // accuracy / the target's end-to-end accuracy
///   m.pair_groups({"cnn", "cnn", "mlp"});  // "cnn (across seeds)", "cnn ↔ mlp"
class BRIDGES_API StitchingMatrix {
 public:
  /// `accuracy` [seeds][m][m] with m = encoders.size() >= 1 and at least
  /// one seed; each value in [0, 1] or NaN (not evaluated). Throws
  /// ShapeError for another shape, ConfigError for a value outside [0, 1].
  StitchingMatrix(std::vector<std::string> encoders, ScoreCube accuracy);

  const std::vector<std::string>& encoders() const { return encoders_; }
  const ScoreCube& accuracy() const { return accuracy_; }
  std::size_t seeds() const { return accuracy_.size(); }

  /// index[s][i][j] = accuracy[s][i][j] / accuracy[s][j][j]: how much of the
  /// target's own end-to-end accuracy stitching keeps; NaN where either is
  /// not evaluated or the target's accuracy is 0.
  ScoreCube index() const;

  /// Per seed the mean over the diagonal, then mean and std over seeds.
  MeanStd end_to_end() const;
  /// Per seed the mean over the off-diagonal pairs, then over seeds.
  MeanStd stitched() const;
  /// The same for the index.
  MeanStd stitching_index() const;
  /// Per encoder pair (i != j, row-major), the accuracy averaged over seeds
  /// (NaN where never evaluated): the unit of paired comparisons between
  /// two matrices, as the report's verdict makes them.
  std::vector<double> pair_means() const;

  /// The pairs (i != j) of one kind: both encoders in one group ("cnn
  /// (across seeds)") or one in each ("cnn ↔ mlp", names sorted).
  struct BRIDGES_API PairGroup {
    std::string name;
    std::vector<std::pair<std::size_t, std::size_t>> pairs;  ///< (trained on, evaluated on)
    MeanStd stitched;  ///< per seed the mean over the group's pairs, then over seeds
    MeanStd index;
  };
  /// `group_of_encoder[i]` is encoder i's group (e.g. its architecture).
  /// Empty when every encoder is in one group; a group none of whose pairs
  /// was evaluated is left out. Throws ShapeError for a wrong length.
  std::vector<PairGroup> pair_groups(const std::vector<std::string>& group_of_encoder) const;

 private:
  std::vector<std::string> encoders_;
  ScoreCube accuracy_;
};

/// One encoder's relative subspaces (one [n, k] tensor per similarity, in
/// one order for every encoder), for training and for evaluation.
struct BRIDGES_API RelativeSpaces {
  std::string name;
  std::vector<Tensor> train;
  std::vector<Tensor> test;
};

/// Zero-shot stitching outside the runner: for every encoder i and seed,
/// trains a RelativeClassifier (a fresh aggregator from `make_aggregator`,
/// `options` with that seed) on encoder i's training subspaces and labels,
/// and scores it on every encoder's test subspaces. Labels are int64 in
/// [0, classes); every encoder's spaces share shapes. Throws ShapeError
/// naming the encoder and the subspace when they do not.
BRIDGES_API StitchingMatrix stitch(const std::vector<RelativeSpaces>& encoders, const Tensor& train_labels,
                                   const Tensor& test_labels, int64_t classes,
                                   const std::function<std::shared_ptr<Aggregator>()>& make_aggregator,
                                   DecoderOptions options, const std::vector<uint64_t>& seeds);

}  // namespace bridges
