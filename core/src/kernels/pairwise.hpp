#pragma once
// Private to the core: the L1 / L-inf pairwise engine and its instruction-set
// variants. Pointers only, no LibTorch, so the variants compile in a second.

#include <cstdint>

namespace bridges::kernels::detail {

enum class Reduce { sum, max };

/// out[i, j] = reduce_t |x[i, t] - at[t, j]| for rows i in [i0, i1) and
/// every j < k. x [n, d] row-major; at [d, kp] the anchors transposed, kp a
/// multiple of the variant's tile width, columns k..kp zero; out [n, k].
template <class T>
using PairwiseRows = void (*)(const T* x, int64_t i0, int64_t i1, int64_t d, const T* at, int64_t kp, int64_t k,
                              T* out, Reduce reduce);

/// One instruction-set variant of the engine.
struct PairwiseVariant {
  const char* name;      ///< "avx512", "avx2", "generic"
  bool (*supported)();   ///< whether this processor can run it
  int64_t tile_f32;      ///< anchors per column tile (at's kp must be a multiple)
  int64_t tile_f64;
  PairwiseRows<float> rows_f32;
  PairwiseRows<double> rows_f64;
};

const PairwiseVariant& pairwise_avx512();
const PairwiseVariant& pairwise_avx2();
const PairwiseVariant& pairwise_generic();

}  // namespace bridges::kernels::detail
