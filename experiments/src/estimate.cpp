// estimate_decoders: the time a pipeline's decoders take here, measured on
// one small decoder of each shape before anything trains.
#include <ATen/Parallel.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "bridges/aggregator.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/experiments/runner.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/util/progress.hpp"

namespace bridges {

namespace {

using nlohmann::json;

double seconds_of(const std::function<void()>& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Seconds per example of one training epoch and of scoring, for a decoder
// of this aggregator over `subspaces` subspaces of width k: timed on random
// data after a warm-up fit (allocations, the plugin's loading).
std::pair<double, double> per_example(ComponentSource& source, const json& aggregator, std::size_t subspaces, int64_t k,
                                      int64_t classes, DecoderOptions options) {
  options.epochs = 1;
  options.patience = 0;
  const int64_t n = 1024, s = static_cast<int64_t>(subspaces);
  std::vector<Tensor> x;
  for (int64_t i = 0; i < s; ++i) x.push_back(at::randn({n, k}));
  const Tensor labels = at::randint(classes, {n}, at::TensorOptions().dtype(at::kLong));
  std::vector<Tensor> few;
  for (const auto& t : x) few.push_back(t.narrow(0, 0, 256));
  RelativeClassifier warm(source.make_from_json<Aggregator>(aggregator), s, k, classes, options);
  warm.fit(few, labels.narrow(0, 0, 256), "estimate (warm-up)");
  // The fastest of three: the machine may be shared, and interference only
  // ever adds time.
  double fit = std::numeric_limits<double>::infinity(), score = fit;
  for (int repeat = 0; repeat < 3; ++repeat) {
    RelativeClassifier model(source.make_from_json<Aggregator>(aggregator), s, k, classes, options);
    fit = std::min(fit, seconds_of([&] { model.fit(x, labels, "estimate"); }));
    score = std::min(score, seconds_of([&] { model.predict(x); }));
  }
  return {fit / static_cast<double>(n), score / static_cast<double>(n)};
}

}  // namespace

DecoderEstimate estimate_decoders(const Pipeline& p, ComponentSource& source) {
  DecoderEstimate out;
  const auto planned = planned_stitching(p);
  if (planned.empty()) return out;
  // The sizes the run will use: its decoder samples (capped by the splits),
  // the largest anchor count, the classes.
  const auto dataset = source.make_from_json<Dataset>(p.dataset);
  const Examples train = dataset->split("train"), test = dataset->split("test");
  const auto samples = [](const json& limit, int64_t available) {
    return limit.is_number_integer() ? std::min(limit.get<int64_t>(), available) : available;
  };
  const int64_t n_train = samples(p.decoder["train_samples"], train.size());
  const int64_t n_test = samples(p.decoder["test_samples"], test.size());
  int64_t k = 0;
  const json& count = p.anchors["count"];
  if (count.is_array())
    for (const auto& c : count) k = std::max(k, c.get<int64_t>());
  else
    k = count.get<int64_t>();
  int64_t classes = dataset->info().num_classes;
  if (classes <= 0 && train.labels.defined()) classes = train.labels.max().item<int64_t>() + 1;
  const DecoderOptions options = p.decoder_options(0);
  out.upper_bound = options.patience > 0;
  const double epochs = static_cast<double>(out.upper_bound ? options.max_epochs : options.epochs);
  const std::size_t m = p.encoders.size(), seeds = p.decoder["seeds"].size();

  std::map<std::string, std::pair<double, double>> timed;  // by aggregator spec and subspaces
  std::set<std::string> runs;                                // a run two experiments ask for trains once
  for (const auto& run : planned) {
    if (!runs.insert(fmt::format("{}|{}", join(run.projections, "+"), run.aggregator.dump())).second) continue;
    const std::string shape = fmt::format("{} over {}", run.aggregator.dump(), counted(run.projections.size(), "subspace"));
    auto it = timed.find(shape);
    if (it == timed.end()) {
      it = timed.emplace(shape, per_example(source, run.aggregator, run.projections.size(), k, classes, options)).first;
      const double one = epochs * static_cast<double>(n_train) * it->second.first +
                         static_cast<double>(m * static_cast<std::size_t>(n_test)) * it->second.second;
      out.detail += fmt::format("  {}: {} a decoder ({} epochs on {} examples, scored on {} x {})\n", shape,
                                format_duration(one), epochs, n_train, m, n_test);
    }
    const double one = epochs * static_cast<double>(n_train) * it->second.first +
                       static_cast<double>(m * static_cast<std::size_t>(n_test)) * it->second.second;
    out.seconds += static_cast<double>(m * seeds) * one;
    out.decoders += m * seeds;
  }
  return out;
}

std::string estimate_encoders(const std::vector<nlohmann::json>& to_train, const Dataset& dataset, const Examples& train,
                              ComponentSource& source) {
  std::map<std::string, std::pair<json, std::size_t>> kinds;  // spec without the seed -> (spec, encoders)
  for (const auto& spec : to_train) {
    json kind = spec;
    kind.erase("seed");
    auto& entry = kinds[kind.dump()];
    entry.first = spec;
    ++entry.second;
  }
  const auto fit_seconds = [&](const json& spec, int64_t n) {
    const auto encoder = source.make_from_json<Encoder>(spec);
    // Every (N/n)-th sample, not the first n: a split sorted by class (the
    // SpamAssassin corpus: ham, then spam) would give a classifier one class.
    const Examples few = n >= train.size() ? train
                                           : train.select(at::arange(n, at::TensorOptions().dtype(at::kLong))
                                                              .mul(train.size())
                                                              .div(n, "floor"));
    return seconds_of([&] { encoder->fit(few); });
  };
  // A graph encoder trains full-batch: each epoch sees the whole graph,
  // whatever the training nodes, so its cost scales with its epochs, not
  // with a subset. It is timed with 1 and 3 epochs on the whole split (the
  // slope is one epoch, the rest a fixed cost); it needs an integer
  // "epochs" option to do so. Any other encoder is fitted on the first 512
  // and 1024 training samples with its own settings: the slope is the cost
  // per sample, and a fit is linear in the samples.
  const bool full_batch = dataset.info().modality == Modality::graph;
  const double n = static_cast<double>(train.size());
  double total = 0;
  std::vector<std::string> failed;
  for (const auto& [kind, entry] : kinds) {
    try {
      double one = 0;
      if (full_batch) {
        const json resolved = source.make_from_json<Encoder>(entry.first)->to_json();
        if (!resolved.contains("epochs") || !resolved["epochs"].is_number_integer())
          throw ConfigError("it has no integer option 'epochs' to time one epoch of");
        const auto epochs = resolved["epochs"].get<int64_t>();
        const auto with_epochs = [&](int64_t count) {
          json spec = entry.first;
          spec["epochs"] = std::min(count, epochs);
          return spec;
        };
        fit_seconds(with_epochs(1), train.size());  // warm-up: first calls, allocations, the graph's operators
        const double once = fit_seconds(with_epochs(1), train.size());
        const double thrice = fit_seconds(with_epochs(3), train.size());
        const double per_epoch = (thrice - once) / 2.0;
        one = per_epoch > 0 ? std::max(once, once + per_epoch * static_cast<double>(epochs - 1))
                            : thrice / 3.0 * static_cast<double>(epochs);
      } else {
        fit_seconds(entry.first, 256);  // warm-up: first calls, allocations
        if (train.size() <= 1024) {
          one = fit_seconds(entry.first, train.size());  // small enough to time whole
        } else {
          const double small = fit_seconds(entry.first, 512), large = fit_seconds(entry.first, 1024);
          const double per_sample = (large - small) / 512.0;
          one = per_sample > 0 ? std::max(large, small + per_sample * (n - 512.0)) : large * n / 1024.0;
        }
      }
      total += one * static_cast<double>(entry.second);
    } catch (const Error& e) {
      failed.push_back(fmt::format("{} ({})", entry.first.value("type", "?"), e.what()));
    }
  }
  const std::string how =
      full_batch ? fmt::format("each kind timed now for 1 and 3 full-batch epochs on the {} training nodes, "
                               "extrapolated to its epochs",
                               train.size())
                 : fmt::format("each kind fitted now on 512 and 1024 of the {} training samples, extrapolated",
                               train.size());
  return fmt::format("Estimated encoder training here, {}: {} for {} ({}){}.\n",
                     counted(static_cast<std::size_t>(at::get_num_threads()), "thread"), format_duration(total),
                     counted(to_train.size(), "encoder"), how,
                     failed.empty() ? "" : "; not estimated: " + join(failed, "; "));
}

}  // namespace bridges
