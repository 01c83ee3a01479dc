// The aggregation ablation: stitching on every subset of the projections
// (of `min_size` to `max_size` projections), for each aggregator. Runs
// already trained by a stitching experiment on the same anchors are reused.
// The size bounds let a long ablation be cut into parts (one for the pairs,
// one for the triples, ...) that `bridges report --merge` joins.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/runner.hpp"
#include "bridges/util/interrupt.hpp"
#include "experiment.hpp"
#include "report_format.hpp"
#include "run_context.hpp"

namespace bridges {

using nlohmann::json;

namespace {

class AblationExperiment final : public Experiment {
 public:
  std::string_view name() const override { return "ablation"; }

  json option_schema() const override {
    return {{"aggregators", aggregators_option()},
            {"min_size",
             {{"type", "integer"}, {"minimum", 1}, {"default", 2}, {"description", "the smallest subset of projections"}}},
            {"max_size",
             {{"type", "integer"},
              {"minimum", 1},
              {"default", nullptr},
              {"nullable", true},
              {"description", "the largest subset of projections (null: all of them)"}}}};
  }

  void check(json& options, const ExperimentCheck& at) const override {
    at.aggregator_names(options["aggregators"], ".aggregators");
    if (options["max_size"].is_number() && options["max_size"].get<int64_t>() < options["min_size"].get<int64_t>())
      at.fail(".max_size", fmt::format("{} is below \"min_size\" ({}): no subset would be run. Raise it, or lower "
                                       "\"min_size\".",
                                       options["max_size"].get<int64_t>(), options["min_size"].get<int64_t>()));
  }

  // Per aggregator, the subsets in the order of their bit masks over the
  // pipeline's projections (pairs and triples interleave).
  std::vector<PlannedStitching> stitching_plan(const Pipeline& p, const json& options) const override {
    const Names names = p.projection_names();
    const auto min_size = options["min_size"].get<std::size_t>();
    const std::size_t max_size = options["max_size"].is_null() ? names.size() : options["max_size"].get<std::size_t>();
    std::vector<PlannedStitching> plan;
    for (const auto& aggregator : p.aggregator_specs(options["aggregators"]))
      for (uint64_t mask = 1; mask < (uint64_t{1} << names.size()); ++mask) {
        Names set;
        for (std::size_t b = 0; b < names.size(); ++b)
          if (mask & (uint64_t{1} << b)) set.push_back(names[b]);
        if (set.size() >= min_size && set.size() <= max_size) plan.push_back({"ablation", set, aggregator});
      }
    return plan;
  }

  json run(RunContext& run, const json& options) const override {
    json rows = json::array();
    for (const auto& planned : stitching_plan(run.pipeline(), options)) {
      throw_if_interrupted();
      const json stitched = run.stitch(planned.projections, planned.aggregator);
      rows.push_back({{"projections", planned.projections}, {"aggregator", planned.aggregator["type"]},
                      {"summary", stitched["summary"]}});
    }
    return {{"rows", rows}};
  }

  // The parts of a study may each run some aggregators or subsets; the
  // rows then take the order of one whole run: aggregators as first met,
  // subsets in the order run() makes them.
  void merge(json& results, const json& from, const std::string& where) const override {
    json& rows = results["ablation"]["rows"];
    merge_entries(rows, from["rows"], [](const json& row) { return run_name(row); }, "ablation row", where);
    std::vector<std::string> aggregators;
    for (const auto& row : rows)
      if (std::find(aggregators.begin(), aggregators.end(), row["aggregator"].get<std::string>()) == aggregators.end())
        aggregators.push_back(row["aggregator"]);
    const json names = results.value("projections", json::array());
    const auto order = [&](const json& row) {
      uint64_t mask = 0;
      for (const auto& p : row["projections"])
        for (std::size_t b = 0; b < names.size(); ++b)
          if (names[b] == p) mask |= uint64_t{1} << b;
      const auto a = std::find(aggregators.begin(), aggregators.end(), row["aggregator"].get<std::string>());
      return std::pair{a - aggregators.begin(), mask};
    };
    std::vector<json> sorted(rows.begin(), rows.end());
    std::stable_sort(sorted.begin(), sorted.end(), [&](const json& a, const json& b) { return order(a) < order(b); });
    rows = sorted;
  }

  std::string markdown(json& r) const override {
    if (!r.contains("ablation")) return "";
    std::string out = "\n## Aggregation ablation\n" + subset_by_aggregator(r) +
                      "\n| projections | aggregator | end to end | stitched | stitching index |\n|---|---|---|---|---|\n";
    for (auto& row : r["ablation"]["rows"]) {
      std::string projections;
      for (auto& p : row["projections"]) projections += (projections.empty() ? "" : " + ") + p.get<std::string>();
      out += fmt::format("| {} | {} | {} | {} | {} |\n", projections, row["aggregator"].get<std::string>(),
                         pm(row["summary"]["end_to_end"]["accuracy"]), pm(row["summary"]["stitched"]["accuracy"]),
                         pm(row["summary"]["index"]));
    }
    return out;
  }

 private:
  // The question an ablation asks, at a glance: one row per subset, one
  // column per aggregator (stitched accuracy, mean over pairs), the best of
  // each row in bold, and its margin over the run's best single projection.
  static std::string subset_by_aggregator(json& r) {
    std::vector<std::string> subsets, aggregators;
    std::map<std::pair<std::string, std::string>, double> stitched;
    const auto stitched_mean = [](json& row) {
      const json& m = row["summary"]["stitched"]["accuracy"]["mean"];
      return m.is_number() ? m.get<double>() : NAN;
    };
    for (auto& row : r["ablation"]["rows"]) {
      std::string subset;
      for (auto& p : row["projections"]) subset += (subset.empty() ? "" : " + ") + p.get<std::string>();
      const std::string aggregator = row["aggregator"];
      if (std::find(subsets.begin(), subsets.end(), subset) == subsets.end()) subsets.push_back(subset);
      if (std::find(aggregators.begin(), aggregators.end(), aggregator) == aggregators.end())
        aggregators.push_back(aggregator);
      stitched[{subset, aggregator}] = stitched_mean(row);
    }
    std::string best_single_name;
    double best_single = NAN;
    if (r.contains("stitching") && r["stitching"].contains("runs"))
      for (auto& run : r["stitching"]["runs"])
        if (run["projections"].size() == 1 && !(stitched_mean(run) <= best_single)) {
          best_single = stitched_mean(run);
          best_single_name = run["projections"][0].get<std::string>() + " · " + run["aggregator"].get<std::string>();
        }
    const bool vs_single = std::isfinite(best_single);
    if (aggregators.size() < 2 && !vs_single) return "";  // the flat table below says it all
    std::string out = "\nStitched accuracy (mean over encoder pairs) of every subset by every aggregator; the best of "
                      "each row in bold" +
                      (vs_single ? fmt::format(", and its difference to the best single projection of this run's "
                                               "stitching, {} ({:.3f})",
                                               best_single_name, best_single)
                                 : std::string()) +
                      ".\n\n| projections |";
    for (const auto& a : aggregators) out += " " + a + " |";
    out += vs_single ? " best − best single |\n|---|" : "\n|---|";
    for (std::size_t i = 0; i < aggregators.size() + (vs_single ? 1 : 0); ++i) out += "---|";
    out += "\n";
    for (const auto& subset : subsets) {
      double best = NAN;
      for (const auto& a : aggregators)
        if (const auto it = stitched.find({subset, a}); it != stitched.end() && !(it->second <= best)) best = it->second;
      out += "| " + subset + " |";
      for (const auto& a : aggregators) {
        const auto it = stitched.find({subset, a});
        if (it == stitched.end() || !std::isfinite(it->second)) {
          out += " – |";
          continue;
        }
        const std::string cell = fmt::format("{:.3f}", it->second);
        out += it->second == best ? " **" + cell + "** |" : " " + cell + " |";
      }
      if (vs_single) out += std::isfinite(best) ? fmt::format(" {:+.3f} |", best - best_single) : " – |";
      out += "\n";
    }
    return out;
  }
};

}  // namespace

const Experiment& ablation_experiment() {
  static const AblationExperiment kind;
  return kind;
}

}  // namespace bridges
