// bridges report: write a run's reports again from its results.json, or
// compare the latent-similarity experiments of several runs (e.g. the same
// pipeline on two data sets).
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/experiments/claims.hpp"
#include "bridges/experiments/merge.hpp"
#include "bridges/experiments/report.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

namespace fs = std::filesystem;

struct ReportOptions {
  std::vector<fs::path> runs;
  fs::path out;
  bool claims = false, merge = false;
  std::string name;
  std::vector<fs::path> pipelines{"examples/pipelines"};
};

// A run folder or its results.json.
fs::path results_file(const fs::path& run) {
  const fs::path file = fs::is_directory(run) ? run / "results.json" : run;
  if (!fs::is_regular_file(file))
    throw IoError(fmt::format("{}: no results.json here; give a run folder written by `bridges run` or its results.json.",
                              run.string()));
  return file;
}

nlohmann::json read_results(const fs::path& file) {
  nlohmann::json results;
  results = parse_json(read_text(file), file.string(), "Run the pipeline again to write it anew.");
  if (!results.is_object())
    throw FormatError(fmt::format("{}: expected the results of `bridges run` (a JSON object), found {}.", file.string(),
                                  results.type_name()));
  for (const char* key : {"pipeline", "dataset", "samples", "classes", "anchors", "encoders"})
    if (!results.contains(key))
      throw FormatError(fmt::format("{}: field \"{}\" is missing; is this a results.json written by `bridges run`? "
                                    "Run the pipeline again to write it anew.",
                                    file.string(), key));
  return results;
}

// The pipeline file named `name` under `dirs` (searched recursively, in
// sorted order), or "" when none is.
std::string pipeline_named(const std::string& name, const std::vector<fs::path>& dirs) {
  for (const auto& dir : dirs) {
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(dir))
      if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const auto pipeline = nlohmann::json::parse(read_text(file), nullptr, false);
      if (pipeline.is_object() && pipeline.value("name", std::string()) == name) return file.string();
    }
  }
  return "";
}

void write_claims(const ReportOptions& o, const std::vector<fs::path>& files, const std::vector<nlohmann::json>& results) {
  std::vector<ClaimsRun> runs;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path folder = files[i].parent_path();
    const fs::path log = folder / "run.log";
    runs.push_back({o.runs[i].string(), results[i], fs::is_regular_file(log) ? read_text(log) : std::string(),
                    pipeline_named(results[i].value("pipeline", std::string()), o.pipelines), {}});
    if (results[i].contains("parts") && results[i]["parts"].is_array())
      for (const auto& part : results[i]["parts"])
        runs.back().part_pipeline_files.push_back(part.is_object() ? pipeline_named(part.value("pipeline", std::string()), o.pipelines) : "");
  }
  std::string md;
  try {
    md = claims_report(runs);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(fmt::format("the claims report: a field of one of the results is missing or of another type ({}); "
                                  "are these results.json files written by this bridges? Run their pipelines again.",
                                  e.what()));
  }
  if (o.out.empty()) {
    std::cout << md;
  } else {
    write_text_atomically(o.out, md);
    std::cout << fmt::format("wrote {}\n", o.out.string());
  }
}

// The parts of one study, each run into its own folder, as one run folder:
// results.json, report.md, report.html, the pipeline that would run every
// part in one sitting, and the parts' logs.
void write_merge(const ReportOptions& o, const std::vector<fs::path>& files, const std::vector<nlohmann::json>& results) {
  if (o.out.empty())
    throw ConfigError("--merge writes a run folder: give it with --out (e.g. -o runs/fashion-mnist-paper).");
  // The merge must not overwrite what it reads, nor a run of its own.
  for (const auto& file : files)
    if (fs::weakly_canonical(file.parent_path()) == fs::weakly_canonical(o.out))
      throw ConfigError(fmt::format("--out {} is one of the runs to merge; its results would be overwritten. Give "
                                    "the merge a folder of its own.",
                                    o.out.string()));
  if (fs::is_regular_file(o.out / "results.json")) {
    const auto existing = nlohmann::json::parse(read_text(o.out / "results.json"), nullptr, false);
    if (!existing.is_object() || !existing.contains("parts"))
      throw ConfigError(fmt::format("--out {} holds the results of a run, not of a merge; they would be overwritten. "
                                    "Give the merge a folder of its own.",
                                    o.out.string()));
  }
  const FolderLock lock(o.out, "Wait for the other merge or run to finish, or give another folder (--out).");
  std::vector<MergePart> parts;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path pipeline = files[i].parent_path() / "pipeline.json";
    if (!fs::is_regular_file(pipeline))
      throw IoError(fmt::format("{}: no pipeline.json beside results.json; a merge checks that the parts share their "
                                "settings by it. Give run folders written by `bridges run`.",
                                files[i].parent_path().string()));
    parts.push_back({o.runs[i].string(),
                     parse_json(read_text(pipeline), pipeline.string(), "Run the part again to write it anew."),
                     results[i]});
  }
  const std::string name = o.name.empty() ? merged_name(parts) : o.name;
  nlohmann::json merged;
  std::string md, html;
  try {
    merged = merge_runs(parts, name);
    md = markdown_report(merged);
    html = html_report(merged);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(fmt::format("the merge: a field of one of the results is missing or of another type ({}); are "
                                  "these results.json files written by this bridges? Run the parts again.",
                                  e.what()));
  }
  // One pipeline with every part's experiments: it remakes the merge in one sitting.
  nlohmann::json pipeline = parts[0].pipeline;
  pipeline["name"] = name;
  pipeline["experiments"] = nlohmann::json::array();
  for (const auto& part : parts)
    for (const auto& e : part.pipeline["experiments"]) pipeline["experiments"].push_back(e);
  pipeline["output"] = o.out.string();
  pipeline.erase("cache");
  std::string log;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const fs::path part_log = files[i].parent_path() / "run.log";
    log += fmt::format("== part {} of {}: {} ({})\n", i + 1, parts.size(), parts[i].folder,
                       parts[i].results.value("pipeline", std::string("?")));
    if (fs::is_regular_file(part_log)) log += read_text(part_log);
  }
  fs::create_directories(o.out);
  write_text_atomically(o.out / "pipeline.json", pipeline.dump(2) + "\n");
  write_text_atomically(o.out / "run.log", log);
  write_text_atomically(o.out / "report.md", md);
  write_text_atomically(o.out / "report.html", html);
  write_text_atomically(o.out / "results.json", merged.dump(2) + "\n");  // last: it marks the folder finished
  std::cout << fmt::format("merged {} runs into {} (results.json, report.md, report.html)\n", parts.size(), o.out.string());
}

void run(const ReportOptions& o) {
  std::vector<nlohmann::json> results;
  std::vector<fs::path> files;
  for (const auto& r : o.runs) {
    files.push_back(results_file(r));
    results.push_back(read_results(files.back()));
  }
  // The reports read fields by type; a hand-edited or foreign file fails
  // there with the JSON library's words, which are rethrown naming the file.
  const auto rendered = [&](const auto& render, const std::string& what) {
    try {
      return render();
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(fmt::format("{}: a field is missing or of another type ({}); is this a results.json written "
                                    "by this bridges? Run the pipeline again to write it anew.",
                                    what, e.what()));
    }
  };
  if (o.claims && o.merge) throw ConfigError("--claims and --merge: choose one (merge first, then give the merged folder to --claims).");
  if (o.claims) return write_claims(o, files, results);
  if (o.merge) return write_merge(o, files, results);
  if (results.size() == 1) {
    const fs::path folder = o.out.empty() ? files[0].parent_path() : o.out;
    // Both rendered before either is written: no half-updated pair.
    const std::string md = rendered([&] { return markdown_report(results[0]); }, files[0].string());
    const std::string html = rendered([&] { return html_report(results[0]); }, files[0].string());
    write_text_atomically(folder / "report.md", md);
    write_text_atomically(folder / "report.html", html);
    std::cout << fmt::format("wrote {} and report.html\n", (folder / "report.md").string());
    return;
  }
  std::size_t with_latent_similarity = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].contains("latent_similarity")) ++with_latent_similarity;
    else std::cerr << fmt::format("note: {} has no latent_similarity experiment; left out.\n", files[i].string());
  }
  if (with_latent_similarity == 0)
    throw ConfigError("none of these runs has a latent_similarity experiment to compare; add "
                      "{\"type\": \"latent_similarity\"} to the pipelines' \"experiments\" and run them.");
  std::string names;
  for (const auto& f : files) names += (names.empty() ? "" : ", ") + f.string();
  const std::string md = rendered([&] { return latent_similarity_comparison(results); }, names);
  if (o.out.empty()) {
    std::cout << md;
  } else {
    write_text_atomically(o.out, md);
    std::cout << fmt::format("wrote {}\n", o.out.string());
  }
}

}  // namespace

void add_report_command(CLI::App& app, Context&) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", description_of("report"));
  cmd->footer(
      "With one run: writes report.md and report.html again from its results.json (into the run\n"
      "folder, or the folder --out). With several: for every measure, the most similar relative\n"
      "representation across seeds per architecture and run, and whether that choice changes with\n"
      "the architecture and the data set; Markdown to stdout or the file --out.\n\n"
      "With --claims: docs/reproduction.md, each of the method's claims checked against the runs.\n"
      "With --merge: the parts of one study (pipelines that differ only in their experiments, each\n"
      "run into its own folder) as one run folder --out, with one results.json and report.\n\n"
      "Examples:\n"
      "  bridges report runs/latent-analysis-fashion-mnist runs/latent-analysis-mnist -o latent-analysis.md\n"
      "  bridges report --claims runs/claims/* -o docs/reproduction.md\n"
      "  bridges report --merge runs/fashion-mnist-paper-* -o runs/fashion-mnist-paper");
  cmd->add_option("RUN", o->runs, "run folders (or their results.json)")->required()->check(CLI::ExistingPath);
  cmd->add_option("--out,-o", o->out,
                  "one run or --merge: the folder for the reports; several, or --claims: the Markdown file (default: stdout)");
  cmd->add_flag("--claims", o->claims,
                "check the method's claims C1-C6 against the runs: settings, numbers, verdicts and the commands that "
                "reproduce them (docs/reproduction.md is written this way)");
  cmd->add_flag("--merge", o->merge,
                "join the runs of the parts of one study into the run folder --out: their settings must agree, each "
                "experiment's results are joined");
  cmd->add_option("--name", o->name,
                  "--merge: the merged run's name (default: the parts' names' common prefix)");
  cmd->add_option("--pipelines", o->pipelines,
                  "--claims: folders searched for each run's pipeline file, by its name")
      ->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace bridges::cli
