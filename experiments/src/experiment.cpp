#include "experiment.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "bridges/error.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/runner.hpp"
#include "bridges/options.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

using nlohmann::json;

void Experiment::add_result(json& results, json part) const { results[std::string(name())] = std::move(part); }

std::vector<PlannedStitching> Experiment::stitching_plan(const Pipeline&, const json&) const { return {}; }

std::vector<PlannedStitching> Experiment::merges(const Pipeline& pipeline, const json& options) const {
  return stitching_plan(pipeline, options);
}

std::vector<PlannedStitching> planned_stitching(const Pipeline& pipeline) {
  std::vector<PlannedStitching> plan;
  for (const auto& e : pipeline.experiments)
    for (auto& planned : find_experiment(e.type).stitching_plan(pipeline, e.options)) plan.push_back(std::move(planned));
  return plan;
}

void Experiment::merge(json& results, const json& from, const std::string& where) const {
  const std::string key(name());
  if (!results.contains(key)) {
    results[key] = from;
  } else if (results[key] != from) {
    throw ConfigError(fmt::format("{}: its {} results differ from those of an earlier run; a merge takes each {} "
                                  "experiment from one part only. Leave one of these runs out, or run the experiment "
                                  "in one part only.",
                                  where, key, key));
  }
}

void merge_entries(json& into, const json& from, const std::function<std::string(const json&)>& key,
                   const std::string& what, const std::string& where) {
  if (!into.is_array()) into = json::array();
  for (const json& entry : from) {
    const std::string k = key(entry);
    const auto same = std::find_if(into.begin(), into.end(), [&](const json& e) { return key(e) == k; });
    if (same == into.end()) {
      into.push_back(entry);
    } else if (*same != entry) {
      throw ConfigError(fmt::format("{}: its {} \"{}\" differs from the same {} of an earlier run: the runs do not "
                                    "compute it alike (another build, or another decoder setting). Merge runs of one "
                                    "build and one setting, or leave one of them out.",
                                    where, what, k, what));
    }
  }
}

std::vector<std::string> experiment_names() {
  std::vector<std::string> names;
  for (const Experiment* kind : experiment_table()) names.emplace_back(kind->name());
  return names;
}

const Experiment& find_experiment(std::string_view name) {
  for (const Experiment* kind : experiment_table())
    if (kind->name() == name) return *kind;
  const auto names = experiment_names();
  throw ConfigError(fmt::format("experiment '{}' does not exist.{} Experiments: {}.", name, did_you_mean(name, names),
                                join(names)));
}

ExperimentCheck::ExperimentCheck(const Pipeline& pipeline, std::string where, std::string path,
                                 const ComponentSource& source, ComponentCheck component)
    : where_(std::move(where)), path_(std::move(path)), source_(source), component_(std::move(component)) {
  for (const auto& pr : pipeline.projections) projections_.push_back(pr.name);
  for (const auto& a : pipeline.aggregators) aggregators_.push_back(a["type"]);
  for (const auto& e : pipeline.encoders) encoders_.push_back(e.name);
}

std::string spec_label(const ComponentSource& source, ComponentKind kind, const json& spec) {
  const std::string type = spec["type"];
  const ComponentInfo info = source.info(kind, type);
  const json defaults = info.options.apply(json::object(), info.qualified_name());
  std::vector<std::string> changed;
  for (const auto& [key, value] : spec.items())
    if (key != "type" && (!defaults.contains(key) || defaults[key] != value))
      changed.push_back(fmt::format("{}: {}", key, value.dump()));
  return changed.empty() ? type : fmt::format("{} ({})", type, fmt::join(changed, ", "));
}

void ExperimentCheck::components(json& list, ComponentKind kind, const std::string& key) const {
  if (!list.is_array()) fail(key, fmt::format("expected a list of {} names or specs, found {}.", to_string(kind), json_excerpt(list)));
  for (std::size_t i = 0; i < list.size(); ++i) list[i] = component_(list[i], kind, fmt::format("{}{}[{}]", path_, key, i));
}

void ExperimentCheck::fail(const std::string& key, const std::string& problem) const {
  throw ConfigError(fmt::format("{}: {}{}: {}", where_, path_, key, problem));
}

void ExperimentCheck::projection_sets(const json& value, const std::string& key) const {
  if (!value.is_array() || value.empty())
    fail(key, "expected a non-empty array of \"each\", \"all\" or lists of projection names.");
  for (std::size_t i = 0; i < value.size(); ++i) {
    const json& set = value[i];
    const std::string at = fmt::format("{}[{}]", key, i);
    if (set.is_string()) {
      if (set != "each" && set != "all")
        fail(at, fmt::format("\"{}\" is not \"each\" or \"all\"; a set of projections is a list of names.",
                             set.get<std::string>()));
      continue;
    }
    if (!set.is_array() || set.empty()) fail(at, "expected \"each\", \"all\" or a non-empty list of projection names.");
    for (const auto& name : set) part_of(name, projections_, "a projection", "Projections", at);
  }
}

void ExperimentCheck::aggregator_names(const json& value, const std::string& key) const {
  if (value.is_null()) return;
  if (!value.is_array() || value.empty()) fail(key, "expected null (every aggregator) or a list of aggregator names.");
  for (const auto& name : value) part_of(name, aggregators_, "an aggregator", "Aggregators", key);
}

void ExperimentCheck::part_of(const json& name, const std::vector<std::string>& names, std::string_view what,
                              std::string_view listed_as, const std::string& key) const {
  if (name.is_string() && std::find(names.begin(), names.end(), name.get<std::string>()) != names.end()) return;
  fail(key, fmt::format("{} is not {} of this pipeline.{} {}: {}.", json_excerpt(name), what,
                        name.is_string() ? did_you_mean(name.get<std::string>(), names) : "", listed_as, join(names)));
}

json projection_sets_option() {
  return {{"type", "array"},
          {"default", json::array({"each", "all"})},
          {"description", "\"each\" (every projection alone), \"all\" (their product), or lists of projection names"}};
}

json aggregators_option() {
  return {{"type", "array"}, {"nullable", true}, {"default", nullptr}, {"description", "aggregator names; null: every one"}};
}

void ExperimentCheck::names_from(const json& list, const std::string& key, const std::vector<std::string>& allowed) const {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string at = fmt::format("{}[{}]", key, i);
    if (!list[i].is_string()) fail(at, fmt::format("expected a string, found {}.", json_excerpt(list[i])));
    const std::string name = list[i];
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      fail(at, fmt::format("\"{}\" is not one of {}.{}", name, join(allowed), did_you_mean(name, allowed)));
  }
}

}  // namespace bridges
