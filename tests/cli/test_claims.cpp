// `bridges report --claims`: docs/reproduction.md from run folders. Fixture
// run folders with chosen numbers, one per claim, whose verdicts follow
// from the stated rules; the figures are recomputed here independently.
#include <sys/wait.h>

#include <cstdlib>

#include "bridges/experiments/claims.hpp"
#include "bridges/util/io.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The exact two-sided sign test, by integer binomial coefficients.
double sign_test(int wins, int n) {
  const int k = std::min(wins, n - wins);
  double tail = 0, coefficient = 1;  // C(n, 0)
  for (int i = 0; i <= k; ++i) {
    tail += coefficient;
    coefficient = coefficient * (n - i) / (i + 1);
  }
  return std::min(1.0, 2 * tail / std::pow(2.0, n));
}

json encoder(const std::string& type, int seed, const std::string& field) {
  return {{"spec", {{"type", type}, {"seed", seed}, {"field", field}}}, {"dim", 8}};
}

// A stitching run over 3 encoders (6 ordered pairs) with stitched cells `cells`.
json stitching_run(json projections, const std::string& aggregator, const std::vector<double>& cells, double index = 0.9) {
  json mean = json::array(), zeros = json::array();
  std::size_t c = 0;
  for (int i = 0; i < 3; ++i) {
    json row = json::array(), zero = json::array();
    for (int j = 0; j < 3; ++j) {
      row.push_back(i == j ? 0.95 : cells[c++]);
      zero.push_back(0.0);
    }
    mean.push_back(row);
    zeros.push_back(zero);
  }
  const json stats{{"mean", mean}, {"std", zeros}};
  const json ms{{"mean", 0.8}, {"std", 0.01}};
  double sum = 0;
  for (double x : cells) sum += x;
  const json groups{{"a ↔ b", {{"pairs", 6}, {"stitched", {{"mean", sum / 6}, {"std", 0.0}}}}}};
  return {{"projections", projections}, {"aggregator", aggregator}, {"accuracy", stats}, {"macro_f1", stats}, {"index", stats},
          {"summary", {{"end_to_end", {{"accuracy", ms}, {"macro_f1", ms}}},
                       {"stitched", {{"accuracy", ms}, {"macro_f1", ms}}},
                       {"index", {{"mean", index}, {"std", 0.004}}}, {"groups", groups}}}};
}

json results_of(const std::string& pipeline, const std::string& field, json extra) {
  json r{{"pipeline", pipeline}, {"dataset", {{"type", pipeline + "-data"}}}, {"samples", {{"train", 100}, {"test", 50}}},
         {"classes", 10}, {"anchors", {{"count", 16}, {"strategy", "random"}}},
         {"encoders", {{"a-0", encoder("a", 0, field)}, {"a-1", encoder("a", 1, field)}, {"b-0", encoder("b", 0, field)}}}};
  r.update(extra);
  return r;
}

}  // namespace

TEST_CASE("the claims report: every claim's numbers, its verdict by the stated rule, and how to reproduce it") {
  const std::vector<double> base{0.80, 0.70, 0.60, 0.80, 0.70, 0.60};
  const auto shifted = [&](std::vector<double> by) {
    std::vector<double> out = base;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += by[i];
    return out;
  };
  const json four{"cosine", "euclidean", "l1", "linf"};
  // C2: the product wins (+0.02 in 5 of 6), ties within the noise (-0.005, 3 of 6 wins: p = 1), or loses every pair.
  json wins = results_of("vision-wins", "image",
                               {{"stitching", {{"encoders", {"a-0", "a-1", "b-0"}},
                                               {"runs", {stitching_run({"cosine"}, "sum", base),
                                                         stitching_run({"euclidean"}, "sum", shifted({-0.1, -0.1, -0.1, -0.1, -0.1, -0.1})),
                                                         stitching_run(four, "sum", shifted({0.03, 0.03, 0.03, 0.03, 0.03, -0.03})),
                                                         stitching_run(four, "mlp_sum", shifted({0.04, 0.04, 0.04, 0.04, 0.04, 0.01}))}}}}});
  // A translation baseline beside them: shown, never counted as the product.
  json translated = stitching_run(json::array(), "", shifted({0.05, 0.05, 0.05, 0.05, 0.05, 0.05}));
  translated["aggregator"] = nullptr;
  translated["translator"] = {{"type", "orthogonal"}};
  translated["name"] = "orthogonal translation";
  wins["stitching"]["translations"] = json::array({translated});
  const json tie = results_of("text-tie", "text",
                              {{"stitching", {{"encoders", {"a-0", "a-1", "b-0"}},
                                              {"runs", {stitching_run({"cosine"}, "sum", base),
                                                        stitching_run(four, "sum", shifted({0.01, 0.01, 0.01, -0.02, -0.02, -0.02}))}}}}});
  // A graph run as bridges writes it: the data set's modality recorded, and
  // encoders (gcn, graphsage) with no "field" option to guess it from.
  json loss = results_of("graph-loss", "node",
                         {{"modality", "graph"},
                          {"stitching", {{"encoders", {"a-0", "a-1", "b-0"}},
                                         {"runs", {stitching_run({"cosine"}, "sum", base, 0.97),
                                                   stitching_run(four, "sum", shifted({-0.01, -0.01, -0.01, -0.01, -0.01, -0.01}), 0.96)}}}}});
  for (auto& [name, e] : loss["encoders"].items()) e["spec"].erase("field");
  // C5: QKV beats the head, and the attention moves to cosine (the best single projection of `wins`).
  json finetuned = wins;
  finetuned["pipeline"] = "vision-finetune";
  const auto pair = [](double before, double after, json a0, json a1) {
    return json{{"source", "a-0"}, {"target", "b-0"}, {"before", {{"accuracy", before}}}, {"after", {{"accuracy", after}}},
                {"attention_before", a0}, {"attention_after", a1}};
  };
  const json uniform{0.25, 0.25, 0.25, 0.25};
  finetuned["finetune"] = {{{"params", "qkv"}, {"projections", four}, {"steps", 10}, {"samples", 100}, {"aggregator", "self_attention"},
                            {"pairs", {pair(0.6, 0.8, uniform, json{0.4, 0.2, 0.2, 0.2}), pair(0.6, 0.7, uniform, json{0.3, 0.3, 0.2, 0.2})}}},
                           {{"params", "head"}, {"projections", four}, {"steps", 10}, {"samples", 100}, {"aggregator", "self_attention"},
                            {"pairs", {pair(0.6, 0.65, json(), json()), pair(0.6, 0.66, json(), json())}}}};
  // A study's part that only fine-tunes (no single-projection rows of its
  // own): the best single projection comes from the part of the same setting
  // that stitches (`wins`).
  json finetune_part = finetuned;
  finetune_part["pipeline"] = "vision-finetune-part";
  finetune_part.erase("stitching");
  // C1: two data sets; cosine wins on one, euclidean on the other, both clearly.
  const auto analysis = [&](const std::string& name, double cosine, double euclidean) {
    json reps{{"absolute", {{"cka_linear", {{"mean", 0.99}, {"std", 0.001}}}}},
              {"cosine", {{"cka_linear", {{"mean", cosine}, {"std", 0.01}}}}},
              {"euclidean", {{"cka_linear", {{"mean", euclidean}, {"std", 0.01}}}}},
              {"product", {{"cka_linear", {{"mean", 0.99}, {"std", 0.01}}}}}};
    return results_of(name, "image", {{"latent_similarity", {{"measures", {"cka_linear"}},
                                                             {"representations", {"absolute", "cosine", "euclidean", "product"}},
                                                             {"summary", {{"ae (across seeds)", reps}}}}}});
  };
  // C6: retrieval over an anchor sweep of two seeds; a measure is labelled
  // with the options that differ from its defaults, as runs label it.
  const auto retrieval = [](double jaccard, double mrr, double cosine) {
    const auto m = [](double v) { return json{{"mean", v}, {"std", 0.0}}; };
    const char* jaccard_label = "knn_cross_jaccard (knn: 5)";
    return json{{"latent_similarity",
                 {{"summary", {{"words", {{"absolute", {{jaccard_label, m(0.0)}, {"knn_mrr", m(0.002)}, {"knn_cosine", m(-0.01)}}},
                                          {"cosine", {{jaccard_label, m(jaccard)}, {"knn_mrr", m(mrr)}, {"knn_cosine", m(cosine)}}}}}}}}}};
  };
  const json words = results_of("words", "text",
                                {{"sweep", {{{"strategy", "random"}, {"count", 300}, {"seed", 0}, {"results", retrieval(0.06, 0.12, 0.81)}},
                                            {{"strategy", "random"}, {"count", 300}, {"seed", 1}, {"results", retrieval(0.07, 0.13, 0.82)}}}}});

  testing::TempDir dir;
  const std::vector<std::pair<std::string, json>> folders{
      {"wins", wins}, {"tie", tie}, {"loss", loss}, {"finetune", finetuned}, {"finetune-part", finetune_part},
      {"mnist", analysis("analysis-mnist", 0.90, 0.80)}, {"fashion", analysis("analysis-fashion", 0.70, 0.85)}, {"words", words}};
  std::vector<ClaimsRun> runs;
  for (const auto& [folder, results] : folders) {
    fs::create_directories(dir / "runs" / folder);
    write_text_atomically(dir / "runs" / folder / "results.json", results.dump());
    write_text_atomically(dir / "runs" / folder / "run.log", "[    0.0s] pipeline\n[  125.0s] encoder a-0: trained\n[  190.4s] done\n");
    runs.push_back({(dir / "runs" / folder).string(), results, "[  190.4s] done\n", ""});
  }
  fs::create_directories(dir / "pipelines" / "study");
  write_text_atomically(dir / "pipelines" / "study" / "tie.json", json{{"name", "text-tie"}}.dump());

  const std::string md = claims_report(runs);
  // C2: holds in `wins` (and `finetune`, a copy of its setting, counted once with it), partly in `tie` (3 of 6
  // wins: p = 1), not in `loss` (0 of 6: p = 0.031); 1 of 3 is not most, 2 of 3 at least partly is.
  CHECK(sign_test(0, 6) < 0.05);
  CHECK(sign_test(3, 6) == doctest::Approx(1.0));
  CHECK(has(md, "| C2 | holds partly | holds in 1, partly in 1, not in 1 of 3 settings |"));
  CHECK(has(md, "| vision-wins (best of vision-wins, vision-finetune) | vision | cosine · sum 0.700 ± 0.089 |"));
  CHECK(has(md, fmt::format("| -0.005 ± 0.016 | 3 of 6 (sign test p = {:.3f}) | holds partly |", sign_test(3, 6))));
  CHECK(has(md, fmt::format("| -0.010 ± 0.000 | 0 of 6 (sign test p = {:.3f}) | does not hold here |", sign_test(0, 6))));
  // The translation baseline is reported beside, not as the product: +0.050 over cosine, +0.015 over mlp_sum.
  CHECK(has(md, "| vision-wins (best of vision-wins, vision-finetune) | orthogonal translation 0.750 ± 0.089 | +0.050 ± 0.000 | "
                "6 of 6 (sign test p = 0.031) | +0.015 |"));
  // Runs of one setting: the translation baseline is the best any of them
  // has, even when the run with the best product has none (an aggregator study).
  json better = wins;
  better["pipeline"] = "vision-aggregators";
  better["stitching"].erase("translations");
  better["stitching"]["runs"][3] = stitching_run(four, "mlp_sum", shifted({0.045, 0.045, 0.045, 0.045, 0.045, 0.045}));
  const std::string same_setting = claims_report({{"runs/wins", wins, "", "", {}}, {"runs/better", better, "", "", {}}});
  CHECK(has(same_setting, "| vision-aggregators (best of vision-wins, vision-aggregators) | orthogonal translation 0.750 ± "
                          "0.089 | +0.050 ± 0.000 | 6 of 6 (sign test p = 0.031) | +0.005 |"));
  // C3 judges the runs of one setting together: an aggregator study's concat, above mlp_sum in every pair, is
  // the best merge of the setting, though the run holding mlp_sum has none (it read "holds" from that run alone).
  json concat_study = results_of("vision-concat", "image",
                                 {{"stitching", {{"encoders", {"a-0", "a-1", "b-0"}},
                                                 {"runs", {stitching_run({"cosine"}, "sum", base),
                                                           stitching_run(four, "concat", shifted({0.05, 0.05, 0.05, 0.05, 0.05, 0.05}))}}}}});
  concat_study["dataset"] = wins["dataset"];  // the same setting
  const std::string together = claims_report({{"runs/wins", wins, "", "", {}}, {"runs/concat", concat_study, "", "", {}}});
  CHECK(has(together, "| vision-wins + vision-concat | stitching, 4 projections | concat 0.750 ± 0.089; mlp_sum 0.735 ± 0.097; "
                      "sum 0.720 ± 0.105 (mlp_sum − concat: -0.015 ± 0.012, higher in 0 of 6 pairs, sign test p = 0.031) | "
                      "concat | does not hold here |"));
  CHECK(has(together, "| C3 | does not hold here | 1 comparison |"));
  // The best product row is mlp_sum's: +0.035 ± 0.012 over cosine, 6 of 6.
  CHECK(has(md, "| +0.035 ± 0.012 | 6 of 6"));
  // Every product row in the details, with the difference of its pair-group means.
  CHECK(has(md, "### vision-wins: every product row against cosine · sum"));
  CHECK(has(md, fmt::format("| cosine + euclidean + l1 + linf · sum | 0.720 ± 0.105 | +0.020 ± 0.024 | 5 of 6 (sign test p = {:.3f}) | "
                            "+0.020 | holds |",
                            sign_test(5, 6))));
  // C3: mlp_sum is the best aggregator of the four-way product in `wins`.
  CHECK(has(md, "| vision-wins | stitching, 4 projections | mlp_sum 0.735 ± 0.097; sum 0.720 ± 0.105 | mlp_sum | holds |"));
  CHECK(has(md, "| C3 | holds | 1 comparison |"));  // `finetune` repeats the setting of `wins`: counted once
  // C4: the graph run's product index 0.960 >= 0.95.
  CHECK(has(md, "| graph-loss | cosine + euclidean + l1 + linf · sum | 0.960 ± 0.004 | holds |"));
  CHECK(has(md, "| C4 | holds | 1 product row |"));  // one row: singular
  // C5: QKV 0.750 ± 0.071 after vs head 0.655 ± 0.007; attention on cosine +0.100 ± 0.071, the largest weight in both pairs.
  CHECK(has(md, "0.750 ± 0.071 vs 0.655 ± 0.007 (2 pairs each; QKV higher in 2 of 2 paired, sign test p = 0.500); gain "
                "+0.150 vs +0.055 | holds |"));
  CHECK(has(md, "| attention on cosine (the best single projection) | +0.100 ± 0.071 over 2 pairs; the largest weight in 2 of 2 | holds |"));
  CHECK(has(md, "| vision-finetune-part | attention on cosine (the best single projection in vision-wins) | +0.100 ± 0.071 "
                "over 2 pairs; the largest weight in 2 of 2 | holds |"));
  // C1: cosine wins on one data set, euclidean on the other, each by 0.1 > its std.
  CHECK(has(md, "| analysis-mnist-data | ae | cosine | +0.100 |"));
  CHECK(has(md, "| analysis-fashion-data | ae | euclidean | +0.150 |"));
  CHECK(has(md, "| C1 | holds |"));
  // C6: cosine 0.065 ± 0.007 Jaccard against 0.000, far above on every measure.
  CHECK(has(md, "| words | cosine | random (2 seeds) | 0.065 ± 0.007 (absolute 0.000) | 0.125 ± 0.007 (absolute 0.002) |"));
  CHECK(has(md, "| C6 | holds |"));
  CHECK(has(md, "- words: words-data (text): a × 2, b × 1; 300 anchors × strategies random × 2 seeds; 100 training and 50 test samples"));
  // How to reproduce, with the logged time.
  CHECK(has(md, "(3 min as logged, from a cold cache)"));

  // A product with no finite figure (e.g. every cell undefined) is no comparison: not a loss.
  const json hollow = results_of("hollow", "image",
                                 {{"stitching", {{"encoders", {"a-0", "a-1", "b-0"}},
                                                 {"runs", {stitching_run({"cosine"}, "sum", base),
                                                           stitching_run(four, "sum", std::vector<double>(6, NAN))}}}}});
  CHECK(has(claims_report({{"hollow", hollow, "", "", {}}}), "| C2 | not measured by these runs |"));

  // C3 from an ablation: judged only when it compares mlp_sum with another
  // aggregator. A study's part with concat and sum alone is not a verdict
  // against mlp_sum (the paper-scale parts 3 and 4 once made C3 "does not
  // hold here" that way).
  const auto ablation_row = [&](json projections, const std::string& aggregator, double mean) {
    json row = stitching_run(std::move(projections), aggregator, base);
    row["summary"]["stitched"]["accuracy"]["mean"] = mean;
    return row;
  };
  const json concat_sum = results_of("part-concat-sum", "image",
                                     {{"ablation", {{"rows", {ablation_row({"cosine", "l1"}, "concat", 0.80),
                                                              ablation_row({"cosine", "l1"}, "sum", 0.50)}}}}});
  CHECK(has(claims_report({{"part", concat_sum, "", "", {}}}), "| C3 | not measured by these runs |"));
  json mlp_sum_only = concat_sum;
  mlp_sum_only["ablation"]["rows"] = {ablation_row({"cosine", "l1"}, "mlp_sum", 0.80)};
  CHECK(has(claims_report({{"part", mlp_sum_only, "", "", {}}}), "| C3 | not measured by these runs |"));
  // Beside a judged ablation the part is listed, not counted: mlp_sum wins
  // one subset of two, concat the other (partly).
  const json all_aggregators = results_of("merged", "image",
                                          {{"ablation", {{"rows", {ablation_row({"cosine", "l1"}, "concat", 0.80),
                                                                   ablation_row({"cosine", "l1"}, "mlp_sum", 0.82),
                                                                   ablation_row({"euclidean", "l1"}, "concat", 0.80),
                                                                   ablation_row({"euclidean", "l1"}, "mlp_sum", 0.70)}}}}});
  const std::string c3_md = claims_report({{"part", concat_sum, "", "", {}}, {"merged", all_aggregators, "", "", {}}});
  CHECK(has(c3_md, "| C3 | holds partly | 1 comparison |"));
  CHECK(has(c3_md, "| part-concat-sum | ablation of concat, sum only | not judged: no mlp_sum to compare |"));
  CHECK(has(c3_md, "| merged | ablation, 2 subsets | subsets won: concat 1; mlp_sum 1 | mlp_sum | holds partly |"));

  // A merge of parts is remade by each part's run, with its own logged
  // time, then the merge.
  json merged = tie;
  merged["parts"] = {{{"pipeline", "tie-1"}, {"run", "runs/tie-1"}}, {{"pipeline", "tie-2"}, {"run", "runs/tie-2"}}};
  const std::string parts_md = claims_report({{"runs/tie", merged,
                                               "== part 1 of 2: runs/tie-1 (tie-1)\n[   90.0s] wrote\n"
                                               "== part 2 of 2: runs/tie-2 (tie-2)\n[    1.0s] 2 of 2 decoders from the cache\n[  600.0s] wrote\n",
                                               "", {"pipelines/tie-1.json", ""}}});
  CHECK(has(parts_md, ": its 2 parts one by one, then their merge:\n"
                      "  - `bridges run pipelines/tie-1.json --out runs/tie-1` (90 s as logged, from a cold cache)\n"
                      "  - `bridges run runs/tie-2/pipeline.json --out runs/tie-2` (10 min as logged, partly from the cache)\n"
                      "  - `bridges report --merge runs/tie-1 runs/tie-2 -o runs/tie`\n"));

  // run.log keeps every run into a folder: the time given is the one of the
  // run that did the work, with the last when it came after.
  const std::string rerun_md = claims_report({{"runs/tie", tie,
                                               "[    0.0s] pipeline text-tie -> runs/tie\n[ 2544.3s] wrote\n"
                                               "[    0.0s] pipeline text-tie -> runs/tie\n[    5.0s] stitching: 18 of 18 decoders from the cache\n[   16.0s] wrote\n",
                                               "", {}}});
  CHECK(has(rerun_md, "`bridges run runs/tie/pipeline.json --out runs/tie` (42 min as logged, from a cold cache; run again "
                      "later, partly from the cache, in 16 s)"));
  // "0 of 6 ... from the cache" says nothing came from it: a cold run.
  const std::string cold_md = claims_report({{"runs/tie", tie,
                                              "[    0.0s] pipeline text-tie -> runs/tie\n[  100.0s] absolute: 0 of 6 "
                                              "decoders' scores from the cache\n[ 1500.0s] wrote\n",
                                              "", {}}});
  CHECK(has(cold_md, "`bridges run runs/tie/pipeline.json --out runs/tie` (25 min as logged, from a cold cache)"));
  const std::string loaded_md = claims_report({{"runs/tie", tie,
                                                "[    0.0s] pipeline text-tie -> runs/tie\n[    1.0s] encoder cnn-0: loaded "
                                                "from the cache\n[ 1500.0s] wrote\n",
                                                "", {}}});
  CHECK(has(loaded_md, "(25 min as logged, partly from the cache)"));

  // Nothing measured: every claim says so rather than inventing a verdict.
  const std::string none = claims_report({});
  for (const char* id : {"C1", "C2", "C3", "C4", "C5", "C6"})
    CHECK(has(none, fmt::format("| {} | not measured by these runs |", id)));

  // The command: finds the pipeline file by name, reads run.log, writes the file atomically.
  const std::string command = std::string(BRIDGES_TEST_CLI) + " report --claims " + (dir / "runs" / "tie").string() + " " +
                              (dir / "runs" / "loss").string() + " --pipelines " + (dir / "pipelines").string() + " -o " +
                              (dir / "reproduction.md").string() + " > /dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  const std::string written = read_text(dir / "reproduction.md");
  CHECK(has(written, "`bridges run " + (dir / "pipelines" / "study" / "tie.json").string() + " --out " +
                              (dir / "runs" / "tie").string() + "` (3 min as logged, from a cold cache)"));
  CHECK(has(written, "`bridges run " + (dir / "runs" / "loss").string() + "/pipeline.json"));  // no pipeline file named so
  CHECK(has(written, "| C2 | does not hold here | holds in 0, partly in 1, not in 1 of 2 settings |"));
}
