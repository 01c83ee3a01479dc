#pragma once
// The idx format of MNIST, Fashion-MNIST, EMNIST, KMNIST...: a 4-byte magic
// (0, 0, type, number of dimensions), the dimensions as big-endian int32,
// then the data, big endian, C order. Files may be gzip-compressed.
// Part of the vision data plugin, its only user (the tests and the fuzz
// target compile it in too).

#include <filesystem>

#include "bridges/tensor.hpp"

namespace bridges {

/// Reads an idx file, gzip-compressed or not (detected from its first bytes).
/// Types: unsigned byte (uint8 tensor), signed byte (int8), short (int16),
/// int (int32), float (float32), double (float64). Throws IoError when the
/// file cannot be opened and FormatError naming the file and the byte offset
/// for a wrong magic, an unknown type, truncated data, trailing data or
/// corrupt compression.
Tensor read_idx(const std::filesystem::path& file);

}  // namespace bridges
