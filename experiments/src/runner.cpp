#include "bridges/experiments/runner.hpp"

#include <ATen/Parallel.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <thread>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <numeric>
#include <optional>

#include "bridges/relative/anchors.hpp"
#include "bridges/relative/kernels.hpp"
#include "bridges/build_info.hpp"
#include "bridges/util/runtime.hpp"
#include "bridges/util/thread_count.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/experiments/encoder_cache.hpp"
#include "bridges/error.hpp"
#include "bridges/experiments/fingerprint.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/io.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/experiments/report.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/util/subsets.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/util/progress.hpp"
#include "experiment.hpp"
#include "run_context.hpp"

namespace bridges {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Whether some experiment trains decoders (every sample then needs a label).
bool trains_decoders(const Pipeline& p) {
  return std::any_of(p.experiments.begin(), p.experiments.end(),
                     [](const PipelineExperiment& e) { return find_experiment(e.type).trains_decoders(); });
}

// The run's orchestration: data, encoders, latents (cached), anchors and
// relative spaces, then each experiment of the pipeline through its kind.
// The processor's model name ("Intel(R) Xeon(R) Processor"), or "unknown".
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      std::string model = line.substr(line.find(':') + 1);
      model.erase(0, model.find_first_not_of(' '));
      return model;
    }
  return "unknown";
}

// Now, in UTC: "2026-12-06T20:15:03Z".
std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

class Run : public RunContext {
 public:
  Run(const Pipeline& p, ComponentSource& source, fs::path out, fs::path cache, std::ostream& log, std::string command)
      : RunContext(p, source, std::move(out), std::move(cache), log), command_(std::move(command)) {}

  json execute() {
    const FolderLock lock(out_);  // one run at a time in a run folder
    // and in a cache: two runs sharing one would train the same parts twice
    std::optional<FolderLock> cache_lock;
    if (cache_ != out_ / "cache")
      cache_lock.emplace(cache_, "It is a cache another run shares: wait for that run to finish (it may train what "
                                 "this one needs), or give this run a cache of its own (--cache).");
    started_ = utc_now();
    logfile_.open(out_ / "run.log", std::ios::app);
    write_text_atomically(out_ / "pipeline.json", p_.to_json().dump(2) + "\n");
    note(fmt::format("pipeline {} -> {}", p_.name, out_.string()));
    if (cache_lock) note(fmt::format("cache: {} (shared)", cache_.string()));
    for (const auto& warning : p_.warnings) note("warning: " + warning);
    load_data();
    prepare_encoders();
    // "count", "strategy" and "seed" may each be a list: every experiment
    // runs once per combination (strategy, then count, then seed). The
    // top-level results are those of the last; "sweep" keeps every one's.
    const auto values = [&](const char* key) {
      const json& v = p_.anchors[key];
      return v.is_array() ? std::vector<json>(v.begin(), v.end()) : std::vector<json>{v};
    };
    const bool sweeping = p_.anchors["count"].is_array() || p_.anchors["strategy"].is_array() || p_.anchors["seed"].is_array();
    // The plan, for "k of n decoders" and the time left in the log.
    std::set<std::string> planned;
    for (const auto& run : planned_stitching(p_)) planned.insert(join(run.projections, "+") + "|" + run.aggregator.dump());
    decoders_planned_ = planned.size() * encoders_.size() * decoder_seeds().size() * values("strategy").size() *
                        values("count").size() * values("seed").size();
    json results, sweep = json::array();
    for (const json& strategy : values("strategy"))
      for (const json& count : values("count"))
        for (const json& seed : values("seed")) {
          throw_if_interrupted();
          choose_anchors(strategy, count, seed);
          project();
          memo_.clear();
          results = run_experiments();
          if (sweeping) sweep.push_back({{"strategy", strategy}, {"count", count}, {"seed", seed}, {"results", results}});
        }
    if (sweeping) {
      for (auto& entry : sweep)
        for (const char* shared :
             {"pipeline", "dataset", "samples", "classes", "encoders", "projections", "orientation", "modality"})
          entry["results"].erase(shared);  // the same for every entry: kept once, at the top
      results["sweep"] = sweep;
    }
    note("experiments done");
    if (!p_.warnings.empty()) results["warnings"] = p_.warnings;
    results["provenance"] = provenance();
    write_text_atomically(out_ / "results.json", results.dump(2) + "\n");
    write_text_atomically(out_ / "report.md", markdown_report(results));
    write_text_atomically(out_ / "report.html", html_report(results));
    note(fmt::format("wrote {}, report.md and report.html", (out_ / "results.json").string()));
    return results;
  }

  // For --dry-run: how many of the run's relative decoders the cache holds
  // and how many the run has, by their very keys, computed without training:
  // the data, the encoders' cache keys, the anchors. nullopt when an anchor
  // strategy chooses in a latent space (farthest_point, kmeans): the anchors
  // then depend on a trained encoder.
  std::optional<std::pair<std::size_t, std::size_t>> cached_decoders() {
    const auto values = [&](const char* key) {
      const json& v = p_.anchors[key];
      return v.is_array() ? std::vector<json>(v.begin(), v.end()) : std::vector<json>{v};
    };
    for (const json& strategy : values("strategy"))
      if (strategy == "farthest_point" || strategy == "kmeans") return std::nullopt;
    load_data();
    for (const auto& pe : p_.encoders) {
      EncoderState e{pe.name, source_.make_from_json<Encoder>(pe.spec), {}, {}, {}, {}, {}};
      e.key = encoder_cache_key(*e.encoder, train_full_);
      encoders_.push_back(std::move(e));
    }
    std::set<std::pair<Names, std::string>> runs;  // a run two experiments ask for trains once
    for (const auto& run : planned_stitching(p_)) runs.insert({run.projections, run.aggregator.dump()});
    std::size_t held = 0, all = 0;
    for (const json& strategy : values("strategy"))
      for (const json& count : values("count"))
        for (const json& seed : values("seed")) {
          anchors_ = select_anchors(strategy.get<std::string>(), count.get<int64_t>(), seed.get<uint64_t>(),
                                    train_full_.labels, Tensor());
          for (const auto& [set, aggregator] : runs)
            for (std::size_t i = 0; i < encoders_.size(); ++i)
              for (uint64_t s : decoder_seeds()) {
                ++all;
                held += holds_decoder(set, json::parse(aggregator), i, s);
              }
        }
    return std::pair{held, all};
  }

 private:
  // What made the numbers, so that one found in a draft months later can be
  // traced: the build, the kernels, the machine, when, how it was asked
  // for, and the wall time of every step (run.log's lines). A rerun from the
  // caches changes this block only.
  json provenance() const {
    return {{"bridges", std::string(version())},
            {"commit", std::string(build_commit())},
            {"build", std::string(build_id())},
            {"blas", blas_kernels()},
            {"kernels", std::string(kernels::isa())},
            {"threads", at::get_num_threads()},
            {"cpu", cpu_model()},
            {"cores", std::thread::hardware_concurrency()},
            {"started", started_},
            {"seconds", std::round(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count() * 10) / 10},
            {"command", command_.empty() ? json(nullptr) : json(command_)},
            {"cache", cache_.string()},
            {"steps", steps_}};
  }

  json run_experiments() {
    json samples{{"train", train_labels_.size(0)}, {"test", test_labels_.size(0)}};
    // Early stopping holds part of the training samples out (the same for every decoder).
    if (const int64_t held = p_.decoder_options(0).validation_size(train_labels_.size(0)); held > 0)
      samples["validation"] = held;
    json results{{"pipeline", p_.name},
                 {"dataset", p_.dataset},
                 {"samples", samples},
                 {"classes", classes_},
                 {"anchors", {{"count", anchor_setting_["count"]}, {"strategy", anchor_setting_["strategy"]},
                              {"seed", anchor_setting_["seed"]}, {"fingerprint", Fingerprint().add(anchors_).hex()}}},
                 {"encoders", encoder_results_},
                 {"projections", projection_names()},
                 {"orientation", p_.orientation},
                 {"modality", modality_}};
    for (const auto& e : p_.experiments) {
      throw_if_interrupted();
      note(fmt::format("experiment {}", e.type));
      const Experiment& kind = find_experiment(e.type);
      kind.add_result(results, kind.run(*this, e.options));
    }
    return results;
  }

  void load_data() {
    dataset_ = source_.make_from_json<Dataset>(p_.dataset);
    train_full_ = dataset_->split("train");
    const Examples test_full = dataset_->split("test");
    if (!train_full_.labels.defined() || !test_full.labels.defined())
      throw ConfigError(fmt::format("pipeline {}: stitching needs labelled data; dataset/{} has no labels.", p_.name,
                                    p_.dataset["type"].get<std::string>()));
    const auto rows = [](const Examples& e, const json& limit) {
      return limit.is_null() || limit.get<int64_t>() >= e.size()
                 ? at::arange(e.size(), at::TensorOptions().dtype(at::kLong))
                 : stratified_subset(e.labels, limit.get<int64_t>(), 0);
    };
    train_ = train_full_.select(rows(train_full_, p_.decoder["train_samples"]));
    test_ = test_full.select(rows(test_full, p_.decoder["test_samples"]));
    train_labels_ = train_.labels;
    test_labels_ = test_.labels;
    // What can be checked on the data is checked here, before any encoder
    // trains: a failure after an hour of training helps nobody.
    const bool decoders = trains_decoders(p_);
    for (const auto& [split, labels] : {std::pair{"training", train_labels_}, std::pair{"test", test_labels_}}) {
      const int64_t unlabelled = labels.lt(0).sum().item<int64_t>();
      if (decoders && unlabelled > 0)
        throw ConfigError(fmt::format(
            "pipeline {}: $.experiments: decoders (stitching, ablation, fine-tuning, reconstruction) need a label for "
            "every sample, but dataset/{} leaves {} of the {} {} samples unlabelled (label -1). Use a labelled data "
            "set, or keep only latent_similarity experiments.",
            p_.name, p_.dataset["type"].get<std::string>(), unlabelled, labels.numel(), split));
    }
    const json& counts = p_.anchors["count"];
    for (const json& count : counts.is_array() ? counts : json::array({counts}))
      if (count.is_number_integer() && count.get<int64_t>() > train_full_.size())
        throw ConfigError(fmt::format("pipeline {}: $.anchors.count: {} anchors asked, but anchors are training "
                                      "samples and dataset/{} has {}. Lower the count (or raise the data set's "
                                      "train_limit).",
                                      p_.name, count.get<int64_t>(), p_.dataset["type"].get<std::string>(),
                                      train_full_.size()));
    classes_ = std::max(train_full_.labels.max().item<int64_t>(), test_full.labels.max().item<int64_t>()) + 1;
    modality_ = std::string(to_string(dataset_->info().modality));
    note(fmt::format("dataset {}: {} training samples ({} for the decoders), {} test samples, {} classes",
                     p_.dataset["type"].get<std::string>(), train_full_.size(), train_.size(), test_.size(), classes_));
  }

  // Latents of `examples`, read from the run's cache when this encoder
  // (cache key) has encoded these samples before.
  Tensor latents(EncoderState& e, const std::string& key, const Examples& examples, const std::string& what) {
    const fs::path file = cache_ / "latents" /
                          fmt::format("{}-{}-{}.npy", e.name, what, Fingerprint().add(std::string_view(key)).add(examples.indices).add(examples.split).hex());
    // Beside each cached file, the fingerprint of its tensor: flipped bits
    // in a cached .npy used to change the results silently.
    const fs::path sum = file.string() + ".sum";
    if (fs::exists(file)) {
      try {
        Tensor cached = read_npy(file);
        const std::string expected = fs::exists(sum) ? read_text(sum) : "";
        if (expected != Fingerprint().add(cached).hex() + "\n")
          throw FormatError(fmt::format("{}: {}", file.string(),
                                        expected.empty() ? "its checksum file is missing"
                                                         : "its content does not match its checksum"));
        require_finite(cached, file.string(), "");
        return cached;
      } catch (const Error& err) {
        note(fmt::format("warning: {}; encoding again", err.what()));
      }
    }
    const Tensor z = e.encoder->encode(examples).to(at::kFloat).contiguous();
    // Whatever made them (a diverged training, a TorchScript model, a file
    // of embeddings), bad latents stop the run here, before any measure.
    require_finite(z, fmt::format("encoder {} ({}), latents of the {} samples", e.name, e.encoder->type(), what),
                   "If the encoder is trained, lower its \"lr\" or change its \"seed\"; if it reads a model or a "
                   "file, fix or drop the samples it cannot encode.");
    write_npy(file, z);
    write_text_atomically(sum, Fingerprint().add(z).hex() + "\n");  // after the data: a crash between leaves no valid pair
    return z;
  }

  void prepare_encoders() {
    for (const auto& pe : p_.encoders) {
      throw_if_interrupted();
      EncoderState e{pe.name, source_.make_from_json<Encoder>(pe.spec), {}, {}, {}, {}, {}};
      const CachedFit fit = fit_cached(*e.encoder, train_full_, cache_ / "encoders");
      if (!fit.warning.empty()) note("warning: " + fit.warning);
      note(fmt::format("encoder {}: {}", pe.name, !e.encoder->trainable() ? "fixed (not trained)"
                                                   : fit.trained              ? "trained"
                                                                              : "loaded from the cache"));
      json quality = nullptr;
      try {
        quality = e.encoder->quality(test_);
      } catch (const NotImplemented&) {
      }
      encoder_results_[pe.name] = {{"spec", pe.spec}, {"quality", quality}};
      encoders_.push_back(std::move(e));
    }
    for (auto& e : encoders_) {
      e.key = encoder_cache_key(*e.encoder, train_full_);
      e.train = latents(e, e.key, train_, "train");
      e.test = latents(e, e.key, test_, "test");
      encoder_results_[e.name]["dim"] = e.train.size(1);
    }
    // Readable copies of what `bridges compare` reads, in the run folder
    // (the cache's names are hashes): each encoder's test latents, row i
    // the same sample for every encoder, with the samples' labels and rows
    // in the data set's test split.
    const fs::path folder = out_ / "latents";
    fs::create_directories(folder);
    for (const auto& e : encoders_) write_npy(folder / (e.name + "-test.npy"), e.test);
    write_npy(folder / "labels-test.npy", test_labels_);
    write_npy(folder / "indices-test.npy", test_.indices);
  }

  // The anchors: samples of the training split, the same for every encoder.
  void choose_anchors(const std::string& strategy, int64_t count, uint64_t seed) {
    Tensor latents_for_anchors;
    if (strategy == "farthest_point" || strategy == "kmeans") {  // chosen in one encoder's latent space
      auto& e = state(p_.anchors["encoder"]);
      latents_for_anchors = latents(e, e.key, train_full_, "train-all");
    }
    anchors_ = select_anchors(strategy, count, seed, train_full_.labels, latents_for_anchors);
    anchor_setting_ = {{"count", anchors_.size(0)}, {"strategy", strategy}, {"seed", seed}};
    const Examples anchor_examples = train_full_.select(anchors_);
    for (auto& e : encoders_) e.anchors = latents(e, e.key, anchor_examples, "anchors");
    note(fmt::format("{} {} anchors (seed {}); latents of {} ready", count, strategy, seed,
                     counted(encoders_.size(), "encoder")));
  }

  EncoderState& state(const std::string& name) {
    for (auto& e : encoders_)
      if (e.name == name) return e;
    throw ConfigError(fmt::format("no encoder named {}", name));
  }

  void project() {
    const SubspaceNorm norm = parse_subspace_norm(p_.normalize);
    for (const auto& pr : p_.projections) {
      const auto similarity = source_.make_from_json<Similarity>(pr.spec);
      for (auto& e : encoders_) {
        const RelativeProjector projector(e.anchors, {similarity}, norm);
        const auto oriented = [&](Tensor r) { return pr.negated ? r.neg_() : r; };
        e.rel[pr.name] = {oriented(projector.project(e.train)[0]), oriented(projector.project(e.test)[0])};
        const auto& [train, test] = e.rel[pr.name];
        if (const int64_t flat = flat_rows(train) + flat_rows(test); flat > 0)
          note(fmt::format("warning: encoder {}, projection {}: {} of {} relative rows are the same at every anchor "
                           "(a zero latent under cosine, or distances that underflowed): those samples carry no "
                           "information in this subspace",
                           e.name, pr.name, flat, train.size(0) + test.size(0)));
      }
    }
    note(fmt::format("relative spaces: {} x {} x {} anchors", counted(p_.projections.size(), "projection"),
                     counted(encoders_.size(), "encoder"), anchors_.size(0)));
  }

  std::string command_, started_;
  std::shared_ptr<Dataset> dataset_;
  json anchor_setting_;  // {"count", "strategy", "seed"} of anchors_
  json encoder_results_ = json::object();
};

}  // namespace

namespace {

// The run folder and the cache folder a run uses: RunOptions first, then
// the pipeline's "output" and "cache", then <out>/cache.
std::pair<fs::path, fs::path> run_folders(const Pipeline& pipeline, const RunOptions& options) {
  const fs::path out = options.out.empty() ? fs::path(pipeline.output) : options.out;
  const fs::path cache = !options.cache.empty()    ? options.cache
                         : !pipeline.cache.empty() ? fs::path(pipeline.cache)
                                                   : out / "cache";
  return {out, cache};
}

}  // namespace

std::string describe_plan(const Pipeline& p, ComponentSource& source, const RunOptions& options, bool estimate) {
  const auto [out_folder, cache_folder] = run_folders(p, options);
  std::string out = fmt::format("pipeline {}{}\n", p.name, p.description.empty() ? "" : ": " + p.description);
  out += fmt::format("  dataset      {}\n", p.dataset.dump());
  for (const auto& e : p.encoders) out += fmt::format("  encoder      {:<12} {}\n", e.name, e.spec.dump());
  out += fmt::format("  anchors      {}\n", p.anchors.dump());
  for (const auto& pr : p.projections) out += fmt::format("  projection   {:<12} {}\n", pr.name, pr.spec.dump());
  out += fmt::format("  normalize    {}\n", p.normalize);
  out += fmt::format("  orientation  {}\n", p.orientation);
  for (const auto& a : p.aggregators) out += fmt::format("  aggregator   {}\n", a.dump());
  out += fmt::format("  decoder      {}\n", p.decoder.dump());
  const std::size_t m = p.encoders.size(), seeds = p.decoder["seeds"].size();
  for (const auto& e : p.experiments) out += fmt::format("  experiment   {}\n", e.options.dump());
  out += fmt::format("  output       {}\n", out_folder.string());
  out += fmt::format("  cache        {}{}\n", cache_folder.string(), cache_folder == out_folder / "cache" ? "" : " (shared)");
  // Which encoders the cache holds: their keys need the training split (read,
  // not trained on) and each encoder's settings.
  std::vector<std::string> to_train, cached;
  std::size_t fixed = 0;
  const auto dataset = source.make_from_json<Dataset>(p.dataset);
  const Examples train = dataset->split("train");
  std::vector<json> to_train_specs;
  for (const auto& e : p.encoders) {
    const auto encoder = source.make_from_json<Encoder>(e.spec);
    if (!encoder->trainable()) {
      ++fixed;
      continue;
    }
    const bool in_cache = fs::exists(encoder_cache_file(*encoder, train, cache_folder / "encoders"));
    (in_cache ? cached : to_train).push_back(e.name);
    if (!in_cache) to_train_specs.push_back(e.spec);
  }
  out += fmt::format("Encoders: {} to train{}, {} in the cache{}{}.\n", to_train.size(),
                     to_train.empty() ? "" : " (" + join(to_train) + ")", cached.size(),
                     cached.empty() ? "" : " (" + join(cached) + ")",
                     fixed ? fmt::format(", {} fixed (nothing to train)", fixed) : "");
  if (estimate && !to_train_specs.empty()) out += estimate_encoders(to_train_specs, *dataset, train, source);
  if (trains_decoders(p))
    out += fmt::format("Each stitching run trains {} ({} x {}) and scores each on {}.\n", counted(m * seeds, "decoder"),
                       counted(m, "encoder"), counted(seeds, "seed"), counted(m, "encoder"));
  std::set<std::string> runs;  // a run two experiments ask for is trained once
  for (const auto& planned : planned_stitching(p)) runs.insert(fmt::format("{}|{}", join(planned.projections, "+"), planned.aggregator.dump()));
  if (!runs.empty()) {
    // Which decoders of this run the cache holds: their keys, computed as
    // the run computes them (no training; the data is read).
    std::ostringstream quiet;
    Run probe(p, source, out_folder, cache_folder, quiet, "");
    const auto cached = probe.cached_decoders();
    const std::size_t all = runs.size() * m * seeds;
    if (!cached)
      out += fmt::format("Stitching runs: {} ({} decoders in all per anchor setting; which the cache holds is known only "
                         "once the anchors are chosen in an encoder's latent space).\n",
                         runs.size(), all);
    else
      out += fmt::format("Stitching runs: {} ({} decoders in all; {}).\n", runs.size(), cached->second,
                         cached->first == 0                ? "the cache holds none, every one trains"
                         : cached->first == cached->second ? "the cache holds every one: none trains"
                                                           : fmt::format("the cache holds {}, {} train", cached->first,
                                                                         cached->second - cached->first));
  }
  if (estimate && !runs.empty()) {
    const DecoderEstimate e = estimate_decoders(p, source);
    out += fmt::format("Estimated time of the decoders here, {}, none cached: {}{} for {} (one "
                       "decoder of each shape timed now for one epoch on random data, scaled to the run's sizes{}). "
                       "Fine-tuning and measures are not included.\n{}",
                       counted(static_cast<std::size_t>(at::get_num_threads()), "thread"), e.upper_bound ? "at most " : "",
                       format_duration(e.seconds), counted(e.decoders, "decoder"),
                       e.upper_bound ? "; early stopping: every decoder at max_epochs" : "", e.detail);
  }
  for (const auto& warning : p.warnings) out += "warning: " + warning + "\n";
  return out;
}

json run_pipeline(const Pipeline& pipeline, ComponentSource& source, const RunOptions& options, std::ostream& log) {
  const auto [out, cache] = run_folders(pipeline, options);
  return Run(pipeline, source, out, cache, log, options.command).execute();
}

}  // namespace bridges
