// The vision targets: a cnn on the full Fashion-MNIST reaches 88% test
// accuracy after 2 epochs with an epoch under 60 s, and every encoder type
// encodes the 10000 test images in under 5 s. 2 threads unless
// BRIDGES_BENCH_THREADS says otherwise.
//
//   build/release/bin/bench_vision
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/tensor.hpp"
#include "bridges/util/runtime.hpp"
#include "bench_support.hpp"

namespace {

using bench::seconds;

void target(const std::string& what, double value, const std::string& unit, const std::string& goal, bool pass) {
  fmt::print("  {:<60} {:>8.3f} {:<2} target {:<6} {}\n", what, value, unit, goal, pass ? "PASS" : "FAIL");
}

}  // namespace

int main() {
  bridges::keep_freed_memory();
  bench::use_bench_threads();
  bridges::Registry registry({BRIDGES_BENCH_PLUGIN_DIR});
  auto data = registry.make<bridges::Dataset>("fashion_mnist");
  const bridges::Examples train = data->split("train"), test = data->split("test");
  fmt::print("bridges vision benchmark: Fashion-MNIST {} train / {} test images, {} threads\n\n", train.size(),
             test.size(), at::get_num_threads());

  auto cnn = registry.make<bridges::Encoder>("cnn", {{"epochs", 2}});
  const double fit = seconds([&] { cnn->fit(train); });
  const double accuracy = cnn->quality(test)["accuracy"];

  // Encoding time does not depend on how well the weights are trained: the
  // other encoders are trained briefly, on 2000 images.
  auto small = registry.make<bridges::Dataset>("fashion_mnist", {{"train_limit", 2000}});
  const bridges::Examples small_train = small->split("train");
  std::vector<std::pair<std::string, double>> encode_times;
  for (const std::string name : {"cnn", "mlp", "ae", "vae", "lin_ae", "lin_vae"}) {
    std::shared_ptr<bridges::Encoder> encoder = cnn;
    if (name != "cnn") {
      encoder = registry.make<bridges::Encoder>(name, {{"epochs", 1}});
      encoder->fit(small_train);
    }
    bridges::Tensor z;
    const double t = seconds([&] { z = encoder->encode(test); });
    encode_times.emplace_back(fmt::format("encode 10000 test images: {} -> {}", name, bridges::describe(z)), t);
  }

  fmt::print("\nTargets:\n");
  target("cnn test accuracy after 2 epochs", accuracy * 100, "%", ">= 88", accuracy >= 0.88);
  target("cnn seconds per epoch (60000 images)", fit / 2, "s", "<= 60", fit / 2 <= 60);
  for (const auto& [what, t] : encode_times) target(what, t, "s", "<= 5", t <= 5);
  return 0;
}
