#include "bridges/npy.hpp"

#include <ATen/ops/empty.h>
#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <cctype>
#include <charconv>

#include "bridges/error.hpp"
#include "bridges/io.hpp"
#include "bridges/text.hpp"

namespace bridges {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
const char* const kSupported = "<f4 (float32), <f8 (float64), <i8 (int64), <i4 (int32), |u1 (uint8), |b1 (bool)";

[[noreturn]] void bad_npy(const fs::path& file, const std::string& what) {
  throw FormatError(fmt::format("{}: not a .npy file bridges can read: {}", file.string(), what));
}

// The raw text of the value of 'key' in the header's dict literal: a quoted
// string (with its quotes), a tuple (with its parentheses) or a bare word.
std::string dict_value(const std::string& header, const std::string& key, const fs::path& file) {
  std::size_t at = std::string::npos;
  for (const char quote : {'\'', '"'}) {
    const std::string quoted = std::string(1, quote) + key + quote;
    if ((at = header.find(quoted)) != std::string::npos) {
      at += quoted.size();
      break;
    }
  }
  const auto skip_blanks = [&] {
    while (at < header.size() && std::isspace(static_cast<unsigned char>(header[at]))) ++at;
  };
  if (at == std::string::npos) bad_npy(file, fmt::format("the header has no '{}' entry: {}", key, header));
  skip_blanks();
  if (at >= header.size() || header[at] != ':') bad_npy(file, fmt::format("the header's '{}' has no value: {}", key, header));
  ++at;
  skip_blanks();
  if (at >= header.size()) bad_npy(file, fmt::format("the header ends after '{}': {}", key, header));
  std::size_t end = at;
  const char first = header[at];
  if (first == '\'' || first == '"') {
    end = header.find(first, at + 1);
    if (end != std::string::npos) ++end;
  } else if (first == '(') {
    end = header.find(')', at);
    if (end != std::string::npos) ++end;
  } else {
    while (end < header.size() && std::isalpha(static_cast<unsigned char>(header[end]))) ++end;
  }
  if (end == std::string::npos || end == at) bad_npy(file, fmt::format("the header's '{}' value is unreadable: {}", key, header));
  return header.substr(at, end - at);
}

at::ScalarType dtype_of(const std::string& descr, const fs::path& file) {
  if (descr.size() < 2) bad_npy(file, fmt::format("unreadable dtype '{}'", descr));
  const char order = descr[0];
  const std::string code = descr.substr(1);
  if (code == "O")
    bad_npy(file, "it holds Python objects (dtype 'O', pickled). Save a numeric array, e.g. "
              "np.save(path, np.asarray(a, dtype=np.float32)).");
  if (order == '>')
    bad_npy(file, fmt::format("it is big endian ('{}'). Convert it with a.astype(a.dtype.newbyteorder('<')) "
                          "and save again.", descr));
  if (order == '<' || order == '=' || order == '|') {
    if (code == "f4") return at::kFloat;
    if (code == "f8") return at::kDouble;
    if (code == "i8") return at::kLong;
    if (code == "i4") return at::kInt;
    if (code == "u1") return at::kByte;
    if (code == "b1") return at::kBool;
  }
  bad_npy(file, fmt::format("dtype '{}' is not supported; supported: {}. Convert with a.astype(np.float32) "
                        "(or float64, int64).", descr, kSupported));
}

std::string descr_of(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "<f4";
    case at::kDouble: return "<f8";
    case at::kLong: return "<i8";
    case at::kInt: return "<i4";
    case at::kByte: return "|u1";
    case at::kBool: return "|b1";
    default: return "";
  }
}

}  // namespace

int64_t NpyHeader::num_elements() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

NpyHeader read_npy_header(std::istream& in, const fs::path& file) {
  char magic[kMagicSize + 2];
  if (!in.read(magic, sizeof magic)) bad_npy(file, "it is shorter than the 8-byte .npy preamble");
  if (std::memcmp(magic, kMagic, kMagicSize) != 0) bad_npy(file, "the magic string \\x93NUMPY is missing");
  const int major = static_cast<unsigned char>(magic[6]);
  std::size_t header_len = 0, preamble = 0;
  unsigned char len[4] = {0, 0, 0, 0};
  if (major == 1) {
    if (!in.read(reinterpret_cast<char*>(len), 2)) bad_npy(file, "the header length is truncated");
    header_len = len[0] | (len[1] << 8);
    preamble = 10;
  } else if (major == 2 || major == 3) {
    if (!in.read(reinterpret_cast<char*>(len), 4)) bad_npy(file, "the header length is truncated");
    header_len = len[0] | (len[1] << 8) | (len[2] << 16) | (static_cast<std::size_t>(len[3]) << 24);
    preamble = 12;
  } else {
    bad_npy(file, fmt::format("format version {}.{} is unknown (1.0, 2.0 and 3.0 exist)", major,
                          static_cast<int>(static_cast<unsigned char>(magic[7]))));
  }
  if (header_len > (1u << 24)) bad_npy(file, fmt::format("the header claims {} bytes, more than any real header", header_len));
  std::string header(header_len, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len)))
    bad_npy(file, fmt::format("the header is truncated (expected {} bytes)", header_len));
  if (header.find('{') == std::string::npos || header.find('}') == std::string::npos)
    bad_npy(file, fmt::format("the header is not a Python dict literal: {}", header));

  NpyHeader h;
  std::string descr = dict_value(header, "descr", file);
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
    bad_npy(file, fmt::format("'descr' must be a dtype string, found {} (structured arrays are not supported)", descr));
  descr = descr.substr(1, descr.size() - 2);
  const at::ScalarType type = dtype_of(descr, file);
  h.descr = descr_of(type);
  h.item_size = static_cast<int64_t>(c10::elementSize(type));

  const std::string fortran = dict_value(header, "fortran_order", file);
  if (fortran == "True")
    bad_npy(file, "it is in Fortran (column-major) order. Save it in C order: np.save(path, np.ascontiguousarray(a)).");
  if (fortran != "False") bad_npy(file, fmt::format("'fortran_order' must be True or False, found {}", fortran));

  const std::string shape = dict_value(header, "shape", file);
  if (shape.front() != '(') bad_npy(file, fmt::format("'shape' must be a tuple, found {}", shape));
  // "(3, 4)", "(3,)" or "()": integers separated by commas.
  double total = 1;
  for (const auto& item : split_list(std::string_view(shape).substr(1, shape.size() - 2))) {
    int64_t dim = -1;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), dim);
    if (error != std::errc() || end != item.data() + item.size() || dim < 0)
      bad_npy(file, fmt::format("'shape' {} is not a tuple of non-negative integers", shape));
    h.shape.push_back(dim);
    total *= static_cast<double>(dim);
  }
  if (total * static_cast<double>(h.item_size) > 9.0e18) bad_npy(file, fmt::format("'shape' {} is too large", shape));
  h.data_offset = static_cast<int64_t>(preamble + header_len);
  return h;
}

Tensor read_npy(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open: {}.", file.string(), std::strerror(errno)));
  const NpyHeader h = read_npy_header(in, file);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<int64_t>(in.tellg());
  const int64_t expected = h.data_offset + h.data_bytes();
  const auto shape_text = [&] { return fmt::format("({})", fmt::join(h.shape, ", ")); };
  if (size < expected)
    bad_npy(file, fmt::format("the data is truncated: shape {} of {} needs {} bytes after the header, the file has {}",
                          shape_text(), h.descr, h.data_bytes(), size - h.data_offset));
  if (size > expected)
    bad_npy(file, fmt::format("{} bytes follow the data of shape {} of {}; the file is damaged or not one array",
                          size - expected, shape_text(), h.descr));
  const at::ScalarType type = dtype_of(h.descr, file);
  Tensor t = at::empty(h.shape, at::TensorOptions().dtype(type));
  in.seekg(h.data_offset);
  if (h.data_bytes() > 0 && !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(h.data_bytes())))
    throw IoError(fmt::format("{}: reading the data failed: {}.", file.string(), std::strerror(errno)));
  return t;
}

void write_npy(const fs::path& file, const Tensor& t) {
  const std::string descr = t.defined() ? descr_of(t.scalar_type()) : "";
  if (descr.empty())
    throw ShapeError(fmt::format("{}: cannot save a {} tensor as .npy; bridges writes float32, float64, int64, int32, uint8 and bool.",
                                 file.string(), describe(t)));
  const Tensor data = t.to(at::kCPU).contiguous();
  std::string shape = fmt::format("{}", fmt::join(data.sizes(), ", "));
  if (data.dim() == 1) shape += ',';  // Python's one-element tuple: (3,)
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  // Pad so that the data starts on a 64-byte boundary; the header ends in '\n'.
  const std::size_t preamble = 10;
  header.append((64 - (preamble + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 65535)
    throw ShapeError(fmt::format("{}: the tensor has too many dimensions for a .npy header.", file.string()));
  write_file_atomically(file, [&](std::ostream& out) {
    out.write(kMagic, kMagicSize);
    const char version[2] = {1, 0};
    out.write(version, 2);
    const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff),
                                  static_cast<unsigned char>(header.size() >> 8)};
    out.write(reinterpret_cast<const char*>(len), 2);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
  });
}

}  // namespace bridges
