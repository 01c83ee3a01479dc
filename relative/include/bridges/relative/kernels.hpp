#pragma once
// Pairwise kernels behind the built-in similarities. They take any
// float32/float64 x [n, d] and anchors [k, d] and return [n, k]. Host
// programs may call them directly.

#include <string_view>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges::kernels {

/// cos(x_i, a_j) = <x_i, a_j> / (max(|x_i|, eps) max(|a_j|, eps)): a zero
/// vector has similarity 0 to everything, never NaN. One GEMM with the
/// scaling fused: on AVX-512 the engine below, whose micro-tile scales each
/// value in registers, so the [n, k] result is written once; elsewhere BLAS
/// and one in-place pass. Differentiable.
BRIDGES_API Tensor cosine(const Tensor& x, const Tensor& anchors, double eps = 1e-8);

/// |x_i - a_j|_2 through the GEMM form |x'|^2 + |a'|^2 - 2 <x', a'> on x and
/// anchors shifted by the anchors' mean (x' = x - m, a' = a - m: the
/// distance does not change, and far from the origin the unshifted form
/// loses almost every digit), clamped at 0 before the square root; norms,
/// clamp and root fused like cosine's scaling. Pairs closer than 1/8 of
/// sqrt(|x'|^2 + |a'|^2), where the GEMM form's rounding dominates (d(x, x)
/// would be ~0.04 instead of 0 at d = 768), are computed again from direct
/// differences in float64. Differentiable (the gradient at distance 0 is 0,
/// not NaN; that path centres but does not recompute close pairs).
BRIDGES_API Tensor euclidean(const Tensor& x, const Tensor& anchors);

/// |x_i - a_j|_1 (Manhattan). A cache-blocked, multi-threaded kernel, in
/// AVX-512, AVX2 or portable code chosen for the processor (see isa()).
/// Differentiable with respect to x and anchors: the gradient is
/// sum_j G_ij sign(x_i - a_j) (and the opposite for a_j), with sign(0) = 0,
/// the subgradient of least norm where a coordinate of x_i equals a_j's.
BRIDGES_API Tensor l1(const Tensor& x, const Tensor& anchors);

/// |x_i - a_j|_inf = max_t |x_it - a_jt| (Chebyshev), exact; same kernel.
/// Differentiable: each pair's gradient goes to its largest coordinate t*,
/// G_ij sign(x_it* - a_jt*); where several coordinates tie for the largest,
/// to the first of them (a subgradient), and 0 at distance 0.
BRIDGES_API Tensor linf(const Tensor& x, const Tensor& anchors);

/// (sum_t |x_it - a_jt|^p)^(1/p): the smooth approximation of linf for large
/// p, differentiable everywhere but at ties. Finite p >= 1. Computed as
/// m (sum_t (|x_it - a_jt| / m)^p)^(1/p) with m the L-inf distance, so no p
/// overflows or underflows (cdist's direct powers did, in float32, from
/// p = 100 on ordinary data). O(n k d) powers, in blocks of ~16 MB.
BRIDGES_API Tensor pnorm(const Tensor& x, const Tensor& anchors, double p);

/// The instruction set the pairwise engine uses: "avx512", "avx2" or
/// "generic". The best the processor supports, unless the environment
/// variable BRIDGES_KERNEL_ISA or set_isa() chose another.
BRIDGES_API std::string_view isa();

/// Uses instruction set `name` ("avx512", "avx2", "generic", or "auto" for
/// the best) from now on, in every thread. Throws ConfigError when the
/// processor lacks it, UnknownNameError for another name.
BRIDGES_API void set_isa(std::string_view name);

}  // namespace bridges::kernels
