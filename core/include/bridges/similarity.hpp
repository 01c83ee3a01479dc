#pragma once
// A similarity function: how a sample is represented relative to anchors.

#include <memory>

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

  /// Work that depends on the anchors alone, done once per anchor set
  /// instead of on every call and chunk (e.g. an RBF kernel's bandwidth
  /// from the anchors' median distance): returns the similarity to use for
  /// these anchors, or nullptr when there is nothing to prepare (the
  /// default). RelativeProjector prepares once per anchor set; project()
  /// prepares on each call. A prepared similarity must return nullptr from
  /// its own prepare() (`bridges plugins check` verifies it).
  ///
  /// The invariances a similarity has are declared in its manifest (or its
  /// InProcessSource declaration), not here: `bridges invariances` measures them.
  virtual std::shared_ptr<const Similarity> prepare(const Tensor& anchors) const;

 protected:
  /// x [n, d], anchors [k, d]: already checked to be 2-D, of one floating
  /// dtype, with the same d. Must return [n, k] of that dtype.
  virtual Tensor compute(const Tensor& x, const Tensor& anchors) const = 0;
};

}  // namespace bridges
