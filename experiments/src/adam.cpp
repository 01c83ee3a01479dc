#include "bridges/experiments/adam.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <fmt/format.h>

#include <cmath>

#include "bridges/error.hpp"

namespace bridges {

namespace {

// Elements per task: large enough that a task's loop dominates its
// scheduling, small enough that both threads get work on a 1280 x 1280
// layer.
constexpr int64_t kGrain = 1 << 15;

struct Coefficients {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bias2, eps, neg_step_size;
};

// The update of elements [begin, end), written as LibTorch 1.13's Adam
// computes it: exp_avg.mul_(b1).add_(g, 1 - b1);
// exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2);
// denom = exp_avg_sq.sqrt() / sqrt(bias_correction2) + eps;
// p.addcdiv_(exp_avg, denom, -lr / bias_correction1).
void update(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t begin,
            int64_t end, const Coefficients& c) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    const float gi = g[i];
    const float mi = m[i] * c.beta1 + c.one_minus_beta1 * gi;
    const float vi = v[i] * c.beta2 + c.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / c.sqrt_bias2 + c.eps;
    p[i] += c.neg_step_size * mi / denom;
  }
}

}  // namespace

FusedAdam::FusedAdam(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps)
    : params_(std::move(params)), steps_(params_.size(), 0), lr_(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {
  for (const auto& p : params_) {
    if (p.scalar_type() != at::kFloat || !p.is_contiguous() || p.device().type() != at::kCPU)
      throw ShapeError(fmt::format("Adam: parameters must be contiguous float32 tensors on the CPU, found {}.",
                                   describe(p)));
    exp_avg_.push_back(at::zeros_like(p));
    exp_avg_sq_.push_back(at::zeros_like(p));
  }
}

void FusedAdam::zero_grad() {
  for (auto& p : params_) p.mutable_grad().reset();
}

void FusedAdam::step() {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    const Tensor g = p.grad().contiguous();
    const int64_t step = ++steps_[i];
    const double bias1 = 1 - std::pow(beta1_, static_cast<double>(step));
    const double bias2 = 1 - std::pow(beta2_, static_cast<double>(step));
    const Coefficients c{static_cast<float>(beta1_),
                         static_cast<float>(1 - beta1_),
                         static_cast<float>(beta2_),
                         static_cast<float>(1 - beta2_),
                         static_cast<float>(std::sqrt(bias2)),
                         static_cast<float>(eps_),
                         static_cast<float>(-lr_ / bias1)};
    float* pp = p.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float* mp = exp_avg_[i].data_ptr<float>();
    float* vp = exp_avg_sq_[i].data_ptr<float>();
    at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) { update(pp, gp, mp, vp, begin, end, c); });
  }
}

}  // namespace bridges
