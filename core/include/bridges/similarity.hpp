#pragma once
// A similarity function: how a sample is represented relative to anchors.

#include "bridges/component.hpp"
#include "bridges/invariance.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// Represents samples relative to anchors: row i of the result holds
/// f(x_i, a_j) for every anchor j. Distances (euclidean, l1, linf) return the
/// distance itself; similarities (cosine) the similarity.
///
/// Implementations override `compute`; callers use `project`, which checks
/// the inputs once for every implementation.
///
/// Example:
///   auto cosine = source.make<bridges::Similarity>("cosine");
///   bridges::Tensor r = cosine->project(x, anchors);  // [n, k]
class BRIDGES_API Similarity : public Component {
 public:
  static constexpr ComponentKind kind = ComponentKind::similarity;

  /// x [n, d] and anchors [k, d], both float32 or both float64 (n may be 0,
  /// k >= 1) -> [n, k] of the same dtype. Throws ShapeError naming the
  /// similarity and what was found when the inputs do not fit, and
  /// NonFiniteError when x or anchors hold NaN or an infinity (with the
  /// first bad row and column) or the result is not finite (an overflow).
  Tensor project(const Tensor& x, const Tensor& anchors) const;

  /// The transformation classes this function is invariant to, as declared
  /// (the `bridges invariances` command measures them).
  virtual InvarianceSet invariances() const = 0;

 protected:
  /// x [n, d], anchors [k, d]: already checked to be 2-D, of one floating
  /// dtype, with the same d. Must return [n, k] of that dtype.
  virtual Tensor compute(const Tensor& x, const Tensor& anchors) const = 0;
};

}  // namespace bridges
