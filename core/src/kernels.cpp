#include "bridges/kernels.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/Parallel.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/cdist.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "bridges/error.hpp"

namespace bridges::kernels {

namespace {

// ---------------------------------------------------------------------------
// L1 and L-inf: out[i, j] = reduce_t |x[i, t] - a[j, t]|.
//
// The kernel vectorises across anchors: anchors are packed transposed,
// at[t, j], so a vector holds one coordinate of kLanes consecutive anchors.
// A micro-tile of kRows samples x kCols vectors of anchors keeps
// kRows * kCols accumulators in registers; per coordinate it loads kCols
// anchor vectors and broadcasts kRows sample values (6 loads for 24 vector
// operations at 4 x 2). Rows are split across threads; within a thread a block
// of kBlockRows samples stays in L2 while every anchor tile streams past it.
// The functions below are compiled twice (AVX2 and baseline x86-64) and the
// loader picks one for the processor (GCC target_clones).
// ---------------------------------------------------------------------------

enum class Reduce { sum, max };

template <class T>
struct Simd;
template <>
struct Simd<float> {
  typedef float V __attribute__((vector_size(32)));
  typedef int32_t Mask __attribute__((vector_size(32)));
  static constexpr int kLanes = 8;
  static constexpr int32_t kAbs = 0x7fffffff;
};
template <>
struct Simd<double> {
  typedef double V __attribute__((vector_size(32)));
  typedef int64_t Mask __attribute__((vector_size(32)));
  static constexpr int kLanes = 4;
  static constexpr int64_t kAbs = 0x7fffffffffffffffLL;
};

constexpr int kRows = 4;
constexpr int kCols = 2;
constexpr int64_t kBlockRows = 64;

template <class T>
constexpr int64_t tile_width() {
  return int64_t{Simd<T>::kLanes} * kCols;
}

template <class T, Reduce R, int Rows>
__attribute__((always_inline)) inline void micro_tile(const T* __restrict x, int64_t d, const T* __restrict at,
                                                      int64_t kp, int64_t j0, int64_t k, T* __restrict out) {
  using V = typename Simd<T>::V;
  using Mask = typename Simd<T>::Mask;
  constexpr int L = Simd<T>::kLanes;
  const Mask abs_mask = Mask{} + Simd<T>::kAbs;
  V acc[Rows][kCols];
  for (int r = 0; r < Rows; ++r)
    for (int c = 0; c < kCols; ++c) acc[r][c] = V{};
  const T* a = at + j0;
  for (int64_t t = 0; t < d; ++t, a += kp) {
    V av[kCols];
    for (int c = 0; c < kCols; ++c) std::memcpy(&av[c], a + c * L, sizeof(V));
    for (int r = 0; r < Rows; ++r) {
      const V xv = V{} + x[r * d + t];
      for (int c = 0; c < kCols; ++c) {
        const V diff = reinterpret_cast<V>(reinterpret_cast<Mask>(xv - av[c]) & abs_mask);
        if constexpr (R == Reduce::sum)
          acc[r][c] += diff;
        else
          acc[r][c] = acc[r][c] > diff ? acc[r][c] : diff;
      }
    }
  }
  const int64_t width = std::min<int64_t>(tile_width<T>(), k - j0);
  for (int r = 0; r < Rows; ++r) std::memcpy(out + r * k + j0, &acc[r][0], static_cast<std::size_t>(width) * sizeof(T));
}

template <class T, Reduce R>
__attribute__((always_inline)) inline void rows_kernel(const T* x, int64_t i0, int64_t i1, int64_t d, const T* at,
                                                       int64_t kp, int64_t k, T* out) {
  for (int64_t b0 = i0; b0 < i1; b0 += kBlockRows) {
    const int64_t b1 = std::min(i1, b0 + kBlockRows);
    for (int64_t j0 = 0; j0 < k; j0 += tile_width<T>()) {
      int64_t i = b0;
      for (; i + kRows <= b1; i += kRows) micro_tile<T, R, kRows>(x + i * d, d, at, kp, j0, k, out + i * k);
      switch (b1 - i) {
        case 3: micro_tile<T, R, 3>(x + i * d, d, at, kp, j0, k, out + i * k); break;
        case 2: micro_tile<T, R, 2>(x + i * d, d, at, kp, j0, k, out + i * k); break;
        case 1: micro_tile<T, R, 1>(x + i * d, d, at, kp, j0, k, out + i * k); break;
        default: break;
      }
    }
  }
}

#define BRIDGES_CLONES __attribute__((target_clones("avx2", "default")))
BRIDGES_CLONES void l1_rows_f32(const float* x, int64_t i0, int64_t i1, int64_t d, const float* at, int64_t kp,
                                int64_t k, float* out) {
  rows_kernel<float, Reduce::sum>(x, i0, i1, d, at, kp, k, out);
}
BRIDGES_CLONES void l1_rows_f64(const double* x, int64_t i0, int64_t i1, int64_t d, const double* at, int64_t kp,
                                int64_t k, double* out) {
  rows_kernel<double, Reduce::sum>(x, i0, i1, d, at, kp, k, out);
}
BRIDGES_CLONES void linf_rows_f32(const float* x, int64_t i0, int64_t i1, int64_t d, const float* at, int64_t kp,
                                  int64_t k, float* out) {
  rows_kernel<float, Reduce::max>(x, i0, i1, d, at, kp, k, out);
}
BRIDGES_CLONES void linf_rows_f64(const double* x, int64_t i0, int64_t i1, int64_t d, const double* at, int64_t kp,
                                  int64_t k, double* out) {
  rows_kernel<double, Reduce::max>(x, i0, i1, d, at, kp, k, out);
}
#undef BRIDGES_CLONES

// anchors [k, d] -> at [d, kp], kp = k rounded up to the tile width, zero padded.
template <class T>
Tensor pack_transposed(const Tensor& anchors) {
  const int64_t k = anchors.size(0), d = anchors.size(1);
  const int64_t kp = (k + tile_width<T>() - 1) / tile_width<T>() * tile_width<T>();
  Tensor at = at::zeros({d, kp}, anchors.options());
  at.narrow(1, 0, k).copy_(anchors.t());
  return at;
}

template <class T>
Tensor pairwise(const Tensor& x_in, const Tensor& anchors_in, Reduce reduce) {
  const Tensor x = x_in.contiguous();
  const int64_t n = x.size(0), d = x.size(1), k = anchors_in.size(0);
  const Tensor at = pack_transposed<T>(anchors_in);
  const int64_t kp = at.size(1);
  Tensor out = at::empty({n, k}, x.options());
  const T* xp = x.data_ptr<T>();
  const T* ap = at.data_ptr<T>();
  T* op = out.data_ptr<T>();
  at::parallel_for(0, n, kBlockRows, [&](int64_t i0, int64_t i1) {
    if constexpr (std::is_same_v<T, float>) {
      (reduce == Reduce::sum ? l1_rows_f32 : linf_rows_f32)(xp, i0, i1, d, ap, kp, k, op);
    } else {
      (reduce == Reduce::sum ? l1_rows_f64 : linf_rows_f64)(xp, i0, i1, d, ap, kp, k, op);
    }
  });
  return out;
}

Tensor pairwise(const Tensor& x, const Tensor& anchors, Reduce reduce) {
  if (x.requires_grad() || anchors.requires_grad())
    return at::cdist(x, anchors, reduce == Reduce::sum ? 1.0 : std::numeric_limits<double>::infinity());
  if (x.scalar_type() == at::kDouble) return pairwise<double>(x, anchors.contiguous(), reduce);
  return pairwise<float>(x, anchors.contiguous(), reduce);
}

void check(const Tensor& x, const Tensor& anchors, const char* name) {
  if (!x.defined() || !anchors.defined() || x.dim() != 2 || anchors.dim() != 2 || x.size(1) != anchors.size(1) ||
      x.scalar_type() != anchors.scalar_type() ||
      (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble))
    throw ShapeError(fmt::format("kernels::{}: expected x [n, d] and anchors [k, d], both float32 or both float64; "
                                 "found x {} and anchors {}.",
                                 name, describe(x), describe(anchors)));
}

}  // namespace

Tensor cosine(const Tensor& x, const Tensor& anchors, double eps) {
  check(x, anchors, "cosine");
  // Normalising the k anchors costs O(kd); the n rows are scaled after the
  // GEMM, on the [n, k] result, so no normalised copy of x is made.
  const Tensor unit_anchors = anchors / anchors.norm(2, {1}, /*keepdim=*/true).clamp_min(eps);
  const Tensor inv_x = x.norm(2, {1}, /*keepdim=*/true).clamp_min(eps).reciprocal();
  Tensor out = x.mm(unit_anchors.t());
  return out.mul_(inv_x);
}

Tensor euclidean(const Tensor& x, const Tensor& anchors) {
  check(x, anchors, "euclidean");
  const Tensor x2 = x.pow(2).sum({1}, /*keepdim=*/true);  // [n, 1]
  const Tensor a2 = anchors.pow(2).sum({1}).unsqueeze(0);  // [1, k]
  Tensor d2 = at::addmm(a2, x, anchors.t(), /*beta=*/1, /*alpha=*/-2);
  d2.add_(x2).clamp_min_(0);
  if (!d2.requires_grad()) return d2.sqrt_();
  // sqrt'(0) is infinite: route zero distances through a constant so the
  // gradient there is 0 instead of NaN.
  const Tensor positive = d2 > 0;
  return at::where(positive, at::where(positive, d2, at::ones_like(d2)).sqrt(), at::zeros_like(d2));
}

Tensor l1(const Tensor& x, const Tensor& anchors) {
  check(x, anchors, "l1");
  return pairwise(x, anchors, Reduce::sum);
}

Tensor linf(const Tensor& x, const Tensor& anchors) {
  check(x, anchors, "linf");
  return pairwise(x, anchors, Reduce::max);
}

Tensor pnorm(const Tensor& x, const Tensor& anchors, double p) {
  check(x, anchors, "pnorm");
  if (!(p >= 1.0)) throw ConfigError(fmt::format("kernels::pnorm: p must be >= 1, found {}.", p));
  return at::cdist(x, anchors, p);
}

}  // namespace bridges::kernels
