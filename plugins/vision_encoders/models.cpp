// The six vision encoders. Every network halves the image twice, so height
// and width must be multiples of 4; 28 x 28 gives a 7 x 7 map.
#include <fmt/format.h>

#include "vision_encoder.hpp"

namespace vision_encoders {

namespace nn = torch::nn;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding));
}

// Convolutions that halve the image twice: [c, h, w] -> [64, h/4, w/4].
nn::Sequential downsampler(const Shape& s) {
  return nn::Sequential(conv(s.c, 32, 4, 2, 1), nn::ReLU(), conv(32, 64, 4, 2, 1), nn::ReLU());
}

// The mirror image: [64, h/4, w/4] -> [c, h, w]. No output activation: the
// decoder reconstructs whatever normalisation the images have.
nn::Sequential upsampler(const Shape& s) {
  return nn::Sequential(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(64, 32, 4).stride(2).padding(1)), nn::ReLU(),
                        nn::ConvTranspose2d(nn::ConvTranspose2dOptions(32, s.c, 4).stride(2).padding(1)));
}

int64_t features(const Shape& s) { return 64 * (s.h / 4) * (s.w / 4); }

// Appends the layers of `tail` to `head`. (Not a range-for over
// *upsampler(s): the temporary holder would die before the loop runs.)
void append(nn::Sequential& head, const nn::Sequential& tail) {
  for (const auto& layer : *tail) head->push_back(layer);
}

// mean + noise * exp(logvar / 2), and the KL divergence to N(0, I) per input
// element, so that kl_weight weighs it against the per-element MSE.
std::pair<Tensor, Tensor> sample(const Tensor& mean, const Tensor& logvar, const Shape& s) {
  const Tensor z = mean + torch::randn_like(mean) * (0.5 * logvar).exp();
  const Tensor kl = -0.5 * (1 + logvar - mean.pow(2) - logvar.exp()).flatten(1).sum(1).mean();
  return {z, kl / static_cast<double>(s.numel())};
}

// ---- options (named like the manifest's) ------------------------------------

struct CnnOptions : Training {
  int64_t latent_dim;
  std::vector<int64_t> channels;
};
BRIDGES_DERIVED_OPTIONS(CnnOptions, Training, latent_dim, channels)

struct MlpOptions : Training {
  int64_t latent_dim;
  int64_t hidden;
};
BRIDGES_DERIVED_OPTIONS(MlpOptions, Training, latent_dim, hidden)

struct SpatialOptions : Training {  // ae
  int64_t latent_channels;
};
BRIDGES_DERIVED_OPTIONS(SpatialOptions, Training, latent_channels)

struct SpatialVaeOptions : SpatialOptions {  // vae
  double kl_weight;
};
BRIDGES_DERIVED_OPTIONS(SpatialVaeOptions, SpatialOptions, kl_weight)

struct LinearOptions : Training {  // lin_ae
  int64_t latent_dim;
};
BRIDGES_DERIVED_OPTIONS(LinearOptions, Training, latent_dim)

struct LinearVaeOptions : LinearOptions {  // lin_vae
  double kl_weight;
};
BRIDGES_DERIVED_OPTIONS(LinearVaeOptions, LinearOptions, kl_weight)

// ---- classifiers -----------------------------------------------------------

class Cnn final : public Model<Classifier, CnnOptions> {
 public:
  using Model::Model;
  std::string type() const override { return "cnn"; }

 protected:
  nn::Sequential backbone(const Shape& s) override {
    const auto& channels = options_.channels;
    if (channels.size() != 2 || channels[0] < 1 || channels[1] < 1)
      throw bridges::ConfigError(fmt::format("encoder/cnn: \"channels\" must be two positive integers, found {}.",
                                             json(channels).dump()));
    const int64_t c1 = channels[0], c2 = channels[1];
    return nn::Sequential(conv(s.c, c1, 3, 1, 1), nn::BatchNorm2d(c1), nn::ReLU(), nn::MaxPool2d(2),
                          conv(c1, c2, 3, 1, 1), nn::BatchNorm2d(c2), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
                          nn::Linear(c2 * (s.h / 4) * (s.w / 4), options_.latent_dim));
  }
};

class Mlp final : public Model<Classifier, MlpOptions> {
 public:
  using Model::Model;
  std::string type() const override { return "mlp"; }

 protected:
  nn::Sequential backbone(const Shape& s) override {
    const int64_t hidden = options_.hidden;
    return nn::Sequential(nn::Flatten(), nn::Linear(s.numel(), hidden), nn::ReLU(),
                          nn::Linear(hidden, options_.latent_dim));
  }
};

// ---- auto-encoders -----------------------------------------------------------

// Spatial latent: [latent_channels, h/4, w/4].
class Ae final : public Model<AutoEncoder, SpatialOptions> {
 public:
  using Model::Model;
  std::string type() const override { return "ae"; }

 protected:
  void build(const Shape& s, int64_t) override {
    const int64_t lc = options_.latent_channels;
    encoder_ = net_.register_module("encoder", downsampler(s));
    encoder_->push_back(conv(64, lc, 3, 1, 1));
    decoder_ = net_.register_module("decoder", nn::Sequential(conv(lc, 64, 3, 1, 1), nn::ReLU()));
    append(decoder_, upsampler(s));
  }
  Tensor loss(const Tensor& images, const Tensor&) override { return torch::mse_loss(reconstruct(images), images); }
  Tensor latents(const Tensor& images) override { return encoder_->forward(images); }
  Tensor reconstruct(const Tensor& images) override { return decoder_->forward(encoder_->forward(images)); }
  int64_t latent_size(const Shape& s) const override { return options_.latent_channels * (s.h / 4) * (s.w / 4); }

 private:
  nn::Sequential encoder_{nullptr}, decoder_{nullptr};
};

// Spatial latent; encode returns the mean.
class Vae final : public Model<AutoEncoder, SpatialVaeOptions> {
 public:
  using Model::Model;
  std::string type() const override { return "vae"; }

 protected:
  void build(const Shape& s, int64_t) override {
    const int64_t lc = options_.latent_channels;
    body_ = net_.register_module("body", downsampler(s));
    mean_ = net_.register_module("mean", conv(64, lc, 3, 1, 1));
    logvar_ = net_.register_module("logvar", conv(64, lc, 3, 1, 1));
    decoder_ = net_.register_module("decoder", nn::Sequential(conv(lc, 64, 3, 1, 1), nn::ReLU()));
    append(decoder_, upsampler(s));
  }
  Tensor loss(const Tensor& images, const Tensor&) override {
    const Tensor h = body_->forward(images);
    const auto [z, kl] = sample(mean_->forward(h), logvar_->forward(h), *shape_);
    return torch::mse_loss(decoder_->forward(z), images) + options_.kl_weight * kl;
  }
  Tensor latents(const Tensor& images) override { return mean_->forward(body_->forward(images)); }
  Tensor reconstruct(const Tensor& images) override { return decoder_->forward(latents(images)); }
  int64_t latent_size(const Shape& s) const override { return options_.latent_channels * (s.h / 4) * (s.w / 4); }

 private:
  nn::Sequential body_{nullptr}, decoder_{nullptr};
  nn::Conv2d mean_{nullptr}, logvar_{nullptr};
};

// Flattened linear bottleneck of latent_dim.
class LinAe final : public Model<AutoEncoder, LinearOptions> {
 public:
  using Model::Model;
  std::string type() const override { return "lin_ae"; }

 protected:
  void build(const Shape& s, int64_t) override {
    encoder_ = net_.register_module("encoder", downsampler(s));
    encoder_->push_back(nn::Flatten());
    encoder_->push_back(nn::Linear(features(s), options_.latent_dim));
    decoder_ = net_.register_module(
        "decoder", nn::Sequential(nn::Linear(options_.latent_dim, features(s)), nn::ReLU(),
                                  nn::Unflatten(nn::UnflattenOptions(1, {64, s.h / 4, s.w / 4}))));
    append(decoder_, upsampler(s));
  }
  Tensor loss(const Tensor& images, const Tensor&) override { return torch::mse_loss(reconstruct(images), images); }
  Tensor latents(const Tensor& images) override { return encoder_->forward(images); }
  Tensor reconstruct(const Tensor& images) override { return decoder_->forward(encoder_->forward(images)); }
  int64_t latent_size(const Shape&) const override { return options_.latent_dim; }

 private:
  nn::Sequential encoder_{nullptr}, decoder_{nullptr};
};

// Flattened linear bottleneck; encode returns the mean.
class LinVae final : public Model<AutoEncoder, LinearVaeOptions> {
 public:
  using Model::Model;
  std::string type() const override { return "lin_vae"; }

 protected:
  void build(const Shape& s, int64_t) override {
    body_ = net_.register_module("body", downsampler(s));
    body_->push_back(nn::Flatten());
    mean_ = net_.register_module("mean", nn::Linear(features(s), options_.latent_dim));
    logvar_ = net_.register_module("logvar", nn::Linear(features(s), options_.latent_dim));
    decoder_ = net_.register_module(
        "decoder", nn::Sequential(nn::Linear(options_.latent_dim, features(s)), nn::ReLU(),
                                  nn::Unflatten(nn::UnflattenOptions(1, {64, s.h / 4, s.w / 4}))));
    append(decoder_, upsampler(s));
  }
  Tensor loss(const Tensor& images, const Tensor&) override {
    const Tensor h = body_->forward(images);
    const auto [z, kl] = sample(mean_->forward(h), logvar_->forward(h), *shape_);
    return torch::mse_loss(decoder_->forward(z), images) + options_.kl_weight * kl;
  }
  Tensor latents(const Tensor& images) override { return mean_->forward(body_->forward(images)); }
  Tensor reconstruct(const Tensor& images) override { return decoder_->forward(latents(images)); }
  int64_t latent_size(const Shape&) const override { return options_.latent_dim; }

 private:
  nn::Sequential body_{nullptr}, decoder_{nullptr};
  nn::Linear mean_{nullptr}, logvar_{nullptr};
};

}  // namespace

}  // namespace vision_encoders

BRIDGES_PLUGIN(bridges::sdk::component<vision_encoders::Cnn>("cnn"),
               bridges::sdk::component<vision_encoders::Mlp>("mlp"),
               bridges::sdk::component<vision_encoders::Ae>("ae"),
               bridges::sdk::component<vision_encoders::Vae>("vae"),
               bridges::sdk::component<vision_encoders::LinAe>("lin_ae"),
               bridges::sdk::component<vision_encoders::LinVae>("lin_vae"))
