// The portable variant of the pairwise engine: GCC vector extensions of 16
// bytes, which every target lowers to its own SIMD (SSE2 on any x86-64).
#include <cmath>

#include "pairwise.hpp"

namespace bridges::kernels::detail {

namespace {

template <class Scalar, int Lanes>
struct Generic {
  using T = Scalar;
  typedef T V __attribute__((vector_size(16)));
  static constexpr int kLanes = Lanes;
  static constexpr int kRows = 6, kCols = 2;
  static V zero() { return V{}; }
  static V load(const T* p) {
    V v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
  }
  static V broadcast(const T* p) {
    V v;
    for (int l = 0; l < Lanes; ++l) v[l] = *p;
    return v;
  }
  static V absdiff(V a, V b) {
    const V d = a - b;
    return d < 0 ? -d : d;
  }
  static V add(V a, V b) { return a + b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V mul(V a, V b) { return a * b; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V sqrt(V a) {
    for (int l = 0; l < Lanes; ++l) a[l] = std::sqrt(a[l]);
    return a;
  }
  static V set1(T t) { return V{} + t; }
  static void store(T* p, V v) { __builtin_memcpy(p, &v, sizeof v); }
};
using F32 = Generic<float, 4>;
using F64 = Generic<double, 2>;

#include "pairwise_tiles.hpp"

}  // namespace

const PairwiseVariant& pairwise_generic() {
  static const PairwiseVariant variant{"generic", [] { return true; }, tiles::tile_width<F32>(),
                                       tiles::tile_width<F64>(), &tiles::rows_dispatch<F32>,
                                       &tiles::rows_dispatch<F64>,
                                       /*fused_gemm=*/false};
  return variant;
}

}  // namespace bridges::kernels::detail
