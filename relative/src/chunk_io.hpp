#pragma once
// The I/O threads of out-of-core projection (project_npy): the input's
// chunks are read ahead and the results written behind on threads of their
// own, so the projecting threads neither fault pages in nor wait for the
// disk while it keeps up.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bridges/formats/npy.hpp"
#include "bridges/tensor.hpp"

namespace bridges::detail {

/// Wall-clock seconds since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Reads the rows of a .npy in chunks of `chunk_rows`, in order, up to
/// `depth` chunks ahead of next(), into buffers it reuses. Directly from the
/// disk (O_DIRECT) where the file system allows it: no page cache to fill,
/// nothing faulted in by the caller. A buffer is reused once the tensor
/// next() returned for it is destroyed.
class ChunkReader {
 public:
  ChunkReader(std::filesystem::path file, const NpyHeader& header, int64_t chunk_rows, std::size_t depth);
  ~ChunkReader();
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  /// The next chunk's rows, waiting until they are read; `waited` grows by
  /// the seconds that took. Rethrows a read error (IoError naming the file).
  Tensor next(double& waited);

 private:
  struct Shared;
  void run();
  Tensor read_chunk(int64_t begin, int64_t rows, std::size_t buffer);

  std::filesystem::path file_;
  NpyHeader header_;
  int64_t chunk_rows_ = 0, row_bytes_ = 0;
  int fd_ = -1;  // O_DIRECT where possible
  bool direct_ = false;
  std::shared_ptr<Shared> shared_;  // shared with the tensors handed out
  std::thread thread_;              // last: starts once the members it uses exist
};

/// Appends chunks' results to `writers` (one tensor per writer) in order on
/// its own thread while later chunks are projected. Up to `depth` chunks
/// wait, so that the disk has work even when projecting and writing take
/// about as long and one or the other is briefly slow. Destroyed before
/// finish(), it drops what waits and joins its thread; the writers must
/// outlive it.
class ChunkWriter {
 public:
  ChunkWriter(std::vector<std::unique_ptr<NpyWriter>>& writers, std::size_t depth);
  ~ChunkWriter();
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  /// Queues a chunk, after waiting while `depth` chunks wait; `waited` grows
  /// by the seconds that took. Rethrows a write error.
  void push(std::vector<Tensor> chunk, double& waited);
  /// Waits until every queued chunk is written; rethrows a write error.
  void finish();

 private:
  void run();

  std::vector<std::unique_ptr<NpyWriter>>& writers_;
  const std::size_t depth_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<Tensor>> queue_;
  bool busy_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace bridges::detail
