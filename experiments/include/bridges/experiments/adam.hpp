// Adam (Kingma & Ba, LibTorch's defaults: betas 0.9 / 0.999, eps 1e-8, no
// weight decay) as one pass over each parameter's memory.
//
// Why not torch::optim::Adam: its step is seven ATen operations per
// parameter (two of them allocate), each a pass over parameter-sized
// memory. The relative decoders hold millions of parameters updated after
// every batch of 512 (mlp_sum on 4 x 1280 anchors: 6.9 M). Fused, the step
// reads parameter, gradient and both moments once and writes three of them
// once: an mlp_sum epoch on 20000 examples went from 3.99 s to 3.52 s
// (bench_stitching --method-scale), and Adam is now about 10 % of the
// calling thread's time (perf).
//
// Same arithmetic as torch::optim::Adam 1.13, step by step and in the same
// order, in float; results agree with it to rounding (the tests compare
// them).
#pragma once

#include <cstdint>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// The optimiser of every relative decoder (RelativeClassifier and
/// RelativeReconstructor: training and stitch-time fine-tuning). Parameters
/// must be contiguous float32 CPU tensors (ShapeError otherwise); a
/// parameter without a gradient is left as it is, its step not counted.
class BRIDGES_API FusedAdam {
 public:
  FusedAdam(std::vector<Tensor> params, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);

  /// Forgets every gradient (undefined, not zero-filled: the next backward
  /// writes fresh ones instead of adding to a zeroed pass of memory).
  void zero_grad();
  /// One update of every parameter that has a gradient.
  void step();

 private:
  std::vector<Tensor> params_, exp_avg_, exp_avg_sq_;
  std::vector<int64_t> steps_;  ///< per parameter, as LibTorch counts them
  double lr_, beta1_, beta2_, eps_;
};

}  // namespace bridges
