// The product of relative subspaces: how the subspaces of several
// similarity functions become one representation.
#include <torch/torch.h>

#include <fmt/format.h>

#include <bridges/aggregator.hpp>
#include <bridges/relative/projector.hpp>
#include <bridges/sdk/plugin.hpp>

#include <cmath>

namespace {

namespace nn = torch::nn;
using bridges::Tensor;
using nlohmann::json;

// The options, parsed once (fields named like the manifest's options).
struct MergeOptions {
  std::string normalize;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MergeOptions, normalize)

struct AttentionOptions {
  std::string normalize;
  int64_t heads;
  std::optional<int64_t> dim;
  std::string pool;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AttentionOptions, normalize, heads, dim, pool)

// The checks every aggregator shares, and the normalisation of each
// subspace before the merge: row by row without parameters (none, l2,
// standardize), or "layernorm", each subspace through its own LayerNorm(k)
// with a trainable scale and shift per anchor: the method's "normalization
// layer" (appendix A.3), which can also learn to flip a subspace's sign.
template <class Options>
class Base : public bridges::sdk::WithOptions<bridges::Aggregator, Options> {
 public:
  explicit Base(const json& options)
      : bridges::sdk::WithOptions<bridges::Aggregator, Options>(options),
        layer_norm_(this->options_.normalize == "layernorm"),
        norm_(layer_norm_ ? bridges::SubspaceNorm::none : bridges::parse_subspace_norm(this->options_.normalize)) {}

  void build(int64_t s, int64_t k) override { build_norms(s, k); }

 protected:
  // Remembers what the aggregator is built for and registers the
  // per-subspace LayerNorms (for "layernorm"); every build() calls it.
  void build_norms(int64_t s, int64_t k) {
    built_s_ = s;
    built_k_ = k;
    if (!layer_norm_) return;
    nn::ModuleList list;
    for (int64_t i = 0; i < s; ++i) list->push_back(nn::LayerNorm(nn::LayerNormOptions({k})));
    norms_ = this->register_module("norms", list);
  }

  // Each subspace normalised, checked to share n and k, and, once built, to
  // be what the aggregator was built for (concat and sum, which have no
  // parameters, may also be used unbuilt, on any number and width).
  std::vector<Tensor> normalized(const std::vector<Tensor>& subspaces) {
    if (subspaces.empty()) throw bridges::ShapeError(fmt::format("aggregator/{}: no subspaces to aggregate.", this->type()));
    if (built_s_ >= 0) check_built(subspaces);
    if (layer_norm_ && (norms_.is_empty() || norms_->size() != subspaces.size()))
      throw bridges::ConfigError(fmt::format("aggregator/{}: \"normalize\": \"layernorm\" has one LayerNorm per subspace; "
                                             "call build({}, k) before aggregate.",
                                             this->type(), subspaces.size()));
    std::vector<Tensor> out;
    for (std::size_t i = 0; i < subspaces.size(); ++i) {
      const Tensor& r = subspaces[i];
      if (r.dim() != 2 || r.sizes() != subspaces[0].sizes())
        throw bridges::ShapeError(fmt::format("aggregator/{}: subspaces must all be [n, k] of one shape; found {} and {}.",
                                              this->type(), bridges::describe(subspaces[0]), bridges::describe(r)));
      out.push_back(layer_norm_ ? norms_[i]->as<nn::LayerNorm>()->forward(r) : bridges::normalize_subspace(r, norm_));
    }
    return out;
  }

  void check_built(const std::vector<Tensor>& subspaces) const {
    if (built_s_ < 0)
      throw bridges::ConfigError(fmt::format("aggregator/{}: call build(num_subspaces, k) before aggregate.", this->type()));
    const int64_t k = subspaces.empty() || subspaces[0].dim() != 2 ? -1 : subspaces[0].size(1);
    if (static_cast<int64_t>(subspaces.size()) != built_s_ || (k >= 0 && k != built_k_))
      throw bridges::ShapeError(fmt::format("aggregator/{}: built for {} subspaces of {} anchors, given {} of {}.",
                                            this->type(), built_s_, built_k_, subspaces.size(), k));
  }

  int64_t built_s_ = -1, built_k_ = -1;  ///< what build() was given; -1 before
  bool layer_norm_;
  bridges::SubspaceNorm norm_;
  nn::ModuleList norms_{nullptr};
};

class Concat final : public Base<MergeOptions> {
 public:
  using Base::Base;
  std::string type() const override { return "concat"; }
  Tensor aggregate(const std::vector<Tensor>& subspaces) override { return torch::cat(normalized(subspaces), 1); }
  int64_t output_dim(int64_t s, int64_t k) const override { return s * k; }
};

class Sum final : public Base<MergeOptions> {
 public:
  using Base::Base;
  std::string type() const override { return "sum"; }
  Tensor aggregate(const std::vector<Tensor>& subspaces) override {
    const auto parts = normalized(subspaces);
    Tensor out = parts[0].clone();
    for (std::size_t i = 1; i < parts.size(); ++i) out += parts[i];
    return out;
  }
  int64_t output_dim(int64_t, int64_t k) const override { return k; }
};

// One LayerNorm(k) -> Linear(k, k) -> Tanh per subspace. The LayerNorm has
// no affine parameters: a per-feature scale and shift right before a Linear
// folds into the Linear's weights, so it adds nothing the model can express,
// while training it needs the gradient with respect to the Linear's input,
// a third of the cost of training these k x k layers (bench_stitching:
// mlp_sum on 4 subspaces fits 1.4x faster without it).
nn::ModuleList subspace_mlps(int64_t s, int64_t k) {
  nn::ModuleList list;
  for (int64_t i = 0; i < s; ++i)
    list->push_back(nn::Sequential(nn::LayerNorm(nn::LayerNormOptions({k}).elementwise_affine(false)), nn::Linear(k, k),
                                   nn::Tanh()));
  return list;
}

std::vector<Tensor> through_mlps(nn::ModuleList& mlps, const std::vector<Tensor>& parts) {
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < parts.size(); ++i) out.push_back(mlps[i]->as<nn::Sequential>()->forward(parts[i]));
  return out;
}

class MlpSum final : public Base<MergeOptions> {
 public:
  using Base::Base;
  std::string type() const override { return "mlp_sum"; }
  void build(int64_t s, int64_t k) override {
    build_norms(s, k);
    mlps_ = register_module("mlps", subspace_mlps(s, k));
  }
  Tensor aggregate(const std::vector<Tensor>& subspaces) override {
    check_built(subspaces);
    const auto parts = through_mlps(mlps_, normalized(subspaces));
    Tensor out = parts[0];
    for (std::size_t i = 1; i < parts.size(); ++i) out = out + parts[i];
    return out;
  }
  int64_t output_dim(int64_t, int64_t k) const override { return k; }

 private:
  nn::ModuleList mlps_{nullptr};
};

// Each subspace is a token. Multi-head scaled dot-product attention over the
// tokens (projections q, k, v, out; a residual connection), then the tokens
// are pooled by mean or sum. With "mlp", each subspace first goes through its
// own LayerNorm -> Linear -> Tanh. With "dim", tokens are first projected
// from k to dim (k must otherwise divide by heads).
class SelfAttention : public Base<AttentionOptions> {
 public:
  SelfAttention(const json& options, bool mlp, std::string name) : Base(options), mlp_(mlp), name_(std::move(name)) {}
  std::string type() const override { return name_; }

  void build(int64_t s, int64_t k) override {
    const int64_t heads = options_.heads;
    d_ = options_.dim.value_or(k);
    if (d_ % heads != 0)
      throw bridges::ConfigError(fmt::format("aggregator/{}: the token size ({}) must be a multiple of \"heads\" ({}); "
                                             "set \"dim\" to a multiple of it.",
                                             type(), d_, heads));
    build_norms(s, k);
    if (mlp_) mlps_ = register_module("mlps", subspace_mlps(s, k));
    if (d_ != k) embed_ = register_module("embed", nn::Linear(k, d_));
    q_ = register_module("q", nn::Linear(d_, d_));
    k_proj_ = register_module("k", nn::Linear(d_, d_));
    v_ = register_module("v", nn::Linear(d_, d_));
    out_ = register_module("out", nn::Linear(d_, d_));
  }

  Tensor aggregate(const std::vector<Tensor>& subspaces) override {
    check_built(subspaces);
    auto parts = normalized(subspaces);
    if (mlp_) parts = through_mlps(mlps_, parts);
    Tensor tokens = torch::stack(parts, 1);  // [n, s, k]
    if (!embed_.is_empty()) tokens = embed_->forward(tokens);
    const int64_t n = tokens.size(0), heads = options_.heads, hd = d_ / heads;
    const auto split = [&](const Tensor& t) { return t.view({n, built_s_, heads, hd}).transpose(1, 2); };  // [n, h, s, hd]
    const Tensor q = split(q_->forward(tokens)), key = split(k_proj_->forward(tokens)), v = split(v_->forward(tokens));
    const Tensor weights = torch::softmax(q.matmul(key.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd)), -1);
    attention_ = weights.detach();
    const Tensor mixed = weights.matmul(v).transpose(1, 2).reshape({n, built_s_, d_});
    const Tensor out = tokens + out_->forward(mixed);
    return options_.pool == "sum" ? out.sum(1) : out.mean(1);
  }

  int64_t output_dim(int64_t, int64_t k) const override { return options_.dim.value_or(k); }
  Tensor attention() const override { return attention_; }

 private:
  bool mlp_;
  std::string name_;
  nn::ModuleList mlps_{nullptr};
  nn::Linear embed_{nullptr}, q_{nullptr}, k_proj_{nullptr}, v_{nullptr}, out_{nullptr};
  int64_t s_ = -1, k_ = -1, d_ = 0;
  Tensor attention_;
};

struct PlainAttention final : SelfAttention {
  explicit PlainAttention(const json& options) : SelfAttention(options, false, "self_attention") {}
};
struct MlpAttention final : SelfAttention {
  explicit MlpAttention(const json& options) : SelfAttention(options, true, "mlp_self_attention") {}
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<Concat>("concat"),
               bridges::sdk::component<Sum>("sum"),
               bridges::sdk::component<MlpSum>("mlp_sum"),
               bridges::sdk::component<PlainAttention>("self_attention"),
               bridges::sdk::component<MlpAttention>("mlp_self_attention"))
