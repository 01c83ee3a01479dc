// bridges compare: how similar two latent spaces of the same samples are,
// absolute and through relative representations.
#include <ATen/ops/index_select.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>
#include <map>

#include "bridges/relative/anchors.hpp"
#include "bridges/error.hpp"
#include "bridges/measure.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/util/messages.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct CompareOptions {
  fs::path a, b, anchors;
  std::vector<std::string> measures{"cka_linear,cka_debiased,svcca,pearson,spearman,knn_jaccard,knn_cross_jaccard,knn_mrr,knn_cosine"};
  std::vector<std::string> similarities;
  int64_t num_anchors = 0;
  std::string strategy = "random";
  uint64_t seed = 0;
  std::string normalize = "none";
  int64_t knn = 10;
  bool json = false;
};

// Mapped, not read: a copy-on-write view of the file needs no fresh memory
// and no copy. Reading both [100000, 768] inputs into new memory was a third
// to a half of `compare -m cka_linear`'s time here (clearing the fresh pages).
Tensor read_latents(const fs::path& file) {
  const MappedNpy mapped(file);
  mapped.prefetch(0, mapped.rows());
  const Tensor x = mapped.slice(0, mapped.rows());
  if (x.dim() != 2 || !x.is_floating_point())
    throw ShapeError(fmt::format("{}: expected latents [n, d] float32 or float64, found {}.", file.string(), describe(x)));
  require_finite(x, file.string(), kFixNonFiniteLatents);
  return x;
}

Tensor anchor_indices(const CompareOptions& o, const Tensor& a) {
  if (!o.anchors.empty()) {
    const Tensor idx = read_npy(o.anchors);
    if (idx.scalar_type() != at::kLong || idx.dim() != 1)
      throw ShapeError(fmt::format("{}: --anchors must hold anchor indices [k] int64 (the same rows of both files), "
                                   "found {}.",
                                   o.anchors.string(), describe(idx)));
    if (idx.lt(0).logical_or(idx.ge(a.size(0))).any().item<bool>())
      throw ShapeError(fmt::format("{}: anchor indices must lie in [0, {}) (the rows of {}).", o.anchors.string(),
                                   a.size(0), o.a.string()));
    return idx;
  }
  return select_anchors(o.strategy, o.num_anchors, o.seed, Tensor(), a);
}

void run(Context&, const CompareOptions& o);

}  // namespace

void add_compare_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<CompareOptions>();
  auto* cmd = app.add_subcommand("compare", description_of("compare"));
  cmd->footer(
      "Row i of A and row i of B must encode the same sample. Each measure is computed on the absolute\n"
      "latents and, with --similarity, on the relative representations of both against the same anchor\n"
      "samples (--anchors IDX.npy, or --num-anchors K chosen in A by --anchor-strategy).\n"
      "Measures are plugins (`bridges plugins list` shows them, `bridges plugins show NAME` their options),\n"
      "given by name or as a JSON spec ('{\"type\": \"cka_rbf\", \"sigma\": 0.5}'). Those that pair entry (i, c)\n"
      "of A with entry (i, c) of B need the same width: '-' where the widths differ.\n\n"
      "Example:\n"
      "  bridges compare za.npy zb.npy -s cosine,euclidean,l1,linf --num-anchors 300 --anchor-strategy kmeans");
  cmd->add_option("A", o->a, "first latents [n, d] (.npy)")->required()->check(CLI::ExistingFile);
  cmd->add_option("B", o->b, "second latents [n, d'] (.npy), the same samples in the same order")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--measures,-m", o->measures, "measures, comma separated names or JSON specs")->capture_default_str();
  cmd->add_option("--similarity,-s", o->similarities, "also compare relative representations: similarities, comma separated");
  auto* anchors = cmd->add_option("--anchors,-a", o->anchors, "anchor indices [k] int64 (.npy) into both files")
                      ->check(CLI::ExistingFile);
  auto* count = cmd->add_option("--num-anchors", o->num_anchors, "number of anchors to choose in A")
                    ->check(CLI::PositiveNumber);
  anchors->excludes(count);
  cmd->add_option("--anchor-strategy", o->strategy, "random, farthest_point or kmeans (with --num-anchors)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "anchor selection seed (and the seed of measures with a \"seed\" option)")
      ->capture_default_str();
  cmd->add_option("--normalize", o->normalize, "per-subspace normalisation of relative representations")
      ->capture_default_str();
  cmd->add_option("--knn", o->knn, "neighbours of the measures with a \"knn\" option that their spec does not set "
                                   "(>= 1, below the number of samples)")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([&context, o] { run(context, *o); });
}

namespace {

void run(Context& context, const CompareOptions& o) {
  if (o.knn < 1)
    throw ConfigError(fmt::format("--knn: the number of neighbours must be at least 1, found {}. Use e.g. --knn 10.",
                                  o.knn));
  const auto names = list_values(o.measures);
  if (names.empty()) throw ConfigError("--measures: give at least one measure, e.g. --measures cka_linear.");
  // Each measure through the registry; --knn and --seed fill the options of
  // that name which a spec does not set.
  struct Chosen {
    std::string label;
    std::shared_ptr<Measure> measure;
    bool same_width;
  };
  std::vector<Chosen> measures;
  for (const auto& name : names) {
    json spec = parse_spec(name, "--measures");
    const ComponentInfo info = context.registry().info(ComponentKind::measure, spec["type"].get<std::string>());
    const auto declared = info.options.names();
    const auto has = [&](const char* key) { return std::find(declared.begin(), declared.end(), key) != declared.end(); };
    if (has("knn") && !spec.contains("knn")) spec["knn"] = o.knn;
    if (has("seed") && !spec.contains("seed")) spec["seed"] = o.seed;
    measures.push_back({name, context.registry().make_from_json<Measure>(spec), info.same_width});
  }
  const Tensor a = read_latents(o.a), b = read_latents(o.b);
  if (a.size(0) != b.size(0))
    throw ShapeError(fmt::format("{} has {} rows and {} has {}: both must encode the same samples, row by row.",
                                 o.a.string(), a.size(0), o.b.string(), b.size(0)));
  // Representations to compare: absolute, then one per similarity.
  std::vector<std::pair<std::string, std::pair<Tensor, Tensor>>> reps{{"absolute", {a, b}}};
  const auto similarity_names = list_values(o.similarities);
  if (!similarity_names.empty()) {
    if (o.anchors.empty() && o.num_anchors == 0)
      throw ConfigError("--similarity needs anchors: --anchors IDX.npy (indices into both files) or --num-anchors K.");
    const Tensor idx = anchor_indices(o, a);
    std::vector<std::shared_ptr<const Similarity>> similarities;
    for (const auto& name : similarity_names) similarities.push_back(make_similarity(context, name));
    const SubspaceNorm norm = parse_subspace_norm(o.normalize);
    const auto ra = RelativeProjector(at::index_select(a, 0, idx), similarities, norm).project(a);
    const auto rb = RelativeProjector(at::index_select(b, 0, idx), similarities, norm).project(b.to(a.scalar_type()));
    for (std::size_t i = 0; i < similarity_names.size(); ++i) reps.push_back({similarities[i]->type(), {ra[i], rb[i]}});
  }

  // A measure that is not defined here (too few samples, no variance) is
  // reported as such, with its reason; the others are still computed.
  nlohmann::json out = nlohmann::json::object(), undefined_json = nlohmann::json::object();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> reasons;
  bool skipped = false;
  for (const auto& [name, pair] : reps) {
    const auto& [x, y] = pair;
    std::vector<std::string> row{name};
    for (const auto& m : measures) {
      if (m.same_width && x.size(1) != y.size(1)) {
        out[name][m.label] = nlohmann::json();
        row.push_back("-");
        skipped = true;
        continue;
      }
      try {
        const double value = m.measure->compare(x, y);
        out[name][m.label] = value;
        row.push_back(fmt::format("{:.4f}", value));
      } catch (const UndefinedMeasureError& e) {
        const std::string why = e.what();
        out[name][m.label] = nlohmann::json();
        undefined_json[name][m.label] = why;
        if (std::find(reasons.begin(), reasons.end(), why) == reasons.end()) reasons.push_back(why);
        const auto index = std::find(reasons.begin(), reasons.end(), why) - reasons.begin();
        row.push_back(fmt::format("undefined[{}]", index + 1));
      }
    }
    rows.push_back(row);
  }
  if (o.json) {
    nlohmann::json doc{{"a", o.a.string()}, {"b", o.b.string()}, {"samples", a.size(0)}, {"measures", out}};
    if (!undefined_json.empty()) doc["undefined"] = undefined_json;
    std::cout << doc.dump(2) << '\n';
    return;
  }
  std::vector<std::string> header{"REPRESENTATION"};
  for (const auto& chosen : measures) {
    std::string m = chosen.label;
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    header.push_back(m);
  }
  print_table(std::cout, header, rows);
  for (std::size_t i = 0; i < reasons.size(); ++i) std::cout << fmt::format("undefined[{}]: {}\n", i + 1, reasons[i]);
  if (skipped)
    std::cout << fmt::format("-: needs the same width ({} is [{}, {}], {} is [{}, {}])\n", o.a.filename().string(),
                             a.size(0), a.size(1), o.b.filename().string(), b.size(0), b.size(1));
}

}  // namespace

}  // namespace bridges::cli
