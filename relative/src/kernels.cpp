#include "bridges/relative/kernels.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <fmt/format.h>

#include <array>
#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/util/runtime.hpp"
#include "kernels/pairwise.hpp"
#include "kernels/pairwise_grad.hpp"

namespace bridges::kernels {

namespace {

using detail::PairwiseVariant;
using detail::Reduce;

// Fastest first.
const std::array<const PairwiseVariant*, 3>& variants() {
  static const std::array<const PairwiseVariant*, 3> all{&detail::pairwise_avx512(), &detail::pairwise_avx2(),
                                                         &detail::pairwise_generic()};
  return all;
}

// The best variant this processor runs, unless BRIDGES_KERNEL_ISA or
// set_isa() chose another.
const PairwiseVariant* best_variant() {
  for (const PairwiseVariant* v : variants())
    if (v->supported()) return v;
  return &detail::pairwise_generic();
}

const PairwiseVariant* variant_named(std::string_view name) {
  if (name == "auto") return best_variant();
  std::vector<std::string> names{"auto"};
  for (const PairwiseVariant* v : variants()) {
    if (name == v->name) {
      if (!v->supported())
        throw ConfigError(fmt::format("kernel instruction set '{}' is not supported by this processor; use auto.", name));
      return v;
    }
    names.emplace_back(v->name);
  }
  throw_unknown_name("kernel instruction set", name, names);
}

std::atomic<const PairwiseVariant*>& current_variant() {
  static std::atomic<const PairwiseVariant*> current{[] {
    const char* env = std::getenv("BRIDGES_KERNEL_ISA");
    return env && *env ? variant_named(env) : best_variant();
  }()};
  return current;
}

// Whether autograd must see the computation (then LibTorch ops are used,
// not in-place kernels on preallocated results).
bool differentiable(const Tensor& x, const Tensor& anchors) {
  return at::GradMode::is_enabled() && (x.requires_grad() || anchors.requires_grad());
}

// anchors [k, d] (each row times scale[j] if given) -> panels [kp / tile,
// d, tile]: panel p holds anchors p * tile ... p * tile + tile - 1
// transposed, kp = k rounded up to the tile width, zero padded. A micro-tile
// walks one panel from start to end; with one [d, kp] matrix it stepped by
// kp floats per coordinate, and for k = 1024 or 4096 (strides of 4 or 16 KiB)
// every step fell in the same cache set: 50% slower there.
Tensor pack_panels(const Tensor& anchors, int64_t tile, const Tensor& scale = {}) {
  const int64_t k = anchors.size(0), d = anchors.size(1);
  const int64_t kp = (k + tile - 1) / tile * tile;
  Tensor padded = at::zeros({kp, d}, anchors.options());
  padded.narrow(0, 0, k).copy_(anchors);
  if (scale.defined()) padded.narrow(0, 0, k).mul_(scale.reshape({k, 1}));
  return padded.view({kp / tile, tile, d}).transpose(1, 2).contiguous();
}

const PairwiseVariant& variant() { return *current_variant().load(); }

int64_t tile_width(const PairwiseVariant& v, const Tensor& t) {
  return t.scalar_type() == at::kDouble ? v.tile_f64 : v.tile_f32;
}

// Calls block(begin, end) for consecutive blocks of kEngineBlock rows of
// [0, n), on every thread. Threads take blocks from a shared counter rather
// than one equal share each: when another thread of the process (a streaming
// writer) or of the machine takes a core for a while, the others do more
// blocks instead of waiting for it at the end.
constexpr int64_t kEngineBlock = 96;

template <class Block>
void for_each_row_block(int64_t n, const Block& block) {
  const int64_t blocks = (n + kEngineBlock - 1) / kEngineBlock;
  std::atomic<int64_t> next{0};
  at::parallel_for(0, std::min<int64_t>(at::get_num_threads(), blocks), 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t b = next++; b < blocks; b = next++) block(b * kEngineBlock, std::min(n, (b + 1) * kEngineBlock));
  });
}

template <class T>
detail::PairwiseRows<T> rows_of(const PairwiseVariant& v) {
  if constexpr (std::is_same_v<T, float>)
    return v.rows_f32;
  else
    return v.rows_f64;
}

// Runs the engine over all rows of x [n, d] against anchors packed by
// pack_panels into at [kp / tile, d, tile]; k real anchors.
template <class T>
Tensor engine(const PairwiseVariant& v, const Tensor& x_in, const Tensor& at, int64_t k, Reduce reduce,
              const detail::Epilogue<T>& e = {}) {
  const Tensor x = x_in.contiguous();
  const int64_t n = x.size(0), d = x.size(1);
  Tensor out = empty_large({n, k}, x.options());
  const T* xp = x.data_ptr<T>();
  const T* ap = at.data_ptr<T>();
  T* op = out.data_ptr<T>();
  const auto rows = rows_of<T>(v);
  for_each_row_block(n, [&](int64_t begin, int64_t end) { rows(xp, begin, end, d, ap, k, op, reduce, e); });
  return out;
}

// Pairs whose GEMM-form squared distance is below this fraction of
// |x_i - m|^2 + |a_j - m|^2 are computed again from direct differences. The
// GEMM form's rounding error is a few float epsilons times that sum (times
// sqrt(d) or so), which the square root turns into sqrt(error) near 0:
// d(x, x) came out as 0.04 for N(0, 1) at d = 768. Random pairs sit near the
// sum itself, so only close pairs (an anchor and its own sample, duplicates)
// pay the O(d) recomputation. Above it, the squared distance's relative
// error stays below ~100 sqrt(d) epsilon.
constexpr double kCloseFraction = 1.0 / 64;

// Whether any of the kGroup pairs o[0, kGroup) of one row is close: an OR
// of compares over a fixed count, which GCC vectorises at -O2 (the scan, one
// element at a time, was 5-9 % of a Euclidean projection).
constexpr int64_t kGroup = 16;
template <class T>
bool any_close(const T* o, T row_i, const T* col) {
  const T fraction = static_cast<T>(kCloseFraction);
  int close = 0;
  for (int64_t j = 0; j < kGroup; ++j) close |= o[j] * o[j] < fraction * (row_i + col[j]) ? 1 : 0;
  return close != 0;
}

// The direct sum of squared differences of x' = x - m and a' = a - m, in
// float64, for the close pairs of rows [0, rows) of a block. xc [rows, d]
// centred, ac [k, d] centred, row [rows] and col [k] their squared norms;
// out [rows, k] holds the GEMM-form distances and is corrected in place.
template <class T>
void refine_close_pairs(const T* xc, int64_t rows, int64_t d, const T* ac, int64_t k, const T* row, const T* col,
                        T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    T* o = out + i * k;
    for (int64_t j = 0; j < k; ++j) {
      if (j % kGroup == 0 && j + kGroup <= k && !any_close(o + j, row[i], col + j)) {
        j += kGroup - 1;
        continue;
      }
      if (!(o[j] * o[j] < static_cast<T>(kCloseFraction) * (row[i] + col[j]))) continue;
      const T* xi = xc + i * d;
      const T* aj = ac + j * d;
      double sum = 0;
      for (int64_t t = 0; t < d; ++t) {
        const double diff = static_cast<double>(xi[t]) - static_cast<double>(aj[t]);
        sum += diff * diff;
      }
      o[j] = static_cast<T>(std::sqrt(sum));
    }
  }
}

// Euclidean distances of x [n, d] to anchors [k, d], both shifted by the
// anchors' mean m first (translation does not change a distance): far from
// the origin the GEMM form |x|^2 + |a|^2 - 2 <x, a> cancels almost every
// digit (17% error on 5 + 0.01 N(0, 1) in float32). Rows are centred a block
// at a time into a per-thread buffer, so no centred copy of x is made.
// `fused`: the engine's GEMM with norms, clamp and root in registers;
// otherwise BLAS on the block and the same finish.
template <class T>
Tensor euclidean_centred(const PairwiseVariant& v, const Tensor& x_in, const Tensor& anchors, bool fused) {
  const Tensor x = x_in.contiguous();
  const int64_t n = x.size(0), d = x.size(1), k = anchors.size(0);
  const Tensor mean = anchors.to(at::kDouble).mean(0).to(x.scalar_type()).contiguous();        // [d]
  const Tensor ac = (anchors - mean).contiguous();                                              // [k, d]
  const Tensor a2 = ac.to(at::kDouble).pow(2).sum(1).to(x.scalar_type()).contiguous();         // [k]
  const int64_t tile = fused ? tile_width(v, x) : 1;
  const Tensor at = fused ? pack_panels(ac, tile) : ac.t().contiguous();                        // packed, or [d, k]
  Tensor col = at::zeros({(k + tile - 1) / tile * tile}, x.options());
  col.narrow(0, 0, k).copy_(a2);
  Tensor out = empty_large({n, k}, x.options());
  const T* xp = x.data_ptr<T>();
  const T* mp = mean.data_ptr<T>();
  const T* acp = ac.data_ptr<T>();
  const T* atp = at.data_ptr<T>();
  const T* colp = col.data_ptr<T>();
  T* op = out.data_ptr<T>();
  const auto rows = rows_of<T>(v);
  for_each_row_block(n, [&](int64_t begin, int64_t end) {
    const int64_t m = end - begin;
    thread_local std::vector<T> centred, norms;
    centred.resize(static_cast<std::size_t>(kEngineBlock * d));
    norms.resize(static_cast<std::size_t>(kEngineBlock));
    for (int64_t i = 0; i < m; ++i) {
      const T* xi = xp + (begin + i) * d;
      T* ci = centred.data() + i * d;
      double sum = 0;
      for (int64_t t = 0; t < d; ++t) {
        ci[t] = xi[t] - mp[t];
        sum += static_cast<double>(ci[t]) * static_cast<double>(ci[t]);
      }
      norms[static_cast<std::size_t>(i)] = static_cast<T>(sum);
    }
    T* o = op + begin * k;
    if (fused) {
      rows(centred.data(), 0, m, d, atp, k, o, Reduce::dot, {detail::Finish::euclidean, norms.data(), colp});
    } else {
      // out = sqrt(max(|x'|^2 + |a'|^2 - 2 x' a'^T, 0)) with BLAS for the product.
      const Tensor xb = at::from_blob(centred.data(), {m, d}, x.options());
      Tensor ob = at::from_blob(o, {m, k}, x.options());
      at::mm_out(ob, xb, at);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < k; ++j)
          o[i * k + j] = std::sqrt(std::max<T>(norms[static_cast<std::size_t>(i)] + colp[j] - 2 * o[i * k + j], 0));
    }
    refine_close_pairs<T>(centred.data(), m, d, acp, k, norms.data(), colp, o);
  });
  return out;
}

Tensor engine(const PairwiseVariant& v, const Tensor& x, const Tensor& anchors, Reduce reduce) {
  const Tensor at = pack_panels(anchors, tile_width(v, x));
  if (x.scalar_type() == at::kDouble) return engine<double>(v, x, at, anchors.size(0), reduce);
  return engine<float>(v, x, at, anchors.size(0), reduce);
}

Tensor engine_values(const Tensor& x, const Tensor& anchors, Reduce reduce) {
  return engine(variant(), x, anchors, reduce);
}

Tensor pairwise(const Tensor& x, const Tensor& anchors, Reduce reduce) {
  if (differentiable(x, anchors)) return detail::differentiable_pairwise(x, anchors, reduce, &engine_values);
  return engine_values(x, anchors, reduce);
}

void check(const Tensor& x, const Tensor& anchors, const char* name) {
  if (!x.defined() || !anchors.defined() || x.dim() != 2 || anchors.dim() != 2 || x.size(1) != anchors.size(1) ||
      x.scalar_type() != anchors.scalar_type() ||
      (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble))
    throw ShapeError(fmt::format("kernels::{}: expected x [n, d] and anchors [k, d], both float32 or both float64; "
                                 "found x {} and anchors {}.",
                                 name, describe(x), describe(anchors)));
}

// 1 / max(|t_i|, eps) per row, [rows, 1]. A float32 row with entries near
// 1e20 has a finite norm but an infinite sum of squares: its norm is taken
// again in float64 rather than becoming inf (and the cosine 0).
Tensor inverse_norms(const Tensor& t, double eps) {
  Tensor norms = t.norm(2, {1}, /*keepdim=*/true);
  if (t.scalar_type() == at::kFloat && find_nonfinite(norms.detach()))
    norms = t.to(at::kDouble).norm(2, {1}, /*keepdim=*/true).to(at::kFloat);
  return norms.clamp_min(eps).reciprocal();
}

}  // namespace

Tensor cosine(const Tensor& x, const Tensor& anchors, double eps) {
  check(x, anchors, "cosine");
  // The k anchors are normalised (O(kd)); the n rows are scaled after the
  // dot products, so no normalised copy of x is made.
  const Tensor inv_a = inverse_norms(anchors, eps);  // [k, 1]
  const Tensor inv_x = inverse_norms(x, eps);        // [n, 1]
  if (differentiable(x, anchors)) return x.mm((anchors * inv_a).t()) * inv_x;
  const PairwiseVariant& v = variant();
  if (!v.fused_gemm) {
    Tensor out = empty_large({x.size(0), anchors.size(0)}, x.options());
    at::mm_out(out, x, (anchors * inv_a).t());
    return out.mul_(inv_x);
  }
  // One pass: the engine's GEMM scales each value by 1 / |x_i| in registers.
  // The anchors are normalised in their packed copy.
  const Tensor at = pack_panels(anchors, tile_width(v, x), inv_a);
  const Tensor row = inv_x.reshape({-1}).contiguous();
  if (x.scalar_type() == at::kDouble)
    return engine<double>(v, x, at, anchors.size(0), Reduce::dot,
                          {detail::Finish::scale_rows, row.data_ptr<double>(), nullptr});
  return engine<float>(v, x, at, anchors.size(0), Reduce::dot,
                       {detail::Finish::scale_rows, row.data_ptr<float>(), nullptr});
}

Tensor euclidean(const Tensor& x, const Tensor& anchors) {
  check(x, anchors, "euclidean");
  if (differentiable(x, anchors)) {
    // Centred on the anchors' mean like the engine path (see
    // euclidean_centred); the mean is a constant here, so the gradients are
    // those of the plain distance.
    const Tensor mean = anchors.detach().mean(0, /*keepdim=*/true);
    const Tensor xc = x - mean, ac = anchors - mean;
    const Tensor x2 = xc.pow(2).sum(1, /*keepdim=*/true);  // [n, 1]
    const Tensor a2 = ac.pow(2).sum(1).unsqueeze(0);        // [1, k]
    const Tensor d2 = (at::addmm(a2, xc, ac.t(), /*beta=*/1, /*alpha=*/-2) + x2).clamp_min(0);
    // sqrt'(0) is infinite: route zero distances through a constant so the
    // gradient there is 0 instead of NaN.
    const Tensor positive = d2 > 0;
    return at::where(positive, at::where(positive, d2, at::ones_like(d2)).sqrt(), at::zeros_like(d2));
  }
  const PairwiseVariant& v = variant();
  if (x.scalar_type() == at::kDouble) return euclidean_centred<double>(v, x, anchors, v.fused_gemm);
  return euclidean_centred<float>(v, x, anchors, v.fused_gemm);
}

Tensor l1(const Tensor& x, const Tensor& anchors) {
  check(x, anchors, "l1");
  return pairwise(x, anchors, Reduce::sum);
}

Tensor linf(const Tensor& x, const Tensor& anchors) {
  check(x, anchors, "linf");
  return pairwise(x, anchors, Reduce::max);
}

std::string_view isa() { return current_variant().load()->name; }

void set_isa(std::string_view name) { current_variant().store(variant_named(name)); }

Tensor pnorm(const Tensor& x, const Tensor& anchors, double p) {
  check(x, anchors, "pnorm");
  if (!(p >= 1.0) || !std::isfinite(p))
    throw ConfigError(fmt::format("kernels::pnorm: p must be >= 1 and finite, found {}.", p));
  // (sum_t |x_t - a_t|^p)^(1/p) = m (sum_t (|x_t - a_t| / m)^p)^(1/p) with
  // m = max_t |x_t - a_t|: every term lies in [0, 1] and the largest is 1,
  // so no p overflows to inf or underflows to 0. cdist raised the raw
  // differences to the p-th power: in float32 at p = 100, 5^100 was inf and
  // 0.1^100 was 0. Blocks of rows keep the [rows, k, d] differences to
  // ~16 MB; every step is a LibTorch op, so autograd sees it.
  const Tensor largest = linf(x, anchors);  // [n, k]
  const int64_t n = x.size(0), k = anchors.size(0), d = x.size(1);
  const int64_t rows = std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(1, k * d));
  std::vector<Tensor> parts;
  for (int64_t begin = 0; begin < n; begin += rows) {
    const int64_t b = std::min(rows, n - begin);
    const Tensor m = largest.narrow(0, begin, b);
    const Tensor positive = m > 0;
    const Tensor safe_m = at::where(positive, m, at::ones_like(m));
    const Tensor diff = (x.narrow(0, begin, b).unsqueeze(1) - anchors.unsqueeze(0)).abs();  // [b, k, d]
    const Tensor sum = (diff / safe_m.unsqueeze(2)).pow(p).sum(2);                         // in [1, d] where m > 0
    parts.push_back(at::where(positive, safe_m * at::where(positive, sum, at::ones_like(sum)).pow(1.0 / p),
                              at::zeros_like(m)));
  }
  if (parts.empty()) return at::empty({0, k}, x.options());
  return parts.size() == 1 ? parts[0] : at::cat(parts, 0);
}

}  // namespace bridges::kernels
