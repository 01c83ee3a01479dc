#include "bridges/tensor.hpp"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <malloc.h>
#include <sys/mman.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <new>
#include <thread>

namespace bridges {

namespace {
// NumPy's spelling, which is what users see in .npy files and docs.
std::string dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    default: return c10::toString(type);
  }
}
}  // namespace

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("{} [{}]", dtype_name(t.scalar_type()), fmt::join(t.sizes(), ", "));
}

Tensor empty_large(at::IntArrayRef sizes, at::TensorOptions options) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  std::size_t bytes = c10::elementSize(c10::typeMetaToScalarType(options.dtype()));
  for (int64_t s : sizes) bytes *= static_cast<std::size_t>(s);
  if (bytes < 2 * kHugePage || options.device().type() != at::kCPU) return at::empty(sizes, options);
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* data = nullptr;
  if (::posix_memalign(&data, kHugePage, rounded) != 0) throw std::bad_alloc();
  ::madvise(data, rounded, MADV_HUGEPAGE);  // advice only: without THP it changes nothing
  return at::from_blob(data, sizes, [](void* p) { std::free(p); }, options);
}

void keep_freed_memory() {
  // Blocks up to 32 MiB (glibc's ceiling for this setting) come from the
  // heap instead of a fresh mmap, and the heap is never trimmed back.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
}

int set_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

ThreadScope::ThreadScope(int64_t threads) : previous_(at::get_num_threads()) {
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
}

ThreadScope::~ThreadScope() { at::set_num_threads(previous_); }

}  // namespace bridges
