#pragma once
// Trained encoders are saved, and never trained twice for the same plugin,
// options (seed included) and training data.

#include <filesystem>
#include <string>

#include "bridges/encoder.hpp"
#include "bridges/export.hpp"

namespace bridges {

struct BRIDGES_API CachedFit {
  bool trained = false;          ///< false: loaded from the cache
  std::filesystem::path file;    ///< the cache file
  std::string key;               ///< hash of encoder JSON, data and build
  std::string warning;           ///< e.g. a damaged cache file that was retrained
};

/// The cache key: the encoder's to_json() (its type and every option, seed
/// included), a fingerprint of `train`, and the build (bridges, LibTorch).
BRIDGES_API std::string encoder_cache_key(const Encoder& encoder, const Examples& train);

/// The file in `folder` that holds `encoder` trained on `train`.
BRIDGES_API std::filesystem::path encoder_cache_file(const Encoder& encoder, const Examples& train,
                                                     const std::filesystem::path& folder);

/// Loads the encoder from `folder` if it was trained before on the same data,
/// else fits it on `train` and saves it there (atomically). A cache file that
/// is damaged (bad magic, size or checksum) or that the encoder cannot load
/// is never used: the encoder is retrained, the file replaced, and `warning`
/// says so. An encoder that is not trainable is returned as it is.
BRIDGES_API CachedFit fit_cached(Encoder& encoder, const Examples& train,
                                 const std::filesystem::path& folder);

}  // namespace bridges
