// Distance correlation: the correlation of the two spaces' double-centred
// pairwise distance matrices. Unlike CKA it detects any dependence, not only
// linear; like CKA it ignores rotations, shifts and scale.
#include <ATen/ATen.h>
#include <bridges/sdk/plugin.hpp>
#include <fmt/format.h>

#include <cmath>

namespace {

struct DcorOptions {
  int64_t max_samples;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DcorOptions, max_samples)

class DistanceCorrelation final : public bridges::sdk::WithOptions<bridges::Measure, DcorOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "dcor"; }

 protected:
  // a [n, da], b [n, db]: checked by bridges (finite, same n) before this runs.
  double compute(const bridges::Tensor& a, const bridges::Tensor& b) const override {
    const int64_t n = a.size(0);
    if (n > options_.max_samples)
      throw bridges::ConfigError(fmt::format("measure/dcor: {} samples need two {} x {} distance matrices; the limit is "
                                             "max_samples = {}. Compare a subset, or raise max_samples.",
                                             n, n, n, options_.max_samples));
    const auto centred_distances = [](const bridges::Tensor& x) {
      const bridges::Tensor d = at::cdist(x.to(at::kDouble), x.to(at::kDouble));
      return d - d.mean(0, true) - d.mean(1, true) + d.mean();
    };
    const bridges::Tensor A = centred_distances(a), B = centred_distances(b);
    const double ab = (A * B).mean().item<double>(), aa = (A * A).mean().item<double>(), bb = (B * B).mean().item<double>();
    if (!(aa > 0) || !(bb > 0))
      throw bridges::UndefinedMeasureError("measure/dcor: undefined, a space has every sample at the same point.");
    return std::sqrt(std::max(0.0, ab) / std::sqrt(aa * bb));
  }
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<DistanceCorrelation>("dcor"))
