#pragma once
// NumPy .npy files: float32, float64, int64, int32, uint8 and bool, C order,
// little endian.

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// The parsed header of a .npy file.
struct BRIDGES_API NpyHeader {
  std::string descr;           ///< "<f4", "<f8" or "<i8"
  std::vector<int64_t> shape;  ///< () is a scalar
  int64_t data_offset = 0;     ///< bytes from the start of the file to the data
  int64_t item_size = 0;       ///< bytes per element

  int64_t num_elements() const;
  int64_t data_bytes() const { return num_elements() * item_size; }
};

/// Reads and checks the header at the start of `in`. `file` is used in
/// messages. Throws FormatError naming the file and what was found for a bad
/// magic, version or header, Fortran order, big endian or an unsupported dtype.
BRIDGES_API NpyHeader read_npy_header(std::istream& in, const std::filesystem::path& file);

/// Reads a whole .npy file into a new tensor (float32, float64 or int64).
/// Throws IoError when it cannot be opened, FormatError for a bad header or
/// truncated or trailing data.
BRIDGES_API Tensor read_npy(const std::filesystem::path& file);

/// Writes `t` (float32, float64 or int64; any shape) as .npy, atomically:
/// the file appears complete or not at all. Throws ShapeError for another
/// dtype, IoError when writing fails.
BRIDGES_API void write_npy(const std::filesystem::path& file, const Tensor& t);

}  // namespace bridges
