#pragma once
// Synthetic latent spaces with class structure, for stitching tests.

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/linalg_qr.h>

#include "plugin_registry.hpp"
#include "testing.hpp"

namespace stitching {

using bridges::testing::registry;

/// n samples of `classes` Gaussian clusters in d dimensions: x [n, d], labels [n].
struct Clusters {
  bridges::Tensor x, labels;
};

inline Clusters clusters(int64_t n, int64_t d, int64_t classes, uint64_t seed) {
  const bridges::Tensor centres = bridges::testing::randn({classes, d}, seed, at::kFloat) * 2.5;
  const bridges::Tensor labels = at::arange(n, at::TensorOptions().dtype(at::kLong)).remainder(classes);
  return {centres.index_select(0, labels) + bridges::testing::randn({n, d}, seed + 1, at::kFloat), labels};
}

/// Classes by angle around the origin: class c lies in a narrow sector
/// around angle c * 2 pi / classes of the first two dimensions, at radii
/// from 0.1 to 4 (log-uniform), with small noise elsewhere. Near the origin
/// points of different classes are close to each other, so only their angle
/// tells them apart: cosine sees the classes, distances less so, and a
/// translation moves the origin the classes are defined around.
inline Clusters sectors(int64_t n, int64_t d, int64_t classes, uint64_t seed) {
  const bridges::Tensor labels = at::arange(n, at::TensorOptions().dtype(at::kLong)).remainder(classes);
  const auto uniform = [&](uint64_t s) { return (bridges::testing::randn({n}, s, at::kFloat).clamp(-2, 2) + 2) / 4; };
  const bridges::Tensor angle = labels.to(at::kFloat) * (2 * M_PI / classes) + (uniform(seed) - 0.5) * (0.5 * M_PI / classes);
  const bridges::Tensor radius = (std::log(0.1) + uniform(seed + 1) * (std::log(4.0) - std::log(0.1))).exp();
  bridges::Tensor x = bridges::testing::randn({n, d}, seed + 2, at::kFloat) * 0.02;
  x.select(1, 0).add_(radius * angle.cos());
  x.select(1, 1).add_(radius * angle.sin());
  return {x, labels};
}

inline bridges::Tensor orthogonal(int64_t d, uint64_t seed) {
  return std::get<0>(at::linalg_qr(bridges::testing::randn({d, d}, seed, at::kDouble))).to(at::kFloat);
}

}  // namespace stitching
