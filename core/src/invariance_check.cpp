#include "bridges/invariance_check.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/linalg_qr.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randperm.h>

#include <algorithm>
#include <functional>

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

InvarianceReport measure_invariances(const Similarity& similarity, const InvarianceCheckOptions& options) {
  at::Generator gen = at::detail::createCPUGenerator(options.seed);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const int64_t d = options.dim;
  const Tensor x = at::randn({options.samples, d}, gen, f64);
  const Tensor anchors = at::randn({options.anchors, d}, gen, f64);
  const auto represent = [&](const Tensor& xs, const Tensor& as) {
    return normalize_subspace(similarity.project(xs, as), options.norm);
  };
  const Tensor reference = represent(x, anchors);
  const double scale = std::max(reference.abs().max().item<double>(), 1e-300);

  // A random invertible map; a Gaussian matrix is invertible with probability 1
  // and far from orthogonal, so it breaks every invariance but linear/affine.
  const Tensor shift = at::randn({1, d}, gen, f64) * 3.0;
  const Tensor linear = at::randn({d, d}, gen, f64);
  const Tensor orthogonal = std::get<0>(at::linalg_qr(at::randn({d, d}, gen, f64)));
  const Tensor permutation = at::randperm(d, gen, at::TensorOptions().dtype(at::kLong));

  InvarianceReport report;
  report.similarity = similarity.type();
  report.norm = options.norm;
  const InvarianceSet declared = similarity.invariances();
  for (Invariance inv : all_invariances()) {
    InvarianceMeasurement m;
    m.invariance = inv;
    m.declared = declared.contains(inv);
    std::function<Tensor(const Tensor&)> transform;
    switch (inv) {
      case Invariance::isotropic_scaling: transform = [](const Tensor& t) { return t * 3.7; }; break;
      case Invariance::orthogonal: transform = [&](const Tensor& t) { return t.mm(orthogonal); }; break;
      case Invariance::translation: transform = [&](const Tensor& t) { return t + shift; }; break;
      case Invariance::permutation: transform = [&](const Tensor& t) { return t.index_select(1, permutation); }; break;
      case Invariance::affine: transform = [&](const Tensor& t) { return t.mm(linear) + shift; }; break;
      case Invariance::linear: transform = [&](const Tensor& t) { return t.mm(linear); }; break;
      case Invariance::manifold_isometry: m.measurable = false; break;
    }
    if (m.measurable) {
      const Tensor moved = represent(transform(x), transform(anchors));
      m.deviation = (moved - reference).abs().max().item<double>() / scale;
      m.invariant = m.deviation < options.tolerance;
    }
    report.rows.push_back(m);
  }
  return report;
}

}  // namespace bridges
