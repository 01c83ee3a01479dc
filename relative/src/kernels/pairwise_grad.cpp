// Backward of the L1 and L-inf distances, as a LibTorch autograd Function.
//
// With G = dLoss/dOut [n, k] and s(v) = sign(v) (s(0) = 0):
//   L1:   dL/dx_i = sum_j G_ij s(x_i - a_j)          (element-wise over t)
//         dL/da_j = sum_i G_ij s(a_j - x_i)
//   Linf: only the coordinate t* where |x_it - a_jt| is largest carries the
//         pair's gradient: dL/dx_it* += G_ij s(x_it* - a_jt*), and the
//         opposite for a_jt*.
// Both are subgradients where the distance is not differentiable: a
// coordinate with x_it = a_jt contributes 0 (L1), a tie for the largest
// coordinate gives the whole gradient to the first of them (Linf), and a zero
// distance has gradient 0. Each costs about as much as the forward pass,
// n * k * d; rows (for x) and anchors (for a) are split across threads, so
// no two threads write the same gradient row.
#include "pairwise_grad.hpp"

#include "bridges/relative/kernels.hpp"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace bridges::kernels::detail {

namespace {

// out[t] += sum_c w[c * w_stride] * s(self[t] - other[c * d + t]) for the
// `count` rows of `other`. Written with vector types of kBytes (64 for
// AVX-512, 32 for AVX2, 16 for the baseline), and register-blocked: 4 vectors of `out` and of `self` stay in registers
// while every other row passes, so `out` is loaded and stored once per block
// of rows, not once per pair. One L1 backward at n = 10000, k = 1280,
// d = 768: a plain per-pair loop (compiled to a branch per element,
// mispredicted half the time) 64 s; 32-byte vectors in the baseline clone
// (see below) 3.4 s; AVX-512 0.4 s.
template <class T, int kBytes>
inline __attribute__((always_inline)) void add_signs_impl(T* __restrict out, const T* __restrict self,
                                                          const T* __restrict other, int64_t d,
                                                          const T* __restrict w, int64_t w_stride, int64_t count) {
  typedef T V __attribute__((vector_size(kBytes)));
  constexpr int64_t kLanes = kBytes / sizeof(T), kStep = 4 * kLanes;
  const V zero = V{};
  int64_t t = 0;
  for (; t + kStep <= d; t += kStep) {
    V acc[4], mine[4];
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      __builtin_memcpy(&acc[u], out + t + u * kLanes, sizeof(V));
      __builtin_memcpy(&mine[u], self + t + u * kLanes, sizeof(V));
    }
    for (int64_t c = 0; c < count; ++c) {
      const T wc = w[c * w_stride];
      if (wc == 0) continue;
      const V weight = zero + wc;
      const T* o = other + c * d + t;
#pragma GCC unroll 4
      for (int u = 0; u < 4; ++u) {
        V theirs;
        __builtin_memcpy(&theirs, o + u * kLanes, sizeof(V));
        const V diff = mine[u] - theirs;
        acc[u] += (diff > zero ? weight : zero) - (diff < zero ? weight : zero);
      }
    }
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) __builtin_memcpy(out + t + u * kLanes, &acc[u], sizeof acc[u]);
  }
  for (; t < d; ++t)
    for (int64_t c = 0; c < count; ++c) {
      const T wc = w[c * w_stride], diff = self[t] - other[c * d + t];
      out[t] += (diff > 0 ? wc : T(0)) - (diff < 0 ? wc : T(0));
    }
}
// The first t with |x[t] - a[t]| == m, the forward pass's exact maximum (the
// same float operations, so equality is exact); -1 if none (NaN inputs).
template <class T>
inline __attribute__((always_inline)) int64_t first_at_impl(const T* __restrict x, const T* __restrict a, T m,
                                                            int64_t d) {
  constexpr int64_t kBlock = 16;
  int64_t t = 0;
  for (; t + kBlock <= d; t += kBlock) {
    int hit = 0;  // vectorised: is the maximum in this block?
    for (int64_t l = 0; l < kBlock; ++l) hit |= std::abs(x[t + l] - a[t + l]) == m;
    if (hit) break;
  }
  for (; t < d; ++t)
    if (std::abs(x[t] - a[t]) == m) return t;
  return -1;
}

// Each compiled for the engine's three instruction sets and chosen like its
// variants (isa(), so set_isa tests every one). Not target_clones: GCC 12's
// resolver picked the baseline clone on this AMD processor even for "avx2".
#define BRIDGES_VECTORISE optimize("tree-vectorize", "vect-cost-model=dynamic")
template <class T>
__attribute__((target("avx512f"), BRIDGES_VECTORISE)) void add_signs_avx512(T* out, const T* self, const T* other,
                                                                             int64_t d, const T* w, int64_t ws,
                                                                             int64_t count) {
  add_signs_impl<T, 64>(out, self, other, d, w, ws, count);
}
template <class T>
__attribute__((target("avx2,fma"), BRIDGES_VECTORISE)) void add_signs_avx2(T* out, const T* self, const T* other,
                                                                           int64_t d, const T* w, int64_t ws,
                                                                           int64_t count) {
  add_signs_impl<T, 32>(out, self, other, d, w, ws, count);
}
template <class T>
__attribute__((BRIDGES_VECTORISE)) void add_signs_generic(T* out, const T* self, const T* other, int64_t d,
                                                          const T* w, int64_t ws, int64_t count) {
  add_signs_impl<T, 16>(out, self, other, d, w, ws, count);
}
template <class T>
__attribute__((target("avx512f"), BRIDGES_VECTORISE)) int64_t first_at_avx512(const T* x, const T* a, T m,
                                                                               int64_t d) {
  return first_at_impl(x, a, m, d);
}
template <class T>
__attribute__((target("avx2,fma"), BRIDGES_VECTORISE)) int64_t first_at_avx2(const T* x, const T* a, T m, int64_t d) {
  return first_at_impl(x, a, m, d);
}
template <class T>
__attribute__((BRIDGES_VECTORISE)) int64_t first_at_generic(const T* x, const T* a, T m, int64_t d) {
  return first_at_impl(x, a, m, d);
}
#undef BRIDGES_VECTORISE

template <class T>
using AddSigns = void (*)(T*, const T*, const T*, int64_t, const T*, int64_t, int64_t);
template <class T>
using FirstAt = int64_t (*)(const T*, const T*, T, int64_t);

template <class T>
AddSigns<T> add_signs_for_isa() {
  const std::string_view name = isa();
  return name == "avx512" ? &add_signs_avx512<T> : name == "avx2" ? &add_signs_avx2<T> : &add_signs_generic<T>;
}
template <class T>
FirstAt<T> first_at_for_isa() {
  const std::string_view name = isa();
  return name == "avx512" ? &first_at_avx512<T> : name == "avx2" ? &first_at_avx2<T> : &first_at_generic<T>;
}

template <class T>
T sign(T v) {
  return static_cast<T>(v > 0) - static_cast<T>(v < 0);
}

// Gradients of sum_ij G_ij out_ij with respect to x [n, d] and a [k, d].
// Blocked so that a block of rows and a block of anchors (and the gradient
// rows being summed) stay in L2 while every pair between them is visited:
// unblocked, each row streamed all k anchors from memory and the backward
// took 64 s at n = 10000, k = 1280, d = 768.
template <class T>
void l1_backward(const Tensor& x, const Tensor& a, const Tensor& grad, Tensor* gx, Tensor* ga) {
  constexpr int64_t kBlock = 32;
  const int64_t n = x.size(0), k = a.size(0), d = x.size(1);
  const T* xp = x.data_ptr<T>();
  const T* ap = a.data_ptr<T>();
  const T* g = grad.data_ptr<T>();
  const AddSigns<T> add_signs = add_signs_for_isa<T>();
  // out[r] += sum over the other side's rows c of w(r, c) s(self_r - other_c),
  // rows r split across threads in blocks, the other side visited in blocks.
  const auto accumulate = [&](T* out, const T* self, int64_t rows, const T* other, int64_t others, bool self_is_x) {
    const int64_t blocks = (rows + kBlock - 1) / kBlock;
    at::parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        for (int64_t c0 = 0; c0 < others; c0 += kBlock)
          for (int64_t r = b * kBlock; r < std::min(rows, (b + 1) * kBlock); ++r) {
            // G_rc for x's rows, G_cr (a column of G) for the anchors'.
            const T* w = self_is_x ? g + r * k + c0 : g + c0 * k + r;
            add_signs(out + r * d, self + r * d, other + c0 * d, d, w, self_is_x ? 1 : k,
                      std::min(others, c0 + kBlock) - c0);
          }
    });
  };
  if (gx) {
    *gx = at::zeros({n, d}, x.options());
    accumulate(gx->data_ptr<T>(), xp, n, ap, k, true);
  }
  if (ga) {
    *ga = at::zeros({k, d}, a.options());
    accumulate(ga->data_ptr<T>(), ap, k, xp, n, false);
  }
}

template <class T>
void linf_backward(const Tensor& x, const Tensor& a, const Tensor& out, const Tensor& grad, Tensor* gx, Tensor* ga) {
  const int64_t n = x.size(0), k = a.size(0), d = x.size(1);
  const T* xp = x.data_ptr<T>();
  const T* ap = a.data_ptr<T>();
  const T* g = grad.data_ptr<T>();
  const T* m = out.data_ptr<T>();
  const FirstAt<T> first_at = first_at_for_isa<T>();
  // The coordinate of each pair's maximum, found once for both gradients.
  Tensor where = at::empty({n, k}, at::kLong);
  int64_t* w = where.data_ptr<int64_t>();
  at::parallel_for(0, n, 8, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      for (int64_t j = 0; j < k; ++j)
        w[i * k + j] = g[i * k + j] != 0 && m[i * k + j] > 0 ? first_at(xp + i * d, ap + j * d, m[i * k + j], d) : -1;
  });
  // out[r, t*] += G s(self_r - other_c) at each pair's coordinate t*, rows r
  // split across threads (for the anchors, G and t* are read by column).
  const auto scatter = [&](T* out, const T* self, int64_t rows, const T* other, int64_t others, bool self_is_x) {
    at::parallel_for(0, rows, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = 0; c < others; ++c) {
          const int64_t pair = self_is_x ? r * k + c : c * k + r;
          if (const int64_t t = w[pair]; t >= 0) out[r * d + t] += g[pair] * sign(self[r * d + t] - other[c * d + t]);
        }
    });
  };
  if (gx) {
    *gx = at::zeros({n, d}, x.options());
    scatter(gx->data_ptr<T>(), xp, n, ap, k, true);
  }
  if (ga) {
    *ga = at::zeros({k, d}, a.options());
    scatter(ga->data_ptr<T>(), ap, k, xp, n, false);
  }
}

class Pairwise : public torch::autograd::Function<Pairwise> {
 public:
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& x, const Tensor& anchors,
                        int64_t reduce, Tensor (*compute)(const Tensor&, const Tensor&, Reduce)) {
    const Tensor xc = x.contiguous(), ac = anchors.contiguous();
    Tensor out = compute(xc, ac, static_cast<Reduce>(reduce));
    ctx->saved_data["reduce"] = reduce;
    ctx->save_for_backward({xc, ac, out});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &x = saved[0], &a = saved[1], &out = saved[2];
    const Tensor grad = grads[0].to(x.scalar_type()).contiguous();
    Tensor gx, ga;
    Tensor* want_x = ctx->needs_input_grad(0) ? &gx : nullptr;
    Tensor* want_a = ctx->needs_input_grad(1) ? &ga : nullptr;
    const bool sum = static_cast<Reduce>(ctx->saved_data["reduce"].toInt()) == Reduce::sum;
    if (x.scalar_type() == at::kDouble) {
      if (sum) l1_backward<double>(x, a, grad, want_x, want_a);
      else linf_backward<double>(x, a, out, grad, want_x, want_a);
    } else {
      if (sum) l1_backward<float>(x, a, grad, want_x, want_a);
      else linf_backward<float>(x, a, out, grad, want_x, want_a);
    }
    return {gx, ga, Tensor(), Tensor()};
  }
};

}  // namespace

Tensor differentiable_pairwise(const Tensor& x, const Tensor& anchors, Reduce reduce,
                               Tensor (*forward)(const Tensor&, const Tensor&, Reduce)) {
  return Pairwise::apply(x, anchors, static_cast<int64_t>(reduce), forward);
}

}  // namespace bridges::kernels::detail
