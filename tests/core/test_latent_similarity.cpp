#include <ATen/ATen.h>

#include <cmath>

#include "bridges/error.hpp"
#include "bridges/relative/latent_similarity.hpp"
#include "plugin_registry.hpp"
#include "testing.hpp"

using namespace bridges;

namespace {
Tensor of(std::vector<double> v) {
  return at::from_blob(v.data(), {1, static_cast<int64_t>(v.size())}, at::kDouble).clone();
}
Tensor orthogonal(int64_t d, uint64_t seed) {
  return std::get<0>(at::linalg_qr(testing::randn({d, d}, seed, at::kDouble))).to(at::kFloat);
}
}  // namespace

TEST_CASE("CKA is 1 under orthogonal maps and isotropic scaling, for every form") {
  const Tensor x = testing::randn({300, 20}, 1) + 3;  // off-centre on purpose
  const Tensor q = orthogonal(20, 2);
  for (const bool debiased : {false, true}) {
    CAPTURE(debiased);
    CHECK(linear_cka(x, x.mm(q), debiased) == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(linear_cka(x, x * 7.5, debiased) == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(linear_cka_gram(x, x.mm(q) * 0.1, debiased) == doctest::Approx(1.0).epsilon(1e-5));
  }
  // Wider than long: linear_cka takes the Gram form, with the same results.
  const Tensor wide = testing::randn({12, 40}, 11), other = testing::randn({12, 30}, 12);
  CHECK(linear_cka(wide, wide.mm(orthogonal(40, 13))) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(linear_cka(wide, other, true) == doctest::Approx(linear_cka_gram(wide, other, true)).epsilon(1e-9));
  CHECK(rbf_cka(x, x.mm(q)) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(rbf_cka(x, x * 4) == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(svcca(x, x.mm(q)) == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("feature-space linear CKA equals the Gram form, biased and debiased") {
  const Tensor x = testing::randn({200, 15}, 3) * 2 + 1;
  const Tensor y = x.narrow(1, 0, 10).pow(2) + testing::randn({200, 10}, 4) - 4;  // related, different width
  for (const bool debiased : {false, true}) {
    CAPTURE(debiased);
    const double gram = linear_cka_gram(x, y, debiased);
    CHECK(gram > 0.05);
    CHECK(linear_cka(x, y, debiased) == doctest::Approx(gram).epsilon(1e-4));
    CHECK(linear_cka(x.to(at::kDouble), y.to(at::kDouble), debiased) == doctest::Approx(gram).epsilon(1e-9));
  }
}

TEST_CASE("debiased CKA is near 0 for independent spaces, where the biased estimate is not") {
  const Tensor x = testing::randn({400, 100}, 5), y = testing::randn({400, 100}, 6);
  const double biased = linear_cka(x, y), debiased = linear_cka(x, y, true);
  CAPTURE(biased);
  CAPTURE(debiased);
  CHECK(biased > 0.1);  // about d / (n + d) = 0.2: the bias of the plain estimator
  CHECK(std::abs(debiased) < 0.03);
  CHECK(rbf_cka(x, y) < rbf_cka(x, x + 0.1 * y));
  CHECK(svcca(x.narrow(1, 0, 5), y.narrow(1, 0, 5)) < 0.2);
}

TEST_CASE("Pearson and Spearman against hand-computed cases, ties included") {
  // a = [1 2 3], b = [1 3 2]: deviations [-1 0 1], [-1 1 0]; r = 1 / 2.
  CHECK(pearson(of({1, 2, 3}), of({1, 3, 2})) == doctest::Approx(0.5));
  // Ranks with ties: [1 2 2 3] -> [1 2.5 2.5 4]; with [1 3 2 4]: r = 4.5 / sqrt(4.5 * 5) = sqrt(0.9).
  CHECK(at::equal(rank_rows(of({3, 1, 3, 2})), of({3.5, 1, 3.5, 2})));
  CHECK(spearman(of({1, 2, 2, 3}), of({1, 3, 2, 4})) == doctest::Approx(std::sqrt(0.9)));
  // Spearman sees only order: a monotone map keeps it at 1, Pearson drops.
  const Tensor x = testing::randn({50, 8}, 7);
  CHECK(spearman(x, at::exp(3 * x)) == doctest::Approx(1.0));
  CHECK(pearson(x, at::exp(3 * x)) < 0.9);
  // Per sample: each row's correlation, then the mean over the rows where it
  // is defined. A row constant on either side has no correlation: it is left
  // out, not counted as 0 (which would pull the mean towards 0).
  Tensor a = at::zeros({3, 3}, at::kDouble), b = at::zeros({3, 3}, at::kDouble);
  a[0].copy_(of({1, 2, 3})[0]);
  b[0].copy_(of({1, 3, 2})[0]);
  a[1].copy_(of({1, 2, 3})[0]);
  b[1].fill_(5);
  a[2].copy_(of({1, 2, 3})[0]);
  b[2].copy_(of({2, 4, 6})[0]);
  CHECK(pearson_per_sample(a, b) == doctest::Approx(0.75));  // (0.5 + 1) / 2
  CHECK(spearman_per_sample(a, b) == doctest::Approx(0.75));
  // No row defined on both sides (each side varies somewhere): undefined.
  Tensor c = a.clone(), e = b.clone();  // rows: c constant; e constant; e constant
  c[0].fill_(1);
  e[2].fill_(7);
  CHECK_THROWS_AS(pearson_per_sample(c, e), UndefinedMeasureError);
  CHECK_THROWS_WITH_AS(spearman_per_sample(c, e), doctest::Contains("no sample varies in both"), UndefinedMeasureError);
}

TEST_CASE("kNN retrieval: identical spaces agree fully; a shuffled one does not") {
  const Tensor x = testing::randn({300, 16}, 8);
  const RetrievalScores same = knn_retrieval(x, x * 3, 10);
  CHECK(same.jaccard == doctest::Approx(1.0));
  CHECK(same.mrr == doctest::Approx(1.0));
  CHECK(same.mean_cosine == doctest::Approx(1.0));
  const Tensor shuffled = x.index_select(0, at::randperm(300, at::kLong));
  const RetrievalScores other = knn_retrieval(x, shuffled, 10);
  CHECK(other.jaccard < 0.2);
  CHECK(other.mrr < 0.2);
  const RetrievalScores widths = knn_retrieval(x, x.narrow(1, 0, 8), 5);
  CHECK(std::isnan(widths.mrr));
  CHECK(widths.jaccard > 0.1);
  // More neighbours than other samples: undefined, not a wrong option.
  CHECK_THROWS_AS(knn_retrieval(x, x, 300), UndefinedMeasureError);
  CHECK_THROWS_AS(knn_retrieval(x, x, 0), ConfigError);
}

TEST_CASE("measures through the registry, and errors that say what fits") {
  using testing::measure;
  const Tensor x = testing::randn({100, 6}, 9), y = testing::randn({100, 4}, 10);
  CHECK(measure("cka_linear", x, y) == doctest::Approx(linear_cka(x, y)));
  CHECK(measure("cka_debiased", x, x) == doctest::Approx(1.0));
  CHECK(measure("svcca", x, y, {{"variance", 0.5}}) == doctest::Approx(svcca(x, y, [] {
          MeasureOptions o;
          o.svcca_variance = 0.5;
          return o;
        }())));
  CHECK(testing::registry().info(ComponentKind::measure, "spearman").same_width);
  CHECK_FALSE(testing::registry().info(ComponentKind::measure, "cka_linear").same_width);
  CHECK_THROWS_WITH_ALL(measure("pearson", x, y), ShapeError, "same shape");
  CHECK_THROWS_WITH_ALL(measure("knn_mrr", x, y), ShapeError, "measure/knn_mrr", "same width");
  CHECK_THROWS_WITH_ALL(testing::registry().make<Measure>("cka_lineer"), UnknownNameError, "Did you mean 'cka_linear'?");
  CHECK_THROWS_WITH_ALL(measure("cka_linear", x, y.narrow(0, 0, 50)), ShapeError, "measure/cka_linear",
                        "same samples");
  Tensor bad = x.clone();
  bad[3][2] = NAN;
  CHECK_THROWS_WITH_ALL(measure("cka_linear", bad, x), NonFiniteError, "measure/cka_linear", "row 3, column 2");
  CHECK_THROWS_WITH_ALL(measure("cka_linear", x.flatten(), x), ShapeError, "must be [n, d]");
  // Prepared once, compared with many: the same number as compare().
  for (const char* name : {"spearman", "spearman_per_sample", "cka_linear"}) {
    CAPTURE(name);
    auto m = testing::registry().make<Measure>(name);
    const Tensor b = x * 2 + testing::randn({100, 6}, 11);
    CHECK(m->compare_prepared(m->prepare(x), m->prepare(b)) == m->compare(x, b));
  }
}
