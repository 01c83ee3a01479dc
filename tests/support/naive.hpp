#pragma once
// Reference implementations: plain loops in float64, written from the
// definitions and sharing no code with the kernels they check.

#include <algorithm>
#include <cmath>

#include <ATen/ops/empty.h>

#include "bridges/tensor.hpp"

namespace bridges::testing {

enum class Metric { cosine, euclidean, l1, linf };

inline Tensor naive_pairwise(const Tensor& x_in, const Tensor& a_in, Metric metric, double p = 0) {
  const Tensor x = x_in.to(at::kDouble).contiguous(), a = a_in.to(at::kDouble).contiguous();
  const int64_t n = x.size(0), k = a.size(0), d = x.size(1);
  Tensor out = at::empty({n, k}, at::TensorOptions().dtype(at::kDouble));
  auto xa = x.accessor<double, 2>();
  auto aa = a.accessor<double, 2>();
  auto oa = out.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) {
      double acc = 0, dot = 0, nx = 0, na = 0;
      for (int64_t t = 0; t < d; ++t) {
        const double diff = std::abs(xa[i][t] - aa[j][t]);
        switch (metric) {
          case Metric::cosine:
            dot += xa[i][t] * aa[j][t];
            nx += xa[i][t] * xa[i][t];
            na += aa[j][t] * aa[j][t];
            break;
          case Metric::euclidean: acc += diff * diff; break;
          case Metric::l1: acc += diff; break;
          case Metric::linf: acc = p > 0 ? acc + std::pow(diff, p) : std::max(acc, diff); break;
        }
      }
      if (metric == Metric::cosine)
        oa[i][j] = (nx == 0 || na == 0) ? 0.0 : dot / (std::sqrt(nx) * std::sqrt(na));
      else if (metric == Metric::euclidean)
        oa[i][j] = std::sqrt(acc);
      else if (metric == Metric::linf && p > 0)
        oa[i][j] = std::pow(acc, 1.0 / p);
      else
        oa[i][j] = acc;
    }
  return out;
}

}  // namespace bridges::testing
