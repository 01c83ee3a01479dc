// The distances plugin, used the way a pipeline uses it: through the registry.
#include <ATen/TensorOperators.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/full.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include <algorithm>
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

TEST_CASE("rbf is exp(-d^2 / (2 sigma^2)), sigma given or the anchors' median distance, found once per anchor set") {
  for (auto dtype : {at::kFloat, at::kDouble}) {
    const Tensor x = testing::randn({30, 9}, 5, dtype), a = testing::randn({12, 9}, 6, dtype);
    const Tensor d = testing::naive_pairwise(x, a, Metric::euclidean);
    // The median of the 66 distances between distinct anchors, by sorting.
    std::vector<double> between;
    const Tensor ad = testing::naive_pairwise(a, a, Metric::euclidean).to(at::kDouble);
    for (int64_t i = 0; i < 12; ++i)
      for (int64_t j = i + 1; j < 12; ++j) between.push_back(ad[i][j].item<double>());
    std::sort(between.begin(), between.end());
    const double median = between[(between.size() - 1) / 2];  // torch's median: the lower of the middle two
    const double tolerance = dtype == at::kFloat ? 1e-5 : 1e-12;
    for (const auto& [options, sigma] : {std::pair{json::object(), median}, std::pair{json{{"sigma", 0.7}}, 0.7}}) {
      CAPTURE(options.dump());
      const auto rbf = registry().make<Similarity>("rbf", options);
      const Tensor expected = (-(d * d) / (2 * sigma * sigma)).exp();
      CHECK(testing::max_abs_diff(rbf->project(x, a), expected) < tolerance);
      // Prepared for these anchors: the bandwidth is fixed, and chunks of x agree with the whole.
      const auto prepared = rbf->prepare(a);
      CHECK(static_cast<bool>(prepared) == options.empty());
      if (prepared) {
        CHECK(prepared->to_json()["sigma"].get<double>() == doctest::Approx(median).epsilon(1e-12));
        CHECK(prepared->prepare(a) == nullptr);
        CHECK(testing::max_abs_diff(at::cat({prepared->project(x.narrow(0, 0, 7), a), prepared->project(x.narrow(0, 7, 23), a)}),
                                    expected) < tolerance);
      }
    }
  }
  CHECK_THROWS_WITH_ALL(registry().make<Similarity>("rbf", {{"sigma", 0}}), ConfigError, "sigma", "> 0");
  // A bandwidth whose square underflows: a sample on an anchor is 1 there and 0 elsewhere, never 0 / 0.
  const Tensor on = at::eye(3, at::kDouble);
  CHECK(registry().make<Similarity>("rbf", {{"sigma", 1e-200}})->project(on, on).equal(at::eye(3, at::kDouble)));
  // Coinciding anchors have no spread: the bandwidth falls back to 1 instead of dividing by zero.
  const Tensor same = at::ones({3, 4}, at::kDouble);
  CHECK(testing::max_abs_diff(registry().make<Similarity>("rbf")->project(at::zeros({1, 4}, at::kDouble), same),
                              at::full({1, 3}, std::exp(-2.0), at::kDouble)) < 1e-12);
}

TEST_CASE("built-in similarities work at the edges: n = 0, k = 1, d = 1, zero vectors") {
  for (const auto& name : {"cosine", "euclidean", "l1", "linf", "rbf"}) {
    CAPTURE(name);
    auto s = registry().make<Similarity>(name);
    CHECK(s->project(at::zeros({0, 4}), testing::randn({3, 4}, 0)).sizes() == at::IntArrayRef{0, 3});
    CHECK(s->project(testing::randn({5, 1}, 0), testing::randn({1, 1}, 1)).sizes() == at::IntArrayRef{5, 1});
    CHECK(at::isfinite(s->project(at::zeros({2, 3}), at::zeros({2, 3}))).all().item<bool>());
  }
}

TEST_CASE("measured invariances of the built-ins equal the declared ones, option by option") {
  const auto O = Invariance::orthogonal, T = Invariance::translation, P = Invariance::permutation,
             S = Invariance::isotropic_scaling, M = Invariance::manifold_isometry;
  const std::vector<std::pair<json, InvarianceSet>> expected{
      {{{"type", "cosine"}}, {S, O, P}},
      {{{"type", "euclidean"}}, {O, T, P}},
      {{{"type", "l1"}}, {T, P}},
      {{{"type", "linf"}}, {T, P}},
      {{{"type", "linf"}, {"p", 30.0}}, {T, P}},
      {{{"type", "geodesic"}}, {O, T, P, M}},
      // The bandwidth decides scale invariance: the anchors' median scales with them, a fixed sigma does not.
      {{{"type", "rbf"}}, {S, O, T, P}},
      {{{"type", "rbf"}, {"sigma", 5.0}}, {O, T, P}},  // (a sigma of 1-2 sees only neighbours on the Swiss roll: manifold-isometric there)
  };
  for (const auto& [spec, invariances] : expected) {
    CAPTURE(spec.dump());
    auto s = registry().make_from_json<Similarity>(spec);
    const InvarianceDeclaration& declared = registry().info(ComponentKind::similarity, spec["type"].get<std::string>()).invariances;
    CHECK(declared.holds(s->to_json()) == invariances);
    for (uint64_t seed : {0, 1, 2}) {
      InvarianceCheckOptions options;
      options.seed = seed;
      const auto report = measure_invariances(*s, declared, options);
      CHECK(report.measured() == invariances);
      CHECK(report.agrees());
    }
  }
  // geodesic's manifold_isometry is declared approximate: its row is judged by the declared tolerance.
  const auto geodesic = registry().make<Similarity>("geodesic");
  const auto report = measure_invariances(*geodesic, registry().info(ComponentKind::similarity, "geodesic").invariances);
  const auto row = std::find_if(report.rows.begin(), report.rows.end(), [&](const auto& m) { return m.invariance == M; });
  REQUIRE(row != report.rows.end());
  CHECK(row->approximate);
  CHECK(row->tolerance == 0.05);
  CHECK(row->deviation > 1e-6);  // really approximate: the exact test's tolerance would fail it
}

TEST_CASE("every built-in writes itself back to JSON that makes an equal component") {
  for (const json& spec : {json{{"type", "cosine"}, {"eps", 1e-6}}, json{{"type", "euclidean"}}, json{{"type", "l1"}},
                           json{{"type", "linf"}, {"p", nullptr}}, json{{"type", "linf"}, {"p", 30.0}},
                           json{{"type", "geodesic"}, {"k", 7}, {"symmetrize", "mutual"}, {"unreachable", "penalty"}},
                           json{{"type", "rbf"}, {"sigma", nullptr}}, json{{"type", "rbf"}, {"sigma", 0.5}}}) {
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
