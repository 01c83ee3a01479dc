#pragma once
// A model that maps samples to latent vectors.

#include <filesystem>

#include "bridges/component.hpp"
#include "bridges/examples.hpp"

namespace bridges {

/// Maps samples to latents. Trainable encoders also `fit`, and every encoder
/// can `save` and `load` itself so that a trained encoder is cached on disk.
///
/// Example:
///   auto cnn = source.make<bridges::Encoder>("cnn", {{"latent_dim", 64}, {"seed", 1}});
///   cnn->fit(train);
///   bridges::Tensor z = cnn->encode(test);  // [n, 64]
class BRIDGES_API Encoder : public Component {
 public:
  static constexpr ComponentKind kind = ComponentKind::encoder;

  /// examples (n samples, the fields this encoder reads) -> [n, dim()] float32.
  virtual Tensor encode(const Examples& examples) = 0;

  /// Size of the latent.
  virtual int64_t dim() const = 0;

  /// Whether `fit` does anything; false for fixed encoders (TorchScript,
  /// precomputed embeddings).
  virtual bool trainable() const { return false; }

  /// Trains on `train`, with the options the encoder was made with.
  /// Default: throws NotImplemented.
  virtual void fit(const Examples& train);

  /// Writes or reads the trained state. Defaults: throw NotImplemented.
  virtual void save(const std::filesystem::path& file) const;
  virtual void load(const std::filesystem::path& file);
};

}  // namespace bridges
