#include "bridges/kernels.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/cdist.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <fmt/format.h>

#include <array>
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "bridges/error.hpp"
#include "bridges/text.hpp"
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

// Runs the engine over all rows of x [n, d] against anchors packed by
// pack_panels into at [kp / tile, d, tile]; k real anchors. Rows are split across
// threads in chunks of whole row blocks.
template <class T>
Tensor engine(const PairwiseVariant& v, const Tensor& x_in, const Tensor& at, int64_t k, Reduce reduce,
              const detail::Epilogue<T>& e = {}) {
  const Tensor x = x_in.contiguous();
  const int64_t n = x.size(0), d = x.size(1);
  Tensor out = empty_large({n, k}, x.options());
  const T* xp = x.data_ptr<T>();
  const T* ap = at.data_ptr<T>();
  T* op = out.data_ptr<T>();
  const auto rows = [&] {
    if constexpr (std::is_same_v<T, float>)
      return v.rows_f32;
    else
      return v.rows_f64;
  }();
  // Threads take blocks of rows from a shared counter rather than one equal
  // share each: when another thread of the process (a streaming writer) or
  // of the machine takes a core for a while, the others do more blocks
  // instead of waiting for it at the end.
  constexpr int64_t kBlock = 96;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::atomic<int64_t> next{0};
  at::parallel_for(0, std::min<int64_t>(at::get_num_threads(), blocks), 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t b = next++; b < blocks; b = next++)
        rows(xp, b * kBlock, std::min(n, (b + 1) * kBlock), d, ap, k, op, reduce, e);
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

}  // namespace

Tensor cosine(const Tensor& x, const Tensor& anchors, double eps) {
  check(x, anchors, "cosine");
  // The k anchors are normalised (O(kd)); the n rows are scaled after the
  // dot products, so no normalised copy of x is made.
  const Tensor inv_a = anchors.norm(2, {1}, /*keepdim=*/true).clamp_min(eps).reciprocal();  // [k, 1]
  const Tensor inv_x = x.norm(2, {1}, /*keepdim=*/true).clamp_min(eps).reciprocal();        // [n, 1]
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
  // Squared norms through norm(): x.pow(2) would make an [n, d] temporary.
  const Tensor x2 = x.norm(2, {1}, /*keepdim=*/true).square();  // [n, 1]
  const Tensor a2 = anchors.norm(2, {1}).square().unsqueeze(0);  // [1, k]
  if (differentiable(x, anchors)) {
    const Tensor d2 = (at::addmm(a2, x, anchors.t(), /*beta=*/1, /*alpha=*/-2) + x2).clamp_min(0);
    // sqrt'(0) is infinite: route zero distances through a constant so the
    // gradient there is 0 instead of NaN.
    const Tensor positive = d2 > 0;
    return at::where(positive, at::where(positive, d2, at::ones_like(d2)).sqrt(), at::zeros_like(d2));
  }
  const PairwiseVariant& v = variant();
  if (!v.fused_gemm) {
    Tensor out = empty_large({x.size(0), anchors.size(0)}, x.options());
    at::addmm_out(out, a2, x, anchors.t(), /*beta=*/1, /*alpha=*/-2);
    return out.add_(x2).clamp_min_(0).sqrt_();
  }
  // One pass: norms, clamp and square root applied in registers.
  const Tensor at = pack_panels(anchors, tile_width(v, x));
  Tensor col = at::zeros({at.size(0) * at.size(2)}, x.options());
  col.narrow(0, 0, anchors.size(0)).copy_(a2.reshape({-1}));
  const Tensor row = x2.reshape({-1}).contiguous();
  if (x.scalar_type() == at::kDouble)
    return engine<double>(v, x, at, anchors.size(0), Reduce::dot,
                          {detail::Finish::euclidean, row.data_ptr<double>(), col.data_ptr<double>()});
  return engine<float>(v, x, at, anchors.size(0), Reduce::dot,
                       {detail::Finish::euclidean, row.data_ptr<float>(), col.data_ptr<float>()});
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
  if (!(p >= 1.0)) throw ConfigError(fmt::format("kernels::pnorm: p must be >= 1, found {}.", p));
  return at::cdist(x, anchors, p);
}

}  // namespace bridges::kernels
