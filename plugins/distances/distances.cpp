// The built-in similarity functions. The arithmetic lives in
// bridges::kernels (bridges::relative), shared with host programs; this
// plugin gives each function its name, options and declared invariances.
#include <bridges/relative/kernels.hpp>
#include <bridges/sdk/plugin.hpp>

#include <ATen/TensorOperators.h>
#include <ATen/ops/median.h>
#include <ATen/ops/ones.h>

#include <optional>

namespace {

using bridges::Tensor;
using nlohmann::json;

struct CosineOptions {
  double eps;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CosineOptions, eps)

struct LinfOptions {
  std::optional<double> p;  ///< null: the L-infinity distance itself
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LinfOptions, p)

struct RbfOptions {
  std::optional<double> sigma;  ///< null: the anchors' median pairwise distance
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RbfOptions, sigma)

class Cosine final : public bridges::sdk::WithOptions<bridges::Similarity, CosineOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "cosine"; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    return bridges::kernels::cosine(x, anchors, options_.eps);
  }
};

class Euclidean final : public bridges::Similarity {
 public:
  explicit Euclidean(const json&) {}
  std::string type() const override { return "euclidean"; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    return bridges::kernels::euclidean(x, anchors);
  }
};

class L1 final : public bridges::Similarity {
 public:
  explicit L1(const json&) {}
  std::string type() const override { return "l1"; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override { return bridges::kernels::l1(x, anchors); }
};

class Linf final : public bridges::sdk::WithOptions<bridges::Similarity, LinfOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "linf"; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    const auto& p = options_.p;
    return p ? bridges::kernels::pnorm(x, anchors, *p) : bridges::kernels::linf(x, anchors);
  }
};

// exp(-|x - a|^2 / (2 sigma^2)). With sigma null the bandwidth follows the
// anchors (their median pairwise distance), which makes the kernel scale
// invariant; it is found once per anchor set by prepare(), not per chunk.
class Rbf final : public bridges::sdk::WithOptions<bridges::Similarity, RbfOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "rbf"; }

  std::shared_ptr<const bridges::Similarity> prepare(const Tensor& anchors) const override {
    if (options_.sigma) return nullptr;
    return std::make_shared<Rbf>(json{{"sigma", median_distance(anchors)}});
  }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    const double sigma = options_.sigma ? *options_.sigma : median_distance(anchors);
    // (d / sigma)^2, not d^2 / sigma^2: with a tiny sigma, sigma^2 would
    // underflow to 0 and a zero distance give 0 / 0.
    const Tensor scaled = bridges::kernels::euclidean(x, anchors).div_(sigma);
    return scaled.mul(scaled).mul_(-0.5).exp_();
  }

 private:
  // The median of the k (k - 1) / 2 distances between distinct anchors, in
  // float64; 1 when there are fewer than two anchors or they all coincide
  // (a bandwidth of 0 would divide by zero).
  static double median_distance(const Tensor& anchors) {
    const int64_t k = anchors.size(0);
    if (k < 2) return 1.0;
    const Tensor a = anchors.to(at::kDouble);
    const Tensor d = bridges::kernels::euclidean(a, a);
    const Tensor upper = d.masked_select(at::ones({k, k}, at::kBool).triu(1));
    const double median = upper.median().item<double>();
    return median > 0 ? median : 1.0;
  }
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<Cosine>("cosine"),
               bridges::sdk::component<Euclidean>("euclidean"),
               bridges::sdk::component<L1>("l1"),
               bridges::sdk::component<Linf>("linf"),
               bridges::sdk::component<Rbf>("rbf"))
