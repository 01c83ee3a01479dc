#include "bridges/formats/npy.hpp"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <cctype>
#include <charconv>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/util/messages.hpp"

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

// Magic, version 1.0, length and the header dict, padded so that the data
// starts on a 64-byte boundary.
// The magic, version, header length and header of a .npy, padded with spaces
// to a multiple of `alignment` bytes (NumPy pads to 64; any multiple of 64 is
// valid, and NumPy reads headers up to 10000 bytes by default).
std::string preamble_bytes(const std::string& descr, at::IntArrayRef sizes, const fs::path& file,
                           std::size_t alignment = 64) {
  std::string shape = fmt::format("{}", fmt::join(sizes, ", "));
  if (sizes.size() == 1) shape += ',';  // Python's one-element tuple: (3,)
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  const std::size_t preamble = 10;
  header.append((alignment - (preamble + header.size() + 1) % alignment) % alignment, ' ');
  header += '\n';
  if (header.size() > 65535)
    throw ShapeError(fmt::format("{}: the tensor has too many dimensions for a .npy header.", file.string()));
  std::string bytes(kMagic, kMagicSize);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  return bytes + header;
}

std::string descr_or_throw(at::ScalarType type, const Tensor* t, const fs::path& file) {
  const std::string descr = descr_of(type);
  if (descr.empty())
    throw ShapeError(fmt::format("{}: cannot save a {} tensor as .npy; bridges writes float32, float64, int64, int32, "
                                 "uint8 and bool.",
                                 file.string(), t ? describe(*t) : dtype_name(type)));
  return descr;
}

// The file must hold exactly the header plus the data its shape declares.
void check_size(const NpyHeader& h, int64_t size, const fs::path& file) {
  const int64_t expected = h.data_offset + h.data_bytes();
  const auto shape_text = [&] { return fmt::format("({})", fmt::join(h.shape, ", ")); };
  if (size < expected)
    bad_npy(file, fmt::format("the data is truncated: shape {} of {} needs {} bytes after the header, the file has {}",
                              shape_text(), h.descr, h.data_bytes(), size - h.data_offset));
  if (size > expected)
    bad_npy(file, fmt::format("{} bytes follow the data of shape {} of {}; the file is damaged or not one array",
                              size - expected, shape_text(), h.descr));
}

}  // namespace

at::ScalarType NpyHeader::dtype() const { return dtype_of(descr, {}); }

NpyHeader inspect_npy(const fs::path& file) {
  std::ifstream in = open_for_reading(file);
  NpyHeader h = read_npy_header(in, file);
  in.seekg(0, std::ios::end);
  check_size(h, static_cast<int64_t>(in.tellg()), file);
  return h;
}

int64_t NpyHeader::num_elements() const {
  // A zero anywhere makes it 0, whatever the other dimensions: multiplying
  // them first could overflow (fuzz_npy: shape (1644638353669272, 37606, 0)).
  // Without a zero, read_npy_header checked that the product fits.
  if (std::find(shape.begin(), shape.end(), int64_t{0}) != shape.end()) return 0;
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
  // The product of the non-zero dimensions must fit, not only the element
  // count: with a zero among them the count is 0, but row sizes, strides
  // and LibTorch's own size checks multiply the others (fuzz_npy).
  double total = 1;
  for (const auto& item : split_list(std::string_view(shape).substr(1, shape.size() - 2))) {
    int64_t dim = -1;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), dim);
    if (error != std::errc() || end != item.data() + item.size() || dim < 0)
      bad_npy(file, fmt::format("'shape' {} is not a tuple of non-negative integers", shape));
    h.shape.push_back(dim);
    total *= static_cast<double>(std::max<int64_t>(dim, 1));
  }
  if (total * static_cast<double>(h.item_size) > 9.0e18) bad_npy(file, fmt::format("'shape' {} is too large", shape));
  h.data_offset = static_cast<int64_t>(preamble + header_len);
  return h;
}

Tensor read_npy(const fs::path& file) {
  std::ifstream in = open_for_reading(file);
  const NpyHeader h = read_npy_header(in, file);
  in.seekg(0, std::ios::end);
  check_size(h, static_cast<int64_t>(in.tellg()), file);
  const at::ScalarType type = dtype_of(h.descr, file);
  Tensor t = at::empty(h.shape, at::TensorOptions().dtype(type));
  in.seekg(h.data_offset);
  if (h.data_bytes() > 0 && !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(h.data_bytes())))
    throw IoError(fmt::format("{}: reading the data failed: {}.", file.string(), std::strerror(errno)));
  return t;
}

void write_npy(const fs::path& file, const Tensor& t) {
  const std::string descr = descr_or_throw(t.defined() ? t.scalar_type() : at::kChar, &t, file);
  const Tensor data = t.to(at::kCPU).contiguous();
  const std::string preamble = preamble_bytes(descr, data.sizes(), file);
  write_file_atomically(file, [&](std::ostream& out) {
    out.write(preamble.data(), static_cast<std::streamsize>(preamble.size()));
    out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
  });
}

// ---------------------------------------------------------------- MappedNpy

struct MappedNpy::Mapping {
  void* base = nullptr;
  std::size_t size = 0;
  ~Mapping() {
    if (base) ::munmap(base, size);
  }
};

MappedNpy::MappedNpy(const fs::path& file) : file_(file) {
  {
    std::ifstream in = open_for_reading(file);
    header_ = read_npy_header(in, file);
  }
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(fmt::format("{}: cannot open: {}.", file.string(), std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw IoError(fmt::format("{}: cannot read its size: {}.", file.string(), std::strerror(error)));
  }
  try {
    check_size(header_, static_cast<int64_t>(st.st_size), file);
  } catch (...) {
    ::close(fd);
    throw;
  }
  mapping_ = std::make_shared<Mapping>();
  mapping_->size = static_cast<std::size_t>(st.st_size);
  // Private and writable: a caller's in-place change stays in its own copy.
  void* base = ::mmap(nullptr, mapping_->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int error = errno;
  ::close(fd);
  if (base == MAP_FAILED)
    throw IoError(fmt::format("{}: cannot map it into memory: {}.", file.string(), std::strerror(error)));
  mapping_->base = base;
  ::madvise(base, mapping_->size, MADV_SEQUENTIAL);
  row_bytes_ = header_.item_size;
  for (std::size_t i = 1; i < header_.shape.size(); ++i) row_bytes_ *= header_.shape[i];
}

at::ScalarType MappedNpy::dtype() const { return dtype_of(header_.descr, file_); }

int64_t MappedNpy::rows() const { return header_.shape.empty() ? 1 : header_.shape[0]; }

namespace {
void check_rows(const fs::path& file, int64_t begin, int64_t count, int64_t rows) {
  if (begin < 0 || count < 0 || begin + count > rows)
    throw ShapeError(fmt::format("{}: rows [{}, {}) lie outside the file's {} rows.", file.string(), begin,
                                 begin + count, rows));
}

// The whole pages inside [begin, end) of the mapping.
std::pair<char*, std::size_t> whole_pages(char* begin, char* end) {
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (reinterpret_cast<uintptr_t>(begin) + page - 1) / page * page;
  const uintptr_t last = reinterpret_cast<uintptr_t>(end) / page * page;
  return {reinterpret_cast<char*>(first), last > first ? last - first : 0};
}
}  // namespace

Tensor MappedNpy::slice(int64_t begin, int64_t count) const {
  check_rows(file_, begin, count, rows());
  std::vector<int64_t> sizes = header_.shape;
  if (sizes.empty()) sizes.push_back(1);
  sizes[0] = count;
  char* data = static_cast<char*>(mapping_->base) + header_.data_offset + begin * row_bytes_;
  const auto options = at::TensorOptions().dtype(dtype());
  if (reinterpret_cast<uintptr_t>(data) % static_cast<uintptr_t>(header_.item_size) != 0) {
    // An unusual header length left the data unaligned: copy.
    Tensor t = at::empty(sizes, options);
    // (An empty slice has no storage to copy to: memcpy(nullptr, ..., 0) is UB; fuzz_npy.)
    if (count * row_bytes_ > 0) std::memcpy(t.data_ptr(), data, static_cast<std::size_t>(count * row_bytes_));
    return t;
  }
  std::shared_ptr<Mapping> keep = mapping_;
  return at::from_blob(data, sizes, [keep](void*) {}, options);
}

void MappedNpy::prefetch(int64_t begin, int64_t count) const {
  begin = std::clamp<int64_t>(begin, 0, rows());
  count = std::clamp<int64_t>(count, 0, rows() - begin);
  char* data = static_cast<char*>(mapping_->base) + header_.data_offset + begin * row_bytes_;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  char* first = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(data) / page * page);
  if (count > 0) ::madvise(first, static_cast<std::size_t>(data + count * row_bytes_ - first), MADV_WILLNEED);
}

void MappedNpy::release(int64_t begin, int64_t count) const {
  check_rows(file_, begin, count, rows());
  char* data = static_cast<char*>(mapping_->base) + header_.data_offset + begin * row_bytes_;
  const auto [first, bytes] = whole_pages(data, data + count * row_bytes_);
  if (bytes > 0) ::madvise(first, bytes, MADV_DONTNEED);
}

// ---------------------------------------------------------------- NpyWriter

bool direct_io_enabled() {
  const char* value = std::getenv("BRIDGES_DIRECT_IO");
  return value == nullptr || std::string_view(value) != "0";
}

// The aligned buffer through which direct mode writes what is not aligned.
struct NpyWriter::Stage {
  static constexpr std::size_t kBytes = std::size_t{8} << 20;
  char* data = nullptr;
  std::size_t size = 0;  // bytes staged, to be written at offset_
  Stage() {
    if (::posix_memalign(reinterpret_cast<void**>(&data), kAlignment, kBytes) != 0) throw std::bad_alloc();
  }
  ~Stage() { std::free(data); }
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;
};

NpyWriter::NpyWriter(fs::path file, at::ScalarType dtype, std::vector<int64_t> shape)
    : file_(std::move(file)), dtype_(dtype), shape_(std::move(shape)) {
  const std::string descr = descr_or_throw(dtype, nullptr, file_);
  if (shape_.empty() || std::any_of(shape_.begin(), shape_.end(), [](int64_t s) { return s < 0; }))
    throw ShapeError(fmt::format("{}: a streamed .npy needs a shape of at least one non-negative dimension, found "
                                 "({}).",
                                 file_.string(), fmt::join(shape_, ", ")));
  require_file_path(file_);
  create_parent_folders(file_);
  temp_ = temporary_path_for(file_);
  // Direct I/O where the file system has it: written through the page cache,
  // each GiB cost 2.4 s of processor time here (copying, allocating and
  // reclaiming cache pages), against 0.16 s direct, and the disk took 360
  // MB/s against 1000 (dd, 4 GiB).
  const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  // (open fails with EINVAL where the file system has no direct I/O)
  const bool try_direct = direct_io_enabled();
  if (try_direct) fd_ = ::open(temp_.c_str(), flags | O_DIRECT, 0644);
  direct_ = fd_ >= 0;
  if (fd_ < 0 && (!try_direct || errno == EINVAL)) fd_ = ::open(temp_.c_str(), flags, 0644);
  if (fd_ < 0)
    throw IoError(fmt::format("{}: cannot write here: {}. Check that the folder exists and is writable.",
                              file_.string(), std::strerror(errno)));
  try {
    if (direct_) stage_ = std::make_unique<Stage>();
    // Padded to a whole block in direct mode, so that the data starts aligned.
    const std::string preamble = preamble_bytes(descr, shape_, file_, direct_ ? kAlignment : 64);
    put(preamble.data(), preamble.size());
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    fs::remove(temp_, ec);
    throw;
  }
}

NpyWriter::~NpyWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void NpyWriter::fail(const char* what, int error) const {
  throw IoError(fmt::format("{}: {} failed (disk full?): {}.", file_.string(), what, std::strerror(error)));
}

void NpyWriter::write_at(const char* data, std::size_t bytes, int64_t offset) {
  while (bytes > 0) {
    const ssize_t written = ::pwrite(fd_, data, std::min<std::size_t>(bytes, std::size_t{1} << 30), offset);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0 && errno == EINVAL && direct_) {
      // The device wants a larger alignment than kAlignment: go on through
      // the page cache.
      if (::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_DIRECT) != 0) fail("writing", errno);
      direct_ = false;
      continue;
    }
    if (written < 0) fail("writing", errno);
    if (written == 0) fail("writing", EIO);
    data += written;
    bytes -= static_cast<std::size_t>(written);
    offset += written;
  }
}

// Hands `bytes` to the file after those already handed. In direct mode the
// aligned middle of a piece goes straight from the caller's memory; whatever
// is not aligned, in memory or in the file, is copied into the stage first.
void NpyWriter::put(const char* data, std::size_t bytes) {
  const auto aligned = [](const char* p) { return reinterpret_cast<uintptr_t>(p) % kAlignment == 0; };
  while (bytes > 0) {
    const std::size_t staged = stage_ ? stage_->size : 0;
    if (staged == 0 && !direct_) {
      write_at(data, bytes, offset_);
      pace(offset_, static_cast<int64_t>(bytes));
      offset_ += static_cast<int64_t>(bytes);
      return;
    }
    if (staged == 0 && aligned(data) && bytes >= kAlignment) {
      const std::size_t whole = bytes / kAlignment * kAlignment;
      write_at(data, whole, offset_);
      offset_ += static_cast<int64_t>(whole);
      data += whole;
      bytes -= whole;
      continue;
    }
    // Memory aligned like the file (as when rows follow a partial block) is
    // copied only up to the block boundary; after it, it goes direct.
    const bool like_file = (reinterpret_cast<uintptr_t>(data) - staged) % kAlignment == 0;
    const std::size_t room = std::min(Stage::kBytes - staged, like_file ? kAlignment - staged % kAlignment : Stage::kBytes);
    const std::size_t n = std::min(bytes, room);
    std::memcpy(stage_->data + staged, data, n);
    stage_->size += n;
    bytes_copied_ += static_cast<int64_t>(n);
    data += n;
    bytes -= n;
    // Written when full, or once it ends on a block boundary and either the
    // piece is done or the rest can go direct.
    if (stage_->size == Stage::kBytes || (stage_->size % kAlignment == 0 && (bytes == 0 || aligned(data)))) {
      write_at(stage_->data, stage_->size, offset_);
      offset_ += static_cast<int64_t>(stage_->size);
      stage_->size = 0;
    }
  }
}

void NpyWriter::append(const Tensor& rows) {
  if (fd_ < 0) throw IoError(fmt::format("{}: the writer was already committed.", file_.string()));
  if (failed_) throw IoError(fmt::format("{}: an earlier write failed; nothing more can be written.", file_.string()));
  const bool shape_ok = rows.defined() && rows.dim() == static_cast<int64_t>(shape_.size()) &&
                        std::equal(shape_.begin() + 1, shape_.end(), rows.sizes().begin() + 1);
  if (!shape_ok || rows.scalar_type() != dtype_) {
    std::vector<std::string> expected{"m"};
    for (std::size_t i = 1; i < shape_.size(); ++i) expected.push_back(std::to_string(shape_[i]));
    throw ShapeError(fmt::format("{}: appended rows must be {} [{}], found {}.", file_.string(),
                                 dtype_name(dtype_), fmt::join(expected, ", "), describe(rows)));
  }
  if (rows_written_ + rows.size(0) > shape_[0])
    throw ShapeError(fmt::format("{}: {} more rows would exceed the {} declared ({} written).", file_.string(),
                                 rows.size(0), shape_[0], rows_written_));
  const Tensor data = rows.contiguous();
  try {
    put(static_cast<const char*>(data.data_ptr()), data.nbytes());
    // Direct writes may still sit in the disk's (or, on a virtual machine,
    // the host's) cache: flushed every 256 MiB, so that commit() does not
    // wait for gigabytes (measured: 0.7-1.1 s at the end of a 5 GB output,
    // 0.01 s with the flushes, and no slower in all). An error is reported
    // once only, so it is thrown here.
    constexpr int64_t kFlushBytes = int64_t{256} << 20;
    if (direct_ && offset_ - flushed_ >= kFlushBytes) {
      if (::fdatasync(fd_) != 0) fail("flushing to disk", errno);
      flushed_ = offset_;
    }
  } catch (...) {
    failed_ = true;  // where the rows went is unknown now
    throw;
  }
  rows_written_ += rows.size(0);
}

// Buffered mode only. Written data goes to the disk as it comes, not all at
// commit(): writeback of each piece starts when it is written, and once more
// than kInFlight pieces are on their way the oldest is waited for and
// dropped from the page cache. So the output never fills memory with dirty
// pages (nor evicts everything else), commit() waits for a few pieces only,
// the page cache reuses the pages it just freed, and the disk always has a
// few pieces queued. (Best effort: failures surface at commit's fdatasync.)
void NpyWriter::pace(int64_t offset, int64_t bytes) {
  constexpr std::size_t kInFlight = 4;
  if (bytes <= 0) return;
  ::sync_file_range(fd_, offset, bytes, SYNC_FILE_RANGE_WRITE);
  in_flight_.emplace_back(offset, bytes);
  while (in_flight_.size() > kInFlight) {
    const auto [o, b] = in_flight_.front();
    in_flight_.pop_front();
    ::sync_file_range(fd_, o, b, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    ::posix_fadvise(fd_, o, b, POSIX_FADV_DONTNEED);
  }
}

void NpyWriter::finish() {
  if (fd_ < 0 || finished_) throw IoError(fmt::format("{}: the writer was already committed.", file_.string()));
  if (failed_) throw IoError(fmt::format("{}: an earlier write failed; nothing was saved.", file_.string()));
  if (rows_written_ != shape_[0])
    throw ShapeError(fmt::format("{}: only {} of the {} declared rows were written; nothing was saved.",
                                 file_.string(), rows_written_, shape_[0]));
  if (stage_ && stage_->size > 0) {
    // The last partial block: direct writes are whole blocks, so it is
    // padded with zeros and the file cut back to its size.
    const std::size_t size = stage_->size;
    const std::size_t padded = direct_ ? (size + kAlignment - 1) / kAlignment * kAlignment : size;
    std::memset(stage_->data + size, 0, padded - size);
    write_at(stage_->data, padded, offset_);
    offset_ += static_cast<int64_t>(size);
    stage_->size = 0;
    if (padded != size && ::ftruncate(fd_, offset_) != 0) fail("cutting the file to size", errno);
  }
  // The data reaches the disk before the rename makes it visible.
  if (::fdatasync(fd_) != 0)
    throw IoError(fmt::format("{}: flushing to disk failed: {}.", file_.string(), std::strerror(errno)));
  finished_ = true;
}

void NpyWriter::publish() {
  if (!finished_) throw IoError(fmt::format("{}: publish() before finish(); nothing was saved.", file_.string()));
  ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  fs::rename(temp_, file_, ec);
  if (ec) {
    fs::remove(temp_, ec);
    throw IoError(fmt::format("{}: cannot move the finished file into place: {}.", file_.string(), ec.message()));
  }
}

void NpyWriter::commit() {
  finish();
  publish();
}

}  // namespace bridges
