#include "bridges/experiments/stitching.hpp"
#include "bridges/experiments/adam.hpp"

#include "bridges/aggregator.hpp"

#include <torch/torch.h>

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "bridges/error.hpp"
#include "bridges/util/progress.hpp"
#include "bridges/util/random.hpp"
#include "bridges/util/runtime.hpp"
#include "bridges/util/subsets.hpp"

namespace bridges {

using nlohmann::json;
namespace nn = torch::nn;

DecoderOptions DecoderOptions::from_json(const json& j) {
  DecoderOptions o;
  o.hidden = j.value("hidden", o.hidden);
  o.epochs = j.value("epochs", o.epochs);
  o.batch_size = j.value("batch_size", o.batch_size);
  o.lr = j.value("lr", o.lr);
  o.patience = j.value("patience", o.patience);
  o.max_epochs = j.value("max_epochs", o.max_epochs);
  o.val_fraction = j.value("val_fraction", o.val_fraction);
  return o;
}

json DecoderOptions::to_json() const {
  json out{{"hidden", hidden}, {"epochs", epochs}, {"batch_size", batch_size}, {"lr", lr}};
  if (patience > 0) {
    out["patience"] = patience;
    out["max_epochs"] = max_epochs;
    out["val_fraction"] = val_fraction;
  }
  return out;
}

int64_t DecoderOptions::validation_size(int64_t n) const {
  return patience > 0 ? static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(n))) : 0;
}

Scores classification_scores(const Tensor& predicted, const Tensor& labels, int64_t classes) {
  if (predicted.sizes() != labels.sizes() || predicted.dim() != 1)
    throw ShapeError(fmt::format("classification scores: predictions {} and labels {} must both be [n].",
                                 describe(predicted), describe(labels)));
  const int64_t n = labels.size(0);
  if (n == 0) return {};
  const Tensor p = predicted.to(at::kLong), l = labels.to(at::kLong);
  const Tensor confusion = torch::bincount(l * classes + p, {}, classes * classes).reshape({classes, classes}).to(at::kDouble);
  const Tensor tp = confusion.diagonal();
  const Tensor fp = confusion.sum(0) - tp, fn = confusion.sum(1) - tp;
  const Tensor denominator = 2 * tp + fp + fn;
  const Tensor present = denominator > 0;
  const Tensor f1 = torch::where(present, 2 * tp / denominator.clamp_min(1), torch::zeros_like(tp));
  Scores s;
  s.accuracy = tp.sum().item<double>() / static_cast<double>(n);
  s.macro_f1 = f1.sum().item<double>() / std::max<double>(1.0, present.sum().item<double>());
  return s;
}

// Not an anonymous namespace: the pimpl structs below hold a Net, and a
// member of an internal-linkage type in an external class draws
// -Wsubobject-linkage.
namespace decoder_detail {

constexpr int64_t kEvalBatch = 1024;

// aggregator (optional) -> decoder.
struct Net : nn::Module {
  std::shared_ptr<Aggregator> aggregator;
  nn::Sequential decoder{nullptr};
  int64_t num_subspaces = 0, k = 0;

  Tensor forward(const std::vector<Tensor>& subspaces) {
    if (static_cast<int64_t>(subspaces.size()) != num_subspaces)
      throw ShapeError(fmt::format("relative decoder: built for {} subspaces, given {}.", num_subspaces, subspaces.size()));
    return decoder->forward(aggregator ? aggregator->aggregate(subspaces) : subspaces[0]);
  }
};

// Builds aggregator parts and decoder with LibTorch's generator seeded, so
// a seed always gives the same initial weights.
void build(Net& net, std::shared_ptr<Aggregator> aggregator, int64_t s, int64_t k, uint64_t seed,
           const std::function<nn::Sequential(int64_t input)>& decoder) {
  if (!aggregator && s != 1)
    throw ConfigError(fmt::format("relative decoder: without an aggregator the input must be one subspace, given {}.", s));
  std::lock_guard lock(torch_rng_mutex());
  torch::manual_seed(seed);
  net.num_subspaces = s;
  net.k = k;
  int64_t input = k;
  if (aggregator) {
    aggregator->build(s, k);
    input = aggregator->output_dim(s, k);
    net.aggregator = net.register_module("aggregator", aggregator);
  }
  net.decoder = net.register_module("decoder", decoder(input));
}

std::vector<Tensor> rows_of(const std::vector<Tensor>& subspaces, const Tensor& rows) {
  std::vector<Tensor> out;
  for (const auto& r : subspaces) out.push_back(r.index_select(0, rows));
  return out;
}

void check_inputs(const Net& net, const std::vector<Tensor>& subspaces, int64_t n) {
  for (const auto& r : subspaces)
    if (r.dim() != 2 || r.size(0) != n || r.size(1) != net.k)
      throw ShapeError(fmt::format("relative decoder: every subspace must be [{}, {}], found {}.", n, net.k, describe(r)));
}

using Loss = std::function<Tensor(const Tensor& out, const Tensor& target)>;

// The rows held out for validation: a seeded stratified subset of
// `fraction` of the n examples when `strata` (labels) is defined, else a
// seeded uniform one. Seed 0 for every decoder: one validation set per
// training set. Sorted.
Tensor validation_rows(const Tensor& strata, int64_t n, const DecoderOptions& o, const std::string& label) {
  const double fraction = o.val_fraction;
  const int64_t count = o.validation_size(n);
  if (count < 1 || count >= n)
    throw ConfigError(fmt::format("{}: val_fraction {} of {} training examples leaves {} for validation and {} for "
                                  "training; both need at least one (raise the fraction or the number of examples).",
                                  label, fraction, n, count, n - count));
  if (strata.defined()) return std::get<0>(stratified_subset(strata, count, 0).sort());
  std::mt19937_64 rng(0);
  return std::get<0>(permutation(n, rng).narrow(0, 0, count).sort());
}

// The mean loss over `rows`, in evaluation mode, in batches, without gradients.
double mean_loss(Net& net, const std::vector<Tensor>& subspaces, const Tensor& targets, const Tensor& rows,
                 const Loss& loss) {
  torch::NoGradGuard no_grad;
  net.eval();
  const int64_t n = rows.size(0);
  double sum = 0;
  for (int64_t begin = 0; begin < n; begin += kEvalBatch) {
    const Tensor batch = rows.narrow(0, begin, std::min(kEvalBatch, n - begin));
    sum += loss(net.forward(rows_of(subspaces, batch)), targets.index_select(0, batch)).item<double>() *
           static_cast<double>(batch.size(0));
  }
  net.train();
  return sum / static_cast<double>(n);
}

// Copies of every parameter and buffer, to restore the best epoch's weights.
std::vector<Tensor> snapshot(const Net& net) {
  std::vector<Tensor> out;
  for (const auto& p : net.parameters()) out.push_back(p.detach().clone());
  for (const auto& b : net.buffers()) out.push_back(b.detach().clone());
  return out;
}

void restore(Net& net, const std::vector<Tensor>& saved) {
  torch::NoGradGuard no_grad;
  std::size_t i = 0;
  for (auto& p : net.parameters()) p.copy_(saved[i++]);
  for (auto& b : net.buffers()) b.copy_(saved[i++]);
}

// Adam on `params` over shuffled batches: `epochs` passes, or exactly
// `steps` steps when steps > 0, or (patience > 0) early stopping on a
// held-out part of the examples (see DecoderOptions); `strata` (labels, or
// undefined) stratifies the held-out part.
FitReport train(Net& net, const std::vector<Tensor>& params, const std::vector<Tensor>& subspaces,
                const Tensor& targets, const Tensor& strata, const Loss& loss, const DecoderOptions& o, int64_t steps,
                double lr, uint64_t seed, const std::string& label) {
  const GemmBoundScope gemm_bound;  // util/runtime.hpp: the BLAS and LibTorch's threads must not spin against each other
  const int64_t n = targets.size(0), batch = o.batch_size;
  check_inputs(net, subspaces, n);
  if (n == 0) throw ConfigError(fmt::format("{}: no training examples.", label));
  const bool early = steps <= 0 && o.patience > 0;
  Tensor train_rows = at::arange(n, at::TensorOptions().dtype(at::kLong)), val_rows;
  if (early) {
    val_rows = validation_rows(strata, n, o, label);
    Tensor keep = torch::ones({n}, torch::kBool);
    keep.index_fill_(0, val_rows, false);
    train_rows = keep.nonzero().flatten();
  }
  const int64_t m = train_rows.size(0);
  net.train();
  FusedAdam optimizer(params, lr);
  std::mt19937_64 rng(seed);
  const int64_t max_epochs = early ? o.max_epochs : o.epochs;
  const int64_t total = steps > 0 ? steps * std::min(batch, m) : max_epochs * m;
  Progress progress(label, total, "ex");
  int64_t done = 0, step = 0, epoch = 0, since_best = 0;
  double loss_sum = 0, loss_count = 0;
  FitReport report;
  report.val_loss = NAN;
  std::vector<Tensor> best;
  while (steps > 0 ? step < steps : epoch < max_epochs) {
    const Tensor order = train_rows.index_select(0, permutation(m, rng));
    for (int64_t begin = 0; begin < m && (steps <= 0 || step < steps); begin += batch, ++step) {
      const Tensor rows = order.narrow(0, begin, std::min(batch, m - begin));
      optimizer.zero_grad();
      const Tensor value = loss(net.forward(rows_of(subspaces, rows)), targets.index_select(0, rows));
      value.backward();
      optimizer.step();
      loss_sum += value.item<double>() * static_cast<double>(rows.size(0));
      loss_count += static_cast<double>(rows.size(0));
      done += rows.size(0);
      progress.update(done, {{"loss", loss_sum / loss_count}});
    }
    ++epoch;
    if (!early) continue;
    const double val = mean_loss(net, subspaces, targets, val_rows, loss);
    if (!std::isfinite(val))
      throw NonFiniteError(fmt::format("{}: the validation loss is {} after epoch {}; lower the learning rate.", label,
                                     val, epoch));
    if (best.empty() || val < report.val_loss) {
      report.val_loss = val;
      report.best_epoch = epoch;
      best = snapshot(net);
      since_best = 0;
    } else if (++since_best >= o.patience) {
      break;
    }
  }
  if (early) restore(net, best);
  report.epochs = epoch;
  if (!early) report.best_epoch = epoch;
  Progress::Metrics final{{"loss", loss_count > 0 ? loss_sum / loss_count : 0.0}};
  if (early) {
    final.emplace_back("epochs", static_cast<double>(epoch));
    final.emplace_back("best epoch", static_cast<double>(report.best_epoch));
    final.emplace_back("val loss", report.val_loss);
  }
  progress.finish(final, done);
  net.eval();
  return report;
}

// forward in evaluation mode, in batches, without gradients.
Tensor evaluate(Net& net, const std::vector<Tensor>& subspaces) {
  if (subspaces.empty()) throw ShapeError("relative decoder: no subspaces given.");
  const int64_t n = subspaces[0].size(0);
  check_inputs(net, subspaces, n);
  const GemmBoundScope gemm_bound;
  torch::NoGradGuard no_grad;
  net.eval();
  std::vector<Tensor> parts;
  for (int64_t begin = 0; begin < n; begin += kEvalBatch) {
    std::vector<Tensor> batch;
    for (const auto& r : subspaces) batch.push_back(r.narrow(0, begin, std::min(kEvalBatch, n - begin)));
    parts.push_back(net.forward(batch));
  }
  return parts.empty() ? torch::empty({0}) : torch::cat(parts);
}

}  // namespace decoder_detail

using namespace decoder_detail;

struct RelativeClassifier::Impl {
  Net net;
  DecoderOptions options;
  int64_t classes;
};

RelativeClassifier::RelativeClassifier(std::shared_ptr<Aggregator> aggregator, int64_t num_subspaces, int64_t k,
                                       int64_t classes, DecoderOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->classes = classes;
  const int64_t hidden = options.hidden;
  build(impl_->net, std::move(aggregator), num_subspaces, k, options.seed, [&](int64_t input) {
    return nn::Sequential(nn::LayerNorm(nn::LayerNormOptions({input})), nn::Linear(input, hidden), nn::Tanh(),
                          nn::Linear(hidden, classes));
  });
}

RelativeClassifier::~RelativeClassifier() = default;

namespace {

// Class labels as a classifier trains on them: [n] of an integer type (a
// float label would be truncated to a class without a word), each in
// [0, classes). Returns them as int64.
Tensor class_labels(const Tensor& labels, int64_t classes, const char* where) {
  if (!labels.defined() || labels.dim() != 1 || at::isFloatingType(labels.scalar_type()) ||
      labels.scalar_type() == at::kBool)
    throw ShapeError(fmt::format("relative decoder: {}: labels must be class indices [n] of an integer type, found {}.",
                                 where, labels.defined() ? describe(labels) : std::string("none")));
  const Tensor y = labels.to(at::kLong);
  if (y.numel() > 0) {
    const int64_t low = y.min().item<int64_t>(), high = y.max().item<int64_t>();
    if (low < 0 || high >= classes)
      throw ShapeError(fmt::format("relative decoder: {}: labels must lie in [0, {}) for {} classes, found {} to {}.",
                                   where, classes, classes, low, high));
  }
  return y;
}

}  // namespace

FitReport RelativeClassifier::fit(const std::vector<Tensor>& subspaces, const Tensor& labels, const std::string& label) {
  const auto& o = impl_->options;
  const Tensor y = class_labels(labels, impl_->classes, "fit");
  return train(impl_->net, impl_->net.parameters(), subspaces, y, y,
               [](const Tensor& out, const Tensor& t) { return torch::cross_entropy_loss(out, t); }, o, 0, o.lr, o.seed,
               label);
}

Tensor RelativeClassifier::logits(const std::vector<Tensor>& subspaces) { return evaluate(impl_->net, subspaces); }

Tensor RelativeClassifier::predict(const std::vector<Tensor>& subspaces) { return logits(subspaces).argmax(1); }

int64_t RelativeClassifier::finetune(const std::string& params, int64_t steps, double lr,
                                     const std::vector<Tensor>& subspaces, const Tensor& labels, uint64_t seed) {
  Net& net = impl_->net;
  std::vector<Tensor> chosen;
  if (params == "head") {
    // The whole classification head after the aggregator (LayerNorm, both
    // Linear layers): the method's "MLP opt", which it compares with QKV.
    chosen = net.decoder->parameters();
  } else if (params == "qkv") {
    if (net.aggregator)
      for (const auto& item : net.aggregator->named_parameters()) {
        const std::string& name = item.key();
        const auto dot = name.rfind('.');
        const std::string module = dot == std::string::npos ? "" : name.substr(0, dot);
        const std::string last = module.substr(module.rfind('.') == std::string::npos ? 0 : module.rfind('.') + 1);
        if (last == "q" || last == "k" || last == "v") chosen.push_back(item.value());
      }
    if (chosen.empty())
      throw ConfigError(fmt::format("fine-tuning \"qkv\" needs an attention aggregator (self_attention or "
                                    "mlp_self_attention); {} has no q, k, v projections.",
                                    net.aggregator ? net.aggregator->type() : std::string("the absolute decoder")));
  } else {
    throw ConfigError(fmt::format("fine-tuning: \"params\" must be \"qkv\" or \"head\", found \"{}\".", params));
  }
  train(net, chosen, subspaces, class_labels(labels, impl_->classes, "finetune"), Tensor(),
        [](const Tensor& out, const Tensor& y) { return torch::cross_entropy_loss(out, y); }, impl_->options, steps, lr,
        seed, fmt::format("fine-tune {}", params));
  int64_t count = 0;
  for (const auto& p : chosen) count += p.numel();
  return count;
}

void RelativeClassifier::copy_weights(const RelativeClassifier& trained) {
  const auto into = impl_->net.named_parameters(), from = trained.impl_->net.named_parameters();
  const auto into_buffers = impl_->net.named_buffers(), from_buffers = trained.impl_->net.named_buffers();
  const auto mismatch = [&] {
    return ShapeError(fmt::format("relative decoder: cannot copy weights between decoders of different shapes "
                                  "({} and {} parameters); build both with the same aggregator and sizes.",
                                  from.size(), into.size()));
  };
  if (into.size() != from.size() || into_buffers.size() != from_buffers.size()) throw mismatch();
  torch::NoGradGuard no_grad;
  for (const auto& item : from) {
    const Tensor* target = into.find(item.key());
    if (target == nullptr || target->sizes() != item.value().sizes()) throw mismatch();
    target->copy_(item.value());
  }
  for (const auto& item : from_buffers) {
    const Tensor* target = into_buffers.find(item.key());
    if (target == nullptr || target->sizes() != item.value().sizes()) throw mismatch();
    target->copy_(item.value());
  }
}

Tensor RelativeClassifier::mean_attention(const std::vector<Tensor>& subspaces) {
  Net& net = impl_->net;
  if (!net.aggregator) return {};
  const GemmBoundScope gemm_bound;
  torch::NoGradGuard no_grad;
  net.eval();
  const int64_t n = subspaces.at(0).size(0);
  Tensor sum;
  for (int64_t begin = 0; begin < n; begin += kEvalBatch) {
    std::vector<Tensor> batch;
    for (const auto& r : subspaces) batch.push_back(r.narrow(0, begin, std::min(kEvalBatch, n - begin)));
    net.forward(batch);
    const Tensor a = net.aggregator->attention();  // [b, heads, s, s]
    if (!a.defined()) return {};
    const Tensor part = a.sum({0}).mean({0}).mean({0});  // [s]: summed over samples, averaged over heads and queries
    sum = sum.defined() ? sum + part : part;
  }
  return sum.defined() ? sum / static_cast<double>(n) : Tensor();
}

struct RelativeReconstructor::Impl {
  Net net;
  DecoderOptions options;
  std::vector<int64_t> shape;
};

RelativeReconstructor::RelativeReconstructor(std::shared_ptr<Aggregator> aggregator, int64_t num_subspaces, int64_t k,
                                             std::vector<int64_t> image_shape, DecoderOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->shape = std::move(image_shape);
  int64_t pixels = 1;
  for (int64_t d : impl_->shape) pixels *= d;
  const int64_t hidden = options.hidden;
  build(impl_->net, std::move(aggregator), num_subspaces, k, options.seed, [&](int64_t input) {
    return nn::Sequential(nn::LayerNorm(nn::LayerNormOptions({input})), nn::Linear(input, hidden), nn::ReLU(),
                          nn::Linear(hidden, pixels));
  });
}

RelativeReconstructor::~RelativeReconstructor() = default;

FitReport RelativeReconstructor::fit(const std::vector<Tensor>& subspaces, const Tensor& images,
                                     const std::string& label) {
  const auto& o = impl_->options;
  return train(impl_->net, impl_->net.parameters(), subspaces, images.flatten(1).to(at::kFloat), Tensor(),
               [](const Tensor& out, const Tensor& y) { return torch::mse_loss(out, y); }, o, 0, o.lr, o.seed, label);
}

Tensor RelativeReconstructor::reconstruct(const std::vector<Tensor>& subspaces) {
  std::vector<int64_t> shape{-1};
  shape.insert(shape.end(), impl_->shape.begin(), impl_->shape.end());
  return evaluate(impl_->net, subspaces).reshape(shape);
}

double RelativeReconstructor::mse(const std::vector<Tensor>& subspaces, const Tensor& images) {
  return (reconstruct(subspaces) - images.to(at::kFloat)).pow(2).mean().item<double>();
}

}  // namespace bridges
