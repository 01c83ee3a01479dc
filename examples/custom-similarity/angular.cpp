// The angular distance arccos(cos(x, a)) / pi: unlike cosine similarity it is
// a metric on directions, and like it, it ignores scale and rotations.
#include <bridges/relative/kernels.hpp>
#include <bridges/sdk/plugin.hpp>

#include <numbers>

namespace {

// The options of angular.plugin.json, parsed once; to_json() echoes them.
struct AngularOptions {
  double eps;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AngularOptions, eps)

class Angular final : public bridges::sdk::WithOptions<bridges::Similarity, AngularOptions> {
 public:
  using WithOptions::WithOptions;

  // Its invariances are declared in angular.plugin.json, the one place they
  // are written; `bridges invariances -s angular` measures them.
  std::string type() const override { return "angular"; }

 protected:
  // x [n, d], anchors [k, d] -> [n, k] in [0, 1].
  bridges::Tensor compute(const bridges::Tensor& x, const bridges::Tensor& anchors) const override {
    // Rounding can push a cosine just past +-1, where acos is NaN.
    return bridges::kernels::cosine(x, anchors, options_.eps).clamp(-1.0, 1.0).acos() / std::numbers::pi;
  }
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<Angular>("angular"))
