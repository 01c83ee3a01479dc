#pragma once
// One kind of experiment a pipeline runs ("stitching", "latent_similarity",
// ...): its options, how it runs, how its results join results.json and
// how the report shows them. Each kind is one file in kinds/ and one line
// of the table in kinds/table.cpp; the pipeline checker, the runner and the
// reports know experiments only through this interface.
//
// Internal to bridges::experiments: a kind uses RunContext, the runner's
// shared state, which is not a stable API.

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bridges/component.hpp"
#include "bridges/component_source.hpp"

namespace bridges {

struct Pipeline;
struct PlannedStitching;
class RunContext;

/// Checks one experiment entry against the pipeline it belongs to. Every
/// error names the file and the JSON path ("$.experiments[1].pairs").
class ExperimentCheck {
 public:
  /// `component` checks a component spec against the source the pipeline
  /// was loaded from (a name or {"type": ..., options}, at a JSON path) and
  /// returns it complete with defaults, as the pipeline's own components are.
  using ComponentCheck = std::function<nlohmann::json(const nlohmann::json&, ComponentKind, const std::string&)>;
  ExperimentCheck(const Pipeline& pipeline, std::string where, std::string path, const ComponentSource& source,
                  ComponentCheck component);

  /// Throws ConfigError "<where>: <path><key>: <problem>"; key is "" or ".pairs".
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;

  const std::vector<std::string>& projections() const { return projections_; }
  const std::vector<std::string>& aggregators() const { return aggregators_; }
  const std::vector<std::string>& encoders() const { return encoders_; }

  /// Sets of projections: "each", "all" or lists of this pipeline's projection names.
  void projection_sets(const nlohmann::json& sets, const std::string& key) const;
  /// null (every aggregator) or a list of this pipeline's aggregator names.
  void aggregator_names(const nlohmann::json& names, const std::string& key) const;
  /// A list of component specs of `kind` (names or {"type": ..., options}),
  /// each checked by the source and completed in place.
  void components(nlohmann::json& list, ComponentKind kind, const std::string& key) const;
  /// What the source declares about KIND/NAME (throws UnknownNameError).
  ComponentInfo info(ComponentKind kind, const std::string& name) const { return source_.info(kind, name); }
  /// A list whose every element is a string of `allowed`.
  void names_from(const nlohmann::json& list, const std::string& key, const std::vector<std::string>& allowed) const;
  /// `name` is one of `names`, the pipeline's parts of one sort: `what`
  /// ("an encoder") and `listed_as` ("Encoders") name them in the message.
  void part_of(const nlohmann::json& name, const std::vector<std::string>& names, std::string_view what,
               std::string_view listed_as, const std::string& key) const;

 private:
  std::string where_, path_;
  const ComponentSource& source_;
  ComponentCheck component_;
  std::vector<std::string> projections_, aggregators_, encoders_;
};

/// "knn_jaccard", or with the options that differ from the component's
/// defaults: "knn_jaccard (knn: 5)". Names results keyed by a component
/// spec (measures, translators) as a person would write it.
std::string spec_label(const ComponentSource& source, ComponentKind kind, const nlohmann::json& spec);

class Experiment {
 public:
  virtual ~Experiment() = default;

  /// The name pipelines use: {"type": "<name>"}; also its key in results.json.
  virtual std::string_view name() const = 0;
  /// The options, declared as a plugin manifest declares a component's
  /// (OptionSchema): checked, and defaults filled, before check().
  virtual nlohmann::json option_schema() const = 0;
  /// What the schema cannot say (names of the pipeline's parts, defaults
  /// that depend on it); completes `options` in place.
  virtual void check(nlohmann::json& options, const ExperimentCheck& at) const {}
  /// True when it trains decoders: every sample then needs a label.
  virtual bool trains_decoders() const { return true; }

  /// The stitching runs (projection set, aggregator) it asks for, in the
  /// order it runs them; none by default.
  virtual std::vector<PlannedStitching> stitching_plan(const Pipeline& pipeline, const nlohmann::json& options) const;
  /// Every (projection set, aggregator) whose subspaces it merges: its
  /// stitching runs by default, plus the decoders it trains otherwise
  /// (fine-tuning). The pipeline's checks read it, nothing is counted.
  virtual std::vector<PlannedStitching> merges(const Pipeline& pipeline, const nlohmann::json& options) const;

  /// Runs the experiment on the current anchors; returns its part of results.json.
  virtual nlohmann::json run(RunContext& run, const nlohmann::json& options) const = 0;
  /// Adds one run's part to the results; by default results[name()] = part.
  virtual void add_result(nlohmann::json& results, nlohmann::json part) const;

  /// Joins `from`, the same kind's results of another run (a part of one
  /// study run into its own folder, named by `where` in errors), into
  /// `results`, which may hold none yet. By default the kind's results come
  /// from one part only, or are equal in every part that has them.
  virtual void merge(nlohmann::json& results, const nlohmann::json& from, const std::string& where) const;

  /// Its section of report.md ("" when `results` holds none of it). The
  /// results are a mutable copy: see report_format.hpp.
  virtual std::string markdown(nlohmann::json& results) const = 0;
  /// Its figures in report.html, after the tables.
  virtual std::string html_figures(nlohmann::json& results) const { return ""; }
};

/// Option declarations several kinds share: "projection_sets" ("each",
/// "all" or lists of names) and "aggregators" (names; null: every one).
nlohmann::json projection_sets_option();
nlohmann::json aggregators_option();

/// Appends the entries of the array `from` to the array `into`, each once:
/// an entry whose `key` is already there must equal it (two parts of one
/// study compute it alike), else a ConfigError names `what` and `where`.
void merge_entries(nlohmann::json& into, const nlohmann::json& from, const std::function<std::string(const nlohmann::json&)>& key,
                   const std::string& what, const std::string& where);

/// Every kind, in the order of the reports' sections.
const std::vector<const Experiment*>& experiment_table();
/// The names, in table order.
std::vector<std::string> experiment_names();
/// The kind named `name`; throws ConfigError with a "did you mean".
const Experiment& find_experiment(std::string_view name);

}  // namespace bridges
