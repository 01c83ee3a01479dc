#include "vision_encoder.hpp"

#include <fmt/format.h>

#include <bridges/util/random.hpp>
#include <bridges/sdk/training.hpp>
#include <bridges/util/runtime.hpp>

#include <mutex>
#include <random>
#include <sstream>

namespace vision_encoders {

namespace {

// Small enough that a batch's activations (128 x 32 x 28 x 28 floats = 13 MB for
// the CNN) stay below the 32 MiB that glibc serves from its reusable heap
// (see bridges::keep_freed_memory): 512 made encoding 3x slower here.
constexpr int64_t kEncodeBatch = 128;

}  // namespace

int64_t VisionEncoder::dim() const {
  if (shape_) return latent_size(*shape_);
  if (const auto fixed = latent_dim()) return *fixed;
  throw bridges::ConfigError(fmt::format("encoder/{}: the latent size depends on the image size; it is known once the "
                                         "encoder is fitted or loaded.",
                                         type()));
}

void VisionEncoder::require_built() const {
  if (!shape_)
    throw bridges::ConfigError(fmt::format("encoder/{}: not trained yet: fit it (or load a trained one) first.", type()));
}

Tensor VisionEncoder::images_of(const bridges::Examples& examples) const {
  const std::string& field = shared_options().field;
  const Tensor& images = examples.field(field);
  if (images.dim() != 4 || !images.is_floating_point())
    throw bridges::ShapeError(fmt::format("encoder/{}: field '{}' must hold images [n, c, h, w] (float), found {}.",
                                          type(), field, bridges::describe(images)));
  if (shape_ && (images.size(1) != shape_->c || images.size(2) != shape_->h || images.size(3) != shape_->w))
    throw bridges::ShapeError(fmt::format("encoder/{}: it was trained on images [{}, {}, {}], these are {}.", type(),
                                          shape_->c, shape_->h, shape_->w, bridges::describe(images)));
  return images.to(at::kFloat).contiguous();
}

void VisionEncoder::fit(const bridges::Examples& train) {
  const Tensor images = images_of(train);
  const Tensor labels = train.labels.defined() ? train.labels.to(at::kLong) : Tensor();
  const Shape shape{images.size(1), images.size(2), images.size(3)};
  if (shape.h % 4 != 0 || shape.w % 4 != 0)
    throw bridges::ShapeError(fmt::format("encoder/{}: image height and width must be multiples of 4 (two 2x poolings), "
                                          "found {}x{}.",
                                          type(), shape.h, shape.w));
  const int64_t n = images.size(0);
  if (n == 0) throw bridges::ConfigError(fmt::format("encoder/{}: no training examples.", type()));
  const bridges::ThreadScope threads(shared_options().threads);
  const uint64_t seed = shared_options().seed;
  {
    std::lock_guard lock(bridges::torch_rng_mutex());
    torch::manual_seed(seed);
    net_ = torch::nn::Module();
    shape_ = shape;
    classes_ = labels.defined() && labels.numel() ? labels.max().item<int64_t>() + 1 : 0;
    build(shape, classes_);
  }
  net_.train();
  torch::optim::Adam optimizer(net_.parameters(), torch::optim::AdamOptions(shared_options().lr));
  std::mt19937_64 rng(seed);
  bridges::sdk::train_epochs(type(), n, shared_options().epochs, shared_options().batch_size, rng, "img", [&](const Tensor& rows) {
    const Tensor batch_images = images.index_select(0, rows);
    const Tensor batch_labels = labels.defined() ? labels.index_select(0, rows) : Tensor();
    optimizer.zero_grad();
    // The global generator also draws the VAEs' sampling noise.
    std::lock_guard lock(bridges::torch_rng_mutex());
    const Tensor value = loss(batch_images, batch_labels);
    value.backward();
    optimizer.step();
    return value.item<double>();
  });
  net_.eval();
}

void VisionEncoder::for_batches(const Tensor& images, const std::function<void(int64_t, const Tensor&)>& f) {
  require_built();
  torch::NoGradGuard no_grad;
  net_.eval();
  for (int64_t begin = 0; begin < images.size(0); begin += kEncodeBatch)
    f(begin, images.narrow(0, begin, std::min(kEncodeBatch, images.size(0) - begin)));
}

Tensor VisionEncoder::encode(const bridges::Examples& examples) {
  const Tensor images = images_of(examples);
  require_built();
  Tensor out = torch::empty({images.size(0), dim()}, torch::kFloat);
  for_batches(images, [&](int64_t begin, const Tensor& batch) {
    out.narrow(0, begin, batch.size(0)).copy_(latents(batch).reshape({batch.size(0), -1}));
  });
  return out;
}

void VisionEncoder::save(std::ostream& out) const {
  require_built();
  bridges::sdk::save_module(net_, {{"encoder", to_json()}, {"shape", {shape_->c, shape_->h, shape_->w}}, {"classes", classes_}},
                            out);
}

void VisionEncoder::load(std::istream& in) {
  torch::serialize::InputArchive archive;
  const json meta = bridges::sdk::load_module_meta(in, archive, to_json(), type());
  const auto s = meta.at("shape").get<std::vector<int64_t>>();
  {
    std::lock_guard lock(bridges::torch_rng_mutex());
    net_ = torch::nn::Module();
    shape_ = Shape{s.at(0), s.at(1), s.at(2)};
    classes_ = meta.at("classes").get<int64_t>();
    build(*shape_, classes_);
  }
  net_.load(archive);
  net_.eval();
}

void Classifier::build(const Shape& shape, int64_t classes) {
  if (classes < 2)
    throw bridges::ConfigError(fmt::format("encoder/{}: a classifier needs labels of at least 2 classes.", type()));
  backbone_ = net_.register_module("backbone", backbone(shape));
  head_ = net_.register_module("head", torch::nn::Sequential(torch::nn::ReLU(),
                                                             torch::nn::Linear(*latent_dim(), classes)));
}

Tensor Classifier::loss(const Tensor& images, const Tensor& labels) {
  if (!labels.defined()) throw bridges::ConfigError(fmt::format("encoder/{}: training a classifier needs labels.", type()));
  return torch::cross_entropy_loss(head_->forward(backbone_->forward(images)), labels);
}

json Classifier::quality(const bridges::Examples& test) {
  const Tensor images = images_of(test);
  const Tensor labels = test.labels.to(at::kLong);
  int64_t correct = 0;
  for_batches(images, [&](int64_t begin, const Tensor& batch) {
    const Tensor predicted = head_->forward(backbone_->forward(batch)).argmax(1);
    correct += predicted.eq(labels.narrow(0, begin, batch.size(0))).sum().item<int64_t>();
  });
  return {{"accuracy", images.size(0) ? static_cast<double>(correct) / static_cast<double>(images.size(0)) : 0.0}};
}

json AutoEncoder::quality(const bridges::Examples& test) {
  const Tensor images = images_of(test);
  double squared = 0;
  for_batches(images, [&](int64_t, const Tensor& batch) {
    squared += (reconstruct(batch) - batch).pow(2).sum().item<double>();
  });
  return {{"mse", images.numel() ? squared / static_cast<double>(images.numel()) : 0.0}};
}

}  // namespace vision_encoders
