// Zero-shot stitching: for each projection set and aggregator, a decoder is
// trained on every encoder's relative space and scored, untouched, on every
// encoder's; the absolute baseline does the same on raw latents.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "bridges/error.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/runner.hpp"
#include "bridges/experiments/fingerprint.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/translator.hpp"
#include "bridges/util/interrupt.hpp"
#include "experiment.hpp"
#include "report_format.hpp"
#include "run_context.hpp"
#include "verdict.hpp"

namespace bridges {

using nlohmann::json;

namespace {

std::string signed_num(double x) { return std::isfinite(x) ? fmt::format("{:+.3f}", x) : "–"; }

// Whether the run trained one decoder seed: its "std over decoder seeds" is
// then 0 by construction, not a measured spread, and the report shows none.
// (Runs written before "decoder_seeds" was recorded show their spread as before.)
bool one_decoder_seed(json& r) {
  json& seeds = r["stitching"]["decoder_seeds"];
  return seeds.is_array() && seeds.size() == 1;
}

// "0.807 ± 0.001" over decoder seeds, or "0.807" when there was one.
std::string over_seeds(json ms, bool one_seed) {
  return one_seed && ms.is_object() ? num(ms["mean"]) : pm(std::move(ms));
}

// "Does the product beat the best single projection?", answered from the runs.
std::string verdict_section(json& r) {
  const auto rows = verdict(r);
  if (rows.empty()) return "";
  const auto best_single = std::find_if(rows.begin(), rows.end(), [](const VerdictRow& v) { return v.single; });
  std::string out = fmt::format(
      "\n### Verdict: each row against the best single projection\n\nStitched accuracy over the {} encoder pairs "
      "(each pair averaged over decoder seeds): mean ± std over pairs, and the std over decoder seeds of the mean "
      "(– for a run of one decoder seed). "
      "*vs best single*: the paired difference to **{}** on the same pairs, mean ± std over pairs; *wins*: pairs where "
      "the row is higher. The best row is in bold.\n\n",
      best_single->pairs, best_single->name);
  out += "| projections · aggregator | stitched (± pairs) | ± seeds | vs best single (± pairs) | wins |\n|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const VerdictRow& v = rows[i];
    const std::string name = i == 0 ? "**" + v.name + "**" : v.name;
    const std::string stitched = fmt::format("{:.3f} ± {:.3f}", v.mean, v.pair_std);
    const std::string diff = &v == &*best_single ? std::string("best single")
                                                 : fmt::format("{} ± {:.3f}", signed_num(v.diff), v.diff_std);
    const std::string seeds = one_decoder_seed(r) ? std::string("–") : fmt::format("{:.3f}", v.seed_std);
    out += fmt::format("| {} | {} | {} | {} | {} |\n", name, i == 0 ? "**" + stitched + "**" : stitched, seeds, diff, &v == &*best_single ? std::string("–") : fmt::format("{} of {}", v.wins, v.pairs));
  }
  // The one-line answer, for every multi-projection row.
  for (const VerdictRow& v : rows)
    if (!v.single)
      out += fmt::format("\n- {}: {} ± {:.3f} against {}, higher in {} of {} pairs (two-sided {}).", v.name,
                         signed_num(v.diff), v.diff_std, best_single->name, v.wins, v.pairs, sign_test_text(v.wins, v.pairs));
  return out + "\n";
}

class StitchingExperiment final : public Experiment {
 public:
  std::string_view name() const override { return "stitching"; }

  json option_schema() const override {
    return {{"projection_sets", projection_sets_option()},
            {"aggregators", aggregators_option()},
            {"absolute",
             {{"type", "boolean"}, {"default", true}, {"description", "also the decoder on raw latents, as a baseline"}}},
            {"translators",
             {{"type", "array"},
              {"default", json::array()},
              {"description",
               "latent-space translation baselines (translator names or specs): for each ordered pair, a map fitted "
               "on the anchors' latents carries the source's test latents into the target's space, where the "
               "target's absolute decoder scores them"}}}};
  }

  void check(json& options, const ExperimentCheck& at) const override {
    at.projection_sets(options["projection_sets"], ".projection_sets");
    at.aggregator_names(options["aggregators"], ".aggregators");
    at.components(options["translators"], ComponentKind::translator, ".translators");
  }

  std::vector<PlannedStitching> stitching_plan(const Pipeline& p, const json& options) const override {
    std::vector<PlannedStitching> plan;
    for (const auto& set : p.projection_sets(options["projection_sets"]))
      for (const auto& aggregator : p.aggregator_specs(options["aggregators"])) plan.push_back({"stitching", set, aggregator});
    return plan;
  }

  json run(RunContext& run, const json& options) const override {
    json runs = json::array();
    for (const auto& planned : stitching_plan(run.pipeline(), options)) {
      throw_if_interrupted();
      runs.push_back(run.stitch(planned.projections, planned.aggregator));
    }
    json out{{"encoders", run.encoder_names()}, {"decoder_seeds", run.decoder_seeds()}, {"runs", runs}};
    json& absolute_done = run.memo("stitching: absolute");
    if (options["absolute"].get<bool>() && absolute_done.is_null()) {
      out["absolute"] = absolute(run);
      absolute_done = true;
    }
    if (!options["translators"].empty()) {
      out["translations"] = json::array();
      for (const auto& spec : options["translators"]) {
        throw_if_interrupted();
        json& done = run.memo("stitching: translation " + spec.dump());
        if (done.is_null()) out["translations"].push_back(done = translation(run, spec));
      }
    }
    return out;
  }

  // Several stitching experiments (e.g. single projections with one
  // aggregator, the product with another) make one table.
  void add_result(json& results, json part) const override {
    if (!results.contains("stitching")) {
      results["stitching"] = std::move(part);
      return;
    }
    for (const auto& run : part["runs"]) results["stitching"]["runs"].push_back(run);
    if (part.contains("absolute")) results["stitching"]["absolute"] = part["absolute"];
    for (const auto& t : part.value("translations", json::array())) results["stitching"]["translations"].push_back(t);
  }

  // Each projection set · aggregator once; the absolute baseline from
  // whichever part ran it (equal where several did).
  void merge(json& results, const json& from, const std::string& where) const override {
    if (!results.contains("stitching")) {
      results["stitching"] = from;
      return;
    }
    json& into = results["stitching"];
    if (from.contains("decoder_seeds") && !into.contains("decoder_seeds")) into["decoder_seeds"] = from["decoder_seeds"];
    merge_entries(into["runs"], from["runs"], [](const json& run) { return run_name(run); }, "stitching run", where);
    if (from.contains("translations")) {
      if (!into.contains("translations")) into["translations"] = json::array();
      merge_entries(into["translations"], from["translations"], [](const json& run) { return run_name(run); },
                    "translation", where);
    }
    if (from.contains("absolute")) {
      if (!into.contains("absolute")) into["absolute"] = from["absolute"];
      else if (into["absolute"] != from["absolute"])
        throw ConfigError(fmt::format("{}: its absolute baseline differs from that of an earlier run: the runs do not "
                                      "compute it alike. Merge runs of one build and one setting.",
                                      where));
    }
  }

  std::string markdown(json& r) const override {
    if (!r.contains("stitching")) return "";
    const bool one_seed = one_decoder_seed(r);
    std::string out = std::string(
        "\n## Zero-shot stitching\n\nA decoder is trained on one encoder's relative space and evaluated, untouched, "
        "on every encoder's. ") + (one_seed ? "Accuracy of one decoder seed (no spread over seeds to show)." :
        "Accuracy, mean ± std over decoder seeds.") + " *End to end*: evaluated on the encoder it was "
        "trained on; *stitched*: on the others; *stitching index*: stitched accuracy / the target's end-to-end "
        "accuracy. *absolute*: the same decoder on raw latents, stitched only where dimensions match.";
    if (r["stitching"].contains("translations"))
      out += " *… translation*: the latent-space translation baseline: the evaluated encoder's test latents are carried "
             "into the decoder's encoder's space by a map fitted on the anchors' latents of both, and read by that "
             "encoder's absolute decoder (so its end to end is the absolute decoder's).";
    out += "\n\n";
    if (r["stitching"].contains("absolute") && r["classes"].is_number_integer())
      out += fmt::format(
          "Chance is 1 / {} = {:.3f} for a uniform guess. The absolute decoder's stitched accuracy may fall below "
          "it: another encoder's raw latents are a consistently different input, not noise, so the decoder's "
          "guesses are systematic rather than uniform.\n\n",
          r["classes"].get<int64_t>(), 1.0 / static_cast<double>(std::max<int64_t>(1, r["classes"].get<int64_t>())));
    out += "| projections · aggregator | end to end | stitched | stitching index | macro-F1 end to end | macro-F1 stitched |\n"
           "|---|---|---|---|---|---|\n";
    for (auto& run : stitching_runs(r)) {
      json& s = run["summary"];
      out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", run_name(run),
                         over_seeds(s["end_to_end"]["accuracy"], one_seed), over_seeds(s["stitched"]["accuracy"], one_seed),
                         over_seeds(s["index"], one_seed), over_seeds(s["end_to_end"]["macro_f1"], one_seed),
                         over_seeds(s["stitched"]["macro_f1"], one_seed));
    }
    out += verdict_section(r);
    // Pairs grouped by encoder entry: across seeds of one architecture, or across architectures.
    json groups0 = stitching_runs(r).front()["summary"].value("groups", json::object());
    if (!groups0.empty() && groups0.size() <= 12) {
      out += "\n### Stitched accuracy by pair group (stitching index)\n\n| projections · aggregator |";
      std::string rule = "|---|";
      for (auto& [group, g] : groups0.items()) {
        out += fmt::format(" {} ({} pairs) |", group, integer(g["pairs"]));
        rule += "---|";
      }
      out += "\n" + rule + "\n";
      for (auto& run : stitching_runs(r)) {
        out += fmt::format("| {} |", run_name(run));
        json groups = run["summary"].value("groups", json::object());
        for (auto& [group, g0] : groups0.items())
          out += groups.contains(group)
                     ? fmt::format(" {} ({}) |", over_seeds(groups[group]["stitched"], one_seed),
                                   num(groups[group]["index"]["mean"], 3))
                     : std::string(" – |");
        out += "\n";
      }
    }
    for (auto& run : stitching_runs(r)) {
      out += fmt::format("\n### {}: accuracy\n\n", run_name(run));
      out += md_matrix(r["stitching"]["encoders"], run["accuracy"], 3, !one_seed);
    }
    return out;
  }

  std::string html_figures(json& r) const override {
    auto runs = stitching_runs(r);
    if (runs.empty()) return "";
    std::vector<std::string> labels;
    std::vector<std::vector<std::pair<double, double>>> values;
    for (auto& run : runs) {
      labels.push_back(run_name(run));
      values.push_back({ms_pair(run["summary"]["end_to_end"]["accuracy"]), ms_pair(run["summary"]["stitched"]["accuracy"])});
    }
    std::string out;
    if (const auto rows = verdict(r); !rows.empty()) {
      const auto best_single = std::find_if(rows.begin(), rows.end(), [](const VerdictRow& v) { return v.single; });
      std::vector<DotRow> dots;
      for (const auto& v : rows) dots.push_back({v.name, v.mean, v.pair_std, &v == &rows.front()});
      out += "<h2>Stitched accuracy against the best single projection</h2>" +
             svg_dots(dots, fmt::format("stitched accuracy, mean ± std over {} encoder pairs", best_single->pairs),
                      best_single->mean, "best single projection: " + best_single->name);
    }
    BarAxes axes{one_decoder_seed(r) ? "accuracy (one decoder seed)" : "accuracy (mean ± std over decoder seeds)"};
    if (r["classes"].is_number_integer() && r["classes"].get<int64_t>() > 0) {
      axes.reference = 1.0 / static_cast<double>(r["classes"].get<int64_t>());
      axes.reference_label = fmt::format("chance: 1 / {} classes", r["classes"].get<int64_t>());
    }
    out += "<h2>Accuracy per projection set and aggregator</h2>" + svg_bars(labels, {"end to end", "stitched"}, values, 1.0, axes);
    // The absolute baseline (mostly below chance) gets a colour scale of its own.
    std::vector<json> matrices;
    std::vector<bool> own;
    for (auto& run : runs) {
      matrices.push_back(run["accuracy"]["mean"]);
      own.push_back(!run["name"].is_string() && run["projections"] == json{"absolute"});
    }
    const auto ranges = colour_ranges(matrices, own);
    out += "<h2>Stitching matrices: accuracy of a decoder trained on one encoder and evaluated on another</h2>"
           "<div class=\"maps\">";
    for (std::size_t i = 0; i < runs.size(); ++i)
      out += "<div class=\"map\"><h3>" + escape(run_name(runs[i])) + "</h3>" +
             svg_heatmap(r["stitching"]["encoders"], matrices[i], ranges[i].first, ranges[i].second, 2,
                         {"decoder trained on", "evaluated on", "accuracy"}) +
             "</div>";
    return out + "</div>";
  }

 private:
  // Scores of the decoder on encoder i's raw latents (seed) on the inputs
  // `inputs(j)` gives for every encoder j (undefined: not scored), cached in
  // <cache>/<kind> under the decoder's key and `extra`: a rerun or an
  // extended run trains and scores only what is missing. Returns the number
  // taken from the cache (0 or 1) and fills row i of the cubes.
  static int cached_scores(RunContext& run, const std::string& kind, const json& extra, std::size_t i, std::size_t s,
                           const std::function<Tensor(std::size_t)>& inputs, Cube& acc, Cube& f1) {
    const auto seeds = run.decoder_seeds();
    const std::size_t m = run.encoders().size();
    const std::string key = run.absolute_key(i, seeds[s]);
    json scores = run.cached_result(kind, key, extra);
    const bool cached = scores.is_object() && scores["accuracy"].is_array() && scores["accuracy"].size() == m &&
                        scores["macro_f1"].is_array() && scores["macro_f1"].size() == m;
    if (!cached) {
      RelativeClassifier& model = run.absolute_decoder(i, seeds[s]);
      scores = {{"accuracy", json::array()}, {"macro_f1", json::array()}};
      for (std::size_t j = 0; j < m; ++j) {
        const Tensor x = inputs(j);
        if (!x.defined()) {
          scores["accuracy"].push_back(nullptr);
          scores["macro_f1"].push_back(nullptr);
          continue;
        }
        const Scores sc = classification_scores(model.predict({x}), run.test_labels(), run.classes());
        scores["accuracy"].push_back(sc.accuracy);
        scores["macro_f1"].push_back(sc.macro_f1);
      }
      run.cache_result(kind, key, extra, scores);
    }
    for (std::size_t j = 0; j < m; ++j) {
      acc[s][i][j] = scores["accuracy"][j].is_number() ? scores["accuracy"][j].get<double>() : NAN;
      f1[s][i][j] = scores["macro_f1"][j].is_number() ? scores["macro_f1"][j].get<double>() : NAN;
    }
    return cached ? 1 : 0;
  }

  // The decoder on raw latents; stitched only where the dimensions match.
  static json absolute(RunContext& run) {
    const auto& encoders = run.encoders();
    const std::size_t m = encoders.size();
    const auto seeds = run.decoder_seeds();
    Cube acc(seeds.size(), std::vector<std::vector<double>>(m, std::vector<double>(m, NAN))), f1 = acc;
    int cached = 0;
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        throw_if_interrupted();
        cached += cached_scores(run, "absolute", json::object(), i, s, [&](std::size_t j) {
          return encoders[j].test.size(1) == encoders[i].test.size(1) ? encoders[j].test : Tensor();
        }, acc, f1);
      }
    run.note(fmt::format("absolute: {} of {} decoders' scores from the cache", cached, m * seeds.size()));
    json out = RunContext::stitching_result(acc, f1, json::array({"absolute"}), nullptr);
    run.add_pair_groups(out, acc);
    return out;
  }

  // Latent-space translation: the decoder of encoder i on raw latents reads
  // encoder j's test latents carried into i's space by a map fitted on the
  // anchors' latents of both (j -> i). Cell [i][j] is, as in every stitching
  // matrix, "decoder of i, samples encoded by j"; the diagonal is i's own
  // decoder on its own latents (no translation). Cached per decoder under
  // the translator's spec and the anchors.
  static json translation(RunContext& run, const json& spec) {
    const auto& encoders = run.encoders();
    const std::size_t m = encoders.size();
    const auto seeds = run.decoder_seeds();
    Cube acc(seeds.size(), std::vector<std::vector<double>>(m, std::vector<double>(m, NAN))), f1 = acc;
    const json extra{{"translator", spec}, {"anchors", Fingerprint().add(run.anchors()).hex()}};
    std::map<std::pair<std::size_t, std::size_t>, Tensor> translated;  // (i, j): j's test latents in i's space
    const auto into = [&](std::size_t i, std::size_t j) -> Tensor {
      if (i == j) return encoders[j].test;
      auto& t = translated[{i, j}];
      if (!t.defined()) {
        const auto translator = run.source().make_from_json<Translator>(spec);
        translator->fit(encoders[j].anchors, encoders[i].anchors);
        t = translator->translate(encoders[j].test);
      }
      return t;
    };
    int cached = 0;
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        throw_if_interrupted();
        cached += cached_scores(run, "translation", extra, i, s, [&](std::size_t j) { return into(i, j); }, acc, f1);
      }
    // Fewer anchors than a least-squares map has unknowns per output: the
    // fit interpolates the anchors (its documented minimum-norm answer) and
    // says nothing about the rest of the space. Said in the log, with the fix.
    // Least-squares translators are those with a ridge "lambda"; with
    // lambda > 0 the fit is determined, and orthogonal Procrustes is not a
    // least-squares fit (the note was printed for it too).
    const int64_t k = run.anchors().size(0);
    const bool unpenalised_least_squares = spec.contains("lambda") && spec["lambda"].is_number() && spec["lambda"].get<double>() == 0;
    for (const auto& e : encoders)
      if (unpenalised_least_squares && k <= e.anchors.size(1) + 1) {
        run.note(fmt::format("translation {}: {} anchors for {} latent dimensions of {}: least squares (linear, affine) "
                             "is underdetermined there and interpolates the anchors; use more anchors than "
                             "dimensions, or \"lambda\" > 0",
                             spec["type"].get<std::string>(), k, e.anchors.size(1), e.name));
        break;
      }
    json out = RunContext::stitching_result(acc, f1, json::array(), nullptr);
    out["translator"] = spec;
    // "orthogonal translation", "affine translation (lambda: 0.1)"
    const std::string label = spec_label(run.source(), ComponentKind::translator, spec);
    const std::size_t options_at = label.find(" (");
    out["name"] = options_at == std::string::npos ? label + " translation"
                                                   : label.substr(0, options_at) + " translation" + label.substr(options_at);
    run.add_pair_groups(out, acc);
    run.note(fmt::format("translation {}: end to end {:.4f}, translated {:.4f}, index {:.3f} ({} of {} decoders' scores "
                         "from the cache)",
                         spec.dump(), out["summary"]["end_to_end"]["accuracy"]["mean"].get<double>(),
                         out["summary"]["stitched"]["accuracy"]["mean"].get<double>(),
                         out["summary"]["index"]["mean"].get<double>(), cached, m * seeds.size()));
    return out;
  }
};

}  // namespace

const Experiment& stitching_experiment() {
  static const StitchingExperiment kind;
  return kind;
}

}  // namespace bridges
