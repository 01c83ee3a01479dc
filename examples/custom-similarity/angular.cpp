// The angular distance arccos(cos(x, a)) / pi: unlike cosine similarity it is
// a metric on directions, and like it, it ignores scale and rotations.
#include <bridges/relative/kernels.hpp>
#include <bridges/sdk/plugin.hpp>

#include <numbers>

namespace {

class Angular final : public bridges::Similarity {
 public:
  explicit Angular(const nlohmann::json& options) : eps_(options.at("eps").get<double>()) {}

  std::string type() const override { return "angular"; }
  nlohmann::json to_json() const override { return {{"type", type()}, {"eps", eps_}}; }
  bridges::InvarianceSet invariances() const override {
    using bridges::Invariance;
    return {Invariance::isotropic_scaling, Invariance::orthogonal, Invariance::permutation};
  }

 protected:
  // x [n, d], anchors [k, d] -> [n, k] in [0, 1].
  bridges::Tensor compute(const bridges::Tensor& x, const bridges::Tensor& anchors) const override {
    // Rounding can push a cosine just past +-1, where acos is NaN.
    return bridges::kernels::cosine(x, anchors, eps_).clamp(-1.0, 1.0).acos() / std::numbers::pi;
  }

 private:
  double eps_;
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<Angular>("angular"))
