// bridges run: validate a pipeline, then run it into its run folder.
#include <fmt/format.h>

#include <csignal>
#include <iostream>

#include "bridges/error.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/runner.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

struct RunCommandOptions {
  std::string file, out, cache;
  bool dry_run = false;
  bool no_estimate = false;
};

void run(Context& context, const RunCommandOptions& o) {
  const Pipeline pipeline = Pipeline::load(o.file, context.registry());
  RunOptions options;
  options.out = o.out;
  options.cache = o.cache;
  options.command = context.command_line;
  if (o.dry_run) {
    std::cout << describe_plan(pipeline, context.registry(), options, /*estimate=*/!o.no_estimate);
    std::cout << fmt::format("{} is valid; nothing was run (--dry-run).\n", o.file);
    return;
  }
  try {
    const nlohmann::json results = run_pipeline(pipeline, context.registry(), options, std::cout);
    if (results.contains("stitching")) {
      std::cout << "\nzero-shot stitching (accuracy, mean over decoder seeds):\n";
      std::vector<std::vector<std::string>> rows;
      auto add = [&](const nlohmann::json& r, const std::string& name) {
        const auto& s = r["summary"];
        const auto v = [](const nlohmann::json& ms) { return ms.is_object() ? fmt::format("{:.4f}", ms["mean"].get<double>()) : "-"; };
        rows.push_back({name, v(s["end_to_end"]["accuracy"]), v(s["stitched"]["accuracy"]), v(s["index"])});
      };
      for (const auto& r : results["stitching"]["runs"]) {
        std::string name;
        for (const auto& p : r["projections"]) name += (name.empty() ? "" : "+") + p.get<std::string>();
        add(r, name + " | " + r["aggregator"].get<std::string>());
      }
      for (const auto& t : results["stitching"].value("translations", nlohmann::json::array()))
        add(t, t["name"].get<std::string>());
      if (results["stitching"].contains("absolute")) add(results["stitching"]["absolute"], "absolute");
      print_table(std::cout, {"PROJECTIONS | AGGREGATOR", "END TO END", "STITCHED", "INDEX"}, rows);
    }
    // Again after the numbers they qualify: the log's first lines are long gone by now.
    for (const auto& warning : pipeline.warnings) std::cout << fmt::format("\nwarning: {}: {}\n", o.file, warning);
  } catch (const Interrupted& e) {
    clear_interrupt();
    std::cerr << e.what() << '\n';
    context.exit_code = 130;
  }
}

}  // namespace

void add_run_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<RunCommandOptions>();
  auto* cmd = app.add_subcommand("run", description_of("run"));
  cmd->footer(
      "The whole file is validated first (unknown keys and names are errors with their JSON path);\n"
      "--dry-run stops there and prints the plan. The run folder holds the resolved pipeline.json,\n"
      "results.json, report.md, report.html, run.log and the caches of trained encoders and latents:\n"
      "running again reuses them. Ctrl-C stops at the next step and leaves no half-written file\n"
      "(exit code 130). Global options may follow: --threads N sets LibTorch's threads.\n\n"
      "Example:\n"
      "  bridges run examples/pipelines/fashion-mnist-stitching.json --threads 2");
  cmd->add_option("PIPELINE", o->file, "the pipeline's JSON file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", o->out, "run folder (default: the pipeline's \"output\", runs/<name>)");
  cmd->add_option("--cache", o->cache,
                  "folder of trained encoders, latents and decoders (default: the pipeline's \"cache\", else "
                  "RUN/cache); runs that share encoders and anchors can share one, and train each part once");
  cmd->add_flag("--no-estimate", o->no_estimate, "with --dry-run: skip timing the decoders (a few seconds per aggregator)");
  cmd->add_flag("--dry-run", o->dry_run, "validate and print the plan, with the decoders' time estimated from one timed epoch of each; run nothing");
  cmd->callback([&context, o] { run(context, *o); });
}

}  // namespace bridges::cli
