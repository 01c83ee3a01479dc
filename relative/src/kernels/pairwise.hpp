#pragma once
// Private to the core: the pairwise engine (L1, L-inf, fused GEMM) and its instruction-set
// variants. Pointers only, no LibTorch, so the variants compile in a second.

#include <cstdint>

namespace bridges::kernels::detail {

/// sum_t |x - a|, max_t |x - a|, or sum_t x * a.
enum class Reduce { sum, max, dot };

/// How a dot product is finished in registers before it is stored.
enum class Finish {
  none,        ///< <x_i, a_j>
  scale_rows,  ///< <x_i, a_j> * row[i]
  euclidean,   ///< sqrt(max(row[i] + col[j] - 2 <x_i, a_j>, 0))
};
template <class T>
struct Epilogue {
  Finish finish = Finish::none;
  const T* row = nullptr;  ///< [n], indexed by the sample's row in x
  const T* col = nullptr;  ///< [kp], indexed by anchor
};

/// out[i, j] = reduce_t op(x[i, t], at[t, j]) for rows i in [i0, i1) and
/// every j < k, finished by `e` when reduce is dot. x [n, d] row-major; at
/// [kp / W, d, W] the anchors in panels of the variant's tile width W, each
/// panel W anchors transposed, kp = k rounded up to W, anchors k..kp zero;
/// out [n, k].
template <class T>
using PairwiseRows = void (*)(const T* x, int64_t i0, int64_t i1, int64_t d, const T* at, int64_t k, T* out,
                              Reduce reduce, const Epilogue<T>& e);

/// One instruction-set variant of the engine.
struct PairwiseVariant {
  const char* name;      ///< "avx512", "avx2", "generic"
  bool (*supported)();   ///< whether this processor can run it
  int64_t tile_f32;      ///< anchors per panel (W)
  int64_t tile_f64;
  PairwiseRows<float> rows_f32;
  PairwiseRows<double> rows_f64;
  /// Whether cosine and Euclidean use this variant's fused GEMM rather than
  /// LibTorch's BLAS plus an in-place pass (set where it measured faster).
  bool fused_gemm;
};

const PairwiseVariant& pairwise_avx512();
const PairwiseVariant& pairwise_avx2();
const PairwiseVariant& pairwise_generic();

}  // namespace bridges::kernels::detail
