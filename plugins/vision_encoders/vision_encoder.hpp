#pragma once
// What the vision encoders share: options, a seeded training loop with
// progress, batched encoding, and saving the trained network with what is
// needed to rebuild it.
//
// Two families derive from VisionEncoder:
//   Classifier   latent -> ReLU -> Linear(classes), cross-entropy; quality = test accuracy
//   AutoEncoder  latent -> decoder -> image, MSE (+ KL for VAEs); quality = reconstruction MSE

#include <torch/torch.h>

#include <bridges/sdk/plugin.hpp>

#include <optional>
#include <string>

namespace vision_encoders {

using bridges::Tensor;
using nlohmann::json;

/// Input shape of a network: channels, height, width.
struct Shape {
  int64_t c, h, w;
  int64_t numel() const { return c * h * w; }
};

/// The options every vision encoder has (named like the manifest's shared_options).
struct Training {
  int64_t epochs;
  int64_t batch_size;
  double lr;
  uint64_t seed;
  int64_t threads;
  std::string field;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Training, epochs, batch_size, lr, seed, threads, field)

class VisionEncoder : public bridges::sdk::Family<bridges::Encoder, Training> {
 public:
  bool trainable() const override { return true; }
  int64_t dim() const override;
  void fit(const bridges::Examples& train) override;
  Tensor encode(const bridges::Examples& examples) override;
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

 protected:
  /// The option latent_dim, for the networks whose latent size is fixed by
  /// it rather than by the image size.
  virtual std::optional<int64_t> latent_dim() const = 0;

  /// Creates the network's modules for inputs of `shape` (and `classes`
  /// classes, for classifiers), registered under net_.
  virtual void build(const Shape& shape, int64_t classes) = 0;
  /// The training loss of a batch: images [b, c, h, w], labels [b].
  virtual Tensor loss(const Tensor& images, const Tensor& labels) = 0;
  /// Latents of a batch, [b, ...] (flattened by encode).
  virtual Tensor latents(const Tensor& images) = 0;
  /// The latent size for inputs of `shape`.
  virtual int64_t latent_size(const Shape& shape) const = 0;

  /// The input images of `examples` (option "field"), checked to be [n, c, h, w].
  Tensor images_of(const bridges::Examples& examples) const;
  /// Runs `f` on batches of the images under no-grad, eval mode.
  void for_batches(const Tensor& images, const std::function<void(int64_t begin, const Tensor& batch)>& f);
  /// The network must exist (fitted or loaded) before use.
  void require_built() const;

  torch::nn::Module net_;
  std::optional<Shape> shape_;
  int64_t classes_ = 0;
};

/// A network of `Kind` (Classifier or AutoEncoder) with its typed
/// `Options`, which extend Training.
template <class Kind, class Options>
class Model : public bridges::sdk::Member<Kind, Options> {
 public:
  using bridges::sdk::Member<Kind, Options>::Member;

 protected:
  std::optional<int64_t> latent_dim() const override {
    if constexpr (requires { this->options_.latent_dim; })
      return this->options_.latent_dim;
    else
      return std::nullopt;
  }
};

/// latent -> ReLU -> Linear(classes); cross-entropy; quality: test accuracy.
class Classifier : public VisionEncoder {
 public:
  json quality(const bridges::Examples& test) override;

 protected:
  /// The backbone from images to the latent (latent_dim wide).
  virtual torch::nn::Sequential backbone(const Shape& shape) = 0;
  void build(const Shape& shape, int64_t classes) override;
  Tensor loss(const Tensor& images, const Tensor& labels) override;
  Tensor latents(const Tensor& images) override { return backbone_->forward(images); }
  int64_t latent_size(const Shape&) const override { return *latent_dim(); }

  torch::nn::Sequential backbone_{nullptr}, head_{nullptr};
};

/// Reconstructs its input; quality: mean squared error per pixel on the test set.
class AutoEncoder : public VisionEncoder {
 public:
  json quality(const bridges::Examples& test) override;

 protected:
  /// The reconstruction of a batch (for VAEs, decoded from the mean).
  virtual Tensor reconstruct(const Tensor& images) = 0;
};

}  // namespace vision_encoders
