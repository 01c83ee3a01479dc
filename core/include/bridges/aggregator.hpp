#pragma once
// Merges relative subspaces into one product space. This header pulls in
// torch::nn::Module; include it only where aggregators are used.

#include <torch/nn/module.h>

#include <vector>

#include "bridges/component.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// A (possibly trainable) merge of relative subspaces into the product
/// space, following LibTorch's frontend: trainable parts are registered
/// parameters and submodules, trained together with the decoder on top.
///
/// Example:
///   auto agg = source.make<bridges::Aggregator>("mlp_sum");
///   agg->build(2, k);                                    // 2 subspaces of k anchors
///   bridges::Tensor z = agg->aggregate({cosine_r, l1_r});  // [n, agg->output_dim(2, k)]
class BRIDGES_API Aggregator : public torch::nn::Module, public Component {
 public:
  static constexpr ComponentKind kind = ComponentKind::aggregator;

  /// Creates the trainable parts for `num_subspaces` subspaces of `k`
  /// anchors; called once, before training (parameters are drawn from
  /// LibTorch's global generator: seed it first). Default: nothing to create.
  virtual void build(int64_t num_subspaces, int64_t k) {}

  /// One or more subspaces, each [n, k] (same n and k, as built) ->
  /// [n, output_dim(num_subspaces, k)].
  virtual Tensor aggregate(const std::vector<Tensor>& subspaces) = 0;

  /// Width of the product space for `num_subspaces` subspaces of `k` anchors.
  virtual int64_t output_dim(int64_t num_subspaces, int64_t k) const = 0;

  /// The attention weights of the last aggregate() call, [n, heads, s, s]
  /// (rows: queries, columns: the subspaces attended to), for aggregators
  /// that attend; undefined otherwise. Attention aggregators name their
  /// query, key and value projections "q", "k" and "v", so that stitch-time
  /// fine-tuning can train those alone.
  virtual Tensor attention() const { return {}; }
};

}  // namespace bridges
