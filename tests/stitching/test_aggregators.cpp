#include <ATen/ops/isfinite.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/allclose.h>
#include <fmt/format.h>

#include <map>

#include "bridges/aggregator.hpp"
#include "bridges/error.hpp"
#include "stitching_support.hpp"

using namespace bridges;
using nlohmann::json;

namespace {
std::vector<Tensor> subspaces(int64_t s, int64_t n, int64_t k, bool grad) {
  std::vector<Tensor> out;
  for (int64_t i = 0; i < s; ++i) {
    Tensor r = testing::randn({n, k}, 10 + static_cast<uint64_t>(i)) * (i + 1) + i;
    out.push_back(grad ? r.requires_grad_(true) : r);
  }
  return out;
}
}  // namespace

TEST_CASE("every aggregator takes one subspace or several, with the documented output width") {
  const int64_t n = 7, k = 8;
  for (const char* name : {"concat", "sum", "mlp_sum", "self_attention", "mlp_self_attention"}) {
    for (int64_t s : {1, 3}) {
      CAPTURE(name);
      CAPTURE(s);
      auto agg = stitching::registry().make<Aggregator>(name);
      agg->build(s, k);
      const Tensor z = agg->aggregate(subspaces(s, n, k, false));
      CHECK(z.sizes() == at::IntArrayRef{n, agg->output_dim(s, k)});
      CHECK(at::isfinite(z).all().item<bool>());
    }
  }
  CHECK(stitching::registry().make<Aggregator>("concat")->output_dim(3, 8) == 24);
  CHECK(stitching::registry().make<Aggregator>("sum")->output_dim(3, 8) == 8);
  CHECK(stitching::registry().make<Aggregator>("self_attention", {{"dim", 12}})->output_dim(3, 8) == 12);
}

TEST_CASE("gradients reach the subspaces and every trainable parameter") {
  for (const char* name : {"concat", "sum", "mlp_sum", "self_attention", "mlp_self_attention"}) {
    CAPTURE(name);
    auto agg = stitching::registry().make<Aggregator>(name, std::string(name).find("attention") != std::string::npos
                                                                 ? json{{"heads", 2}}
                                                                 : json::object());
    agg->build(3, 8);
    const auto inputs = subspaces(3, 5, 8, true);
    agg->aggregate(inputs).pow(2).sum().backward();
    for (const auto& r : inputs) {
      REQUIRE(r.grad().defined());
      CHECK(at::isfinite(r.grad()).all().item<bool>());
      CHECK(r.grad().abs().sum().item<double>() > 0);
    }
    for (const auto& p : agg->parameters()) {
      REQUIRE(p.grad().defined());
      CHECK(p.grad().abs().sum().item<double>() > 0);
    }
    const bool trainable = std::string(name) != "concat" && std::string(name) != "sum";
    CHECK(agg->parameters().empty() != trainable);
  }
}

TEST_CASE("attention weights are a distribution over the subspaces") {
  for (const char* name : {"self_attention", "mlp_self_attention"}) {
    CAPTURE(name);
    auto agg = stitching::registry().make<Aggregator>(name, {{"heads", 2}});
    agg->build(4, 8);
    agg->aggregate(subspaces(4, 6, 8, false));
    const Tensor a = agg->attention();
    REQUIRE(a.defined());
    CHECK(a.sizes() == at::IntArrayRef{6, 2, 4, 4});
    CHECK((a.sum(-1) - 1).abs().max().item<float>() < 1e-5);
    CHECK(a.min().item<float>() >= 0);
  }
  CHECK_FALSE(stitching::registry().make<Aggregator>("sum")->attention().defined());
}

TEST_CASE("aggregators normalise each subspace, so scale does not change concat and sum") {
  auto concat = stitching::registry().make<Aggregator>("concat");
  const auto parts = subspaces(2, 5, 8, false);
  const Tensor z = concat->aggregate(parts);
  CHECK(testing::max_abs_diff(concat->aggregate({parts[0] * 100, parts[1] + 7}), z) < 1e-4);
  auto raw = stitching::registry().make<Aggregator>("concat", {{"normalize", "none"}});
  CHECK(testing::max_abs_diff(raw->aggregate(parts), at::cat(parts, 1)) == 0);
}

TEST_CASE("aggregators refuse what they were not built for") {
  auto mlp = stitching::registry().make<Aggregator>("mlp_sum");
  CHECK_THROWS_WITH_ALL(mlp->aggregate(subspaces(2, 3, 8, false)), ConfigError, "build(num_subspaces, k)");
  mlp->build(2, 8);
  CHECK_THROWS_WITH_ALL(mlp->aggregate(subspaces(3, 3, 8, false)), ShapeError, "built for 2 subspaces of 8 anchors, given 3 of 8");
  auto attention = stitching::registry().make<Aggregator>("self_attention", {{"heads", 3}});
  CHECK_THROWS_WITH_ALL(attention->build(2, 8), ConfigError, "multiple of \"heads\" (3)", "\"dim\"");
  CHECK_THROWS_WITH_ALL(stitching::registry().make<Aggregator>("sum")->aggregate({at::ones({2, 3}), at::ones({2, 4})}),
                        ShapeError, "one shape");
  // Parameter-free merges take any width unbuilt, but once built only what they were built for (a sum of the
  // wrong width gave an output of the wrong width, without a word).
  for (const char* name : {"sum", "concat"}) {
    auto merge = stitching::registry().make<Aggregator>(name);
    CHECK(merge->aggregate(subspaces(2, 3, 9, false)).size(0) == 3);
    merge->build(2, 8);
    CHECK_THROWS_WITH_ALL(merge->aggregate(subspaces(2, 3, 9, false)), ShapeError,
                          "built for 2 subspaces of 8 anchors, given 2 of 9");
    CHECK_THROWS_WITH_ALL(merge->aggregate(subspaces(3, 3, 8, false)), ShapeError, "given 3 of 8");
    CHECK(merge->aggregate(subspaces(2, 3, 8, false)).size(1) == merge->output_dim(2, 8));
  }
}

TEST_CASE("each aggregator has the structure its description documents") {
  const int64_t s = 3, k = 8;
  // The parameter names and shapes of each, built for 3 subspaces of 8 anchors.
  const auto shapes = [&](const char* name, const json& options) {
    auto agg = stitching::registry().make<Aggregator>(name, options);
    agg->build(s, k);
    std::map<std::string, std::vector<int64_t>> out;
    for (const auto& p : agg->named_parameters()) out[p.key()] = p.value().sizes().vec();
    return out;
  };
  using Shapes = std::map<std::string, std::vector<int64_t>>;
  CHECK(shapes("concat", json::object()).empty());  // standardize: no parameters
  CHECK(shapes("sum", json::object()).empty());
  // "layernorm": one LayerNorm(k) per subspace, with a scale and a shift per anchor.
  Shapes norms;
  for (int i = 0; i < s; ++i) {
    norms[fmt::format("norms.{}.weight", i)] = {k};
    norms[fmt::format("norms.{}.bias", i)] = {k};
  }
  CHECK(shapes("sum", {{"normalize", "layernorm"}}) == norms);
  CHECK(shapes("concat", {{"normalize", "layernorm"}}) == norms);
  // mlp_sum: per subspace LayerNorm (no affine) -> Linear(k, k) -> Tanh.
  Shapes mlps;
  for (int i = 0; i < s; ++i) {
    mlps[fmt::format("mlps.{}.1.weight", i)] = {k, k};
    mlps[fmt::format("mlps.{}.1.bias", i)] = {k};
  }
  CHECK(shapes("mlp_sum", json::object()) == mlps);
  // self_attention over the subspaces as tokens: q, k, v and out, each d x d.
  Shapes attention;
  for (const char* m : {"q", "k", "v", "out"}) {
    attention[fmt::format("{}.weight", m)] = {k, k};
    attention[fmt::format("{}.bias", m)] = {k};
  }
  CHECK(shapes("self_attention", {{"heads", 2}}) == attention);
  Shapes both = attention;
  both.insert(mlps.begin(), mlps.end());
  CHECK(shapes("mlp_self_attention", {{"heads", 2}}) == both);

  // A fresh LayerNorm (scale 1, shift 0) standardises each row as "standardize"
  // does, up to its epsilon; sum then adds them.
  const auto parts = subspaces(s, 5, k, false);
  auto ln = stitching::registry().make<Aggregator>("sum", {{"normalize", "layernorm"}});
  ln->build(s, k);
  auto plain = stitching::registry().make<Aggregator>("sum");
  CHECK(at::allclose(ln->aggregate(parts), plain->aggregate(parts), 1e-3, 1e-3));
  // Without build() the LayerNorms do not exist: a clear error, not a crash.
  auto unbuilt = stitching::registry().make<Aggregator>("sum", {{"normalize", "layernorm"}});
  CHECK_THROWS_WITH_ALL(unbuilt->aggregate(parts), ConfigError, "one LayerNorm per subspace", "call build(3, k)");
}
