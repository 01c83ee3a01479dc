#include "idx.hpp"

#include <ATen/ops/empty.h>
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"

namespace bridges {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void bad_idx(const fs::path& file, const std::string& what) {
  throw FormatError(fmt::format("{}: not a readable idx file: {}", file.string(), what));
}

// The whole file, decompressed when it starts with the gzip magic.
std::string read_bytes(const fs::path& file) {
  std::ifstream in = open_for_reading(file);
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  const bool gzipped = in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (!gzipped) {
    in.seekg(0);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  in.close();
  gzFile gz = gzopen(file.c_str(), "rb");
  if (gz == nullptr) throw IoError(fmt::format("{}: cannot open: {}.", file.string(), std::strerror(errno)));
  std::string out;
  char buffer[1 << 16];
  while (true) {
    const int n = gzread(gz, buffer, sizeof buffer);
    if (n > 0) out.append(buffer, static_cast<std::size_t>(n));
    int code = Z_OK;
    const char* message = gzerror(gz, &code);
    if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {
      const std::string what = message ? message : "unknown zlib error";
      gzclose(gz);
      bad_idx(file, fmt::format("the gzip data is corrupt or truncated ({}) after {} decompressed bytes", what,
                            out.size()));
    }
    if (n == 0) break;
  }
  gzclose(gz);
  return out;
}

at::ScalarType type_of(unsigned char code, const fs::path& file) {
  switch (code) {
    case 0x08: return at::kByte;
    case 0x09: return at::kChar;
    case 0x0B: return at::kShort;
    case 0x0C: return at::kInt;
    case 0x0D: return at::kFloat;
    case 0x0E: return at::kDouble;
    default:
      bad_idx(file, fmt::format("byte 2 (the data type) is 0x{:02x}; idx types are 0x08 (ubyte), 0x09 (byte), 0x0b "
                            "(short), 0x0c (int), 0x0d (float), 0x0e (double)",
                            code));
  }
}

}  // namespace

Tensor read_idx(const fs::path& file) {
  const std::string bytes = read_bytes(file);
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.size() < 4) bad_idx(file, fmt::format("it has {} bytes, fewer than the 4-byte magic", bytes.size()));
  if (byte(0) != 0 || byte(1) != 0)
    bad_idx(file, fmt::format("the magic at offset 0 starts with 0x{:02x} 0x{:02x}, expected 0x00 0x00", byte(0), byte(1)));
  const at::ScalarType type = type_of(byte(2), file);
  const int ndim = byte(3);
  if (ndim < 1) bad_idx(file, "byte 3 (the number of dimensions) is 0");
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndim);
  if (bytes.size() < header)
    bad_idx(file, fmt::format("the header of {} dimensions needs {} bytes, the file has {}", ndim, header, bytes.size()));
  std::vector<int64_t> shape;
  double count = 1, nonzero = 1;
  for (int i = 0; i < ndim; ++i) {
    const std::size_t at = 4 + 4 * static_cast<std::size_t>(i);
    const int64_t dim = (int64_t{byte(at)} << 24) | (byte(at + 1) << 16) | (byte(at + 2) << 8) | byte(at + 3);
    shape.push_back(dim);
    count *= static_cast<double>(dim);
    nonzero *= static_cast<double>(std::max<int64_t>(dim, 1));
  }
  const std::size_t item = c10::elementSize(type);
  // Also with a zero dimension: LibTorch multiplies the others (fuzz_idx).
  if (nonzero * static_cast<double>(item) > 1e12)
    bad_idx(file, fmt::format("dimensions ({}) are implausibly large", fmt::join(shape, ", ")));
  const std::size_t data = static_cast<std::size_t>(count) * item;
  if (bytes.size() - header < data)
    bad_idx(file, fmt::format("the data is truncated: dimensions ({}) need {} bytes from offset {}, the file has {}",
                          fmt::join(shape, ", "), data, header, bytes.size() - header));
  if (bytes.size() - header > data)
    bad_idx(file, fmt::format("{} bytes follow the data that ends at offset {}", bytes.size() - header - data,
                          header + data));
  Tensor out = at::empty(shape, at::TensorOptions().dtype(type));
  auto* dst = static_cast<unsigned char*>(out.data_ptr());
  if (data == 0) return out;  // a zero dimension: no data, and no pointer to copy to (memcpy(nullptr, ..., 0) is UB)
  std::memcpy(dst, bytes.data() + header, data);
  if (item > 1)  // idx is big endian
    for (std::size_t i = 0; i < data; i += item) std::reverse(dst + i, dst + i + item);
  return out;
}

}  // namespace bridges
