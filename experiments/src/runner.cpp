#include "bridges/experiments/runner.hpp"

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <numeric>

#include "bridges/relative/anchors.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/experiments/encoder_cache.hpp"
#include "bridges/error.hpp"
#include "bridges/experiments/fingerprint.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/io.hpp"
#include "bridges/relative/latent_similarity.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/experiments/report.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/util/subsets.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Names = std::vector<std::string>;
/// Scores indexed [decoder seed][trained on][evaluated on].
using Cube = std::vector<std::vector<std::vector<double>>>;

// mean and sample standard deviation (0 for a single value).
json mean_std(const std::vector<double>& v) {
  if (v.empty()) return nullptr;
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {{"mean", mean}, {"std", v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0}};
}

// values[seed][i][j] (NaN: not defined) -> {"mean": [[...]], "std": [[...]]}, null cells where undefined.
json matrix_stats(const Cube& values) {
  const std::size_t m = values.at(0).size();
  json mean = json::array(), sd = json::array();
  for (std::size_t i = 0; i < m; ++i) {
    json mrow = json::array(), srow = json::array();
    for (std::size_t j = 0; j < m; ++j) {
      std::vector<double> cell;
      for (const auto& seed : values)
        if (!std::isnan(seed[i][j])) cell.push_back(seed[i][j]);
      const json st = mean_std(cell);
      mrow.push_back(st.is_null() ? json(nullptr) : st["mean"]);
      srow.push_back(st.is_null() ? json(nullptr) : st["std"]);
    }
    mean.push_back(mrow);
    sd.push_back(srow);
  }
  return {{"mean", mean}, {"std", sd}};
}

// Per seed: the mean over the diagonal (end to end) or off it (stitched),
// then mean and std over seeds.
json summary_stats(const Cube& values, bool diagonal) {
  std::vector<double> per_seed;
  for (const auto& seed : values) {
    double sum = 0;
    int count = 0;
    for (std::size_t i = 0; i < seed.size(); ++i)
      for (std::size_t j = 0; j < seed.size(); ++j)
        if ((i == j) == diagonal && !std::isnan(seed[i][j])) {
          sum += seed[i][j];
          ++count;
        }
    if (count > 0) per_seed.push_back(sum / count);
  }
  return mean_std(per_seed);
}

class Run {
 public:
  Run(const Pipeline& p, ComponentSource& source, fs::path out, std::ostream& log)
      : p_(p), source_(source), out_(std::move(out)), log_(log), start_(std::chrono::steady_clock::now()) {}

  json execute() {
    const FolderLock lock(out_);  // one run at a time in a run folder
    logfile_.open(out_ / "run.log", std::ios::app);
    write_text_atomically(out_ / "pipeline.json", p_.to_json().dump(2) + "\n");
    note(fmt::format("pipeline {} -> {}", p_.name, out_.string()));
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
    json results, sweep = json::array();
    for (const json& strategy : values("strategy"))
      for (const json& count : values("count"))
        for (const json& seed : values("seed")) {
          throw_if_interrupted();
          choose_anchors(strategy, count, seed);
          project();
          stitched_.clear();
          absolute_done_ = false;
          results = run_experiments();
          if (sweeping) sweep.push_back({{"strategy", strategy}, {"count", count}, {"seed", seed}, {"results", results}});
        }
    if (sweeping) {
      for (auto& entry : sweep)
        for (const char* shared : {"pipeline", "dataset", "samples", "classes", "encoders", "projections"})
          entry["results"].erase(shared);  // the same for every entry: kept once, at the top
      results["sweep"] = sweep;
    }
    write_text_atomically(out_ / "results.json", results.dump(2) + "\n");
    write_text_atomically(out_ / "report.md", markdown_report(results));
    write_text_atomically(out_ / "report.html", html_report(results));
    note(fmt::format("wrote {}, report.md and report.html", (out_ / "results.json").string()));
    return results;
  }

 private:
  json run_experiments() {
    json results{{"pipeline", p_.name},
                 {"dataset", p_.dataset},
                 {"samples", {{"train", train_labels_.size(0)}, {"test", test_labels_.size(0)}}},
                 {"classes", classes_},
                 {"anchors", {{"count", anchor_setting_["count"]}, {"strategy", anchor_setting_["strategy"]},
                              {"seed", anchor_setting_["seed"]}, {"fingerprint", Fingerprint().add(anchors_).hex()}}},
                 {"encoders", encoder_results_},
                 {"projections", projection_names()}};
    for (const auto& e : p_.experiments) {
      throw_if_interrupted();
      note(fmt::format("experiment {}", e.type));
      if (e.type == "stitching") {
        // Several stitching experiments (e.g. single projections with one
        // aggregator, the product with another) make one table.
        json part = stitching(e.options);
        if (!results.contains("stitching")) {
          results["stitching"] = part;
        } else {
          for (const auto& run : part["runs"]) results["stitching"]["runs"].push_back(run);
          if (part.contains("absolute")) results["stitching"]["absolute"] = part["absolute"];
        }
      }
      if (e.type == "ablation") results["ablation"] = ablation(e.options);
      if (e.type == "finetune") results["finetune"].push_back(finetune(e.options));  // one entry per experiment
      if (e.type == "reconstruction") results["reconstruction"] = reconstruction(e.options);
      if (e.type == "latent_similarity") results["latent_similarity"] = latent_similarity(e.options);
    }
    return results;
  }

  struct EncoderState {
    std::string name;
    std::shared_ptr<Encoder> encoder;
    Tensor anchors, train, test;                          // latents
    std::map<std::string, std::pair<Tensor, Tensor>> rel;  // projection -> (train, test) [n, k]
  };

  void note(const std::string& text) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const std::string line = fmt::format("[{:7.1f}s] {}", t, text);
    log_ << line << '\n' << std::flush;
    logfile_ << line << '\n' << std::flush;
  }

  Names projection_names() const {
    Names names;
    for (const auto& pr : p_.projections) names.push_back(pr.name);
    return names;
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
    const bool decoders = std::any_of(p_.experiments.begin(), p_.experiments.end(),
                                      [](const PipelineExperiment& e) { return e.type != "latent_similarity"; });
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
    note(fmt::format("dataset {}: {} training samples ({} for the decoders), {} test samples, {} classes",
                     p_.dataset["type"].get<std::string>(), train_full_.size(), train_.size(), test_.size(), classes_));
  }

  // Latents of `examples`, read from the run's cache when this encoder
  // (cache key) has encoded these samples before.
  Tensor latents(EncoderState& e, const std::string& key, const Examples& examples, const std::string& what) {
    const fs::path file = out_ / "cache" / "latents" /
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
      EncoderState e{pe.name, source_.make_from_json<Encoder>(pe.spec), {}, {}, {}, {}};
      const CachedFit fit = fit_cached(*e.encoder, train_full_, out_ / "cache" / "encoders");
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
      const std::string key = encoder_cache_key(*e.encoder, train_full_);
      e.train = latents(e, key, train_, "train");
      e.test = latents(e, key, test_, "test");
      encoder_results_[e.name]["dim"] = e.train.size(1);
    }
  }

  // The anchors: samples of the training split, the same for every encoder.
  void choose_anchors(const std::string& strategy, int64_t count, uint64_t seed) {
    Tensor latents_for_anchors;
    if (strategy == "farthest_point" || strategy == "kmeans") {  // chosen in one encoder's latent space
      auto& e = state(p_.anchors["encoder"]);
      latents_for_anchors = latents(e, encoder_cache_key(*e.encoder, train_full_), train_full_, "train-all");
    }
    anchors_ = select_anchors(strategy, count, seed, train_full_.labels, latents_for_anchors);
    anchor_setting_ = {{"count", anchors_.size(0)}, {"strategy", strategy}, {"seed", seed}};
    const Examples anchor_examples = train_full_.select(anchors_);
    for (auto& e : encoders_) e.anchors = latents(e, encoder_cache_key(*e.encoder, train_full_), anchor_examples, "anchors");
    note(fmt::format("{} {} anchors (seed {}); latents of {} encoders ready", count, strategy, seed, encoders_.size()));
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
        e.rel[pr.name] = {projector.project(e.train)[0], projector.project(e.test)[0]};
      }
    }
    note(fmt::format("relative spaces: {} projections x {} encoders x {} anchors", p_.projections.size(), encoders_.size(),
                     anchors_.size(0)));
  }

  std::vector<Tensor> space(const EncoderState& e, const Names& set, bool train) const {
    std::vector<Tensor> out;
    for (const auto& name : set) out.push_back(train ? e.rel.at(name).first : e.rel.at(name).second);
    return out;
  }

  // "each" -> every projection alone, "all" -> all together; duplicates dropped.
  std::vector<Names> expand_sets(const json& sets) const {
    std::vector<Names> out;
    const auto add = [&](Names set) {
      if (std::find(out.begin(), out.end(), set) == out.end()) out.push_back(std::move(set));
    };
    for (const auto& s : sets) {
      if (s == "each")
        for (const auto& name : projection_names()) add({name});
      else if (s == "all")
        add(projection_names());
      else
        add(s.get<Names>());
    }
    return out;
  }

  std::vector<json> aggregators(const json& names) const {
    if (names.is_null()) return p_.aggregators;
    std::vector<json> out;
    for (const auto& a : p_.aggregators)
      if (std::find(names.begin(), names.end(), a["type"]) != names.end()) out.push_back(a);
    return out;
  }

  std::vector<uint64_t> decoder_seeds() const { return p_.decoder["seeds"].get<std::vector<uint64_t>>(); }

  Names encoder_names() const {
    Names out;
    for (const auto& e : encoders_) out.push_back(e.name);
    return out;
  }

  // Trains a decoder on every encoder for every seed and scores it on every
  // encoder: the stitching matrices of one projection set and aggregator.
  json stitch(const Names& set, const json& aggregator) {
    const std::string key = fmt::format("{}|{}", join(set, "+"), aggregator["type"].get<std::string>());
    if (auto it = stitched_.find(key); it != stitched_.end()) return it->second;
    const std::size_t m = encoders_.size();
    const auto seeds = decoder_seeds();
    Cube acc(seeds.size(), std::vector<std::vector<double>>(m, std::vector<double>(m))), f1 = acc;
    const int64_t k = anchors_.size(0);
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        RelativeClassifier model(source_.make_from_json<Aggregator>(aggregator), static_cast<int64_t>(set.size()), k,
                                 classes_, p_.decoder_options(seeds[s]));
        model.fit(space(encoders_[i], set, true), train_labels_,
                  fmt::format("{} on {} (seed {})", key, encoders_[i].name, seeds[s]));
        for (std::size_t j = 0; j < m; ++j) {
          const Scores sc = classification_scores(model.predict(space(encoders_[j], set, false)), test_labels_, classes_);
          acc[s][i][j] = sc.accuracy;
          f1[s][i][j] = sc.macro_f1;
        }
      }
    json out = stitching_result(acc, f1, set, aggregator["type"]);
    add_pair_groups(out, acc);
    note(fmt::format("stitching {}: end to end {:.4f}, stitched {:.4f}, index {:.3f}", key,
                     out["summary"]["end_to_end"]["accuracy"]["mean"].get<double>(),
                     out["summary"]["stitched"]["accuracy"]["mean"].get<double>(),
                     out["summary"]["index"]["mean"].get<double>()));
    stitched_[key] = out;
    return out;
  }

  // The decoder on raw latents; stitched only where the dimensions match.
  json absolute() {
    const std::size_t m = encoders_.size();
    const auto seeds = decoder_seeds();
    Cube acc(seeds.size(), std::vector<std::vector<double>>(m, std::vector<double>(m, NAN))), f1 = acc;
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        const int64_t dim = encoders_[i].train.size(1);
        RelativeClassifier model(nullptr, 1, dim, classes_, p_.decoder_options(seeds[s]));
        model.fit({encoders_[i].train}, train_labels_, fmt::format("absolute on {} (seed {})", encoders_[i].name, seeds[s]));
        for (std::size_t j = 0; j < m; ++j) {
          if (encoders_[j].test.size(1) != dim) continue;
          const Scores sc = classification_scores(model.predict({encoders_[j].test}), test_labels_, classes_);
          acc[s][i][j] = sc.accuracy;
          f1[s][i][j] = sc.macro_f1;
        }
      }
    json out = stitching_result(acc, f1, json::array({"absolute"}), nullptr);
    add_pair_groups(out, acc);
    return out;
  }

  // Stitched accuracy and index per group of pairs, when the encoders come
  // from more than one entry: "gcn (across seeds)", "gcn ↔ graphsage" (both
  // directions). Per decoder seed the mean over the group's pairs, then mean
  // and std over seeds, as the summary.
  void add_pair_groups(json& out, const Cube& acc) const {
    const std::size_t m = encoders_.size();
    std::vector<std::string> group(m);
    std::set<std::string> entries;
    for (std::size_t i = 0; i < m; ++i) entries.insert(group[i] = p_.encoder(encoders_[i].name).group);
    if (entries.size() < 2) return;
    std::map<std::string, std::vector<std::pair<std::size_t, std::size_t>>> pairs;
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < m; ++j)
        if (i != j)
          pairs[group[i] == group[j] ? group[i] + " (across seeds)"
                                     : std::min(group[i], group[j]) + " ↔ " + std::max(group[i], group[j])]
              .emplace_back(i, j);
    json groups = json::object();
    for (const auto& [name, members] : pairs) {
      std::vector<double> stitched, index;
      for (const auto& seed : acc) {
        double a = 0, x = 0;
        int count = 0;
        for (const auto& [i, j] : members)
          if (!std::isnan(seed[i][j]) && seed[j][j] > 0) {
            a += seed[i][j];
            x += seed[i][j] / seed[j][j];
            ++count;
          }
        if (count > 0) {
          stitched.push_back(a / count);
          index.push_back(x / count);
        }
      }
      if (!stitched.empty()) groups[name] = {{"pairs", members.size()}, {"stitched", mean_std(stitched)}, {"index", mean_std(index)}};
    }
    out["summary"]["groups"] = groups;
  }

  // The matrices and summaries of one stitching run from accuracy and
  // macro-F1 cubes [seed][trained on][evaluated on] (NaN: not evaluated).
  // The index divides by the target's own end-to-end accuracy.
  static json stitching_result(const Cube& acc, const Cube& f1, const json& projections, const json& aggregator) {
    Cube index = acc;
    for (std::size_t s = 0; s < acc.size(); ++s)
      for (std::size_t i = 0; i < acc[s].size(); ++i)
        for (std::size_t j = 0; j < acc[s].size(); ++j)
          index[s][i][j] = !std::isnan(acc[s][i][j]) && acc[s][j][j] > 0 ? acc[s][i][j] / acc[s][j][j] : NAN;
    return {{"projections", projections},
            {"aggregator", aggregator},
            {"accuracy", matrix_stats(acc)},
            {"macro_f1", matrix_stats(f1)},
            {"index", matrix_stats(index)},
            {"summary",
             {{"end_to_end", {{"accuracy", summary_stats(acc, true)}, {"macro_f1", summary_stats(f1, true)}}},
              {"stitched", {{"accuracy", summary_stats(acc, false)}, {"macro_f1", summary_stats(f1, false)}}},
              {"index", summary_stats(index, false)}}}};
  }

  json stitching(const json& options) {
    json runs = json::array();
    for (const auto& set : expand_sets(options["projection_sets"]))
      for (const auto& aggregator : aggregators(options["aggregators"])) {
        throw_if_interrupted();
        runs.push_back(stitch(set, aggregator));
      }
    json out{{"encoders", encoder_names()}, {"runs", runs}};
    if (options["absolute"].get<bool>() && !absolute_done_) {
      out["absolute"] = absolute();
      absolute_done_ = true;
    }
    return out;
  }

  json ablation(const json& options) {
    const Names names = projection_names();
    const auto min_size = options["min_size"].get<std::size_t>();
    json rows = json::array();
    for (const auto& aggregator : aggregators(options["aggregators"]))
      for (uint64_t mask = 1; mask < (uint64_t{1} << names.size()); ++mask) {
        Names set;
        for (std::size_t b = 0; b < names.size(); ++b)
          if (mask & (uint64_t{1} << b)) set.push_back(names[b]);
        if (set.size() < min_size) continue;
        throw_if_interrupted();
        const json run = stitch(set, aggregator);
        rows.push_back({{"projections", set}, {"aggregator", aggregator["type"]}, {"summary", run["summary"]}});
      }
    return {{"rows", rows}};
  }

  json finetune(const json& options) {
    const Names set = expand_sets(json::array({options["projections"]})).at(0);
    json aggregator;
    for (const auto& a : p_.aggregators)
      if (a["type"] == options["aggregator"]) aggregator = a;
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    const auto index_of = [&](const std::string& name) {
      const Names names = encoder_names();
      return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
    };
    if (options["pairs"].is_null()) {
      for (std::size_t i = 0; i < encoders_.size(); ++i)
        for (std::size_t j = 0; j < encoders_.size(); ++j)
          if (i != j) pairs.emplace_back(i, j);
    } else {
      for (const auto& pair : options["pairs"]) pairs.emplace_back(index_of(pair[0]), index_of(pair[1]));
    }
    const uint64_t seed = decoder_seeds().at(0);
    const int64_t samples = std::min(options["samples"].get<int64_t>(), train_labels_.size(0));
    const Tensor rows = stratified_subset(train_labels_, samples, seed);
    json out = json::array();
    const auto attention_json = [](const Tensor& a) {
      return a.defined() ? json(std::vector<double>(a.data_ptr<float>(), a.data_ptr<float>() + a.numel())) : json(nullptr);
    };
    const auto make_model = [&] {
      return std::make_unique<RelativeClassifier>(source_.make_from_json<Aggregator>(aggregator),
                                                  static_cast<int64_t>(set.size()), anchors_.size(0), classes_,
                                                  p_.decoder_options(seed));
    };
    // One decoder trained per source encoder, copied for each of its targets.
    std::map<std::size_t, std::unique_ptr<RelativeClassifier>> trained;
    for (const auto& [i, j] : pairs) {
      throw_if_interrupted();
      if (!trained.count(i)) {
        trained[i] = make_model();
        trained[i]->fit(space(encoders_[i], set, true), train_labels_,
                        fmt::format("fine-tune: {} decoder on {}", aggregator["type"].get<std::string>(), encoders_[i].name));
      }
      auto copy = make_model();
      copy->copy_weights(*trained[i]);
      RelativeClassifier& model = *copy;
      const auto target_test = space(encoders_[j], set, false);
      const Scores before = classification_scores(model.predict(target_test), test_labels_, classes_);
      const Tensor attention_before = model.mean_attention(target_test).contiguous();
      std::vector<Tensor> target_train;
      for (const auto& r : space(encoders_[j], set, true)) target_train.push_back(r.index_select(0, rows));
      model.finetune(options["params"], options["steps"], options["lr"], target_train, train_labels_.index_select(0, rows),
                     seed);
      const Scores after = classification_scores(model.predict(target_test), test_labels_, classes_);
      const Tensor attention_after = model.mean_attention(target_test).contiguous();
      out.push_back({{"source", encoders_[i].name},
                     {"target", encoders_[j].name},
                     {"before", {{"accuracy", before.accuracy}, {"macro_f1", before.macro_f1}}},
                     {"after", {{"accuracy", after.accuracy}, {"macro_f1", after.macro_f1}}},
                     {"attention_before", attention_json(attention_before)},
                     {"attention_after", attention_json(attention_after)}});
      note(fmt::format("fine-tune {} -> {} ({}): accuracy {:.4f} -> {:.4f}", encoders_[i].name, encoders_[j].name,
                       options["params"].get<std::string>(), before.accuracy, after.accuracy));
    }
    return {{"params", options["params"]}, {"aggregator", options["aggregator"]}, {"projections", set},
            {"steps", options["steps"]}, {"samples", samples}, {"pairs", out}};
  }

  // Every measure between every pair of encoders, for each representation
  // of the test samples: absolute latents, each projection, and the product
  // (the projections side by side, each row-standardised). Pairs are grouped
  // into cross-seed pairs of one architecture and cross-architecture pairs.
  json latent_similarity(const json& options) {
    const auto measures = options["measures"].get<std::vector<std::string>>();
    const auto representations = options["representations"].get<std::vector<std::string>>();
    MeasureOptions measure_options;
    measure_options.knn = options["knn"];
    const auto representation = [&](const EncoderState& e, const std::string& name) -> Tensor {
      if (name == "absolute") return e.test;
      if (name == "product") {
        std::vector<Tensor> parts;
        for (const auto& projection : projection_names())
          parts.push_back(normalize_subspace(e.rel.at(projection).second, SubspaceNorm::standardize));
        return at::cat(parts, 1);
      }
      return e.rel.at(name).second;
    };
    // Encoders of one "encoders" entry differ only by seed: their pairs are
    // cross-seed pairs, named after the entry ("ae", or its "name").
    const auto architecture = [&](const EncoderState& e) { return p_.encoder(e.name).group; };
    // Spearman is Pearson on ranks: each encoder's representation is ranked
    // once (float32 holds ranks exactly up to 2^24 entries), not once per
    // pair it belongs to.
    std::map<std::string, Tensor> ranks;
    const auto ranked = [&](const EncoderState& e, const std::string& rep, bool per_sample) -> const Tensor& {
      const std::string key = fmt::format("{}|{}|{}", e.name, rep, per_sample);
      auto it = ranks.find(key);
      if (it == ranks.end()) {
        const Tensor x = representation(e, rep);
        const Tensor r = per_sample ? rank_rows(x) : rank_rows(x.reshape({1, -1})).reshape(x.sizes());
        it = ranks.emplace(key, r.numel() < (int64_t{1} << 24) ? r.to(at::kFloat) : r).first;
      }
      return it->second;
    };
    json pairs = json::array();
    std::map<std::string, std::map<std::string, std::map<std::string, std::vector<double>>>> grouped;  // group -> rep -> measure
    for (std::size_t i = 0; i < encoders_.size(); ++i)
      for (std::size_t j = i + 1; j < encoders_.size(); ++j) {
        throw_if_interrupted();
        const auto &a = encoders_[i], &b = encoders_[j];
        const std::string ta = architecture(a), tb = architecture(b);
        const std::string group = ta == tb ? ta + " (across seeds)" : std::min(ta, tb) + " ↔ " + std::max(ta, tb);
        json values = json::object();
        for (const auto& rep : representations) {
          const Tensor x = representation(a, rep), y = representation(b, rep);
          std::vector<std::string> applicable;
          std::map<std::string, double> found;
          for (const auto& m : measures) {
            if (measure_needs_same_width(m) && x.size(1) != y.size(1)) continue;
            if (m == "spearman") found[m] = pearson(ranked(a, rep, false), ranked(b, rep, false));
            else if (m == "spearman_per_sample") found[m] = pearson_per_sample(ranked(a, rep, true), ranked(b, rep, true));
            else applicable.push_back(m);
          }
          found.merge(latent_similarities(applicable, x, y, measure_options));
          for (const auto& [m, v] : found) {
            values[rep][m] = v;
            grouped[group][rep][m].push_back(v);
          }
        }
        pairs.push_back({{"a", a.name}, {"b", b.name}, {"group", group}, {"values", values}});
      }
    json summary = json::object(), most_similar = json::object();
    for (const auto& [group, reps] : grouped) {
      for (const auto& [rep, by_measure] : reps)
        for (const auto& [m, values] : by_measure) summary[group][rep][m] = mean_std(values);
      for (const auto& m : measures) {
        std::string best;
        double best_value = -std::numeric_limits<double>::infinity();
        for (const auto& rep : representations)
          if (rep != "absolute" && summary[group].contains(rep) && summary[group][rep].contains(m) &&
              summary[group][rep][m]["mean"].get<double>() > best_value) {
            best_value = summary[group][rep][m]["mean"];
            best = rep;
          }
        if (!best.empty()) most_similar[group][m] = best;
      }
    }
    note(fmt::format("latent similarity: {} pairs x {} representations x {} measures", pairs.size(), representations.size(),
                     measures.size()));
    return {{"measures", measures}, {"representations", representations}, {"pairs", pairs}, {"summary", summary},
            {"most_similar", most_similar}};
  }

  json reconstruction(const json& options) {
    if (!train_.fields.count("image"))
      throw ConfigError(fmt::format("pipeline {}: reconstruction needs images (field \"image\"); dataset/{} has none.",
                                    p_.name, p_.dataset["type"].get<std::string>()));
    const Tensor train_images = train_.field("image"), test_images = test_.field("image");
    const std::vector<int64_t> shape(train_images.sizes().begin() + 1, train_images.sizes().end());
    const std::size_t m = encoders_.size();
    const auto seeds = decoder_seeds();
    json runs = json::array();
    for (const auto& set : expand_sets(options["projection_sets"]))
      for (const auto& aggregator : aggregators(options["aggregators"])) {
        Cube mse(seeds.size(), std::vector<std::vector<double>>(m, std::vector<double>(m))), index = mse;
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t s = 0; s < seeds.size(); ++s) {
            throw_if_interrupted();
            RelativeReconstructor model(source_.make_from_json<Aggregator>(aggregator), static_cast<int64_t>(set.size()),
                                        anchors_.size(0), shape, p_.decoder_options(seeds[s]));
            model.fit(space(encoders_[i], set, true), train_images,
                      fmt::format("reconstruction {} on {} (seed {})", join(set, "+"), encoders_[i].name, seeds[s]));
            for (std::size_t j = 0; j < m; ++j) mse[s][i][j] = model.mse(space(encoders_[j], set, false), test_images);
          }
        for (std::size_t s = 0; s < seeds.size(); ++s)
          for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < m; ++j) index[s][i][j] = mse[s][j][j] / mse[s][i][j];
        runs.push_back({{"projections", set},
                        {"aggregator", aggregator["type"]},
                        {"mse", matrix_stats(mse)},
                        {"index", matrix_stats(index)},
                        {"summary",
                         {{"end_to_end", summary_stats(mse, true)},
                          {"stitched", summary_stats(mse, false)},
                          {"index", summary_stats(index, false)}}}});
        note(fmt::format("reconstruction {}|{}: end to end MSE {:.5f}, stitched {:.5f}", join(set, "+"),
                         aggregator["type"].get<std::string>(),
                         runs.back()["summary"]["end_to_end"]["mean"].get<double>(),
                         runs.back()["summary"]["stitched"]["mean"].get<double>()));
      }
    return {{"encoders", encoder_names()}, {"runs", runs}};
  }

  const Pipeline& p_;
  ComponentSource& source_;
  fs::path out_;
  std::ostream& log_;
  std::ofstream logfile_;
  std::chrono::steady_clock::time_point start_;
  std::shared_ptr<Dataset> dataset_;
  Examples train_full_, train_, test_;
  json anchor_setting_;  // {"count", "strategy", "seed"} of anchors_
  Tensor train_labels_, test_labels_, anchors_;
  int64_t classes_ = 0;
  std::vector<EncoderState> encoders_;
  json encoder_results_ = json::object();
  std::map<std::string, json> stitched_;
  bool absolute_done_ = false;
};

}  // namespace

std::string describe_plan(const Pipeline& p, const ComponentSource&) {
  std::string out = fmt::format("pipeline {}{}\n", p.name, p.description.empty() ? "" : ": " + p.description);
  out += fmt::format("  dataset      {}\n", p.dataset.dump());
  for (const auto& e : p.encoders) out += fmt::format("  encoder      {:<12} {}\n", e.name, e.spec.dump());
  out += fmt::format("  anchors      {}\n", p.anchors.dump());
  for (const auto& pr : p.projections) out += fmt::format("  projection   {:<12} {}\n", pr.name, pr.spec.dump());
  out += fmt::format("  normalize    {}\n", p.normalize);
  for (const auto& a : p.aggregators) out += fmt::format("  aggregator   {}\n", a.dump());
  out += fmt::format("  decoder      {}\n", p.decoder.dump());
  const std::size_t m = p.encoders.size(), seeds = p.decoder["seeds"].size();
  for (const auto& e : p.experiments) out += fmt::format("  experiment   {}\n", e.options.dump());
  out += fmt::format("  output       {}\n", p.output);
  const bool decoders = std::any_of(p.experiments.begin(), p.experiments.end(),
                                    [](const PipelineExperiment& e) { return e.type != "latent_similarity"; });
  if (decoders)
    out += fmt::format("Each stitching run trains {} decoders ({} encoders x {} seeds) and scores each on {} encoders.\n",
                     m * seeds, m, seeds, m);
  return out;
}

json run_pipeline(const Pipeline& pipeline, ComponentSource& source, const RunOptions& options, std::ostream& log) {
  return Run(pipeline, source, options.out.empty() ? fs::path(pipeline.output) : options.out, log).execute();
}

}  // namespace bridges
