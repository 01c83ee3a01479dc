// The distances plugin, used the way a pipeline uses it: through the registry.
#include <ATen/TensorOperators.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include <cmath>

#include "bridges/error.hpp"
#include "bridges/relative/invariance_check.hpp"
#include "bridges/registry/registry.hpp"
#include "naive.hpp"
#include "plugin_registry.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
using testing::Metric;

using testing::registry;

TEST_CASE("each built-in similarity matches its definition, in float32 and float64") {
  const std::vector<std::pair<std::string, Metric>> cases{
      {"cosine", Metric::cosine}, {"euclidean", Metric::euclidean}, {"l1", Metric::l1}, {"linf", Metric::linf}};
  for (const auto& [name, metric] : cases) {
    auto similarity = registry().make<Similarity>(name);
    for (auto dtype : {at::kFloat, at::kDouble}) {
      CAPTURE(name);
      const Tensor x = testing::randn({45, 23}, 1, dtype);
      const Tensor a = testing::randn({21, 23}, 2, dtype);
      const Tensor r = similarity->project(x, a);
      CHECK((r.scalar_type() == dtype));
      CHECK(testing::max_abs_diff(r, testing::naive_pairwise(x, a, metric)) < (dtype == at::kFloat ? 1e-4 : 1e-10));
    }
  }
  auto smooth = registry().make<Similarity>("linf", {{"p", 8}});
  const Tensor x = testing::randn({5, 6}, 3, at::kDouble), a = testing::randn({4, 6}, 4, at::kDouble);
  CHECK(testing::max_abs_diff(smooth->project(x, a), testing::naive_pairwise(x, a, Metric::linf, 8)) < 1e-10);
}

TEST_CASE("built-in similarities work at the edges: n = 0, k = 1, d = 1, zero vectors") {
  for (const auto& name : {"cosine", "euclidean", "l1", "linf"}) {
    CAPTURE(name);
    auto s = registry().make<Similarity>(name);
    CHECK(s->project(at::zeros({0, 4}), testing::randn({3, 4}, 0)).sizes() == at::IntArrayRef{0, 3});
    CHECK(s->project(testing::randn({5, 1}, 0), testing::randn({1, 1}, 1)).sizes() == at::IntArrayRef{5, 1});
    CHECK(at::isfinite(s->project(at::zeros({2, 3}), at::zeros({2, 3}))).all().item<bool>());
  }
}

TEST_CASE("measured invariances of the built-ins equal the declared ones") {
  const std::map<std::string, InvarianceSet> expected{
      {"cosine", {Invariance::isotropic_scaling, Invariance::orthogonal, Invariance::permutation}},
      {"euclidean", {Invariance::orthogonal, Invariance::translation, Invariance::permutation}},
      {"l1", {Invariance::translation, Invariance::permutation}},
      {"linf", {Invariance::translation, Invariance::permutation}},
      {"geodesic", {Invariance::orthogonal, Invariance::translation, Invariance::permutation, Invariance::manifold_isometry}},
  };
  for (const auto& [name, invariances] : expected) {
    CAPTURE(name);
    auto s = registry().make<Similarity>(name);
    CHECK(s->invariances() == invariances);
    CHECK(registry().info(ComponentKind::similarity, name).invariances == invariances);
    for (uint64_t seed : {0, 1, 2}) {
      InvarianceCheckOptions options;
      options.seed = seed;
      const auto report = measure_invariances(*s, options);
      CHECK(report.measured() == invariances);
      CHECK(report.agrees());
    }
  }
}

TEST_CASE("standardize and l2 make every distance invariant to isotropic scaling, and keep the rest") {
  for (const auto& name : {"euclidean", "l1", "linf"}) {
    for (auto norm : {SubspaceNorm::standardize, SubspaceNorm::l2}) {
      CAPTURE(name);
      auto s = registry().make<Similarity>(name);
      InvarianceCheckOptions options;
      options.norm = norm;
      const auto report = measure_invariances(*s, options);
      InvarianceSet expected = s->invariances();
      expected.insert(Invariance::isotropic_scaling);
      CHECK(report.measured() == expected);
      CHECK(report.agrees());  // a gain from the normalisation is not a disagreement
    }
  }
}

TEST_CASE("every built-in writes itself back to JSON that makes an equal component") {
  for (const json& spec : {json{{"type", "cosine"}, {"eps", 1e-6}}, json{{"type", "euclidean"}}, json{{"type", "l1"}},
                           json{{"type", "linf"}, {"p", nullptr}}, json{{"type", "linf"}, {"p", 30.0}},
                           json{{"type", "geodesic"}, {"k", 7}, {"symmetrize", "mutual"}, {"unreachable", "penalty"}}}) {
    CAPTURE(spec.dump());
    const auto s = registry().make_from_json<Similarity>(spec);
    CHECK(s->to_json() == spec);
    CHECK(registry().make_from_json<Similarity>(s->to_json())->to_json() == spec);
  }
}

TEST_CASE("every built-in similarity refuses NaN and infinity in x or anchors, naming the first bad row and column") {
  // The kernels alone give plausible numbers for such rows (Euclidean's clamp
  // turned NaN into 0, a max ignores it): Similarity::project refuses them.
  for (const auto& name : {"cosine", "euclidean", "l1", "linf"}) {
    auto similarity = registry().make<Similarity>(name);
    for (const double bad : {std::nan(""), double(INFINITY), -double(INFINITY)}) {
      CAPTURE(name);
      CAPTURE(bad);
      Tensor x = testing::randn({20, 5}, 3);
      const Tensor anchors = testing::randn({7, 5}, 2);
      x[13][2] = bad;
      CHECK_THROWS_WITH_ALL(similarity->project(x, anchors), NonFiniteError,
                            fmt::format("similarity/{}: x: row 13, column 2", name));
      Tensor a = anchors.clone();
      a[6][4] = bad;
      CHECK_THROWS_WITH_ALL(similarity->project(testing::randn({20, 5}, 3), a), NonFiniteError,
                            fmt::format("similarity/{}: anchors: row 6, column 4", name));
    }
  }
}

TEST_CASE("a projection that overflows is refused with the largest magnitude and the fix, never printed as inf") {
  auto euclidean = registry().make<Similarity>("euclidean");
  const Tensor x = 1e20 * testing::randn({10, 4}, 5), anchors = -1e20 * testing::randn({3, 4}, 6);
  CHECK_THROWS_WITH_ALL(euclidean->project(x, anchors), NonFiniteError, "similarity/euclidean: the result is infinite",
                        "overflow float32", "Scale the latents");
  // In float64 the same values are fine.
  CHECK_FALSE(find_nonfinite(euclidean->project(x.to(at::kDouble), anchors.to(at::kDouble))).has_value());
}
