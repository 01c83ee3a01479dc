// The translators plugin (latent-space translation), through the registry.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "bridges/error.hpp"
#include "bridges/plugin_abi.h"
#include "bridges/registry/manifest.hpp"
#include "bridges/relative/invariance_check.hpp"
#include "bridges/translator.hpp"
#include "plugin_registry.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
using testing::registry;

namespace {

Tensor orthogonal_matrix(int64_t d, uint64_t seed) {
  return std::get<0>(at::linalg_qr(testing::randn({d, d}, seed, at::kDouble)));
}

// max |a - b| / max |b|
double deviation(const Tensor& a, const Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

}  // namespace

TEST_CASE("orthogonal recovers a rotation, with a translation and a scale when centring and scaling are on") {
  const Tensor source = testing::randn({300, 16}, 1, at::kDouble), x = testing::randn({200, 16}, 2, at::kDouble);
  const Tensor q = orthogonal_matrix(16, 3), shift = testing::randn({1, 16}, 4, at::kDouble) * 5;
  const auto map = [&](const Tensor& t) { return 2.5 * t.mm(q) + shift; };
  auto procrustes = registry().make<Translator>("orthogonal");  // centre and isotropic scaling: the defaults
  procrustes->fit(source, map(source));
  CHECK(deviation(procrustes->translate(x), map(x)) < 1e-5);
  // Without centring a translation is out of its reach; without scaling, the scale.
  auto uncentred = registry().make<Translator>("orthogonal", {{"center", false}});
  uncentred->fit(source, map(source));
  CHECK(deviation(uncentred->translate(x), map(x)) > 0.1);
  auto unscaled = registry().make<Translator>("orthogonal", {{"scaling", "none"}});
  unscaled->fit(source, map(source));
  CHECK(deviation(unscaled->translate(x), map(x)) > 0.1);
  // A pure rotation is recovered by every variant.
  for (const std::string scaling : {"none", "isotropic", "standard"}) {
    CAPTURE(scaling);
    auto t = registry().make<Translator>("orthogonal", {{"center", false}, {"scaling", "none"}});
    t->fit(source, source.mm(q));
    CHECK(deviation(t->translate(x), x.mm(q)) < 1e-5);
  }
}

TEST_CASE("orthogonal pads the narrower side with zero dimensions") {
  const Tensor source = testing::randn({300, 8}, 5, at::kDouble), x = testing::randn({50, 8}, 6, at::kDouble);
  // d1 = 8 < d2 = 12: an isometric embedding (orthonormal rows) into a wider space.
  const Tensor embed = orthogonal_matrix(12, 7).narrow(0, 0, 8);  // [8, 12], rows orthonormal
  auto t = registry().make<Translator>("orthogonal");
  t->fit(source, source.mm(embed));
  const Tensor y = t->translate(x);
  CHECK(y.sizes() == at::IntArrayRef({50, 12}));
  CHECK(deviation(y, x.mm(embed)) < 1e-5);
  // d1 = 12 > d2 = 8: the source lies in 8 of its 12 dimensions (the others
  // constant), the target is that 8-dimensional space rotated.
  const Tensor wide = at::cat({source, at::full({300, 4}, 0.5, source.options())}, 1);
  const Tensor wide_x = at::cat({x, at::full({50, 4}, 0.5, x.options())}, 1);
  const Tensor q = orthogonal_matrix(8, 8);
  t->fit(wide, source.mm(q));
  CHECK(t->translate(wide_x).sizes() == at::IntArrayRef({50, 8}));
  CHECK(deviation(t->translate(wide_x), x.mm(q)) < 1e-5);
}

TEST_CASE("affine recovers an affine map, linear a linear one, and neither a non-linear map") {
  const Tensor source = testing::randn({400, 10}, 9, at::kDouble), x = testing::randn({100, 10}, 10, at::kDouble);
  const Tensor a = testing::randn({10, 14}, 11, at::kDouble), b = testing::randn({1, 14}, 12, at::kDouble) * 3;
  auto affine = registry().make<Translator>("affine");
  affine->fit(source, source.mm(a) + b);
  CHECK(deviation(affine->translate(x), x.mm(a) + b) < 1e-5);
  auto linear = registry().make<Translator>("linear");
  linear->fit(source, source.mm(a));
  CHECK(deviation(linear->translate(x), x.mm(a)) < 1e-5);
  linear->fit(source, source.mm(a) + b);  // no bias: the shift is out of its reach
  CHECK(deviation(linear->translate(x), x.mm(a) + b) > 0.1);

  // tanh of a linear map, strong enough to bend: the best affine fit still
  // misses it by a wide margin, and so does Procrustes. They say so instead
  // of pretending: the held-out error is large.
  const auto bend = [&](const Tensor& t) { return at::tanh(t.mm(a)); };
  for (const std::string name : {"orthogonal", "linear", "affine"}) {
    CAPTURE(name);
    auto t = registry().make<Translator>(name);
    t->fit(source, bend(source));
    const double off = deviation(t->translate(x), bend(x));
    MESSAGE(name << " on tanh(x A): deviation " << off);
    CHECK(off > 0.2);
  }
}

TEST_CASE("ridge: lambda shrinks the map towards zero, and is the closed form") {
  const Tensor s = testing::randn({50, 6}, 13, at::kDouble), t = testing::randn({50, 4}, 14, at::kDouble);
  auto ridge = registry().make<Translator>("linear", {{"lambda", 10.0}});
  ridge->fit(s, t);
  const Tensor w = at::linalg_solve(s.t().mm(s) + 10.0 * at::eye(6, s.options()), s.t().mm(t));
  const Tensor x = testing::randn({7, 6}, 15, at::kDouble);
  CHECK(testing::max_abs_diff(ridge->translate(x), x.mm(w)) < 1e-10);
}

TEST_CASE("degenerate anchors: minimum-norm answers or a clear error, never an arbitrary map") {
  // Fewer anchors than dimensions: least squares is undetermined; linear
  // gives the minimum-norm solution, numpy.linalg.lstsq's (x pinv(S) T).
  const Tensor s = testing::randn({5, 20}, 16, at::kDouble), t = testing::randn({5, 3}, 17, at::kDouble);
  const Tensor x = testing::randn({9, 20}, 18, at::kDouble);
  auto linear = registry().make<Translator>("linear");
  linear->fit(s, t);
  CHECK(testing::max_abs_diff(linear->translate(x), x.mm(at::linalg_pinv(s).mm(t))) < 1e-10);
  CHECK(testing::max_abs_diff(linear->translate(s), t) < 1e-10);  // the anchors themselves fit exactly

  // A dimension the anchors never vary (a dead unit): orthogonal maps it to
  // nothing, so two latents that differ only there translate alike.
  Tensor dead = testing::randn({100, 6}, 19, at::kDouble);
  dead.select(1, 5).fill_(2.0);
  auto procrustes = registry().make<Translator>("orthogonal");
  procrustes->fit(dead, dead.narrow(1, 0, 5).mm(orthogonal_matrix(5, 20)));
  Tensor probe = testing::randn({1, 6}, 21, at::kDouble), moved = probe.clone();
  moved.select(1, 5).add_(7.0);
  CHECK(testing::max_abs_diff(procrustes->translate(probe), procrustes->translate(moved)) < 1e-10);

  // One anchor, or anchors all equal: nothing to estimate a map from.
  for (const std::string name : {"orthogonal", "affine"}) {
    auto t1 = registry().make<Translator>(name);
    CHECK_THROWS_WITH_ALL(t1->fit(testing::randn({1, 4}, 22, at::kDouble), testing::randn({1, 4}, 23, at::kDouble)),
                          ConfigError, "translator/" + name, "span no direction", "at least 2 distinct anchors");
    CHECK_FALSE(t1->fitted());
  }
  auto zero = registry().make<Translator>("linear");
  CHECK_THROWS_WITH_ALL(zero->fit(at::zeros({8, 3}, at::kDouble), testing::randn({8, 2}, 24, at::kDouble)),
                        ConfigError, "translator/linear", "span no direction");
}

TEST_CASE("every translator checks its inputs: NaN, shapes, dtype, order of calls") {
  auto t = registry().make<Translator>("orthogonal");
  const Tensor s = testing::randn({20, 4}, 25), tt = testing::randn({20, 3}, 26);
  CHECK_THROWS_WITH_ALL(t->translate(s), ConfigError, "translator/orthogonal", "before fit()");
  Tensor bad = s.clone();
  bad[3][2] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_ALL(t->fit(bad, tt), NonFiniteError, "translator/orthogonal: source anchors", "row 3, column 2");
  CHECK_THROWS_WITH_ALL(t->fit(s, tt.narrow(0, 0, 19)), ShapeError, "same number of rows", "[20, 4]", "[19, 3]");
  CHECK_THROWS_WITH_ALL(t->fit(s.flatten(), tt), ShapeError, "source anchors must be [k, d]");
  CHECK_THROWS_WITH_ALL(t->fit(s.to(at::kLong), tt), ShapeError, "float32 or float64");
  t->fit(s, tt);
  CHECK(t->source_dim() == 4);
  CHECK(t->target_dim() == 3);
  // float32 in, float32 out; float64 in, float64 out; no rows is fine.
  CHECK((t->translate(s).scalar_type() == at::kFloat));
  CHECK((t->translate(s.to(at::kDouble)).scalar_type() == at::kDouble));
  CHECK(t->translate(s.narrow(0, 0, 0)).sizes() == at::IntArrayRef({0, 3}));
  CHECK_THROWS_WITH_ALL(t->translate(testing::randn({5, 6}, 27)), ShapeError, "x must be [n, 4]");
  Tensor bad_x = s.clone();
  bad_x[1][0] = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH_ALL(t->translate(bad_x), NonFiniteError, "translator/orthogonal: x", "row 1, column 0");
  // A fit that fails leaves no half-fitted translator behind.
  CHECK_THROWS(t->fit(bad, tt));
  CHECK_FALSE(t->fitted());
}

TEST_CASE("what each translator declares it recovers is what it recovers, and a false declaration is caught") {
  for (const auto& info : registry().components()) {
    if (info.kind != ComponentKind::translator) continue;
    CAPTURE(info.name);
    auto t = registry().make<Translator>(info.name);
    const InvarianceReport report = measure_translations(*t, info.represents);
    CHECK(report.agrees());
    CHECK(report.measured() == info.represents);
  }
  auto procrustes = registry().make<Translator>("orthogonal");
  InvarianceSet overclaim = registry().info(ComponentKind::translator, "orthogonal").represents;
  overclaim.insert(Invariance::affine);
  const InvarianceReport report = measure_translations(*procrustes, overclaim);
  CHECK_FALSE(report.agrees());
  for (const auto& m : report.rows) CHECK(report.disagrees(m) == (m.invariance == Invariance::affine));
}

TEST_CASE("a manifest declares \"represents\" for translators only, from the invariance names") {
  const auto manifest = [](json entry) {
    return json{{"manifest_version", 1}, {"plugin", "p"}, {"version", "1"}, {"library", "libp.so"},
                {"abi", BRIDGES_PLUGIN_ABI_VERSION}, {"provides", json::array({std::move(entry)})}};
  };
  const auto m = parse_manifest(manifest({{"kind", "translator"}, {"name", "t"}, {"represents", {"orthogonal"}}}),
                                "p.plugin.json");
  CHECK(m.provides[0].represents == InvarianceSet{Invariance::orthogonal});
  CHECK_THROWS_WITH_ALL(parse_manifest(manifest({{"kind", "similarity"}, {"name", "s"}, {"represents", {"orthogonal"}}}),
                                       "p.plugin.json"),
                        ManifestError, "p.plugin.json", "$.provides[0].represents",
                        "only translators declare \"represents\"");
  CHECK_THROWS_WITH_ALL(parse_manifest(manifest({{"kind", "translator"}, {"name", "t"}, {"represents", {"orthogonl"}}}),
                                       "p.plugin.json"),
                        ManifestError, "\"orthogonl\" is not an invariance", "Did you mean 'orthogonal'");
}
