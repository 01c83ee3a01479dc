// Reconstruction stitching: decoders that rebuild the input image from the
// relative space, trained on one encoder and used on every other; scored
// by MSE per pixel, the index by the target's own end-to-end MSE.
#include <fmt/format.h>

#include "bridges/aggregator.hpp"
#include "bridges/error.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/messages.hpp"
#include "experiment.hpp"
#include "report_format.hpp"
#include "run_context.hpp"

namespace bridges {

using nlohmann::json;

namespace {

class ReconstructionExperiment final : public Experiment {
 public:
  std::string_view name() const override { return "reconstruction"; }

  json option_schema() const override {
    return {{"projection_sets", projection_sets_option()},
            {"aggregators", aggregators_option()}};
  }

  void check(json& options, const ExperimentCheck& at) const override {
    at.projection_sets(options["projection_sets"], ".projection_sets");
    at.aggregator_names(options["aggregators"], ".aggregators");
  }

  json run(RunContext& run, const json& options) const override {
    const Pipeline& p = run.pipeline();
    if (!run.train().fields.count("image"))
      throw ConfigError(fmt::format("pipeline {}: reconstruction needs images (field \"image\"); dataset/{} has none.",
                                    p.name, p.dataset["type"].get<std::string>()));
    const Tensor train_images = run.train().field("image"), test_images = run.test().field("image");
    const std::vector<int64_t> shape(train_images.sizes().begin() + 1, train_images.sizes().end());
    const auto& encoders = run.encoders();
    const std::size_t m = encoders.size();
    const auto seeds = run.decoder_seeds();
    json runs = json::array();
    for (const auto& set : run.expand_sets(options["projection_sets"]))
      for (const auto& aggregator : run.aggregators(options["aggregators"])) {
        Cube mse(seeds.size(), std::vector<std::vector<double>>(m, std::vector<double>(m))), index = mse;
        for (std::size_t i = 0; i < m; ++i)
          for (std::size_t s = 0; s < seeds.size(); ++s) {
            throw_if_interrupted();
            RelativeReconstructor model(run.source().make_from_json<Aggregator>(aggregator),
                                        static_cast<int64_t>(set.size()), run.anchors().size(0), shape,
                                        p.decoder_options(seeds[s]));
            model.fit(run.space(encoders[i], set, true), train_images,
                      fmt::format("reconstruction {} on {} (seed {})", join(set, "+"), encoders[i].name, seeds[s]));
            for (std::size_t j = 0; j < m; ++j) mse[s][i][j] = model.mse(run.space(encoders[j], set, false), test_images);
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
        run.note(fmt::format("reconstruction {}|{}: end to end MSE {:.5f}, stitched {:.5f}", join(set, "+"),
                             aggregator["type"].get<std::string>(),
                             runs.back()["summary"]["end_to_end"]["mean"].get<double>(),
                             runs.back()["summary"]["stitched"]["mean"].get<double>()));
      }
    return {{"encoders", run.encoder_names()}, {"runs", runs}};
  }

  std::string markdown(json& r) const override {
    if (!r.contains("reconstruction")) return "";
    std::string out =
        "\n## Reconstruction stitching (MSE per pixel; index = end-to-end MSE of the target / stitched MSE)\n\n"
        "| projections · aggregator | end to end | stitched | index |\n|---|---|---|---|\n";
    for (auto& run : r["reconstruction"]["runs"])
      out += fmt::format("| {} | {} | {} | {} |\n", run_name(run), pm(run["summary"]["end_to_end"], 5),
                         pm(run["summary"]["stitched"], 5), pm(run["summary"]["index"]));
    return out;
  }
};

}  // namespace

const Experiment& reconstruction_experiment() {
  static const ReconstructionExperiment kind;
  return kind;
}

}  // namespace bridges
