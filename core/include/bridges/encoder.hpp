#pragma once
// A model that maps samples to latent vectors.

#include <iosfwd>

#include <nlohmann/json.hpp>

#include "bridges/component.hpp"
#include "bridges/examples.hpp"

namespace bridges {

/// Maps samples to latents. Trainable encoders also `fit`, and save and load
/// their trained state, so that a trained encoder is cached on disk
/// (fit_cached in encoder_cache.hpp) and never trained twice.
///
/// Example:
///   auto cnn = source.make<bridges::Encoder>("cnn", {{"latent_dim", 64}, {"seed", 1}});
///   cnn->fit(train);
///   bridges::Tensor z = cnn->encode(test);      // [n, 64]
///   nlohmann::json q = cnn->quality(test);      // {"accuracy": 0.9}
class BRIDGES_API Encoder : public Component {
 public:
  static constexpr ComponentKind kind = ComponentKind::encoder;

  /// examples (n samples, the fields this encoder reads) -> [n, dim()] float32.
  virtual Tensor encode(const Examples& examples) = 0;

  /// Size of the latent. Encoders whose size depends on the data (a spatial
  /// latent) know it once fitted or loaded, and throw ConfigError before.
  virtual int64_t dim() const = 0;

  /// Whether `fit` does anything; false for fixed encoders (TorchScript,
  /// precomputed embeddings).
  virtual bool trainable() const { return false; }

  /// Trains on `train`, with the options the encoder was made with.
  /// Default: throws NotImplemented.
  virtual void fit(const Examples& train);

  /// Writes or reads the trained state (weights and whatever is needed to
  /// rebuild the model). Defaults: throw NotImplemented.
  virtual void save(std::ostream& out) const;
  virtual void load(std::istream& in);

  /// The encoder's own end-to-end quality on labelled examples, e.g.
  /// {"accuracy": 0.91} for a classifier or {"mse": 0.012} for an
  /// auto-encoder; the stitching index divides by it. Default: throws
  /// NotImplemented.
  virtual nlohmann::json quality(const Examples& test);
};

}  // namespace bridges
