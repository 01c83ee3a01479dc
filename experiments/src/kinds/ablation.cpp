// The aggregation ablation: stitching on every subset of the projections
// (of at least `min_size`), for each aggregator. Runs already trained by a
// stitching experiment on the same anchors are reused.
#include <fmt/format.h>

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
             {{"type", "integer"}, {"minimum", 1}, {"default", 2}, {"description", "the smallest subset of projections"}}}};
  }

  void check(json& options, const ExperimentCheck& at) const override {
    at.aggregator_names(options["aggregators"], ".aggregators");
  }

  json run(RunContext& run, const json& options) const override {
    const Names names = run.projection_names();
    const auto min_size = options["min_size"].get<std::size_t>();
    json rows = json::array();
    for (const auto& aggregator : run.aggregators(options["aggregators"]))
      for (uint64_t mask = 1; mask < (uint64_t{1} << names.size()); ++mask) {
        Names set;
        for (std::size_t b = 0; b < names.size(); ++b)
          if (mask & (uint64_t{1} << b)) set.push_back(names[b]);
        if (set.size() < min_size) continue;
        throw_if_interrupted();
        const json stitched = run.stitch(set, aggregator);
        rows.push_back({{"projections", set}, {"aggregator", aggregator["type"]}, {"summary", stitched["summary"]}});
      }
    return {{"rows", rows}};
  }

  // The parts of a study may each run some aggregators or subsets.
  void merge(json& results, const json& from, const std::string& where) const override {
    merge_entries(results["ablation"]["rows"], from["rows"], [](const json& row) { return run_name(row); },
                  "ablation row", where);
  }

  std::string markdown(json& r) const override {
    if (!r.contains("ablation")) return "";
    std::string out =
        "\n## Aggregation ablation\n\n| projections | aggregator | end to end | stitched | stitching index |\n|---|---|---|---|---|\n";
    for (auto& row : r["ablation"]["rows"]) {
      std::string projections;
      for (auto& p : row["projections"]) projections += (projections.empty() ? "" : " + ") + p.get<std::string>();
      out += fmt::format("| {} | {} | {} | {} | {} |\n", projections, row["aggregator"].get<std::string>(),
                         pm(row["summary"]["end_to_end"]["accuracy"]), pm(row["summary"]["stitched"]["accuracy"]),
                         pm(row["summary"]["index"]));
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
