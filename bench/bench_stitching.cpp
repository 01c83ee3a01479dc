// Relative decoders: how long training and evaluating one takes, for every
// aggregator, on one subspace and on the product of four, at the main job's
// sizes (k = 1280 anchors, 5000 training examples, batch 512, 10 classes).
// The main job trains 18 decoders per projection set and aggregator and
// scores each on 6 encoders, so these figures set its run time.
// Then one epoch of mlp_sum at the method's scale (60000 examples x 4
// subspaces x 1280 anchors) against the machine's GEMM throughput measured
// in the same run: training these decoders is GEMM-bound, so the fraction of
// torch::mm's throughput it reaches says how close to the machine it runs.
// 2 threads unless BRIDGES_BENCH_THREADS says otherwise.
//
//   build/release/bin/bench_stitching                  # both parts
//   build/release/bin/bench_stitching --method-scale   # the second only
#include <ATen/Parallel.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <fmt/format.h>

#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "bridges/aggregator.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/tensor.hpp"
#include "bridges/util/runtime.hpp"
#include "bench_support.hpp"

using bench::seconds;

namespace {

// torch::mm's throughput in GFLOP/s on [m, k] x [k, n], best of 3 runs of
// at least 1 s each (the machine is shared: the best run is the machine's).
double mm_gflops(int64_t m, int64_t k, int64_t n) {
  const bridges::Tensor a = at::randn({m, k}), b = at::randn({k, n});
  bridges::Tensor out = at::empty({m, n});
  at::mm_out(out, a, b);
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    int64_t calls = 0;
    double elapsed = 0;
    while (elapsed < 1.0) {
      elapsed += seconds([&] { at::mm_out(out, a, b); });
      ++calls;
    }
    best = std::max(best, 2.0 * static_cast<double>(m * k * n * calls) / elapsed / 1e9);
  }
  return best;
}

// One epoch of an mlp_sum decoder on `n` examples of `s` subspaces x k
// anchors, and its throughput against torch::mm's in the same run.
void method_scale(bridges::Registry& registry, int64_t n, int64_t s, int64_t k, int64_t classes) {
  bridges::DecoderOptions options;
  options.epochs = 1;
  options.batch_size = 512;
  options.lr = 0.002;
  const int64_t hidden = options.hidden;
  fmt::print("\nmlp_sum at the method's scale: {} examples x {} subspaces x {} anchors, 1 epoch, batch {}\n", n, s, k,
             options.batch_size);
  const bridges::Tensor labels = at::randint(classes, {n}, at::kLong);
  std::vector<bridges::Tensor> spaces;
  for (int64_t i = 0; i < s; ++i) spaces.push_back(at::randn({n, k}));
  bridges::RelativeClassifier model(registry.make_from_json<bridges::Aggregator>({{"type", "mlp_sum"}}), s, k, classes,
                                    options);
  const double epoch = seconds([&] { model.fit(spaces, labels); });
  // The multiply-adds of every Linear layer, per example: s Linear(k, k),
  // the head's Linear(k, hidden) and Linear(hidden, classes). Training
  // computes each forward and its weight gradient; the input gradient only
  // in the head (the subspaces' Linear layers take inputs without gradient).
  const double subspace_macs = static_cast<double>(s * k * k), head_macs = static_cast<double>(k * hidden + hidden * classes);
  const double flops = 2.0 * static_cast<double>(n) * (2.0 * subspace_macs + 3.0 * head_macs);
  // The nominal count also includes the subspace layers' input gradient.
  const double nominal = 2.0 * static_cast<double>(n) * 3.0 * (subspace_macs + head_macs);
  const double achieved = flops / epoch / 1e9;
  const double mm_decoder = mm_gflops(options.batch_size, k, k), mm_projection = mm_gflops(10000, 768, 1280);
  const double reference = std::max(mm_decoder, mm_projection);
  fmt::print("  epoch                                        {:8.2f} s   ({:.0f} examples/s)\n", epoch,
             static_cast<double>(n) / epoch);
  fmt::print("  FLOPs computed (forward + weight gradients)  {:8.2f} TFLOP -> {:6.1f} GFLOP/s\n", flops / 1e12, achieved);
  fmt::print("  nominal FLOPs (with every input gradient)    {:8.2f} TFLOP -> {:6.1f} GFLOP/s\n", nominal / 1e12,
             nominal / epoch / 1e9);
  fmt::print("  torch::mm, same run: [{0}, {1}] x [{1}, {1}]      {2:6.1f} GFLOP/s\n", options.batch_size, k, mm_decoder);
  fmt::print("  torch::mm, same run: bench_projection's [10000, 768] x [768, 1280]  {:6.1f} GFLOP/s\n", mm_projection);
  const double fraction = achieved / reference;
  fmt::print("  computed FLOPs / best torch::mm throughput   {:8.0f} %   target >= 50 %   {}\n", 100 * fraction,
             fraction >= 0.5 ? "PASS" : "FAIL");
}

}  // namespace

int main(int argc, char** argv) {
  bridges::keep_freed_memory();
  bench::use_bench_threads();
  bridges::Registry registry({BRIDGES_BENCH_PLUGIN_DIR});
  const int64_t n = 5000, k = 1280, classes = 10, evaluated = 5000;
  const int64_t scale_examples = bench::env_int("BRIDGES_BENCH_SCALE_EXAMPLES", 60000);
  if (argc > 1) {
    if (std::string(argv[1]) != "--method-scale") {
      fmt::print(stderr, "usage: bench_stitching [--method-scale]\n");
      return 2;
    }
    method_scale(registry, scale_examples, 4, k, classes);
    return 0;
  }
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
  method_scale(registry, scale_examples, 4, k, classes);
}
