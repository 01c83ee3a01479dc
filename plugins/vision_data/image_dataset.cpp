#include "image_dataset.hpp"

#include <ATen/ops/arange.h>
#include <ATen/ops/index_select.h>
#include <fmt/format.h>

#include <bridges/util/subsets.hpp>
#include <bridges/util/messages.hpp>

namespace vision_data {

const ImageDataset::Raw& ImageDataset::raw(const std::string& split) const {
  if (split != "train" && split != "test")
    bridges::throw_unknown_name(fmt::format("split of dataset/{}", type()), split, {"train", "test"});
  auto it = raw_.find(split);
  if (it == raw_.end()) it = raw_.emplace(split, load(split)).first;
  return it->second;
}

bridges::Examples ImageDataset::split(const std::string& name) {
  const Raw& r = raw(name);
  const int64_t n = r.images.size(0);
  Tensor rows = at::arange(n, at::TensorOptions().dtype(at::kLong));
  const Sampling& o = shared_options();
  if (const auto limit = name == "train" ? o.train_limit : o.test_limit; limit && *limit < n)
    rows = bridges::stratified_subset(r.labels, *limit, o.seed);

  // Pixels as stored -> float: bytes keep 0..255 under "none", floats are
  // already in [0, 1].
  const bool bytes = r.images.scalar_type() == at::kByte;
  Tensor images = at::index_select(r.images, 0, rows).to(at::kFloat);
  const std::string& normalize = o.normalize;
  if (normalize != "none" && bytes) images.div_(255.0);
  if (normalize == "standardize") {
    if (!train_mean_std_) {  // statistics of the whole training split, so every split shares them
      Tensor train = raw("train").images.to(at::kFloat);
      if (raw("train").images.scalar_type() == at::kByte) train.div_(255.0);
      train_mean_std_ = {train.mean().item<double>(), std::max(train.std().item<double>(), 1e-12)};
    }
    images.sub_(train_mean_std_->first).div_(train_mean_std_->second);
  }

  bridges::Examples out;
  out.fields["image"] = images;
  out.labels = at::index_select(r.labels, 0, rows);
  out.indices = rows;
  out.split = name;
  out.split_size = n;
  return out;
}

bridges::DatasetInfo ImageDataset::info() const {
  const Raw& train = raw("train");
  bridges::DatasetInfo info;
  info.modality = bridges::Modality::vision;
  info.num_classes = train.labels.numel() ? train.labels.max().item<int64_t>() + 1 : 0;
  info.class_names = class_names();
  info.fields.push_back({"image", "float32", {train.images.size(1), train.images.size(2), train.images.size(3)}});
  info.splits = {"train", "test"};
  return info;
}

Tensor idx_images(const Tensor& raw, const std::string& file) {
  if (raw.dim() == 3) return raw.unsqueeze(1);
  if (raw.dim() == 4) return raw.permute({0, 3, 1, 2}).contiguous();
  throw bridges::FormatError(fmt::format("{}: idx images must be [n, h, w] or [n, h, w, c], found {}.", file,
                                         bridges::describe(raw)));
}

void check_counts(const Tensor& images, const Tensor& labels, const std::string& where) {
  if (labels.dim() != 1)
    throw bridges::FormatError(fmt::format("{}: labels must be [n], found {}.", where, bridges::describe(labels)));
  if (images.size(0) != labels.size(0))
    throw bridges::FormatError(fmt::format("{}: {} images but {} labels; the two files must describe the same samples.",
                                           where, images.size(0), labels.size(0)));
}

}  // namespace vision_data
