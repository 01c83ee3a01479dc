// Users' pretrained models (a timm or Hugging Face model traced with
// torch.jit.trace) as encoders.
#include <torch/script.h>

#include <ATen/ops/upsample_bilinear2d.h>
#include <fmt/format.h>

#include <bridges/sdk/plugin.hpp>

#include <atomic>
#include <optional>

namespace {

using bridges::Tensor;
using nlohmann::json;

// The options, named like the manifest's (null ones are std::nullopt).
struct TorchScriptOptions {
  std::string path;
  std::string field;
  std::optional<std::string> output;
  int64_t batch_size;
  std::optional<std::vector<int64_t>> resize;
  std::optional<int64_t> channels;
  std::optional<std::vector<double>> mean;
  std::optional<std::vector<double>> std;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TorchScriptOptions, path, field, output, batch_size, resize, channels, mean, std)

class TorchScriptEncoder final : public bridges::sdk::WithOptions<bridges::Encoder, TorchScriptOptions> {
 public:
  explicit TorchScriptEncoder(const json& options) : WithOptions(options) {
    const std::string& path = options_.path;
    try {
      module_ = torch::jit::load(path);
    } catch (const c10::Error& e) {
      throw bridges::IoError(fmt::format("encoder/torchscript: cannot load {}: {}. The file must be a TorchScript "
                                         "module saved with torch.jit.save (of torch.jit.trace or torch.jit.script).",
                                         path, e.what_without_backtrace()));
    }
    module_.eval();
    if (options_.mean) mean_ = per_channel(*options_.mean);
    if (options_.std) std_ = per_channel(*options_.std);
    if (const auto& resize = options_.resize; resize && (resize->size() != 2 || (*resize)[0] < 1 || (*resize)[1] < 1))
      throw bridges::ConfigError(
          fmt::format("encoder/torchscript: \"resize\" must be [h, w], found {}.", json(*resize).dump()));
  }

  std::string type() const override { return "torchscript"; }

  int64_t dim() const override {
    if (dim_ < 0)
      throw bridges::ConfigError("encoder/torchscript: the latent size is known after the first encode (it is the "
                                 "size of the module's output).");
    return dim_;
  }

  Tensor encode(const bridges::Examples& examples) override {
    const Tensor input = examples.field(options_.field);
    const int64_t n = input.size(0), batch = options_.batch_size;
    torch::NoGradGuard no_grad;
    std::vector<Tensor> outputs;
    for (int64_t begin = 0; begin < n; begin += batch) {
      const Tensor x = preprocess(input.narrow(0, begin, std::min(batch, n - begin)));
      outputs.push_back(select(module_.forward({x})).reshape({x.size(0), -1}).to(at::kFloat));
    }
    Tensor z = outputs.empty() ? torch::empty({0, std::max<int64_t>(dim_, 0)}) : torch::cat(outputs);
    dim_ = z.size(1);
    return z;
  }

 private:
  static Tensor per_channel(const std::vector<double>& values) {
    return torch::tensor(values, torch::kFloat).reshape({1, -1, 1, 1});
  }

  Tensor preprocess(Tensor x) const {
    if (!options_.resize && !mean_ && !std_ && !options_.channels) return x;
    if (x.dim() != 4)
      throw bridges::ShapeError(fmt::format("encoder/torchscript: resize, channels, mean and std apply to images "
                                            "[n, c, h, w]; the field is {}.",
                                            bridges::describe(x)));
    x = x.to(at::kFloat);
    if (options_.channels && x.size(1) == 1) x = x.expand({-1, *options_.channels, -1, -1});
    if (options_.resize) x = at::upsample_bilinear2d(x, *options_.resize, /*align_corners=*/false);
    if (mean_) x = x - *mean_;
    if (std_) x = x / *std_;
    return x.contiguous();
  }

  Tensor select(const c10::IValue& out) const {
    if (!options_.output) {
      if (!out.isTensor())
        throw bridges::ConfigError(fmt::format("encoder/torchscript: forward returned a {}, not a tensor: set "
                                               "\"output\" to the element (\"0\") or key to use.",
                                               out.tagKind()));
      return out.toTensor();
    }
    const std::string& key = *options_.output;
    if (out.isGenericDict()) {
      for (const auto& item : out.toGenericDict())
        if (item.key().isString() && item.key().toStringRef() == key) return item.value().toTensor();
      std::vector<std::string> keys;
      for (const auto& item : out.toGenericDict())
        if (item.key().isString()) keys.push_back(item.key().toStringRef());
      throw bridges::ConfigError(fmt::format("encoder/torchscript: forward returned a dict without key \"{}\"; its "
                                             "keys: {}.",
                                             key, fmt::join(keys, ", ")));
    }
    if (out.isTuple() || out.isList()) {
      const auto elements = out.isTuple() ? out.toTupleRef().elements().vec() : out.toListRef().vec();
      std::size_t index = 0;
      try {
        index = std::stoul(key);
      } catch (const std::exception&) {
        throw bridges::ConfigError(fmt::format("encoder/torchscript: forward returned a {} of {}; \"output\" must be "
                                               "an index, found \"{}\".",
                                               out.tagKind(), elements.size(), key));
      }
      if (index >= elements.size())
        throw bridges::ConfigError(fmt::format("encoder/torchscript: \"output\" {} is out of range: forward returned "
                                               "{} elements.",
                                               index, elements.size()));
      return elements[index].toTensor();
    }
    throw bridges::ConfigError(fmt::format("encoder/torchscript: forward returned a {}; \"output\" selects from a "
                                           "tuple, list or dict only.",
                                           out.tagKind()));
  }

  torch::jit::Module module_;
  std::optional<Tensor> mean_, std_;
  std::atomic<int64_t> dim_{-1};
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<TorchScriptEncoder>("torchscript"))
