// Latent similarity: every measure between every pair of encoders, for each
// representation of the test samples: absolute latents, each projection,
// and the product (the projections side by side, each row-standardised).
// Pairs are grouped into cross-seed pairs of one architecture and
// cross-architecture pairs. No decoder is trained.
#include <ATen/ops/cat.h>
#include <fmt/format.h>

#include <limits>

#include "bridges/error.hpp"
#include "bridges/measure.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/messages.hpp"
#include "experiment.hpp"
#include "report_format.hpp"
#include "run_context.hpp"

namespace bridges {

using nlohmann::json;

namespace {

class LatentSimilarityExperiment final : public Experiment {
 public:
  std::string_view name() const override { return "latent_similarity"; }
  bool trains_decoders() const override { return false; }

  json option_schema() const override {
    return {{"measures", {{"type", "array"}, {"default", json::array({"cka_linear", "pearson", "spearman"})},
                          {"description", "measures: names or specs {\"type\": ..., options} (bridges plugins list shows them)"}}},
            {"representations", {{"type", "array"}, {"nullable", true}, {"default", nullptr},
                                 {"description", "absolute, a projection's name, product; null: every one"}}},
            {"knn", {{"type", "integer"}, {"minimum", 1}, {"default", 10},
                     {"description", "neighbours of the measures that take a \"knn\" option and do not set it"}}}};
  }

  void check(json& options, const ExperimentCheck& at) const override {
    if (options["measures"].empty())
      at.fail(".measures", "expected a non-empty list of measures, e.g. [\"cka_linear\", \"spearman\"].");
    // The experiment's "knn" is the default of every measure's own "knn".
    if (!options["measures"].is_array()) at.fail(".measures", "expected a list of measures.");
    for (auto& m : options["measures"]) {
      json spec = m.is_string() ? json{{"type", m}} : m;
      if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string() || spec.contains("knn")) continue;
      try {
        const auto names = at.info(ComponentKind::measure, spec["type"]).options.names();
        if (std::find(names.begin(), names.end(), "knn") == names.end()) continue;
      } catch (const UnknownNameError&) {
        continue;  // reported with its path below
      }
      spec["knn"] = options["knn"];
      m = spec;
    }
    at.components(options["measures"], ComponentKind::measure, ".measures");
    std::vector<std::string> representations{"absolute"};
    for (const auto& name : at.projections()) representations.push_back(name);
    representations.push_back("product");
    if (options["representations"].is_null()) options["representations"] = representations;
    if (options["representations"].empty())
      at.fail(".representations", fmt::format("expected a non-empty list of {}.", join(representations)));
    at.names_from(options["representations"], ".representations", representations);
  }

  json run(RunContext& run, const json& options) const override {
    const auto representations = options["representations"].get<std::vector<std::string>>();
    // Each measure from the registry, named as a person would write it.
    std::vector<std::shared_ptr<Measure>> measure_objects;
    std::vector<std::string> measures;
    std::vector<bool> same_width, distance;
    for (const auto& spec : options["measures"]) {
      measure_objects.push_back(run.source().make_from_json<Measure>(spec));
      measures.push_back(spec_label(run.source(), ComponentKind::measure, spec));
      const ComponentInfo info = run.source().info(ComponentKind::measure, spec["type"].get<std::string>());
      same_width.push_back(info.same_width);
      distance.push_back(info.direction == "distance");
    }
    const auto representation = [&](const EncoderState& e, const std::string& name) -> Tensor {
      if (name == "absolute") return e.test;
      if (name == "product") {
        std::vector<Tensor> parts;
        for (const auto& projection : run.projection_names())
          parts.push_back(normalize_subspace(e.rel.at(projection).second, SubspaceNorm::standardize));
        return at::cat(parts, 1);
      }
      return e.rel.at(name).second;
    };
    // Each encoder's representation is prepared once per measure (e.g.
    // ranked, for Spearman), not once per pair it belongs to.
    std::map<std::string, Tensor> prepared;
    const auto prepare = [&](const EncoderState& e, const std::string& rep, std::size_t m) -> const Tensor& {
      const std::string key = fmt::format("{}|{}|{}", e.name, rep, m);
      auto it = prepared.find(key);
      if (it == prepared.end()) it = prepared.emplace(key, measure_objects[m]->prepare(representation(e, rep))).first;
      return it->second;
    };
    const auto& encoders = run.encoders();
    json pairs = json::array();
    std::map<std::string, std::map<std::string, std::map<std::string, std::vector<double>>>> grouped;  // group -> rep -> measure
    for (std::size_t i = 0; i < encoders.size(); ++i)
      for (std::size_t j = i + 1; j < encoders.size(); ++j) {
        throw_if_interrupted();
        const auto &a = encoders[i], &b = encoders[j];
        const std::string ta = run.group(a), tb = run.group(b);
        const std::string group = ta == tb ? ta + " (across seeds)" : std::min(ta, tb) + " ↔ " + std::max(ta, tb);
        // A measure undefined for this pair (e.g. a space with no variance)
        // gets its reason instead of a number, as in `bridges compare`; the
        // group means leave it out.
        json values = json::object(), undefined = json::object();
        for (const auto& rep : representations) {
          const int64_t wa = representation(a, rep).size(1), wb = representation(b, rep).size(1);
          std::map<std::string, double> found;
          std::map<std::string, std::string> reasons;
          for (std::size_t m = 0; m < measures.size(); ++m) {
            if (same_width[m] && wa != wb) continue;
            try {
              found[measures[m]] = measure_objects[m]->compare_prepared(prepare(a, rep, m), prepare(b, rep, m));
            } catch (const UndefinedMeasureError& e) {
              reasons[measures[m]] = e.what();
            }
          }
          for (const auto& [m, v] : found) {
            values[rep][m] = v;
            grouped[group][rep][m].push_back(v);
          }
          for (const auto& [m, reason] : reasons) undefined[rep][m] = reason;
        }
        json pair{{"a", a.name}, {"b", b.name}, {"group", group}, {"values", values}};
        if (!undefined.empty()) pair["undefined"] = undefined;
        pairs.push_back(pair);
      }
    json summary = json::object(), most_similar = json::object();
    for (const auto& [group, reps] : grouped) {
      for (const auto& [rep, by_measure] : reps)
        for (const auto& [m, values] : by_measure) summary[group][rep][m] = mean_std(values);
      for (std::size_t mi = 0; mi < measures.size(); ++mi) {
        const std::string& m = measures[mi];
        // The most similar: the largest value, or the smallest for a distance.
        const double sign = distance[mi] ? -1.0 : 1.0;
        std::string best;
        double best_value = -std::numeric_limits<double>::infinity();
        for (const auto& rep : representations)
          if (rep != "absolute" && summary[group].contains(rep) && summary[group][rep].contains(m) &&
              sign * summary[group][rep][m]["mean"].get<double>() > best_value) {
            best_value = sign * summary[group][rep][m]["mean"].get<double>();
            best = rep;
          }
        if (!best.empty()) most_similar[group][m] = best;
      }
    }
    run.note(fmt::format("latent similarity: {} pairs x {} representations x {} measures", pairs.size(),
                         representations.size(), measures.size()));
    json distances = json::array();
    for (std::size_t mi = 0; mi < measures.size(); ++mi)
      if (distance[mi]) distances.push_back(measures[mi]);
    json out{{"measures", measures}, {"representations", representations}, {"pairs", pairs}, {"summary", summary},
             {"most_similar", most_similar}};
    if (!distances.empty()) out["distances"] = distances;  // smaller is more similar
    return out;
  }

  std::string markdown(json& r) const override {
    if (!r.contains("latent_similarity")) return "";
    json& ls = r["latent_similarity"];
    std::string out = "\n## Latent similarity\n\nEach measure between every pair of encoders on the test samples, mean ± std over "
                      "the pairs of each group; *product*: every projection side by side, each standardised per sample.\n";
    for (auto& [group, reps] : ls["summary"].items()) {
      out += fmt::format("\n### {}\n\n| representation |", group);
      for (auto& m : ls["measures"]) out += fmt::format(" {} |", m.get<std::string>());
      out += "\n|---|";
      for (std::size_t i = 0; i < ls["measures"].size(); ++i) out += "---|";
      out += "\n";
      for (auto& rep : ls["representations"]) {
        out += fmt::format("| {} |", rep.get<std::string>());
        for (auto& m : ls["measures"]) {
          const bool best = ls["most_similar"].contains(group) && ls["most_similar"][group].value(m.get<std::string>(), "") == rep;
          json cell = reps.contains(rep) && reps[rep].contains(m) ? reps[rep][m] : json();
          out += fmt::format(" {}{}{} |", best ? "**" : "", pm(cell), best ? "**" : "");
        }
        out += "\n";
      }
    }
    out += "\nMost similar relative representation (bold above):\n\n";
    for (auto& [group, by_measure] : ls["most_similar"].items()) {
      std::string picks;
      for (auto& [m, rep] : by_measure.items()) picks += fmt::format("{}{}: {}", picks.empty() ? "" : ", ", m, rep.get<std::string>());
      out += fmt::format("- {}: {}\n", group, picks);
    }
    const Winners winners = cross_seed_winners(ls);
    if (!winners.empty()) {
      out += "\nDoes the most similar representation across seeds change with the architecture?\n\n";
      for (auto& [measure, by_architecture] : winners) out += fmt::format("- {}: {}\n", measure, choice_statement(by_architecture));
    }
    return out;
  }

  // One heatmap per measure and representation over every pair of encoders.
  std::string html_figures(json& r) const override {
    if (!r.contains("latent_similarity")) return "";
    json& ls = r["latent_similarity"];
    json names = json::array();
    std::map<std::string, std::size_t> index;
    for (auto& pair : ls["pairs"])
      for (const char* side : {"a", "b"})
        if (index.emplace(pair[side].get<std::string>(), names.size()).second) names.push_back(pair[side]);
    std::string out;
    for (auto& m : ls["measures"]) {
      out += "<h2>Latent similarity: " + escape(m.get<std::string>()) + " between encoders</h2><div class=\"maps\">";
      // One colour scale per measure, fitted to its values over every
      // relative representation; the absolute latents' map has its own.
      std::vector<json> matrices;
      std::vector<bool> own;
      for (auto& rep : ls["representations"]) {
        own.push_back(rep == "absolute");
        json matrix = json::array();
        for (std::size_t i = 0; i < names.size(); ++i) matrix.push_back(json(std::vector<json>(names.size(), json())));
        for (auto& pair : ls["pairs"]) {
          json& values = pair["values"];
          if (!values.contains(rep) || !values[rep].contains(m)) continue;
          const std::size_t i = index[pair["a"]], j = index[pair["b"]];
          matrix[i][j] = matrix[j][i] = values[rep][m];
        }
        matrices.push_back(std::move(matrix));
      }
      const auto ranges = colour_ranges(matrices, own);
      for (std::size_t i = 0; i < matrices.size(); ++i)
        out += "<div class=\"map\"><h3>" + escape(ls["representations"][i].get<std::string>()) + "</h3>" +
               svg_heatmap(names, matrices[i], ranges[i].first, ranges[i].second, 2, {"encoder", "encoder", m.get<std::string>()}) +
               "</div>";
      out += "</div>";
    }
    return out;
  }
};

}  // namespace

const Experiment& latent_similarity_experiment() {
  static const LatentSimilarityExperiment kind;
  return kind;
}

}  // namespace bridges
