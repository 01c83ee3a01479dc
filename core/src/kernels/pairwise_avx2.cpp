// The AVX2 variant of the L1 / L-inf engine (8 floats or 4 doubles a vector).
#include <immintrin.h>

#include "pairwise.hpp"

namespace bridges::kernels::detail {

#pragma GCC push_options
#pragma GCC target("avx2")
namespace {

struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static V broadcast(const T* p) { return _mm256_broadcast_ss(p); }
  // |a - b|: clear the sign bit.
  static V absdiff(V a, V b) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(a, b)); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static void store(T* p, V v) { _mm256_storeu_ps(p, v); }
};

struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int kLanes = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static V broadcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V absdiff(V a, V b) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), _mm256_sub_pd(a, b)); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V max(V a, V b) { return _mm256_max_pd(a, b); }
  static void store(T* p, V v) { _mm256_storeu_pd(p, v); }
};

#include "pairwise_tiles.hpp"

}  // namespace
#pragma GCC pop_options

const PairwiseVariant& pairwise_avx2() {
  static const PairwiseVariant variant{"avx2", [] { return __builtin_cpu_supports("avx2") != 0; },
                                       tiles::tile_width<F32>(), tiles::tile_width<F64>(),
                                       &tiles::rows_dispatch<F32>, &tiles::rows_dispatch<F64>};
  return variant;
}

}  // namespace bridges::kernels::detail
