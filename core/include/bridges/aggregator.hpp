#pragma once
// Merges relative subspaces into one product space. This header pulls in
// torch::nn::Module; include it only where aggregators are used.

#include <torch/nn/module.h>

#include <vector>

#include "bridges/component.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// A (possibly trainable) merge of relative subspaces, following LibTorch's
/// frontend: trainable parts are registered parameters and submodules.
///
/// Example:
///   auto sum = source.make<bridges::Aggregator>("sum");
///   bridges::Tensor z = sum->aggregate({cosine_r, l1_r});  // [n, k]
class BRIDGES_API Aggregator : public torch::nn::Module, public Component {
 public:
  static constexpr ComponentKind kind = ComponentKind::aggregator;

  /// One or more subspaces, each [n, k] (same n and k) -> [n, output_dim()].
  virtual Tensor aggregate(const std::vector<Tensor>& subspaces) = 0;

  /// Width of the product space for `num_subspaces` subspaces of `k` anchors.
  virtual int64_t output_dim(int64_t num_subspaces, int64_t k) const = 0;
};

}  // namespace bridges
