#pragma once
// A translator: a map between two latent spaces estimated from paired anchors.

#include "bridges/component.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// Latent-space translation (Maiorca et al., NeurIPS 2023): the same anchor
/// samples encoded by two models give paired points, source [k, d1] and
/// target [k, d2]; a translator estimates a map T with T(source) ~ target,
/// and then carries any source latent into the target space, where the
/// target's own decoder can read it. It is the baseline relative
/// representations are compared with: estimate the transformation instead
/// of being invariant to it.
///
/// Which transformation classes a translator recovers exactly is declared
/// in its manifest ("represents", the names of bridges::Invariance) and
/// measured by `bridges invariances`.
///
/// Implementations override `do_fit` and `do_translate`; callers use `fit`
/// and `translate`, which check the inputs once for every implementation.
///
/// Example:
///   auto procrustes = source.make<bridges::Translator>("orthogonal");
///   procrustes->fit(anchors_a, anchors_b);          // [k, d1], [k, d2]
///   bridges::Tensor y = procrustes->translate(x);   // [n, d1] -> [n, d2]
class BRIDGES_API Translator : public Component {
 public:
  static constexpr ComponentKind kind = ComponentKind::translator;

  /// source [k, d1] and target [k, d2], float32 or float64, finite, with
  /// the same k >= 1 (row i of both is the same anchor sample). The map is
  /// estimated in float64 whatever the inputs' dtype. Throws ShapeError or
  /// NonFiniteError naming the translator and the input; an implementation
  /// throws ConfigError when the anchors cannot determine its map (too few
  /// of them), saying how many it needs.
  void fit(const Tensor& source, const Tensor& target);

  /// x [n, d1] (n may be 0), float32 or float64, finite -> [n, d2] of x's
  /// dtype. Throws ConfigError before fit(), ShapeError when d differs from
  /// the source anchors', NonFiniteError on NaN or infinity in x or in the
  /// result.
  Tensor translate(const Tensor& x) const;

  bool fitted() const { return source_dim_ > 0; }
  int64_t source_dim() const { return source_dim_; }  ///< d1; 0 before fit()
  int64_t target_dim() const { return target_dim_; }  ///< d2; 0 before fit()

 protected:
  /// source [k, d1], target [k, d2]: float64, finite, checked.
  virtual void do_fit(const Tensor& source, const Tensor& target) = 0;
  /// x [n, d1], float32 or float64, finite -> [n, d2] of x's dtype.
  virtual Tensor do_translate(const Tensor& x) const = 0;

 private:
  int64_t source_dim_ = 0, target_dim_ = 0;
};

}  // namespace bridges
