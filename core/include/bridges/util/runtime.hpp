#pragma once
// How bridges uses the machine: large-tensor allocation (huge pages, freed
// memory kept for reuse) and the thread count.

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"
#include "bridges/util/thread_count.hpp"

#include <optional>
#include <string>

namespace bridges {

/// Like at::empty, but a tensor of 4 MiB or more is backed by memory aligned
/// to 2 MiB and marked for transparent huge pages. Touching fresh memory
/// costs a page fault per page; measured in this project's VM, first writes
/// to a 51 MB result took ~150 ms with 4 KiB pages and ~6 ms with 2 MiB ones.
/// Used for every large result bridges computes.
BRIDGES_API Tensor empty_large(at::IntArrayRef sizes, at::TensorOptions options);

/// Makes glibc keep freed memory for reuse instead of returning it to the
/// operating system after each large tensor dies. Training and inference
/// allocate the same multi-megabyte activations batch after batch; handing
/// them back means a page fault per 4 KiB page on the next batch. Measured
/// here (a VM, ~12 us per fault): a CNN epoch on 5000 images took 5.8 s
/// without and 2.5 s with it, encoding 2000 images 1.56 s and 0.33 s. The
/// cost is a larger resident size between peaks. Blocks of 32 MiB and more,
/// which glibc always maps afresh, are kept by LibTorch's CPU allocator
/// (up to a quarter of the machine's memory): a full-batch GCN epoch on
/// 82115 nodes took 5.3 s with them mapped afresh, most of it page faults.
/// Process-wide: the bridges programs call it at start, before any tensor
/// exists; a host program may call it once.
BRIDGES_API void keep_freed_memory();

/// Which BLAS computes LibTorch's and bridges' matrix products, with its
/// kernels, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX
/// MAX_THREADS=64 (kernels: SkylakeX)"; "unknown BLAS" when it is not
/// OpenBLAS.
///
/// OpenBLAS falls back to its Prescott (SSE3) kernels on a CPU model it does
/// not know, which makes every product ~4-5x slower on a modern CPU. When it
/// has and OPENBLAS_CORETYPE is not set, loading bridges::core makes it
/// choose the kernels the CPU supports (SkylakeX with AVX-512, Haswell with
/// AVX2) and sets OPENBLAS_CORETYPE for child processes; a value the user set
/// is kept.
BRIDGES_API std::string blas_kernels();

/// A warning when OpenBLAS runs its Prescott kernels on a CPU that supports
/// better ones (the user set OPENBLAS_CORETYPE, or OpenBLAS could not choose
/// again); empty otherwise. set_threads() prints it once.
BRIDGES_API std::string blas_kernel_warning();

/// max_threads(): bridges/util/thread_count.hpp.

/// Sets LibTorch's intra-op threads; `threads <= 0` means every core of the
/// machine. LibTorch may start with one thread: every program calls this.
/// Returns the number of threads now in use. Throws ConfigError above
/// max_threads().
BRIDGES_API int set_threads(int threads);

/// For a scope with its own thread count (an encoder's "threads" option):
/// sets LibTorch's intra-op threads to `threads` when it is positive, and
/// restores the previous count on leaving. Throws ConfigError above
/// max_threads().
class BRIDGES_API ThreadScope {
 public:
  explicit ThreadScope(int64_t threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
};

/// True when the BLAS runs matrix products on a thread pool of its own
/// (OpenBLAS built with pthreads, as Debian's libopenblas0-pthread), apart
/// from LibTorch's OpenMP threads; false for an OpenMP or sequential BLAS.
BRIDGES_API bool blas_has_own_threads();

/// For a scope that alternates matrix products with element-wise steps
/// (training and evaluating a decoder: Linear, Tanh, LayerNorm, Adam, batch
/// after batch). When the BLAS has its own threads, LibTorch's element-wise
/// steps run on the calling thread for the scope; the products keep every
/// BLAS thread. Otherwise the two pools spin against each other: each waits
/// for work by spinning on its core (OpenMP for ~10 ms after every parallel
/// step, OpenBLAS longer), so the other pool's threads find no free core.
/// Measured on this project's 2-core machine (bench_stitching
/// --method-scale, mlp_sum, 20000 examples): an epoch took 6.4 s with both
/// pools, 3.5 s with this scope, 3.6 s with OMP_WAIT_POLICY=PASSIVE (which
/// only takes effect at process start). Nothing changes with an OpenMP BLAS,
/// whose products run on LibTorch's own threads. Process-wide, like
/// ThreadScope: a host program that trains decoders on several threads at
/// once should hold one scope around all of them.
class BRIDGES_API GemmBoundScope {
 public:
  GemmBoundScope();

 private:
  std::optional<ThreadScope> threads_;
};

}  // namespace bridges
