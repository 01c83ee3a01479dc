// Relative decoders: how long training and evaluating one takes, for every
// aggregator, on one subspace and on the product of four, at the main job's
// sizes (k = 1280 anchors, 5000 training examples, batch 512, 10 classes).
// The main job trains 18 decoders per projection set and aggregator and
// scores each on 6 encoders, so these figures set its run time.
// 2 threads unless BRIDGES_BENCH_THREADS says otherwise.
//
//   build/release/bin/bench_stitching
#include <ATen/Parallel.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "bridges/aggregator.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/tensor.hpp"
#include "bridges/util/runtime.hpp"
#include "bench_support.hpp"

using bench::seconds;

int main() {
  bridges::keep_freed_memory();
  bench::use_bench_threads();
  bridges::Registry registry({BRIDGES_BENCH_PLUGIN_DIR});
  const int64_t n = 5000, k = 1280, classes = 10, evaluated = 5000;
  bridges::DecoderOptions options;
  options.epochs = 3;
  options.batch_size = 512;
  options.lr = 0.002;
  const bridges::Tensor labels = at::randint(classes, {n}, at::kLong);
  std::vector<bridges::Tensor> spaces;
  for (int i = 0; i < 4; ++i) spaces.push_back(at::randn({n, k}));
  fmt::print("bridges stitching benchmark: {} examples x {} anchors, {} epochs, batch {}, {} threads\n\n", n, k,
             options.epochs, options.batch_size, at::get_num_threads());
  fmt::print("  {:<26} {:>9} {:>10} {:>12} {:>14}\n", "aggregator", "subspaces", "fit (s)", "examples/s",
             "evaluate 5000");
  // The attention aggregators with their default token size (k) and with
  // the paper-scale pipeline's (256).
  const std::vector<nlohmann::json> aggregators{
      {{"type", "concat"}},         {{"type", "sum"}},
      {{"type", "mlp_sum"}},        {{"type", "self_attention"}},
      {{"type", "self_attention"}, {"dim", 256}}, {{"type", "mlp_self_attention"}},
      {{"type", "mlp_self_attention"}, {"dim", 256}}};
  for (const auto& spec : aggregators)
    for (const std::size_t s : {std::size_t{1}, std::size_t{4}}) {
      const std::string name = spec.contains("dim") ? fmt::format("{} dim {}", spec["type"].get<std::string>(),
                                                                  spec["dim"].get<int>())
                                                    : spec["type"].get<std::string>();
      const std::vector<bridges::Tensor> input(spaces.begin(), spaces.begin() + static_cast<std::ptrdiff_t>(s));
      bridges::RelativeClassifier model(registry.make_from_json<bridges::Aggregator>(spec), static_cast<int64_t>(s), k, classes,
                                        options);
      const double fit = seconds([&] { model.fit(input, labels); });
      std::vector<bridges::Tensor> test;
      for (const auto& r : input) test.push_back(r.narrow(0, 0, evaluated));
      const double evaluate = seconds([&] { model.predict(test); });
      fmt::print("  {:<26} {:>9} {:>10.2f} {:>12.0f} {:>12.3f} s\n", name, s, fit,
                 static_cast<double>(n * options.epochs) / fit, evaluate);
    }
}
