#pragma once
// Relative projection: samples -> one relative subspace per similarity.

#include <memory>
#include <string_view>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/similarity.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// Normalisation applied to each relative subspace, row by row, so that a
/// sample's representation never depends on the other samples in its batch.
enum class SubspaceNorm {
  none,         ///< the raw values
  l2,           ///< each row divided by its L2 norm (zero rows stay zero)
  standardize,  ///< each row shifted to mean 0 and scaled to variance 1 (constant rows become 0)
};

/// "none", "l2", "standardize"; parse throws UnknownNameError with the closest name.
BRIDGES_API std::string_view to_string(SubspaceNorm norm);
BRIDGES_API SubspaceNorm parse_subspace_norm(std::string_view name);

/// Applies `norm` to r [n, k] (float32 or float64); returns a new tensor.
BRIDGES_API Tensor normalize_subspace(const Tensor& r, SubspaceNorm norm);

/// Anchors [k, d] plus a list of similarity functions: projects samples into
/// one relative subspace [n, k] per similarity, in the order given.
///
/// Example:
///   bridges::RelativeProjector projector(anchors, {cosine, l1}, bridges::SubspaceNorm::l2);
///   std::vector<bridges::Tensor> spaces = projector.project(x);  // 2 x [n, k]
class BRIDGES_API RelativeProjector {
 public:
  /// anchors [k, d] float32 or float64, k >= 1; at least one similarity.
  /// Each similarity prepares for the anchors here, once (Similarity::prepare).
  RelativeProjector(Tensor anchors, std::vector<std::shared_ptr<const Similarity>> similarities,
                    SubspaceNorm norm = SubspaceNorm::none);

  /// x [n, d] of the anchors' dtype -> one [n, k] per similarity.
  std::vector<Tensor> project(const Tensor& x) const;

  const Tensor& anchors() const { return anchors_; }
  int64_t num_anchors() const { return anchors_.size(0); }
  const std::vector<std::shared_ptr<const Similarity>>& similarities() const { return similarities_; }
  SubspaceNorm norm() const { return norm_; }

 private:
  Tensor anchors_;
  std::vector<std::shared_ptr<const Similarity>> similarities_;
  std::vector<std::shared_ptr<const Similarity>> prepared_;  ///< for anchors_, one per similarity
  SubspaceNorm norm_;
};

/// How many rows of a relative space [n, k] are constant (every entry the
/// same: the sample is equally similar to every anchor, as a zero vector is
/// under cosine, or its distances underflowed). Such a row carries no
/// information in that subspace; callers warn about it. 0 when k < 2.
BRIDGES_API int64_t flat_rows(const Tensor& relative);

}  // namespace bridges
