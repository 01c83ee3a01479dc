// The graph targets: one GCN epoch on a 10000-node WordNet subgraph in at
// most 1 s on 2 cores, and the full 82115-node noun graph trains, with its
// peak memory reported. GraphSAGE is timed beside them. 2 threads unless
// BRIDGES_BENCH_THREADS says otherwise; FULL_EPOCHS (default 200, the
// encoders' default) sets the epochs on the full graph.
//
//   build/release/bin/bench_graph
#include <fmt/format.h>
#include <sys/resource.h>

#include <cstdlib>
#include <string>

#include "bench_support.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/tensor.hpp"
#include "bridges/util/runtime.hpp"

namespace {

using bench::current_rss_mib;
using bench::peak_rss_mib;
using bench::seconds;

void target(const std::string& what, double value, const std::string& unit, const std::string& goal, bool pass) {
  fmt::print("  {:<58} {:>9.3f} {:<4} target {:<7} {}\n", what, value, unit, goal, pass ? "PASS" : "FAIL");
}

struct Trained {
  double seconds_per_epoch, accuracy, majority;
};

double majority_share(const bridges::Tensor& labels) {
  return labels.bincount().max().item<double>() / static_cast<double>(labels.size(0));
}

Trained train(bridges::Registry& registry, const bridges::Examples& train, const bridges::Examples& test,
              const std::string& type, int64_t epochs) {
  auto encoder = registry.make<bridges::Encoder>(type, {{"epochs", epochs}});
  const double t = seconds([&] { encoder->fit(train); });
  return {t / static_cast<double>(epochs), encoder->quality(test)["accuracy"].get<double>(), majority_share(test.labels)};
}

}  // namespace

int main() {
  bridges::keep_freed_memory();
  bench::use_bench_threads();
  const char* env = std::getenv("FULL_EPOCHS");
  const int64_t full_epochs = env ? std::atoll(env) : 200;
  bridges::Registry registry({BRIDGES_BENCH_PLUGIN_DIR});
  fmt::print("bridges graph benchmark: WordNet nouns (bag of gloss words, 2000 features), {} threads\n\n",
             at::get_num_threads());

  // A 10000-node subgraph: 50 epochs give a stable per-epoch time.
  auto small = registry.make<bridges::Dataset>("wordnet_nouns", {{"nodes", 10000}});
  const auto small_train = small->split("train"), small_test = small->split("test");
  fmt::print("subgraph: {} nodes, {} directed edges\n", small_train.graph.at("x").size(0),
             small_train.graph.at("edge_index").size(1));
  const Trained gcn_small = train(registry, small_train, small_test, "gcn", 50);
  const Trained sage_small = train(registry, small_train, small_test, "graphsage", 50);

  // The full graph, with the encoders' default epochs.
  const double before = current_rss_mib();
  auto full = registry.make<bridges::Dataset>("wordnet_nouns");
  bridges::Examples full_train, full_test;
  const double load = seconds([&] {
    full_train = full->split("train");
    full_test = full->split("test");
  });
  fmt::print("full graph: {} nodes, {} directed edges, loaded and featurised in {:.2f} s\n",
             full_train.graph.at("x").size(0), full_train.graph.at("edge_index").size(1), load);
  const Trained gcn_full = train(registry, full_train, full_test, "gcn", full_epochs);
  const double after_gcn = peak_rss_mib();
  const Trained sage_full = train(registry, full_train, full_test, "graphsage", full_epochs);

  fmt::print("\nTargets and figures:\n");
  target("gcn seconds per epoch, 10000-node subgraph", gcn_small.seconds_per_epoch, "s", "<= 1",
         gcn_small.seconds_per_epoch <= 1.0);
  target("graphsage seconds per epoch, 10000-node subgraph", sage_small.seconds_per_epoch, "s", "-", true);
  fmt::print("  {:<58} {:>9.3f} (majority class {:.3f})\n", "subgraph gcn test accuracy after 50 epochs",
             gcn_small.accuracy, gcn_small.majority);
  target(fmt::format("gcn trains on the full graph: test accuracy, {} epochs", full_epochs), gcn_full.accuracy, "",
         fmt::format("> {:.3f}", gcn_full.majority), gcn_full.accuracy > gcn_full.majority);
  fmt::print("  {:<58} {:>9.3f} s\n", "gcn seconds per epoch, full graph", gcn_full.seconds_per_epoch);
  fmt::print("  {:<58} {:>9.3f}\n", fmt::format("graphsage test accuracy, full graph, {} epochs", full_epochs),
             sage_full.accuracy);
  fmt::print("  {:<58} {:>9.3f} s\n", "graphsage seconds per epoch, full graph", sage_full.seconds_per_epoch);
  fmt::print("  {:<58} {:>9.0f} MiB\n", "resident before loading the full graph", before);
  fmt::print("  {:<58} {:>9.0f} MiB\n", "peak resident after gcn on the full graph", after_gcn);
  fmt::print("  {:<58} {:>9.0f} MiB\n", "peak resident after graphsage on the full graph", peak_rss_mib());
  return 0;
}
