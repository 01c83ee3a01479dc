// The measures plugin: declared invariances and symmetry hold, and the
// peers' measures equal hand-computed values and their published definitions.
#include <ATen/ATen.h>

#include <cmath>

#include "bridges/error.hpp"
#include "bridges/measure.hpp"
#include "bridges/relative/invariance_check.hpp"
#include "plugin_registry.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
using testing::measure;
using testing::registry;

namespace {

// k nearest others of each row by cosine (itself excluded, ties to the lower index), as a dense mask.
Tensor naive_knn_mask(const Tensor& x, int64_t k) {
  const Tensor u = x.to(at::kDouble) / x.to(at::kDouble).norm(2, 1, true);
  Tensor sim = u.mm(u.t());
  const int64_t n = x.size(0);
  Tensor mask = at::zeros({n, n}, at::kBool);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, int64_t>> others;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) others.push_back({-sim[i][j].item<double>(), j});
    std::sort(others.begin(), others.end());
    for (int64_t t = 0; t < k; ++t) mask[i][others[t].second] = true;
  }
  return mask;
}

// hsic_unbiased of the platonic-representation code, on dense matrices.
double naive_hsic_unbiased(const Tensor& k_in, const Tensor& l_in) {
  const double m = static_cast<double>(k_in.size(0));
  const Tensor k = k_in.clone().fill_diagonal_(0), l = l_in.clone().fill_diagonal_(0);
  const double value = (k * l.t()).sum().item<double>() + k.sum().item<double>() * l.sum().item<double>() / ((m - 1) * (m - 2)) -
                       2 * k.mm(l).sum().item<double>() / (m - 2);
  return value / (m * (m - 3));
}

}  // namespace

TEST_CASE("every measure's declared invariances are what it measures, and a false declaration is caught") {
  int measures = 0;
  for (const auto& info : registry().components()) {
    if (info.kind != ComponentKind::measure) continue;
    CAPTURE(info.name);
    ++measures;
    const InvarianceReport report = measure_invariances(*registry().make<Measure>(info.name), info.invariances);
    for (const auto& m : report.rows) {
      CAPTURE(m.invariance);
      CHECK_FALSE(report.disagrees(m));
    }
  }
  CHECK(measures >= 18);
  InvarianceSet overclaim = registry().info(ComponentKind::measure, "cka_linear").invariances.mentioned();
  overclaim.insert(Invariance::linear);
  const InvarianceReport report =
      measure_invariances(*registry().make<Measure>("cka_linear"), InvarianceDeclaration(overclaim));
  CHECK_FALSE(report.agrees());
}

TEST_CASE("symmetric measures are symmetric; PWCCA, CKNNA and the retrieval measures that query one side are not") {
  const Tensor a = testing::randn({80, 6}, 1, at::kDouble);
  const Tensor b = a.mm(testing::randn({6, 6}, 2, at::kDouble)) + testing::randn({80, 6}, 3, at::kDouble);
  for (const std::string name : {"cka_linear", "cka_debiased", "cka_rbf", "svcca", "pearson", "pearson_per_sample", "spearman",
                           "spearman_per_sample", "knn_jaccard", "knn_cosine", "procrustes", "angular_shape",
                           "mutual_knn", "rsa"}) {
    CAPTURE(name);
    CHECK(measure(name, a, b) == doctest::Approx(measure(name, b, a)).epsilon(1e-9));
  }
  CHECK(measure("knn_mrr", a, b) != doctest::Approx(measure("knn_mrr", b, a)).epsilon(1e-9));
  CHECK(measure("pwcca", a, b) != doctest::Approx(measure("pwcca", b, a)).epsilon(1e-9));
  // CKNNA as published: neighbour masks are not symmetric, so 1'KL1 != 1'LK1.
  CHECK(measure("cknna", a, b) != doctest::Approx(measure("cknna", b, a)).epsilon(1e-9));
}

TEST_CASE("PWCCA weighs each canonical correlation by the activity its variate accounts for (hand-computed)") {
  // u, v, w: orthonormal, centred columns. X = [u, 0.1 v], Y = [u, w]: the
  // canonical correlations are 1 (u) and 0 (v against w). The variates u
  // and v account for |<u,u>| + |<u,0.1v>| = 1 and |<v,u>| + |<v,0.1v>| = 0.1
  // of X's activity: PWCCA = (1 x 1 + 0.1 x 0) / 1.1; mean CCA would be 0.5.
  const Tensor basis = std::get<0>(at::linalg_qr(at::cat({at::ones({8, 1}, at::kDouble), testing::randn({8, 3}, 4, at::kDouble)}, 1)));
  const Tensor u = basis.select(1, 1), v = basis.select(1, 2), w = basis.select(1, 3);
  const Tensor x = at::stack({u, 0.1 * v}, 1), y = at::stack({u, w}, 1);
  CHECK(measure("pwcca", x, y) == doctest::Approx(1.0 / 1.1).epsilon(1e-12));
  CHECK(measure("svcca", x, y, {{"variance", 1.0}}) == doctest::Approx(0.5).epsilon(1e-12));
  CHECK(measure("pwcca", x, x.mm(testing::randn({2, 2}, 5, at::kDouble))) == doctest::Approx(1.0));
}

TEST_CASE("Procrustes and angular shape distances: 0 for a rotated copy, and a hand-computed case") {
  const Tensor a = testing::randn({50, 5}, 6, at::kDouble);
  const Tensor q = std::get<0>(at::linalg_qr(testing::randn({5, 5}, 7, at::kDouble)));
  CHECK(measure("procrustes", a, 3.0 * a.mm(q) + 2.0) < 1e-7);
  CHECK(measure("angular_shape", a, 3.0 * a.mm(q) + 2.0) < 1e-7);
  // X = (+-e1, +-e2) and Y = (+-e1, +-2 e2): X~'Y~ = diag(2, 4) / (2 sqrt 10),
  // nuclear norm 3 / sqrt 10.
  const Tensor x = at::tensor({1., 0., -1., 0., 0., 1., 0., -1.}, at::kDouble).reshape({4, 2});
  const Tensor y = at::tensor({1., 0., -1., 0., 0., 2., 0., -2.}, at::kDouble).reshape({4, 2});
  const double s = 3.0 / std::sqrt(10.0);
  CHECK(measure("procrustes", x, y) == doctest::Approx(std::sqrt(2 - 2 * s)).epsilon(1e-12));
  CHECK(measure("angular_shape", x, y) == doctest::Approx(std::acos(s)).epsilon(1e-12));
  // Widths may differ: zero padding changes nothing.
  CHECK(measure("procrustes", x, at::cat({y, at::zeros({4, 3}, at::kDouble)}, 1)) ==
        doctest::Approx(std::sqrt(2 - 2 * s)).epsilon(1e-12));
  CHECK(registry().info(ComponentKind::measure, "procrustes").direction == "distance");
}

TEST_CASE("mutual kNN and CKNNA equal their published definitions on dense masks") {
  const Tensor a = testing::randn({40, 6}, 8, at::kDouble);
  const Tensor b = a.mm(testing::randn({6, 6}, 9, at::kDouble)) + 0.7 * testing::randn({40, 6}, 10, at::kDouble);
  const int64_t k = 5;
  const Tensor ma = naive_knn_mask(a, k), mb = naive_knn_mask(b, k);
  const double mutual = ma.logical_and(mb).sum().item<double>() / k / 40.0;
  CHECK(measure("mutual_knn", a, b, {{"knn", k}}) == doctest::Approx(mutual).epsilon(1e-12));
  // CKNNA: cosine kernels, masked by the mutual neighbours (K with K's own).
  const Tensor ua = a / a.norm(2, 1, true), ub = b / b.norm(2, 1, true);
  const Tensor K = ua.mm(ua.t()), L = ub.mm(ub.t());
  const Tensor both = ma.logical_and(mb).to(at::kDouble);
  const double expected = naive_hsic_unbiased(both * K, both * L) /
                          std::sqrt(naive_hsic_unbiased(ma.to(at::kDouble) * K, ma.to(at::kDouble) * K) *
                                    naive_hsic_unbiased(mb.to(at::kDouble) * L, mb.to(at::kDouble) * L));
  CHECK(measure("cknna", a, b, {{"knn", k}}) == doctest::Approx(expected).epsilon(1e-10));
  CHECK(measure("cknna", a, a * 2, {{"knn", k}}) == doctest::Approx(1.0).epsilon(1e-12));
  CHECK_THROWS_WITH_ALL(measure("cknna", a, b, {{"knn", 40}}), UndefinedMeasureError, "need at least k + 1 = 41 samples");
}

TEST_CASE("RSA correlates the two dissimilarity matrices, and refuses sizes it cannot hold") {
  const Tensor a = testing::randn({20, 4}, 11, at::kDouble), b = testing::randn({20, 7}, 12, at::kDouble) + a.narrow(1, 0, 1);
  // Euclidean RDMs, Pearson between their upper triangles, by hand.
  const auto upper = [](const Tensor& x) {
    std::vector<double> out;
    for (int64_t i = 0; i < x.size(0); ++i)
      for (int64_t j = i + 1; j < x.size(0); ++j) out.push_back((x[i] - x[j]).norm().item<double>());
    return at::tensor(out, at::kDouble);
  };
  const Tensor da = upper(a), db = upper(b);
  const Tensor ca = da - da.mean(), cb = db - db.mean();
  const double pearson = (ca * cb).sum().item<double>() / (ca.norm() * cb.norm()).item<double>();
  CHECK(measure("rsa", a, b, {{"distance", "euclidean"}, {"compare", "pearson"}}) == doctest::Approx(pearson).epsilon(1e-12));
  // Spearman: the same on ranks (no ties among random distances).
  const Tensor ra = da.argsort().argsort().to(at::kDouble), rb = db.argsort().argsort().to(at::kDouble);
  const Tensor cra = ra - ra.mean(), crb = rb - rb.mean();
  CHECK(measure("rsa", a, b, {{"distance", "euclidean"}}) ==
        doctest::Approx((cra * crb).sum().item<double>() / (cra.norm() * crb.norm()).item<double>()).epsilon(1e-12));
  // A monotone change of the distances leaves the Spearman RSA at 1.
  CHECK(measure("rsa", a, a * 5, {{"distance", "euclidean"}}) == doctest::Approx(1.0));
  CHECK_THROWS_WITH_ALL(measure("rsa", a, b, {{"max_samples", 10}}), ConfigError, "RSA: 20 samples",
                        "max_samples = 10", "random subset");
  Tensor flat = a.clone();
  flat[3].fill_(1.0);
  CHECK_THROWS_WITH_ALL(measure("rsa", flat, b), UndefinedMeasureError, "all its entries equal", "euclidean");
}
