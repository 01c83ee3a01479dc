// The built-in similarity functions. The arithmetic lives in
// bridges::kernels (core), shared with host programs; this plugin gives each
// function its name, options and declared invariances.
#include <bridges/relative/kernels.hpp>
#include <bridges/sdk/plugin.hpp>

#include <optional>

namespace {

using bridges::Invariance;
using bridges::InvarianceSet;
using bridges::Tensor;
using nlohmann::json;

class Cosine final : public bridges::Similarity {
 public:
  explicit Cosine(const json& options) : eps_(options.at("eps").get<double>()) {}
  std::string type() const override { return "cosine"; }
  json to_json() const override { return {{"type", type()}, {"eps", eps_}}; }
  InvarianceSet invariances() const override {
    return {Invariance::isotropic_scaling, Invariance::orthogonal, Invariance::permutation};
  }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    return bridges::kernels::cosine(x, anchors, eps_);
  }

 private:
  double eps_;
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

class Linf final : public bridges::Similarity {
 public:
  explicit Linf(const json& options) {
    if (!options.at("p").is_null()) p_ = options.at("p").get<double>();
  }
  std::string type() const override { return "linf"; }
  json to_json() const override { return {{"type", type()}, {"p", p_ ? json(*p_) : json(nullptr)}}; }
  InvarianceSet invariances() const override { return {Invariance::translation, Invariance::permutation}; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    return p_ ? bridges::kernels::pnorm(x, anchors, *p_) : bridges::kernels::linf(x, anchors);
  }

 private:
  std::optional<double> p_;
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<Cosine>("cosine"),
               bridges::sdk::component<Euclidean>("euclidean"),
               bridges::sdk::component<L1>("l1"),
               bridges::sdk::component<Linf>("linf"))
