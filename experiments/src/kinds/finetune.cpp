// Stitch-time fine-tuning: a decoder trained on the source encoder is
// adapted to the target with a few labelled target samples, updating only
// the attention's q, k, v ("qkv") or only the classification head ("head").
#include <fmt/format.h>

#include <algorithm>

#include "bridges/aggregator.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/util/subsets.hpp"
#include "experiment.hpp"
#include "report_format.hpp"
#include "run_context.hpp"

namespace bridges {

using nlohmann::json;

namespace {

json attention_json(const Tensor& a) {
  return a.defined() ? json(std::vector<double>(a.data_ptr<float>(), a.data_ptr<float>() + a.numel())) : json(nullptr);
}

class FinetuneExperiment final : public Experiment {
 public:
  std::string_view name() const override { return "finetune"; }

  json option_schema() const override {
    return {{"params", {{"type", "string"}, {"enum", json::array({"qkv", "head"})}, {"default", "qkv"},
                        {"description", "what is trained: the attention's q, k, v, or the head"}}},
            {"steps", {{"type", "integer"}, {"minimum", 1}, {"default", 100}, {"description", "optimiser steps"}}},
            {"lr", {{"type", "number"}, {"exclusiveMinimum", 0}, {"default", 1e-3}, {"description", "learning rate"}}},
            {"samples", {{"type", "integer"}, {"minimum", 1}, {"default", 500},
                         {"description", "labelled target samples (stratified, from the decoders' training samples)"}}},
            {"aggregator", {{"type", "string"}, {"nullable", true}, {"default", nullptr},
                            {"description", "an aggregator of the pipeline; null: self_attention for qkv, else the first"}}},
            {"projections", {{"type", json::array({"string", "array"})}, {"default", "all"},
                             {"description", "\"all\", \"each\" or a list of projection names"}}},
            {"pairs", {{"type", "array"}, {"nullable", true}, {"default", nullptr},
                       {"description", "[[source, target], ...]; null: every ordered pair of encoders"}}}};
  }

  void check(json& options, const ExperimentCheck& at) const override {
    const auto& aggregators = at.aggregators();
    if (options["aggregator"].is_null())
      options["aggregator"] = options["params"] == "qkv" ? std::string("self_attention") : aggregators.at(0);
    const std::string aggregator = options["aggregator"];
    if (std::find(aggregators.begin(), aggregators.end(), aggregator) == aggregators.end())
      at.fail(".aggregator", fmt::format("\"{}\" is not one of {}.{}", aggregator, join(aggregators),
                                         did_you_mean(aggregator, aggregators)));
    at.projection_sets(json::array({options["projections"]}), ".projections");
    const json& pairs = options["pairs"];
    if (pairs.is_null()) return;
    for (const auto& pair : pairs) {
      if (!pair.is_array() || pair.size() != 2)
        at.fail(".pairs", fmt::format("{} is not [source, target].", json_excerpt(pair)));
      for (const auto& name : pair) at.part_of(name, at.encoders(), "an encoder", "Encoders", ".pairs");
    }
  }

  std::vector<PlannedStitching> merges(const Pipeline& p, const json& options) const override {
    return {{"finetune", p.projection_sets(json::array({options["projections"]})).at(0),
             p.aggregator_specs(json::array({options["aggregator"]})).at(0)}};
  }

  json run(RunContext& run, const json& options) const override {
    const Names set = run.expand_sets(json::array({options["projections"]})).at(0);
    json aggregator;
    for (const auto& a : run.pipeline().aggregators)
      if (a["type"] == options["aggregator"]) aggregator = a;
    const auto& encoders = run.encoders();
    const Names names = run.encoder_names();
    std::vector<std::pair<std::size_t, std::size_t>> pairs;
    const auto index_of = [&](const std::string& name) {
      return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
    };
    if (options["pairs"].is_null()) {
      for (std::size_t i = 0; i < encoders.size(); ++i)
        for (std::size_t j = 0; j < encoders.size(); ++j)
          if (i != j) pairs.emplace_back(i, j);
    } else {
      for (const auto& pair : options["pairs"]) pairs.emplace_back(index_of(pair[0]), index_of(pair[1]));
    }
    const uint64_t seed = run.decoder_seeds().at(0);
    const int64_t samples = std::min(options["samples"].get<int64_t>(), run.train_labels().size(0));
    const Tensor rows = stratified_subset(run.train_labels(), samples, seed);
    const auto make_model = [&] {
      return std::make_unique<RelativeClassifier>(run.source().make_from_json<Aggregator>(aggregator),
                                                  static_cast<int64_t>(set.size()), run.anchors().size(0), run.classes(),
                                                  run.pipeline().decoder_options(seed));
    };
    json out = json::array();
    int64_t parameters = 0;  // how many the fine-tuning trains (the same for every pair)
    // One decoder trained per source encoder, copied for each of its
    // targets; each pair's result is cached, so an interrupted run resumes
    // at the pair in progress (and trains no decoder whose pairs are done).
    std::map<std::size_t, std::unique_ptr<RelativeClassifier>> trained;
    std::size_t cached = 0;
    const json extra{{"params", options["params"]}, {"steps", options["steps"]}, {"lr", options["lr"]},
                     {"samples", samples}};
    for (const auto& [i, j] : pairs) {
      throw_if_interrupted();
      json pair_extra = extra;
      pair_extra["target"] = j;
      const json done = run.cached_result("finetune", set, aggregator, i, seed, pair_extra);
      if (done.is_object() && done.contains("pair") && done.contains("parameters")) {
        out.push_back(done["pair"]);
        parameters = done["parameters"];
        ++cached;
        continue;
      }
      if (!trained.count(i)) {
        trained[i] = make_model();
        trained[i]->fit(run.space(encoders[i], set, true), run.train_labels(),
                        fmt::format("fine-tune: {} decoder on {}", aggregator["type"].get<std::string>(), encoders[i].name));
      }
      auto copy = make_model();
      copy->copy_weights(*trained[i]);
      RelativeClassifier& model = *copy;
      const auto target_test = run.space(encoders[j], set, false);
      const Scores before = classification_scores(model.predict(target_test), run.test_labels(), run.classes());
      const Tensor attention_before = model.mean_attention(target_test).contiguous();
      std::vector<Tensor> target_train;
      for (const auto& r : run.space(encoders[j], set, true)) target_train.push_back(r.index_select(0, rows));
      parameters = model.finetune(options["params"], options["steps"], options["lr"], target_train,
                     run.train_labels().index_select(0, rows), seed);
      const Scores after = classification_scores(model.predict(target_test), run.test_labels(), run.classes());
      const Tensor attention_after = model.mean_attention(target_test).contiguous();
      out.push_back({{"source", encoders[i].name},
                     {"target", encoders[j].name},
                     {"before", {{"accuracy", before.accuracy}, {"macro_f1", before.macro_f1}}},
                     {"after", {{"accuracy", after.accuracy}, {"macro_f1", after.macro_f1}}},
                     {"attention_before", attention_json(attention_before)},
                     {"attention_after", attention_json(attention_after)}});
      run.cache_result("finetune", set, aggregator, i, seed, pair_extra, {{"pair", out.back()}, {"parameters", parameters}});
      run.note(fmt::format("fine-tune {} -> {} ({}): accuracy {:.4f} -> {:.4f}", encoders[i].name, encoders[j].name,
                           options["params"].get<std::string>(), before.accuracy, after.accuracy));
    }
    if (cached > 0)
      run.note(fmt::format("fine-tune ({}): {} of {} pairs from the cache", options["params"].get<std::string>(), cached,
                           pairs.size()));
    return {{"params", options["params"]}, {"aggregator", options["aggregator"]}, {"projections", set},
            {"steps", options["steps"]}, {"samples", samples}, {"parameters", parameters}, {"pairs", out}};
  }

  // One entry per fine-tuning experiment.
  void add_result(json& results, json part) const override { results["finetune"].push_back(std::move(part)); }

  void merge(json& results, const json& from, const std::string& where) const override {
    merge_entries(
        results["finetune"], from,
        [](const json& e) {
          std::string projections;
          for (const auto& p : e["projections"]) projections += (projections.empty() ? "" : " + ") + p.get<std::string>();
          return fmt::format("{} of {} on {}, {} steps on {} samples", e["params"].get<std::string>(),
                             e["aggregator"].get<std::string>(), projections, e["steps"].dump(), e["samples"].dump());
        },
        "fine-tuning", where);
  }

  std::string markdown(json& r) const override {
    std::string out;
    for (json& f : r.value("finetune", json::array())) {
      out += fmt::format("\n## Stitch-time fine-tuning of {} ({}{} steps on {} labelled target samples, aggregator {})\n\n",
                         f["params"].get<std::string>(),
                         f["parameters"].is_number_integer() ? fmt::format("{} parameters, ", integer(f["parameters"])) : "",
                         integer(f["steps"]), integer(f["samples"]), f["aggregator"].get<std::string>());
      out += "| source → target | accuracy before | after | mean attention per subspace before | after |\n|---|---|---|---|---|\n";
      for (auto& p : f["pairs"]) {
        const auto att = [](json& a) {
          if (!a.is_array()) return std::string("–");
          std::string s;
          for (auto& v : a) s += (s.empty() ? "" : ", ") + num(v, 3);
          return s;
        };
        out += fmt::format("| {} → {} | {} | {} | {} | {} |\n", p["source"].get<std::string>(),
                           p["target"].get<std::string>(), num(p["before"]["accuracy"], 4), num(p["after"]["accuracy"], 4),
                           att(p["attention_before"]), att(p["attention_after"]));
      }
    }
    return out;
  }

  std::string html_figures(json& r) const override {
    std::string out;
    for (json& f : r.value("finetune", json::array())) {
      std::vector<std::string> labels;
      std::vector<std::vector<std::pair<double, double>>> values;
      for (auto& p : f["pairs"])
        if (p["attention_before"].is_array()) {
          for (std::size_t s = 0; s < p["attention_before"].size(); ++s) {
            labels.push_back(fmt::format("{}→{} · {}", p["source"].get<std::string>(), p["target"].get<std::string>(),
                                         f["projections"][s].get<std::string>()));
            values.push_back({{p["attention_before"][s].get<double>(), 0.0}, {p["attention_after"][s].get<double>(), 0.0}});
          }
        }
      if (!labels.empty()) {
        // Uniform attention gives each of the s subspaces 1 / s.
        const auto s = static_cast<double>(f["projections"].size());
        const BarAxes axes{"mean attention weight", 1.0 / s, fmt::format("uniform: 1 / {} subspaces", f["projections"].size())};
        out += "<h2>Mean attention per subspace, before and after fine-tuning " + escape(f["params"].get<std::string>()) +
               "</h2>" + svg_bars(labels, {"before", "after"}, values, 1.0, axes);
      }
    }
    return out;
  }
};

}  // namespace

const Experiment& finetune_experiment() {
  static const FinetuneExperiment kind;
  return kind;
}

}  // namespace bridges
