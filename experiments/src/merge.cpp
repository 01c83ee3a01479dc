#include "bridges/experiments/merge.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "bridges/error.hpp"
#include "bridges/options.hpp"
#include "experiment.hpp"

namespace bridges {

using nlohmann::json;

namespace {

// What the parts of one study may differ in: everything else decides the
// numbers (data, encoders, anchors, projections, decoders) and must agree.
const char* const kPipelineOwnKeys[] = {"name", "description", "experiments", "output", "cache"};

// The facts every run's results.json starts with; the experiments follow.
const char* const kSharedFacts[] = {"dataset",  "samples",     "classes",     "anchors",
                                    "encoders", "projections", "orientation", "modality"};

bool is_experiment(const std::string& key) {
  const auto names = experiment_names();
  return std::find(names.begin(), names.end(), key) != names.end();
}

// The first field where `a` and `b` differ: its JSON path below `path`,
// and its value in each ("(absent)" where it is missing).
struct Difference {
  std::string path;
  json a, b;
};

Difference first_difference(const json& a, const json& b, const std::string& path) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items())
      if (!b.contains(key)) return {path + "." + key, value, "(absent)"};
      else if (value != b[key]) return first_difference(value, b[key], path + "." + key);
    for (const auto& [key, value] : b.items())
      if (!a.contains(key)) return {path + "." + key, "(absent)", value};
  }
  if (a.is_array() && b.is_array() && a.size() == b.size())
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i] != b[i]) return first_difference(a[i], b[i], fmt::format("{}[{}]", path, i));
  return {path, a, b};
}

}  // namespace

std::string merged_name(const std::vector<MergePart>& parts) {
  std::vector<std::string> names;
  for (const auto& part : parts) names.push_back(part.results.value("pipeline", std::string()));
  if (names.empty()) return "";
  std::string prefix = names[0];
  for (const auto& n : names) prefix.resize(std::mismatch(prefix.begin(), prefix.end(), n.begin(), n.end()).first - prefix.begin());
  const auto separator = [](char c) { return c == '-' || c == '_'; };
  // Cut back to a word boundary: "paper-10" and "paper-11" share "paper-1".
  const bool whole = std::all_of(names.begin(), names.end(), [&](const std::string& n) {
    return n.size() == prefix.size() || separator(n[prefix.size()]);
  });
  if (!whole) prefix.resize(prefix.find_last_of("-_") == std::string::npos ? 0 : prefix.find_last_of("-_") + 1);
  while (!prefix.empty() && separator(prefix.back())) prefix.pop_back();
  if (!prefix.empty()) return prefix;
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : " + ") + n;
  return joined;
}

json merge_runs(const std::vector<MergePart>& parts, const std::string& name) {
  if (parts.size() < 2)
    throw ConfigError("a merge joins two or more runs (the parts of one study); give their run folders.");
  const MergePart& first = parts.front();
  json merged = json::object();
  merged["pipeline"] = name;
  for (const char* fact : kSharedFacts)
    if (first.results.contains(fact)) merged[fact] = first.results[fact];
  merged["parts"] = json::array();
  for (const MergePart& part : parts) {
    if (part.results.contains("sweep"))
      throw ConfigError(fmt::format("{}: this run sweeps its anchors (\"sweep\" in results.json); a merge joins runs "
                                    "of one anchor setting. Merge the parts of a study without an anchor sweep.",
                                    part.folder));
    if (part.results.contains("parts"))
      throw ConfigError(fmt::format("{}: this is a merge already; merge the parts it was made of (its \"parts\") "
                                    "with the others.",
                                    part.folder));
    // The pipelines first: a difference there (e.g. decoder epochs) is the
    // reason the numbers would differ, and is what the user can fix.
    json own = part.pipeline, reference = first.pipeline;
    for (const char* key : kPipelineOwnKeys) {
      own.erase(key);
      reference.erase(key);
    }
    if (own != reference) {
      const Difference d = first_difference(reference, own, "$");
      throw ConfigError(fmt::format(
          "{}: pipeline.json differs from that of {} at {} ({} here, {} there): the parts of one study share "
          "everything but their name, description, experiments, output and cache. Run this part again with the "
          "same settings, or leave it out.",
          part.folder, first.folder, d.path, json_excerpt(d.b), json_excerpt(d.a)));
    }
    for (const char* fact : kSharedFacts)
      if (part.results.value(fact, json()) != first.results.value(fact, json()))
        throw ConfigError(fmt::format(
            "{}: results.json field \"{}\" differs from that of {} ({}), although their pipelines agree: the runs "
            "were made by different builds or data. Run both parts again with one build.",
            part.folder, fact, first.folder, first_difference(first.results.value(fact, json()), part.results.value(fact, json()), "$." + std::string(fact)).path));
    for (const auto& [key, value] : part.results.items()) {
      if (key == "pipeline" || key == "provenance" || key == "warnings" || std::find_if(std::begin(kSharedFacts), std::end(kSharedFacts),
                                            [&](const char* f) { return key == f; }) != std::end(kSharedFacts))
        continue;
      if (!is_experiment(key))
        throw FormatError(fmt::format("{}: results.json field \"{}\" is not one this bridges writes; is it from "
                                      "another version? Run the part again.",
                                      part.folder, key));
    }
    // Each part's warnings once: the parts of one study often share them.
    const json warnings = part.results.value("warnings", json::array());
    if (!warnings.is_array() || !std::all_of(warnings.begin(), warnings.end(), [](const json& w) { return w.is_string(); }))
      throw FormatError(fmt::format("{}: results.json field \"warnings\" is {}, not a list of texts as bridges writes "
                                    "it. Run the part again, or remove the field.",
                                    part.folder, json_excerpt(warnings)));
    for (const json& warning : warnings)
      if (!merged.contains("warnings") || std::find(merged["warnings"].begin(), merged["warnings"].end(), warning) ==
                                              merged["warnings"].end())
        merged["warnings"].push_back(warning);
    // Each part keeps what made it (its build, machine, date, time).
    merged["parts"].push_back({{"pipeline", part.results.value("pipeline", std::string())},
                               {"run", part.folder},
                               {"provenance", part.results.value("provenance", json())}});
  }
  // Experiments in the reports' order, each joined by its kind.
  for (const Experiment* kind : experiment_table()) {
    const std::string key(kind->name());
    for (const MergePart& part : parts)
      if (part.results.contains(key)) kind->merge(merged, part.results[key], part.folder);
  }
  return merged;
}

}  // namespace bridges
