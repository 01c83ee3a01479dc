#pragma once
// Private to the core: autograd for the L1 / L-inf engine.

#include "bridges/tensor.hpp"
#include "pairwise.hpp"

namespace bridges::kernels::detail {

/// The engine's result as a differentiable function of x and anchors.
/// `forward(x, anchors, reduce)` computes the values (without autograd); the
/// gradients come from the backward kernels in pairwise_grad.cpp.
Tensor differentiable_pairwise(const Tensor& x, const Tensor& anchors, Reduce reduce,
                               Tensor (*forward)(const Tensor&, const Tensor&, Reduce));

}  // namespace bridges::kernels::detail
