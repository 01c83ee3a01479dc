#pragma once
// Content fingerprints: cache keys and corruption checks.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bridges/export.hpp"
#include "bridges/examples.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// A 128-bit non-cryptographic hash (two independent 64-bit lanes), fast
/// enough to fingerprint a whole data set (several GB/s). Not for security:
/// for cache keys and detecting damaged files.
class BRIDGES_API Fingerprint {
 public:
  Fingerprint& add(const void* data, std::size_t bytes);
  Fingerprint& add(std::string_view text);
  Fingerprint& add(const std::string& text) { return add(std::string_view(text)); }
  Fingerprint& add(const char* text) { return add(std::string_view(text)); }
  /// dtype, shape and contents (made contiguous first).
  Fingerprint& add(const Tensor& t);
  /// The compact dump of `j` (keys sorted, so equal JSON hashes equally).
  Fingerprint& add(const nlohmann::json& j);
  /// Every part of the examples: fields, graph tensors, texts, labels, indices.
  Fingerprint& add(const Examples& examples);
  /// 32 hexadecimal digits.
  std::string hex() const;

 private:
  uint64_t a_ = 0x9e3779b97f4a7c15ULL, b_ = 0xc2b2ae3d27d4eb4fULL;
  uint64_t length_ = 0;
};

}  // namespace bridges
