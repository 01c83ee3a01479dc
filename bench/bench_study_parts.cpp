// How long each part of a study cut into parts takes (by default the
// paper-scale study, examples/pipelines/fashion-mnist-paper/), before
// running it: the decoders each part trains, given the parts before it and
// the cache they share, times each decoder's cost, measured here.
//
// A decoder's cost is measured once per (aggregator, number of subspaces)
// at the pipeline's decoder settings (training samples, batch size, hidden
// width, anchors) on random data of the same shapes: one epoch of training,
// multiplied by the pipeline's epochs, plus scoring every encoder's test
// samples. Fine-tuning: one decoder per source encoder, and per pair the
// fine-tuning steps and two scorings. torch::mm's throughput is measured in
// the same run, so that figures of two days compare as ratios. Encoders and
// latents are not counted: the parts run from a warm encoder cache.
//
//   build/release/bin/bench_study_parts [FOLDER]
//   build/release/bin/bench_study_parts --probe   # only torch::mm's speed now, to log beside a part's run
#include <ATen/ops/mm.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "bridges/aggregator.hpp"
#include "bridges/dataset.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/runner.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/util/runtime.hpp"
#include "bench_support.hpp"

namespace fs = std::filesystem;
using bench::seconds;
using nlohmann::json;

namespace {

// torch::mm on [512, 1280] x [1280, 1280] (the decoders' shape), GFLOP/s,
// best of 3 runs of `seconds_each`.
double mm_gflops(double seconds_each = 1.0) {
  const at::Tensor a = at::randn({512, 1280}), b = at::randn({1280, 1280});
  at::Tensor out = at::mm(a, b);
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    int64_t calls = 0;
    double elapsed = 0;
    while (elapsed < seconds_each) {
      elapsed += seconds([&] { at::mm_out(out, a, b); });
      ++calls;
    }
    best = std::max(best, 2.0 * 512 * 1280 * 1280 * static_cast<double>(calls) / elapsed / 1e9);
  }
  return best;
}

struct Sizes {
  int64_t train = 0, test = 0, anchors = 0, classes = 10, encoders = 0, seeds = 0;
};

// One stitching run's cost depends on its projection set's size and its aggregator.
using Unit = std::pair<std::size_t, std::string>;  // (subspaces, aggregator spec)

// Every stitching run the pipeline trains, each once, keyed by set and aggregator.
std::map<std::string, Unit> stitching_runs(const bridges::Pipeline& p) {
  std::map<std::string, Unit> runs;
  for (const auto& planned : bridges::planned_stitching(p)) {
    std::string key = planned.aggregator.dump();
    for (const auto& n : planned.projections) key += " " + n;
    runs[key] = {planned.projections.size(), planned.aggregator.dump()};
  }
  return runs;
}

class Costs {
 public:
  Costs(bridges::Registry& registry, const bridges::Pipeline& p, Sizes sizes) : registry_(registry), p_(p), n_(sizes) {}

  // Seconds to train one decoder and score it on every encoder's test samples.
  double decoder(const Unit& unit) {
    if (auto it = decoder_.find(unit); it != decoder_.end()) return it->second;
    const auto [s, spec] = unit;
    bridges::DecoderOptions options = p_.decoder_options(0);
    const int64_t epochs = options.patience > 0 ? options.max_epochs : options.epochs;
    options.epochs = 1;
    options.patience = 0;
    std::vector<at::Tensor> train, test;
    for (std::size_t i = 0; i < s; ++i) {
      train.push_back(at::randn({n_.train, n_.anchors}));
      test.push_back(at::randn({n_.test, n_.anchors}));
    }
    const at::Tensor labels = at::randint(n_.classes, {n_.train}, at::kLong);
    if (warm_.insert(spec).second) {  // the first fit of a kind pays for allocations and the plugin: not timed
      std::vector<at::Tensor> few;
      for (const auto& t : train) few.push_back(t.narrow(0, 0, std::min<int64_t>(512, n_.train)));
      bridges::RelativeClassifier warm(registry_.make_from_json<bridges::Aggregator>(json::parse(spec)),
                                       static_cast<int64_t>(s), n_.anchors, n_.classes, options);
      warm.fit(few, labels.narrow(0, 0, few[0].size(0)), "warm-up");
    }
    bridges::RelativeClassifier model(registry_.make_from_json<bridges::Aggregator>(json::parse(spec)),
                                      static_cast<int64_t>(s), n_.anchors, n_.classes, options);
    // The machine is shared: its speed is probed beside each timing, and the
    // cost is also kept in units of the reference speed (seconds × GFLOP/s).
    const double before = mm_gflops(0.3);
    const double epoch = seconds([&] { model.fit(train, labels, "timing"); });
    const double score = seconds([&] { model.predict(test); });
    const double speed = (before + mm_gflops(0.3)) / 2;
    const double total = static_cast<double>(epochs) * epoch + static_cast<double>(n_.encoders) * score;
    speed_[unit] = speed;
    const json j = json::parse(spec);
    const std::string name = j.value("dim", json()).is_number() ? fmt::format("{} dim {}", j["type"].get<std::string>(), j["dim"].dump())
                                                                 : j["type"].get<std::string>();
    fmt::print("  {:<26} {} subspaces: epoch {:6.2f} s, scoring {:5.2f} s -> {:6.1f} s a decoder (torch::mm {:5.1f} GFLOP/s)\n",
               name, s, epoch, score, total, speed);
    return decoder_[unit] = total;
  }

  // Seconds for one fine-tuning experiment: a decoder per source, and per pair the steps and two scorings.
  double finetune(const json& o) {
    const std::size_t s = p_.projection_sets(json::array({o["projections"]})).at(0).size();
    json spec;
    for (const auto& a : p_.aggregators)
      if (a["type"] == o["aggregator"]) spec = a;
    const int64_t m = n_.encoders, pairs = o["pairs"].is_null() ? m * (m - 1) : static_cast<int64_t>(o["pairs"].size());
    const double train = decoder({s, spec.dump()}) - static_cast<double>(n_.encoders) * scoring(s, spec);
    std::vector<at::Tensor> few, test;
    const int64_t samples = std::min(o["samples"].get<int64_t>(), n_.train);
    for (std::size_t i = 0; i < s; ++i) {
      few.push_back(at::randn({samples, n_.anchors}));
      test.push_back(at::randn({n_.test, n_.anchors}));
    }
    bridges::RelativeClassifier model(registry_.make_from_json<bridges::Aggregator>(spec), static_cast<int64_t>(s),
                                      n_.anchors, n_.classes, p_.decoder_options(0));
    model.predict(test);  // builds the aggregator
    const at::Tensor labels = at::randint(n_.classes, {samples}, at::kLong);
    const double before = mm_gflops(0.3);
    const double steps = seconds([&] { model.finetune(o["params"], o["steps"], o["lr"], few, labels, 0); });
    const double per_pair = steps + 2 * scoring(s, spec);
    const double speed = (before + mm_gflops(0.3)) / 2;
    fmt::print("  fine-tuning {} of {}: {} steps {:5.2f} s; {} pairs\n", o["params"].get<std::string>(),
               spec["type"].get<std::string>(), o["steps"].get<int64_t>(), steps, pairs);
    const double total = static_cast<double>(m) * train + static_cast<double>(pairs) * per_pair;
    finetune_work_ = static_cast<double>(m) * train * speed_.at({s, spec.dump()}) +
                     static_cast<double>(pairs) * per_pair * speed;
    return total;
  }

 private:
  double scoring(std::size_t s, const json& spec) {
    std::vector<at::Tensor> test;
    for (std::size_t i = 0; i < s; ++i) test.push_back(at::randn({n_.test, n_.anchors}));
    bridges::RelativeClassifier model(registry_.make_from_json<bridges::Aggregator>(spec), static_cast<int64_t>(s),
                                      n_.anchors, n_.classes, p_.decoder_options(0));
    model.predict(test);
    return seconds([&] { model.predict(test); });
  }

  bridges::Registry& registry_;
  const bridges::Pipeline& p_;
  Sizes n_;
  std::map<Unit, double> decoder_;

 public:
  /// A decoder()'s cost in seconds × torch::mm's GFLOP/s beside it: its
  /// seconds on a machine running torch::mm at 1 GFLOP/s.
  double work(const Unit& unit) const { return decoder_.at(unit) * speed_.at(unit); }
  /// The same for the last finetune().
  double finetune_work() const { return finetune_work_; }

 private:
  std::map<Unit, double> speed_;
  double finetune_work_ = 0;
  std::set<std::string> warm_;
};

}  // namespace

int main(int argc, char** argv) {
  bridges::keep_freed_memory();
  bench::use_bench_threads();
  if (argc > 1 && std::string(argv[1]) == "--probe") {
    fmt::print("torch::mm [512, 1280] x [1280, 1280]: {:.1f} GFLOP/s\n", mm_gflops(3.0));
    return 0;
  }
  if (argc > 1 && std::string(argv[1]).starts_with("-")) {
    fmt::print("usage: bench_study_parts [FOLDER]   how long each part (a pipeline *.json) of the study in FOLDER takes\n"
               "                                    (default: examples/pipelines/fashion-mnist-paper)\n"
               "       bench_study_parts --probe    torch::mm's speed now\n");
    return std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" ? 0 : 2;
  }
  const fs::path folder = argc > 1 ? fs::path(argv[1]) : fs::path(BRIDGES_BENCH_SOURCE_DIR) / "examples" / "pipelines" / "fashion-mnist-paper";
  if (std::error_code ec; !fs::is_directory(folder, ec)) {
    fmt::print(stderr, "{}: not a folder; give the folder of a study's parts (pipeline *.json files).\n", folder.string());
    return 1;
  }
  bridges::Registry registry({BRIDGES_BENCH_PLUGIN_DIR});
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    fmt::print(stderr, "{}: no pipeline files (*.json) here; give the folder of a study's parts.\n", folder.string());
    return 1;
  }
  std::vector<bridges::Pipeline> parts;
  for (const auto& f : files) parts.push_back(bridges::Pipeline::load(f, registry));
  const bridges::Pipeline& first = parts[0];
  // The sizes the decoders see: the data set's splits, limited as the pipeline says.
  const auto dataset = registry.make_from_json<bridges::Dataset>(first.dataset);
  Sizes n;
  const auto limit = [](const json& v, int64_t size) { return v.is_number() ? std::min(v.get<int64_t>(), size) : size; };
  const bridges::Examples train = dataset->split("train"), test = dataset->split("test");
  n.train = limit(first.decoder["train_samples"], train.size());
  n.test = limit(first.decoder["test_samples"], test.size());
  n.anchors = first.anchors["count"];
  n.encoders = static_cast<int64_t>(first.encoders.size());
  n.seeds = static_cast<int64_t>(first.decoder["seeds"].size());
  const double gflops = mm_gflops();
  fmt::print("bridges study parts: {} ({} parts), {} threads\n", folder.string(), parts.size(), at::get_num_threads());
  fmt::print("decoders: {} training samples, {} test samples per encoder, {} anchors, {} encoders x {} seeds\n", n.train,
             n.test, n.anchors, n.encoders, n.seeds);
  fmt::print("torch::mm [512, 1280] x [1280, 1280], same run: {:.1f} GFLOP/s\n\nmeasured:\n", gflops);
  Costs costs(registry, first, n);
  std::set<std::string> done;  // stitching runs an earlier part trained: the shared cache serves them
  std::vector<std::tuple<std::string, std::size_t, std::size_t, double, double>> rows;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    double total = 0, work = 0;
    std::size_t runs = 0, cached = 0;
    for (const auto& [key, unit] : stitching_runs(parts[i])) {
      if (!done.insert(key).second) {
        ++cached;
        continue;
      }
      ++runs;
      total += static_cast<double>(n.encoders * n.seeds) * costs.decoder(unit);
      work += static_cast<double>(n.encoders * n.seeds) * costs.work(unit);
    }
    for (const auto& e : parts[i].experiments)
      if (e.type == "finetune") {
        total += costs.finetune(e.options);
        work += costs.finetune_work();
      }
    rows.emplace_back(files[i].filename().string(), runs, cached, total, work);
  }
  // Decoder training is GEMM-bound (bench_stitching: 80 % of a fit), so a
  // day when torch::mm runs faster runs these faster in proportion. Each
  // timing was scaled by torch::mm's speed probed beside it.
  const double reference = static_cast<double>(bench::env_int("BRIDGES_BENCH_REFERENCE_GFLOPS", 184));
  fmt::print("\n  {:<44} {:>11} {:>11} {:>9} {:>14}\n", "part", "stitch runs", "from cache", "min today",
             fmt::format("min at {:.0f}", reference));
  double sum = 0, sum_work = 0;
  for (const auto& [name, runs, cached, total, work] : rows) {
    const double scaled = work / reference / 60;
    fmt::print("  {:<44} {:>11} {:>11} {:>9.1f} {:>14.1f}{}\n", name, runs, cached, total / 60, scaled,
               scaled > 45 ? "  over 45" : "");
    sum += total;
    sum_work += work;
  }
  fmt::print("  {:<44} {:>11} {:>11} {:>9.1f} {:>14.1f}\n", "all parts", "", "", sum / 60, sum_work / reference / 60);
  fmt::print("\nEstimated for this machine as it ran (torch::mm {:.1f} GFLOP/s at the start, probed beside each "
             "timing), and scaled to a day when it runs at {:.0f} GFLOP/s (2026-11-29 on this VM; "
             "BRIDGES_BENCH_REFERENCE_GFLOPS sets it).\n",
             gflops, reference);
}
