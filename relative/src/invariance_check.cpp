#include "bridges/relative/invariance_check.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/asinh.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/linalg_qr.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randperm.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/stack.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

namespace bridges {

bool InvarianceReport::disagrees(const InvarianceMeasurement& m) const {
  if (!m.measurable) return false;
  if (m.declared && !m.invariant) return true;
  return !m.declared && m.invariant && norm == SubspaceNorm::none;
}

bool InvarianceReport::agrees() const {
  return std::none_of(rows.begin(), rows.end(), [&](const auto& m) { return disagrees(m); });
}

InvarianceSet InvarianceReport::measured() const {
  InvarianceSet out;
  for (const auto& m : rows)
    if (m.measurable && m.invariant) out.insert(m.invariance);
  return out;
}

namespace {

// A sheet and the same sheet rolled up into a Swiss roll. The sheet's first
// coordinate is the arc length along the roll's spiral (r = t), so rolling
// preserves every distance measured along the sheet: a manifold isometry
// that changes distances through the ambient space. t is drawn with density
// proportional to t, which spreads samples evenly over the sheet.
std::pair<Tensor, Tensor> sheet_and_roll(int64_t n, at::Generator& gen) {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const double t0 = 1.5 * M_PI, t1 = 4.5 * M_PI;
  const Tensor t = (t0 * t0 + (t1 * t1 - t0 * t0) * at::rand({n}, gen, f64)).sqrt();
  const Tensor h = 10.0 * at::rand({n}, gen, f64);
  const Tensor arc = 0.5 * (t * (1 + t * t).sqrt() + at::asinh(t));
  return {at::stack({arc, h}, 1), at::stack({t * at::cos(t), h, t * at::sin(t)}, 1)};
}

}  // namespace

namespace {

// One random transformation of each class, of dimension d. A Gaussian
// matrix is invertible with probability 1 and far from orthogonal, so it
// breaks every invariance but linear/affine.
class RandomTransformations {
 public:
  RandomTransformations(int64_t d, at::Generator& gen) {
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    shift_ = at::randn({1, d}, gen, f64) * 3.0;
    linear_ = at::randn({d, d}, gen, f64);
    orthogonal_ = std::get<0>(at::linalg_qr(at::randn({d, d}, gen, f64)));
    permutation_ = at::randperm(d, gen, at::TensorOptions().dtype(at::kLong));
  }

  /// T(t) for one class; manifold_isometry is not a map of t (see sheet_and_roll).
  Tensor apply(Invariance inv, const Tensor& t) const {
    switch (inv) {
      case Invariance::isotropic_scaling: return t * 3.7;
      case Invariance::orthogonal: return t.mm(orthogonal_);
      case Invariance::translation: return t + shift_;
      case Invariance::permutation: return t.index_select(1, permutation_);
      case Invariance::affine: return t.mm(linear_) + shift_;
      case Invariance::linear: return t.mm(linear_);
      case Invariance::manifold_isometry: break;
    }
    return Tensor();
  }

 private:
  Tensor shift_, linear_, orthogonal_, permutation_;
};

double relative_deviation(const Tensor& got, const Tensor& expected) {
  return (got - expected).abs().max().item<double>() / std::max(expected.abs().max().item<double>(), 1e-300);
}

// One row per invariance class: `deviation(inv)` measures it (nullopt: not
// measurable), compared with the applying claim's tolerance when it is
// approximate, else the manifold tolerance for manifold_isometry and the
// tolerance otherwise.
InvarianceReport report_of(std::string name, const InvarianceDeclaration& declared, const nlohmann::json& component,
                           const InvarianceCheckOptions& options,
                           const std::function<std::optional<double>(Invariance)>& deviation) {
  InvarianceReport report;
  report.similarity = std::move(name);
  report.norm = options.norm;
  for (Invariance inv : all_invariances()) {
    InvarianceMeasurement m;
    m.invariance = inv;
    const std::optional<InvarianceClaim> claim = declared.claim(inv, component);
    m.declared = claim.has_value();
    m.approximate = claim && claim->tolerance > 0;
    m.tolerance = m.approximate                            ? claim->tolerance
                  : inv == Invariance::manifold_isometry ? options.manifold_tolerance
                                                         : options.tolerance;
    const std::optional<double> measured = deviation(inv);
    m.measurable = measured.has_value();
    m.deviation = measured.value_or(0.0);
    m.invariant = m.measurable && m.deviation < m.tolerance;
    report.rows.push_back(m);
  }
  return report;
}

}  // namespace

InvarianceReport measure_invariances(const Similarity& similarity, const InvarianceDeclaration& declared,
                                     const InvarianceCheckOptions& options) {
  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const int64_t d = options.dim;
  const Tensor x = at::randn({options.samples, d}, gen, f64);
  const Tensor anchors = at::randn({options.anchors, d}, gen, f64);
  const auto represent = [&](const Tensor& xs, const Tensor& as) {
    return normalize_subspace(similarity.project(xs, as), options.norm);
  };
  const Tensor reference = represent(x, anchors);
  const RandomTransformations transformations(d, gen);
  return report_of(similarity.type(), declared, similarity.to_json(), options, [&](Invariance inv) -> std::optional<double> {
    if (inv == Invariance::manifold_isometry) {
      // Not a map of the random latents: a sheet against its Swiss roll,
      // the first `anchors` samples as anchors, and a looser tolerance,
      // since a similarity can only follow the manifold through the
      // samples (e.g. a neighbour graph).
      const auto [sheet, roll] = sheet_and_roll(options.manifold_samples, gen);
      return relative_deviation(represent(roll, roll.narrow(0, 0, options.anchors)),
                                represent(sheet, sheet.narrow(0, 0, options.anchors)));
    }
    return relative_deviation(represent(transformations.apply(inv, x), transformations.apply(inv, anchors)), reference);
  });
}

InvarianceReport measure_translations(Translator& translator, const InvarianceSet& declared,
                                      const InvarianceCheckOptions& options) {
  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const int64_t d = options.dim;
  const Tensor x = at::randn({options.samples, d}, gen, f64);
  const Tensor anchors = at::randn({options.anchors, d}, gen, f64);
  const RandomTransformations transformations(d, gen);
  InvarianceCheckOptions plain = options;
  plain.norm = SubspaceNorm::none;  // a translator has no normalisation of its own
  return report_of(translator.type(), InvarianceDeclaration(declared), translator.to_json(), plain, [&](Invariance inv) -> std::optional<double> {
    if (inv == Invariance::manifold_isometry) {
      // The sheet (2-D) against its Swiss roll (3-D): fitted on the first
      // `anchors` points, a linear or affine map cannot roll a sheet up.
      const auto [sheet, roll] = sheet_and_roll(options.manifold_samples, gen);
      translator.fit(sheet.narrow(0, 0, options.anchors), roll.narrow(0, 0, options.anchors));
      return relative_deviation(translator.translate(sheet), roll);
    }
    translator.fit(anchors, transformations.apply(inv, anchors));
    return relative_deviation(translator.translate(x), transformations.apply(inv, x));
  });
}

InvarianceReport measure_invariances(const Measure& measure, const InvarianceDeclaration& declared,
                                     const InvarianceCheckOptions& options) {
  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const int64_t d = options.dim;
  // Two related spaces, so that every measure is far from its extremes: b
  // is a random linear image of a plus noise.
  const Tensor a = at::randn({options.samples, d}, gen, f64);
  const Tensor b = a.mm(at::randn({d, d}, gen, f64)) + 0.5 * at::randn({options.samples, d}, gen, f64);
  const double reference = measure.compare(a, b);
  const RandomTransformations transformations(d, gen);
  InvarianceCheckOptions plain = options;
  plain.norm = SubspaceNorm::none;
  return report_of(measure.type(), declared, measure.to_json(), plain, [&](Invariance inv) -> std::optional<double> {
    if (inv == Invariance::manifold_isometry) return std::nullopt;  // a measure compares given samples: no manifold
    // Either space may be the transformed one: an asymmetric measure (PWCCA
    // weighs by one side) must hold for both.
    return std::max(std::abs(measure.compare(a, transformations.apply(inv, b)) - reference),
                    std::abs(measure.compare(transformations.apply(inv, a), b) - reference)) /
           std::max(std::abs(reference), 1e-12);
  });
}

}  // namespace bridges
