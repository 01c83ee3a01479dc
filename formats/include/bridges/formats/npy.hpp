#pragma once
// NumPy .npy files: float32, float64, int64, int32, uint8 and bool, C order,
// little endian.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <iosfwd>
#include <memory>
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
  at::ScalarType dtype() const;
};

/// Reads and checks the header at the start of `in`. `file` is used in
/// messages. Throws FormatError naming the file and what was found for a bad
/// magic, version or header, Fortran order, big endian or an unsupported dtype.
BRIDGES_API NpyHeader read_npy_header(std::istream& in, const std::filesystem::path& file);

/// Reads and checks the header of `file`, and that the file holds exactly
/// the data the header declares. Throws IoError when it cannot be opened,
/// FormatError (naming the file) for a bad header or truncated or trailing
/// data.
BRIDGES_API NpyHeader inspect_npy(const std::filesystem::path& file);

/// Reads a whole .npy file into a new tensor (float32, float64 or int64).
/// Throws IoError when it cannot be opened, FormatError for a bad header or
/// truncated or trailing data.
BRIDGES_API Tensor read_npy(const std::filesystem::path& file);

/// A .npy file mapped into memory: rows are read from disk when first
/// touched, so a file larger than memory can be processed chunk by chunk.
/// Copy-on-write: writing into a returned tensor changes this process's copy,
/// never the file.
///
/// Example:
///   bridges::MappedNpy in("latents.npy");            // [n, d]
///   for (int64_t i = 0; i < in.rows(); i += 4096) {
///     const int64_t m = std::min<int64_t>(4096, in.rows() - i);
///     use(in.slice(i, m));                           // [m, d], no copy
///     in.release(i, m);                              // done: free its pages
///   }
class BRIDGES_API MappedNpy {
 public:
  /// Maps `file`. Throws IoError when it cannot be opened or mapped,
  /// FormatError (as read_npy) for a bad header or a wrong size.
  explicit MappedNpy(const std::filesystem::path& file);

  const std::filesystem::path& file() const { return file_; }
  const NpyHeader& header() const { return header_; }
  at::ScalarType dtype() const;
  /// The first dimension (1 for a scalar).
  int64_t rows() const;

  /// Rows [begin, begin + count) as a tensor over the mapping (no copy); the
  /// tensor keeps the mapping alive. Throws ShapeError outside [0, rows()].
  Tensor slice(int64_t begin, int64_t count) const;
  /// Asks the kernel to start reading these rows now (readahead).
  void prefetch(int64_t begin, int64_t count) const;
  /// Drops these rows' pages from this process (they stay in the page
  /// cache), so resident memory stays bounded while a file is streamed.
  void release(int64_t begin, int64_t count) const;

 private:
  struct Mapping;
  std::filesystem::path file_;
  NpyHeader header_;
  int64_t row_bytes_ = 0;
  std::shared_ptr<Mapping> mapping_;
};

/// Whether NpyWriter and project_npy move data straight between disk and
/// memory (O_DIRECT) where the file system allows it: yes, unless the
/// environment variable BRIDGES_DIRECT_IO is "0" (for a file system where
/// direct I/O is slow, as some network file systems).
BRIDGES_API bool direct_io_enabled();

/// Writes a .npy of known dtype and shape piece by piece, so memory stays
/// bounded whatever its size. Rows go into a temporary file in the same
/// folder, renamed to `file` by commit() once every row was written and the
/// data reached the disk. A writer destroyed without commit() removes its
/// temporary file: `file` appears complete or not at all.
///
/// Where the file system allows it (and direct_io_enabled()), the data goes
/// straight to the disk (O_DIRECT), bypassing the page cache: rows whose memory is 4 KiB-aligned
/// and a multiple of 4 KiB long are written from where they are, others
/// through a small aligned buffer. The header is then padded to 4 KiB, so
/// that the data starts aligned (NumPy reads it as any .npy).
class BRIDGES_API NpyWriter {
 public:
  /// Bytes a piece of rows should be a multiple of to be written without a copy.
  static constexpr std::size_t kAlignment = 4096;

  /// dtype: float32, float64, int64, int32, uint8 or bool; shape[0] rows.
  /// Throws ShapeError for another dtype, IoError when the file cannot be created.
  NpyWriter(std::filesystem::path file, at::ScalarType dtype, std::vector<int64_t> shape);
  ~NpyWriter();
  NpyWriter(const NpyWriter&) = delete;
  NpyWriter& operator=(const NpyWriter&) = delete;

  /// Appends rows [m, shape[1:]...] of the writer's dtype. Throws ShapeError
  /// for another dtype or shape or more rows than declared, IoError when
  /// writing fails (disk full?); after that, append() and commit() throw
  /// IoError and the destructor removes the temporary file.
  void append(const Tensor& rows);
  int64_t rows_written() const { return rows_written_; }
  /// Whether data bypasses the page cache (O_DIRECT); false where the file
  /// system does not support it.
  bool direct() const { return direct_; }
  /// Bytes copied through the aligned buffer so far (header included);
  /// the rest went to the disk from the caller's memory.
  int64_t bytes_copied() const { return bytes_copied_; }
  /// Flushes to disk and moves the file into place. Throws ShapeError if
  /// fewer rows than declared were written. Same as finish(), then publish().
  void commit();
  /// The two halves of commit(), for several files that must appear all or
  /// none: finish() every writer (the data reaches the disk; where it fails,
  /// e.g. on a full disk, no file has appeared yet), then publish() each
  /// (a rename).
  void finish();
  void publish();

 private:
  void put(const char* data, std::size_t bytes);
  void write_at(const char* data, std::size_t bytes, int64_t offset);
  void pace(int64_t offset, int64_t bytes);
  [[noreturn]] void fail(const char* what, int error) const;

  std::filesystem::path file_, temp_;
  at::ScalarType dtype_;
  std::vector<int64_t> shape_;
  int fd_ = -1;
  bool direct_ = false;
  bool failed_ = false;  // a write failed: append() and commit() refuse
  bool finished_ = false;  // finish() done: only publish() is left
  int64_t rows_written_ = 0;
  int64_t bytes_copied_ = 0;
  int64_t flushed_ = 0;  // direct mode: offset_ at the last fdatasync
  int64_t offset_ = 0;  // bytes handed to the file so far, not counting staged ones
  struct Stage;         // the aligned buffer of direct mode
  std::unique_ptr<Stage> stage_;
  std::deque<std::pair<int64_t, int64_t>> in_flight_;  // buffered mode: pieces not yet waited for (offset, bytes)
};

/// Writes `t` (float32, float64 or int64; any shape) as .npy, atomically:
/// the file appears complete or not at all. Throws ShapeError for another
/// dtype, IoError when writing fails.
BRIDGES_API void write_npy(const std::filesystem::path& file, const Tensor& t);

}  // namespace bridges
