// The built-in similarity functions. The arithmetic lives in
// bridges::kernels (bridges::relative), shared with host programs; this
// plugin gives each function its name, options and declared invariances.
#include <bridges/relative/kernels.hpp>
#include <bridges/sdk/plugin.hpp>

#include <optional>

namespace {

using bridges::Invariance;
using bridges::InvarianceSet;
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

class Cosine final : public bridges::sdk::WithOptions<bridges::Similarity, CosineOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "cosine"; }
  InvarianceSet invariances() const override {
    return {Invariance::isotropic_scaling, Invariance::orthogonal, Invariance::permutation};
  }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    return bridges::kernels::cosine(x, anchors, options_.eps);
  }
};

class Euclidean final : public bridges::Similarity {
 public:
  explicit Euclidean(const json&) {}
  std::string type() const override { return "euclidean"; }
  InvarianceSet invariances() const override {
    return {Invariance::orthogonal, Invariance::translation, Invariance::permutation};
  }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    return bridges::kernels::euclidean(x, anchors);
  }
};

class L1 final : public bridges::Similarity {
 public:
  explicit L1(const json&) {}
  std::string type() const override { return "l1"; }
  InvarianceSet invariances() const override { return {Invariance::translation, Invariance::permutation}; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override { return bridges::kernels::l1(x, anchors); }
};

class Linf final : public bridges::sdk::WithOptions<bridges::Similarity, LinfOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "linf"; }
  InvarianceSet invariances() const override { return {Invariance::translation, Invariance::permutation}; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    const auto& p = options_.p;
    return p ? bridges::kernels::pnorm(x, anchors, *p) : bridges::kernels::linf(x, anchors);
  }
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<Cosine>("cosine"),
               bridges::sdk::component<Euclidean>("euclidean"),
               bridges::sdk::component<L1>("l1"),
               bridges::sdk::component<Linf>("linf"))
