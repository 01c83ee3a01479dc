// The AVX-512 variant of the pairwise engine (16 floats or 8 doubles a vector).
#include <immintrin.h>

#include "pairwise.hpp"

// GCC 12's _mm512_max_ps/pd pass _mm512_undefined_ps() as the masked-off
// source, which -Wmaybe-uninitialized reports; the mask is all ones.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace bridges::kernels::detail {

#pragma GCC push_options
#pragma GCC target("avx512f")
namespace {

struct F32 {
  using T = float;
  using V = __m512;
  static constexpr int kLanes = 16;
  // 24 accumulators of 32 registers: fewer broadcasts per multiply-add than
  // 6 x 2. On a Xeon whose OpenBLAS uses AVX-512, 6 x 4 took 10 % less
  // time than 6 x 2 for the fused GEMM and L1 (L-inf the same); 8 x 3 and
  // 6 x 3 fell between, 12 x 2 spilled registers and took 2.5x.
  static constexpr int kRows = 6, kCols = 4;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static V broadcast(const T* p) { return _mm512_set1_ps(*p); }
  static V absdiff(V a, V b) { return _mm512_abs_ps(_mm512_sub_ps(a, b)); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  static V set1(T t) { return _mm512_set1_ps(t); }
  static void store(T* p, V v) { _mm512_storeu_ps(p, v); }
};

struct F64 {
  using T = double;
  using V = __m512d;
  static constexpr int kLanes = 8;
  static constexpr int kRows = 6, kCols = 4;  // as F32
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static V broadcast(const T* p) { return _mm512_set1_pd(*p); }
  static V absdiff(V a, V b) { return _mm512_abs_pd(_mm512_sub_pd(a, b)); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V max(V a, V b) { return _mm512_max_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V sqrt(V a) { return _mm512_sqrt_pd(a); }
  static V set1(T t) { return _mm512_set1_pd(t); }
  static void store(T* p, V v) { _mm512_storeu_pd(p, v); }
};

#include "pairwise_tiles.hpp"

}  // namespace
#pragma GCC pop_options

const PairwiseVariant& pairwise_avx512() {
  static const PairwiseVariant variant{"avx512", [] { return __builtin_cpu_supports("avx512f") != 0; },
                                       tiles::tile_width<F32>(), tiles::tile_width<F64>(),
                                       &tiles::rows_dispatch<F32>, &tiles::rows_dispatch<F64>,
                                       /*fused_gemm=*/true};
  return variant;
}

}  // namespace bridges::kernels::detail
