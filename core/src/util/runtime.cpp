#include "bridges/util/runtime.hpp"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/CPUAllocator.h>
#include <fmt/format.h>
#include <dlfcn.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <new>
#include <thread>
#include <unordered_map>

#include "bridges/error.hpp"
#include "bridges/util/thread_count.hpp"

namespace bridges {

namespace {

// Set by keep_freed_memory(): LibTorch's allocator then keeps blocks of
// 32 MiB and more, 2 MiB-aligned and marked for huge pages.
std::atomic<bool> large_blocks_kept{false};
}  // namespace

Tensor empty_large(at::IntArrayRef sizes, at::TensorOptions options) {
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  std::size_t bytes = c10::elementSize(c10::typeMetaToScalarType(options.dtype()));
  for (int64_t s : sizes) bytes *= static_cast<std::size_t>(s);
  if (bytes < 2 * kHugePage || options.device().type() != at::kCPU) return at::empty(sizes, options);
  // A kept block is reused without faulting its pages in again (streaming
  // projection allocates one result per chunk: clearing fresh pages took 28%
  // of its time).
  if (large_blocks_kept && bytes >= (std::size_t{32} << 20)) return at::empty(sizes, options);
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* data = nullptr;
  if (::posix_memalign(&data, kHugePage, rounded) != 0) throw std::bad_alloc();
  ::madvise(data, rounded, MADV_HUGEPAGE);  // advice only: without THP it changes nothing
  return at::from_blob(data, sizes, [](void* p) { std::free(p); }, options);
}

namespace {

// LibTorch's CPU allocator, except that blocks of 32 MiB and more (which
// glibc always maps afresh and unmaps on free) are kept when freed and
// handed out again, up to a quarter of the machine's memory. They are
// 2 MiB-aligned and marked for transparent huge pages. A full-batch GCN
// epoch on WordNet's 82115 nodes allocates about 15 such [82115, 300]
// tensors; with a fresh mapping each, page faults took 5.3 s of a 5.5 s
// epoch (bench/bench_graph).
class LargeBlockCache final : public c10::Allocator {
 public:
  static constexpr std::size_t kLarge = std::size_t{32} << 20;
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  /// The one instance, in front of `small` (LibTorch's allocator until now).
  static void install(c10::Allocator* small) {
    instance_ = new LargeBlockCache(small);  // never destroyed: tensors may outlive every other static
    c10::SetCPUAllocator(instance_, 1);
  }

  c10::DataPtr allocate(std::size_t bytes) const override {
    if (bytes < kLarge) return small_->allocate(bytes);
    const std::size_t size = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* data = take(size);
    if (data == nullptr) {
      if (::posix_memalign(&data, kHugePage, size) != 0) throw std::bad_alloc();
      ::madvise(data, size, MADV_HUGEPAGE);  // advice only: without THP it changes nothing
    }
    std::lock_guard lock(mutex_);
    in_use_[data] = size;
    // Context == data with a plain deleter, as raw_allocate() requires.
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

 private:
  explicit LargeBlockCache(c10::Allocator* small) : small_(small) {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    limit_ = pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4 : std::size_t{1} << 30;
  }

  // A kept block at least `size` and at most a quarter larger, or null.
  void* take(std::size_t size) const {
    std::lock_guard lock(mutex_);
    const auto it = free_.lower_bound(size);
    if (it == free_.end() || it->first > size + size / 4) return nullptr;
    void* data = it->second;
    kept_ -= it->first;
    free_.erase(it);
    return data;
  }

  // Our block: kept for reuse (or freed past the limit). Anything else came
  // from the small allocator through raw_allocate(): its own deleter frees it.
  static void release(void* data) {
    LargeBlockCache& self = *instance_;
    bool ours = false;
    {
      std::lock_guard lock(self.mutex_);
      if (const auto it = self.in_use_.find(data); it != self.in_use_.end()) {
        ours = true;
        const std::size_t size = it->second;
        self.in_use_.erase(it);
        if (self.kept_ + size <= self.limit_) {
          self.free_.emplace(size, data);
          self.kept_ += size;
          return;
        }
      }
    }
    if (ours)
      std::free(data);  // past the limit
    else
      self.small_->raw_deleter()(data);
  }

  inline static LargeBlockCache* instance_ = nullptr;
  c10::Allocator* small_;
  std::size_t limit_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, std::size_t> in_use_;
  mutable std::multimap<std::size_t, void*> free_;
  mutable std::size_t kept_ = 0;
};

}  // namespace

void keep_freed_memory() {
  // Blocks up to 32 MiB (glibc's ceiling for this setting) come from the
  // heap instead of a fresh mmap, and the heap is never trimmed back.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
  // Larger blocks are kept by an allocator in front of LibTorch's.
  static std::once_flag installed;
  std::call_once(installed, [] {
    LargeBlockCache::install(c10::GetCPUAllocator());
    large_blocks_kept = true;
  });
}


namespace {

// OpenBLAS's C API, looked up in the BLAS LibTorch loaded (null when it is
// not OpenBLAS, or not a build that chooses kernels at run time).
template <typename F>
F* openblas(const char* name) {
  return reinterpret_cast<F*>(::dlsym(RTLD_DEFAULT, name));
}

std::string openblas_kernels() {
  auto* core = openblas<char*()>("openblas_get_corename");
  return core != nullptr ? core() : "";
}

// The kernels this CPU supports when OpenBLAS fell back to Prescott's: the
// SkylakeX ones are what OpenBLAS 0.3.21 runs on every AVX-512 CPU it knows
// (Skylake-X to Sapphire Rapids), the Haswell ones on AVX2 CPUs.
const char* supported_kernels() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

bool is_fallback(const std::string& kernels) { return kernels == "Prescott" || kernels == "prescott"; }

// Debian's OpenBLAS (0.3.21, built for every x86 CPU and choosing at load
// time) picks its kernels from a table of CPU models and falls back to its
// Prescott (SSE3) kernels for a model it does not know. On this project's
// build machine (an Intel Xeon, family 6 model 207, with AVX-512) it did: a
// [512, 1280] x [1280, 1280] product ran at 32 GFLOP/s against 150 GFLOP/s
// with the SkylakeX kernels, and every matrix product in training,
// projection and the measures with it. OpenBLAS reads OPENBLAS_CORETYPE
// once, when it is loaded, before anything of bridges runs; so when it fell
// back and the user did not choose, bridges sets the variable and has
// OpenBLAS choose again through its own two functions for that
// (gotoblas_dynamic_quit/init), while loading, before any product runs. A
// value the user set is never changed (OPENBLAS_CORETYPE=Prescott keeps the
// fallback).
bool use_supported_kernels() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || !is_fallback(openblas_kernels())) return false;
  const char* kernels = supported_kernels();
  auto* quit = openblas<void()>("gotoblas_dynamic_quit");
  auto* init = openblas<void()>("gotoblas_dynamic_init");
  if (kernels == nullptr || quit == nullptr || init == nullptr) return false;
  ::setenv("OPENBLAS_CORETYPE", kernels, 0);  // child processes (plugins' tools, test programs) choose the same
  quit();
  init();
  return true;
}

[[maybe_unused]] const bool supported_kernels_chosen = use_supported_kernels();

}  // namespace

std::string blas_kernels() {
  auto* config = openblas<char*()>("openblas_get_config");
  if (config == nullptr) return "unknown BLAS";
  return fmt::format("{} (kernels: {})", config(), openblas_kernels());
}

std::string blas_kernel_warning() {
  const std::string kernels = openblas_kernels();
  const char* supported = supported_kernels();
  if (!is_fallback(kernels) || supported == nullptr) return {};
  return fmt::format("OpenBLAS runs its Prescott (SSE3) kernels on this CPU, which supports its {} ones: matrix "
                     "products are about 4x slower than they could be. Unset OPENBLAS_CORETYPE (bridges then "
                     "chooses), or set OPENBLAS_CORETYPE={}.",
                     supported, supported);
}

int set_threads(int threads) {
  static std::once_flag warned;
  std::call_once(warned, [] {
    const char* quiet = std::getenv("BRIDGES_QUIET");
    if (const std::string warning = blas_kernel_warning(); !warning.empty() && !(quiet && *quiet == '1'))
      fmt::print(stderr, "bridges: warning: {}\n", warning);
  });
  threads = checked_thread_count(threads);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

ThreadScope::ThreadScope(int64_t threads) : previous_(at::get_num_threads()) {
  if (threads > 0) at::set_num_threads(checked_thread_count(threads));
}

ThreadScope::~ThreadScope() { at::set_num_threads(previous_); }

bool blas_has_own_threads() {
  // openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP.
  static const bool own = [] {
    auto* parallel = openblas<int()>("openblas_get_parallel");
    return parallel != nullptr && parallel() == 1;
  }();
  return own;
}

GemmBoundScope::GemmBoundScope() {
  if (blas_has_own_threads()) threads_.emplace(1);
}

}  // namespace bridges
