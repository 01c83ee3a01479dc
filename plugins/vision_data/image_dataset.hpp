#pragma once
// What every image data set of this plugin shares: lazy loading, stratified
// train/test limits, normalisation, and writing its options back to JSON.

#include <bridges/sdk/plugin.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vision_data {

using bridges::Tensor;
using nlohmann::json;

/// The options every image data set has (named like the manifest's).
struct Sampling {
  std::optional<int64_t> train_limit, test_limit;
  uint64_t seed;
  std::string normalize;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Sampling, train_limit, test_limit, seed, normalize)

class ImageDataset : public bridges::sdk::Family<bridges::Dataset, Sampling> {
 public:
  bridges::Examples split(const std::string& name) override;
  bridges::DatasetInfo info() const override;

 protected:
  /// One split as stored: images [n, c, h, w] (uint8, or float already in
  /// [0, 1]) and labels [n] int64.
  struct Raw {
    Tensor images;
    Tensor labels;
  };
  /// Reads split "train" or "test" from the source; throws for a split the
  /// source does not have.
  virtual Raw load(const std::string& split) const = 0;
  virtual std::vector<std::string> class_names() const { return {}; }

 private:
  const Raw& raw(const std::string& split) const;
  mutable std::map<std::string, Raw> raw_;
  mutable std::optional<std::pair<double, double>> train_mean_std_;
};

/// A data set with its typed Options, which extend Sampling.
template <class Options>
using Model = bridges::sdk::Member<ImageDataset, Options>;

/// Images of an idx file as [n, c, h, w]: [n, h, w] gains a channel, [n, h,
/// w, c] is moved to channels first.
Tensor idx_images(const Tensor& raw, const std::string& file);

/// Checks that images and labels agree in number; `where` names the files.
void check_counts(const Tensor& images, const Tensor& labels, const std::string& where);

}  // namespace vision_data
