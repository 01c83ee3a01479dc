#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cdist.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/zeros_like.h>

#include <map>
#include <set>

#include "bridges/relative/anchors.hpp"
#include "bridges/error.hpp"
#include "testing.hpp"

using namespace bridges;

namespace {
std::vector<int64_t> values(const Tensor& t) {
  const Tensor c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}
Tensor labels_of(std::vector<int64_t> v) {
  return at::from_blob(v.data(), {static_cast<int64_t>(v.size())}, at::kLong).clone();
}
}  // namespace

TEST_CASE("random anchors are distinct, in range and fixed by the seed") {
  const auto a = values(random_anchors(1000, 50, 7));
  CHECK(a.size() == 50);
  CHECK(std::set<int64_t>(a.begin(), a.end()).size() == 50);
  CHECK(*std::min_element(a.begin(), a.end()) >= 0);
  CHECK(*std::max_element(a.begin(), a.end()) < 1000);
  CHECK(values(random_anchors(1000, 50, 7)) == a);
  CHECK(values(random_anchors(1000, 50, 8)) != a);
  const auto all = values(random_anchors(10, 10, 3));
  CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 10);
  CHECK_THROWS_WITH_ALL(random_anchors(10, 11, 0), ConfigError, "between 1 and the number of samples (10)", "found 11");
  CHECK_THROWS_AS(random_anchors(10, 0, 0), ConfigError);
}

TEST_CASE("stratified anchors take the same number from every class") {
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 300; ++i) labels.push_back(i % 3 == 0 ? -1 : i % 7);  // -1: unlabelled
  const Tensor l = labels_of(labels);
  const auto a = values(stratified_anchors(l, 21, 1));
  std::map<int64_t, int> per_class;
  for (int64_t i : a) {
    CHECK(labels[static_cast<std::size_t>(i)] >= 0);
    ++per_class[labels[static_cast<std::size_t>(i)]];
  }
  CHECK(per_class.size() == 7);
  for (const auto& [label, count] : per_class) CHECK(count == 3);
  CHECK(std::set<int64_t>(a.begin(), a.end()).size() == 21);

  // 23 = 7 * 3 + 2: two classes, chosen by the seed, get one more.
  std::map<int64_t, int> uneven;
  for (int64_t i : values(stratified_anchors(l, 23, 1))) ++uneven[labels[static_cast<std::size_t>(i)]];
  int fours = 0;
  for (const auto& [label, count] : uneven) {
    CHECK((count == 3 || count == 4));
    fours += count == 4;
  }
  CHECK(fours == 2);
  CHECK(values(stratified_anchors(l, 23, 1)) == values(stratified_anchors(l, 23, 1)));
}

TEST_CASE("stratified anchors explain a class that is too small") {
  const Tensor l = labels_of({0, 0, 0, 0, 1});
  CHECK_THROWS_WITH_ALL(stratified_anchors(l, 4, 0), ConfigError, "class 1 has 1 samples but needs 2 anchors");
  CHECK_THROWS_WITH_ALL(stratified_anchors(labels_of({-1, -1}), 1, 0), ConfigError, "no sample has a label");
}

TEST_CASE("farthest-point anchors: each next anchor is the sample farthest from those chosen") {
  const Tensor x = testing::randn({200, 5}, 11, at::kDouble);
  const auto a = values(farthest_point_anchors(x, 12, 3));
  CHECK(std::set<int64_t>(a.begin(), a.end()).size() == 12);
  CHECK(a == values(farthest_point_anchors(x, 12, 3)));
  for (std::size_t m = 1; m < a.size(); ++m) {
    // Brute force: the distance of every sample to its nearest chosen anchor.
    double best = -1;
    int64_t best_index = -1;
    for (int64_t i = 0; i < 200; ++i) {
      double nearest = 1e300;
      for (std::size_t c = 0; c < m; ++c) nearest = std::min(nearest, (x[i] - x[a[c]]).pow(2).sum().item<double>());
      if (nearest > best + 1e-9) {
        best = nearest;
        best_index = i;
      }
    }
    CHECK(a[m] == best_index);
  }
}

TEST_CASE("farthest-point anchors never repeat a sample, even on duplicated data") {
  const Tensor x = at::zeros_like(testing::randn({6, 3}, 0));
  const auto a = values(farthest_point_anchors(x, 6, 0));
  CHECK(std::set<int64_t>(a.begin(), a.end()).size() == 6);
}

TEST_CASE("select_anchors dispatches by name and says what each strategy needs") {
  const Tensor labels = labels_of({0, 1, 0, 1, 0, 1});
  const Tensor x = testing::randn({6, 2}, 1);
  CHECK(at::equal(select_anchors("random", 3, 5, labels, {}), random_anchors(6, 3, 5)));
  CHECK(at::equal(select_anchors("stratified", 2, 5, labels, x), stratified_anchors(labels, 2, 5)));
  CHECK(at::equal(select_anchors("farthest_point", 2, 5, {}, x), farthest_point_anchors(x, 2, 5)));
  CHECK_THROWS_WITH_ALL(select_anchors("stratified", 2, 0, {}, x), ConfigError, "need the samples' labels");
  CHECK_THROWS_WITH_ALL(select_anchors("farthest_point", 2, 0, labels, {}), ConfigError, "need latents");
  CHECK(at::equal(select_anchors("kmeans", 2, 5, {}, x), kmeans_anchors(x, 2, 5)));
  CHECK_THROWS_WITH_ALL(select_anchors("kmeans", 2, 0, labels, {}), ConfigError, "need latents");
  CHECK_THROWS_WITH_ALL(select_anchors("farthest", 2, 0, labels, x), UnknownNameError, "Did you mean 'farthest_point'?");
}

TEST_CASE("k-means anchors: one per well-separated cluster, distinct, and fixed by the seed") {
  // 6 tight clusters far apart, 50 samples each: 6 anchors land one in each.
  const int64_t clusters = 6, per = 50;
  const Tensor centres = testing::randn({clusters, 8}, 3) * 20;
  const Tensor members = at::arange(clusters * per, at::kLong).floor_divide(per);
  const Tensor x = centres.index_select(0, members) + testing::randn({clusters * per, 8}, 4) * 0.1;
  const Tensor a = kmeans_anchors(x, clusters, 0);
  CHECK(at::equal(a, kmeans_anchors(x, clusters, 0)));
  const auto picked = values(members.index_select(0, a));
  CHECK(std::set<int64_t>(picked.begin(), picked.end()).size() == static_cast<std::size_t>(clusters));

  // More anchors than distinct points: still distinct samples.
  const Tensor duplicated = at::cat({x.narrow(0, 0, 3), x.narrow(0, 0, 3)});
  const auto all = values(kmeans_anchors(duplicated, 6, 1));
  CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 6);
  CHECK_THROWS_AS(kmeans_anchors(x, 0, 0), ConfigError);
  CHECK_THROWS_AS(kmeans_anchors(x, 301, 0), ConfigError);
}

TEST_CASE("k-means anchors cover the data better than random ones") {
  // Mean distance from each sample to its nearest anchor: k-means minimises it
  // (measured: 0.905 against 1.031 for random anchors).
  const Tensor x = testing::randn({2000, 4}, 5);
  const auto coverage = [&](const Tensor& idx) { return at::cdist(x, x.index_select(0, idx)).amin(1).mean().item<double>(); };
  CHECK(coverage(kmeans_anchors(x, 32, 0)) < 0.93 * coverage(random_anchors(2000, 32, 0)));
}
