#include "chunk_io.hpp"

#include <ATen/ops/from_blob.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "bridges/error.hpp"

namespace bridges::detail {

namespace {

constexpr int64_t kBlock = static_cast<int64_t>(NpyWriter::kAlignment);

}  // namespace

// ---------------------------------------------------------------- ChunkReader

// What the reader thread, next() and the handed-out tensors share. The
// tensors' deleters hold it, so a tensor may outlive the reader.
struct ChunkReader::Shared {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<char*> buffers;
  std::vector<bool> in_use;
  std::deque<Tensor> ready;  // read, not yet taken by next()
  std::exception_ptr error;
  bool stop = false;

  ~Shared() {
    for (char* b : buffers) std::free(b);
  }
};

ChunkReader::ChunkReader(std::filesystem::path file, const NpyHeader& header, int64_t chunk_rows, std::size_t depth)
    : file_(std::move(file)), header_(header), chunk_rows_(chunk_rows), shared_(std::make_shared<Shared>()) {
  row_bytes_ = header_.item_size;
  for (std::size_t i = 1; i < header_.shape.size(); ++i) row_bytes_ *= header_.shape[i];
  // Direct where the file system has it: no page cache to fill, at the
  // projecting threads' expense (an uncached 1M x 768 input read through the
  // page cache while cosine was projected and written: 11.4-11.7 s in all,
  // against 9.1-9.5 s direct).
  const bool try_direct = direct_io_enabled();
  if (try_direct) fd_ = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  direct_ = fd_ >= 0;
  if (fd_ < 0 && (!try_direct || errno == EINVAL)) fd_ = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw IoError(fmt::format("{}: cannot open: {}.", file_.string(), std::strerror(errno)));
  const auto capacity = static_cast<std::size_t>(chunk_rows_ * row_bytes_ + 2 * kBlock);
  for (std::size_t i = 0; i < depth; ++i) {
    void* buffer = nullptr;
    if (::posix_memalign(&buffer, std::size_t{2} << 20, capacity) != 0) {
      ::close(fd_);
      throw std::bad_alloc();
    }
    ::madvise(buffer, capacity, MADV_HUGEPAGE);
    shared_->buffers.push_back(static_cast<char*>(buffer));
    shared_->in_use.push_back(false);
  }
  thread_ = std::thread([this] { run(); });
}

ChunkReader::~ChunkReader() {
  {
    const std::lock_guard lock(shared_->mutex);
    shared_->stop = true;
  }
  shared_->changed.notify_all();
  thread_.join();
  shared_->ready.clear();  // their deleters hold shared_
  ::close(fd_);
}

Tensor ChunkReader::next(double& waited) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(shared_->mutex);
  shared_->changed.wait(lock, [&] { return !shared_->ready.empty() || shared_->error; });
  waited += seconds_since(start);
  if (shared_->ready.empty()) std::rethrow_exception(shared_->error);
  Tensor chunk = std::move(shared_->ready.front());
  shared_->ready.pop_front();
  return chunk;
}

void ChunkReader::run() {
  const int64_t rows = header_.shape.empty() ? 1 : header_.shape[0];
  for (int64_t begin = 0; begin < rows; begin += chunk_rows_) {
    std::size_t buffer = 0;
    {
      std::unique_lock lock(shared_->mutex);
      const auto free = [&] {
        for (buffer = 0; buffer < shared_->in_use.size(); ++buffer)
          if (!shared_->in_use[buffer]) return true;
        return false;
      };
      shared_->changed.wait(lock, [&] { return shared_->stop || free(); });
      if (shared_->stop) return;
      shared_->in_use[buffer] = true;
    }
    try {
      Tensor chunk = read_chunk(begin, std::min(chunk_rows_, rows - begin), buffer);
      const std::lock_guard lock(shared_->mutex);
      shared_->ready.push_back(std::move(chunk));
    } catch (...) {
      const std::lock_guard lock(shared_->mutex);
      shared_->error = std::current_exception();
    }
    shared_->changed.notify_all();
    if (shared_->error) return;
  }
}

Tensor ChunkReader::read_chunk(int64_t begin, int64_t rows, std::size_t buffer) {
  const int64_t offset = header_.data_offset + begin * row_bytes_, bytes = rows * row_bytes_;
  // Direct reads start and end on block boundaries: the chunk's rows start
  // `lead` bytes into the buffer.
  const int64_t start = direct_ ? offset / kBlock * kBlock : offset;
  int64_t lead = offset - start;
  const int64_t length = direct_ ? (lead + bytes + kBlock - 1) / kBlock * kBlock : bytes;
  char* data = shared_->buffers[buffer];
  for (int64_t got = 0; got < lead + bytes;) {
    const ssize_t r = ::pread(fd_, data + got, static_cast<std::size_t>(length - got), start + got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EINVAL && direct_) {
      // The device wants a larger alignment: go on through the page cache.
      if (::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_DIRECT) != 0)
        throw IoError(fmt::format("{}: reading failed: {}.", file_.string(), std::strerror(errno)));
      direct_ = false;
      continue;
    }
    if (r < 0) throw IoError(fmt::format("{}: reading failed: {}.", file_.string(), std::strerror(errno)));
    if (r == 0)
      throw IoError(fmt::format("{}: the file ended at byte {}, before the {} rows its header declares; was it "
                                "changed while it was read?",
                                file_.string(), start + got, header_.shape[0]));
    got += r;
  }
  if (lead % header_.item_size != 0) {  // an unusual header length: align the elements
    std::memmove(data, data + lead, static_cast<std::size_t>(bytes));
    lead = 0;
  }
  std::vector<int64_t> sizes = header_.shape;
  sizes[0] = rows;
  return at::from_blob(
      data + lead, sizes,
      [shared = shared_, buffer](void*) {
        {
          const std::lock_guard lock(shared->mutex);
          shared->in_use[buffer] = false;
        }
        shared->changed.notify_all();
      },
      at::TensorOptions().dtype(header_.dtype()));
}

// ---------------------------------------------------------------- ChunkWriter

ChunkWriter::ChunkWriter(std::vector<std::unique_ptr<NpyWriter>>& writers, std::size_t depth)
    : writers_(writers), depth_(depth), thread_([this] { run(); }) {}

ChunkWriter::~ChunkWriter() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void ChunkWriter::push(std::vector<Tensor> chunk, double& waited) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return queue_.size() < depth_ || error_; });
  waited += seconds_since(start);
  if (error_) std::rethrow_exception(error_);
  queue_.push_back(std::move(chunk));
  lock.unlock();
  changed_.notify_all();
}

void ChunkWriter::finish() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return (queue_.empty() && !busy_) || error_; });
  if (error_) std::rethrow_exception(error_);
}

void ChunkWriter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::vector<Tensor> chunk = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    changed_.notify_all();  // room for another chunk
    std::exception_ptr error;
    try {
      for (std::size_t i = 0; i < writers_.size(); ++i) writers_[i]->append(chunk[i]);
    } catch (...) {
      error = std::current_exception();
    }
    chunk.clear();  // its memory goes back before the next chunk is taken
    lock.lock();
    busy_ = false;
    error_ = error;
    changed_.notify_all();
    if (error) return;
  }
}

}  // namespace bridges::detail
