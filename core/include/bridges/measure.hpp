#pragma once
// A measure: how similar two representations of the same samples are.

#include "bridges/component.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// Compares two representations of the same n samples (row i of each is
/// sample i): absolute latents of two models (any widths) or relative
/// representations (the same anchors give the same width). CKA, SVCCA,
/// correlations, neighbourhood agreement, shape metrics...
///
/// Which transformations of one space leave the value unchanged is declared
/// in the manifest ("invariances"), as is whether the measure pairs entry
/// (i, c) of one space with entry (i, c) of the other and so needs the same
/// width ("same_width"); `bridges invariances -m` measures the former.
///
/// Implementations override `compute`, and `prepare` when part of the work
/// depends on one space only (ranks, a centred Gram matrix): a caller that
/// compares one space with many prepares it once. Callers use `compare`, or
/// `prepare` + `compare_prepared`, which check the inputs for every
/// implementation.
///
/// Example:
///   auto cka = source.make<bridges::Measure>("cka_linear");
///   double s = cka->compare(a, b);   // a [n, da], b [n, db]
class BRIDGES_API Measure : public Component {
 public:
  static constexpr ComponentKind kind = ComponentKind::measure;

  /// a [n, da] and b [n, db], float32 or float64, finite, the same n >= 1.
  /// Throws ShapeError or NonFiniteError naming the measure and the input,
  /// UndefinedMeasureError when the measure is not defined for them (the
  /// message says why), ConfigError when an option does not fit them (e.g.
  /// more neighbours than samples).
  double compare(const Tensor& a, const Tensor& b) const;

  /// The part of the work that depends on x alone (checked as in compare).
  /// The default keeps x as it is.
  Tensor prepare(const Tensor& x) const;
  /// compare() on spaces already prepared by this measure (any two of them
  /// whose samples are the same). `a` and `b` are the prepared forms.
  double compare_prepared(const Tensor& a, const Tensor& b) const;

 protected:
  /// x [n, d], float32 or float64, finite: checked.
  virtual Tensor do_prepare(const Tensor& x) const { return x; }
  /// Prepared forms of two spaces with the same n. Must return a finite
  /// number, or throw UndefinedMeasureError.
  virtual double compute(const Tensor& a, const Tensor& b) const = 0;
};

}  // namespace bridges
