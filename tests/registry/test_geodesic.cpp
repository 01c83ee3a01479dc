// The geodesic similarity plugin: distances along the data manifold.
#include <ATen/ATen.h>

#include <cmath>

#include "bridges/error.hpp"
#include "bridges/registry/registry.hpp"
#include "testing.hpp"

using namespace bridges;

namespace {
Registry& plugins() {
  static Registry r({BRIDGES_TEST_PLUGIN_DIR});
  return r;
}

// A sheet [n, 2] and the same sheet rolled into a Swiss roll [n, 3]; the
// sheet's first coordinate is the arc length along the roll's spiral r = t,
// so the two are isometric along the surface.
std::pair<Tensor, Tensor> sheet_and_roll(int64_t n, uint64_t seed) {
  const Tensor u = testing::randn({n, 2}, seed, at::kDouble).sigmoid();  // in (0, 1)
  const double t0 = 1.5 * M_PI, t1 = 4.5 * M_PI;
  const Tensor t = (t0 * t0 + (t1 * t1 - t0 * t0) * u.select(1, 0)).sqrt();
  const Tensor h = 10 * u.select(1, 1);
  const Tensor arc = 0.5 * (t * (1 + t * t).sqrt() + at::asinh(t));
  return {at::stack({arc, h}, 1), at::stack({t * at::cos(t), h, t * at::sin(t)}, 1)};
}

double relative_gap(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item<double>() / b.abs().max().item<double>(); }
}  // namespace

TEST_CASE("a Swiss roll and its unrolled sheet give the same geodesic representation, not the same Euclidean one") {
  const auto [sheet, roll] = sheet_and_roll(1500, 1);
  const Tensor sheet_anchors = sheet.narrow(0, 0, 24), roll_anchors = roll.narrow(0, 0, 24);
  auto geodesic = plugins().make<Similarity>("geodesic");
  auto euclidean = plugins().make<Similarity>("euclidean");
  const double geodesic_gap = relative_gap(geodesic->project(roll, roll_anchors), geodesic->project(sheet, sheet_anchors));
  const double euclidean_gap = relative_gap(euclidean->project(roll, roll_anchors), euclidean->project(sheet, sheet_anchors));
  CAPTURE(geodesic_gap);
  CAPTURE(euclidean_gap);
  CHECK(geodesic_gap < 0.03);
  CHECK(euclidean_gap > 0.3);
  // On the flat sheet, graph geodesics approximate straight-line distances.
  CHECK(relative_gap(geodesic->project(sheet, sheet_anchors), euclidean->project(sheet, sheet_anchors)) < 0.1);
}

TEST_CASE("geodesic distances: exact on a path graph, invariant to rigid motions, float32 and float64") {
  // Points on a line 0, 1, 2, ..., 9 with k = 2: shortest paths are exact.
  const Tensor line = at::arange(10, at::kDouble).unsqueeze(1) * at::tensor({1.0, 0.0}, at::kDouble).unsqueeze(0);
  auto geodesic = plugins().make<Similarity>("geodesic", {{"k", 2}});
  const Tensor r = geodesic->project(line, line.narrow(0, 0, 1));
  CHECK(testing::max_abs_diff(r.squeeze(1), at::arange(10, at::kDouble)) < 1e-12);
  geodesic = plugins().make<Similarity>("geodesic");  // k = 10
  const Tensor x = testing::randn({200, 5}, 2, at::kDouble), a = x.narrow(0, 0, 8);
  const Tensor q = std::get<0>(at::linalg_qr(testing::randn({5, 5}, 3, at::kDouble)));
  const Tensor shift = testing::randn({1, 5}, 4, at::kDouble);
  CHECK(relative_gap(geodesic->project(x.mm(q) + shift, a.mm(q) + shift), geodesic->project(x, a)) < 1e-6);  // distances via |a|^2 + |b|^2 - 2ab round at ~1e-8
  const Tensor single = geodesic->project(x.to(at::kFloat), a.to(at::kFloat));
  CHECK((single.scalar_type() == at::kFloat));
  CHECK(single.sizes() == at::IntArrayRef{200, 8});
  CHECK(geodesic->project(x.narrow(0, 0, 0), a).sizes() == at::IntArrayRef{0, 8});
  // Fewer nodes than k + 1: every node neighbours every other.
  CHECK(at::isfinite(plugins().make<Similarity>("geodesic")->project(x.narrow(0, 0, 3), a.narrow(0, 0, 2))).all().item<bool>());
}

TEST_CASE("a graph in pieces is an error naming the components, or a documented penalty") {
  // Two clusters far apart; k = 3 never links them.
  const Tensor x = at::cat({testing::randn({30, 2}, 5, at::kDouble), testing::randn({30, 2}, 6, at::kDouble) + 1000});
  const Tensor anchors = x.narrow(0, 0, 2);  // both in the first cluster
  auto strict = plugins().make<Similarity>("geodesic", {{"k", 3}});
  CHECK_THROWS_WITH_ALL(strict->project(x, anchors), ConfigError, "falls into 2 connected components; 30 samples cannot reach anchor");
  auto lenient = plugins().make<Similarity>("geodesic", {{"k", 3}, {"unreachable", "penalty"}});
  const Tensor r = lenient->project(x, anchors);
  CHECK(at::isfinite(r).all().item<bool>());
  const double reachable = r.narrow(0, 0, 30).max().item<double>();
  CHECK(r.narrow(0, 30, 30).min().item<double>() == doctest::Approx(2 * reachable));
  // mutual neighbours keep fewer edges than the union: paths are no shorter.
  const Tensor y = testing::randn({120, 3}, 7, at::kDouble);
  auto mutual = plugins().make<Similarity>("geodesic", {{"k", 6}, {"symmetrize", "mutual"}, {"unreachable", "penalty"}});
  auto both = plugins().make<Similarity>("geodesic", {{"k", 6}});
  CHECK((mutual->project(y, y.narrow(0, 0, 4)) >= both->project(y, y.narrow(0, 0, 4)) - 1e-12).all().item<bool>());
}
