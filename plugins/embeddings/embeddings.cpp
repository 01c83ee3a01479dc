// Latents computed elsewhere (a pretrained model run in another framework),
// brought in as .npy files.
#include <ATen/ops/arange.h>
#include <ATen/ops/full.h>
#include <ATen/ops/index_select.h>
#include <fmt/format.h>

#include <bridges/util/io.hpp>
#include <bridges/formats/npy.hpp>
#include <bridges/sdk/plugin.hpp>
#include <bridges/util/subsets.hpp>
#include <bridges/util/messages.hpp>

#include <fstream>
#include <map>
#include <optional>

namespace {

using bridges::Tensor;
using nlohmann::json;

Tensor read_latents(const std::string& file, const std::string& where) {
  const Tensor x = bridges::read_npy(file);
  if (x.dim() != 2 || !x.is_floating_point())
    throw bridges::ShapeError(fmt::format("{}: {} must hold latents [n, d] float32 or float64, found {}.", where, file,
                                          bridges::describe(x)));
  bridges::require_finite(x, fmt::format("{}: {}", where, file), bridges::kFixNonFiniteLatents);
  return x.to(at::kFloat);
}

// The options, named like the manifest's (null ones are std::nullopt).
struct DatasetOptions {
  std::string train_x;
  std::optional<std::string> train_y, test_x, test_y;
  std::optional<int64_t> train_limit, test_limit;
  uint64_t seed;
  std::string normalize;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DatasetOptions, train_x, train_y, test_x, test_y, train_limit, test_limit, seed,
                                   normalize)

struct EncoderOptions {
  std::string train;
  std::optional<std::string> test;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EncoderOptions, train, test)

class EmbeddingsDataset final : public bridges::sdk::WithOptions<bridges::Dataset, DatasetOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "embeddings"; }

  bridges::Examples split(const std::string& name) override {
    if (name != "train" && name != "test")
      bridges::throw_unknown_name("split of dataset/embeddings", name, {"train", "test"});
    auto& [x, y] = load(name);
    const int64_t n = x.size(0);
    Tensor rows = at::arange(n, at::TensorOptions().dtype(at::kLong));
    if (const auto limit = name == "train" ? options_.train_limit : options_.test_limit; limit && *limit < n) {
      // Stratified by label; unlabelled rows all count as one class.
      const Tensor strata = y.defined() ? y : at::zeros({n}, at::TensorOptions().dtype(at::kLong));
      rows = bridges::stratified_subset(strata, *limit, options_.seed);
    }
    bridges::Examples out;
    out.fields["x"] = normalize(at::index_select(x, 0, rows));
    out.labels = y.defined() ? at::index_select(y, 0, rows) : at::full({rows.size(0)}, -1, at::TensorOptions().dtype(at::kLong));
    out.indices = rows;
    out.split = name;
    out.split_size = n;
    return out;
  }

  bridges::DatasetInfo info() const override {
    auto& [x, y] = const_cast<EmbeddingsDataset*>(this)->load("train");
    bridges::DatasetInfo info;
    info.modality = bridges::Modality::embeddings;
    info.num_classes = y.defined() && y.numel() ? y.max().item<int64_t>() + 1 : 0;
    info.fields.push_back({"x", "float32", {x.size(1)}});
    info.splits = {"train", "test"};
    return info;
  }

 private:
  Tensor normalize(const Tensor& x) {
    const std::string& mode = options_.normalize;
    if (mode == "l2") return x / x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);
    if (mode == "standardize") {
      if (!train_mean_.defined()) {  // the whole training split's statistics, shared by every split
        const Tensor& train = load("train").first;
        train_mean_ = train.mean({0}, /*keepdim=*/true);
        train_std_ = train.std({0}, /*unbiased=*/true, /*keepdim=*/true).clamp_min(1e-12);
      }
      return (x - train_mean_) / train_std_;
    }
    return x;
  }

  std::pair<Tensor, Tensor>& load(const std::string& split) {
    auto it = splits_.find(split);
    if (it != splits_.end()) return it->second;
    const auto x_file = split == "train" ? std::optional(options_.train_x) : options_.test_x;
    if (!x_file)
      throw bridges::ConfigError(fmt::format("dataset/embeddings: split '{}' needs the option \"{}_x\" (a .npy of latents).",
                                             split, split));
    Tensor x = read_latents(*x_file, "dataset/embeddings");
    Tensor y;
    if (const auto y_file = split == "train" ? options_.train_y : options_.test_y) {
      y = bridges::read_npy(*y_file);
      if (y.dim() != 1 || y.scalar_type() != at::kLong || y.size(0) != x.size(0))
        throw bridges::ShapeError(fmt::format("dataset/embeddings: {} must hold {} labels [n] int64 (one per row of {}), "
                                              "found {}.",
                                              *y_file, x.size(0), *x_file, bridges::describe(y)));
    }
    return splits_.emplace(split, std::make_pair(x, y)).first->second;
  }

  std::map<std::string, std::pair<Tensor, Tensor>> splits_;
  Tensor train_mean_, train_std_;
};

class EmbeddingsEncoder final : public bridges::sdk::WithOptions<bridges::Encoder, EncoderOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "embeddings"; }

  int64_t dim() const override {
    for (const char* split : {"train", "test"})
      if (const auto file = latents_file(split)) {
        std::ifstream in = bridges::open_for_reading(*file);
        const auto header = bridges::read_npy_header(in, *file);
        if (header.shape.size() != 2)
          throw bridges::ShapeError(fmt::format("encoder/embeddings: {} must be [n, d].", *file));
        return header.shape[1];
      }
    return 0;
  }

  Tensor encode(const bridges::Examples& examples) override {
    if (examples.split.empty() || examples.split_size < 0)
      throw bridges::ConfigError("encoder/embeddings: the examples do not say which split they come from, so the rows "
                                 "of the latents file cannot be matched to them.");
    const auto file = latents_file(examples.split);
    if (!file)
      throw bridges::ConfigError(fmt::format("encoder/embeddings: no latents for split '{}': set the option \"{}\".",
                                             examples.split, examples.split));
    auto it = latents_.find(examples.split);
    if (it == latents_.end()) it = latents_.emplace(examples.split, read_latents(*file, "encoder/embeddings")).first;
    const Tensor& z = it->second;
    if (z.size(0) != examples.split_size)
      throw bridges::ShapeError(fmt::format(
          "encoder/embeddings: {} has {} rows but split '{}' of the data set has {} samples; row i of the file must "
          "be the latent of sample i of that split.",
          *file, z.size(0), examples.split, examples.split_size));
    return at::index_select(z, 0, examples.indices);
  }

 private:
  std::optional<std::string> latents_file(const std::string& split) const {
    if (split == "train") return options_.train;
    if (split == "test") return options_.test;
    return std::nullopt;
  }

  std::map<std::string, Tensor> latents_;
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<EmbeddingsDataset>("embeddings"),
               bridges::sdk::component<EmbeddingsEncoder>("embeddings"))
