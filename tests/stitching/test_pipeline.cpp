#include <ATen/ops/arange.h>
#include <stdlib.h>

#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "bridges/dataset.hpp"
#include "bridges/error.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/io.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/report.hpp"
#include "bridges/experiments/runner.hpp"
#include "stitching_support.hpp"
#include "svg_layout.hpp"

using namespace bridges;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Results without their "provenance" (date, wall times): what the same
// seeds must reproduce exactly.
json numbers(json results) {
  results.erase("provenance");
  return results;
}

}  // namespace

namespace {

json minimal() {
  return json::parse(R"({
    "name": "t",
    "dataset": {"type": "fashion_mnist", "train_limit": 2000, "test_limit": 400},
    "encoders": [{"type": "mlp", "seeds": [0, 1], "epochs": 2}],
    "anchors": {"count": 64},
    "projections": ["cosine", {"type": "linf", "p": 20, "name": "smooth"}],
    "aggregators": ["sum", {"type": "self_attention", "heads": 2}],
    "decoder": {"epochs": 6, "batch_size": 64, "seeds": [0, 1], "train_samples": 1000},
    "experiments": [{"type": "stitching", "translators": ["orthogonal", {"type": "affine", "lambda": 0.1}]},
                    {"type": "finetune", "steps": 5, "samples": 50},
                    {"type": "latent_similarity", "measures": ["cka_linear", "spearman", "knn_jaccard"]}]
  })");
}

Pipeline parse(const json& j) { return Pipeline::parse(j, stitching::registry(), "t.json"); }

void check_error(const std::function<void(json&)>& edit, const std::vector<std::string>& parts) {
  json j = minimal();
  edit(j);
  try {
    parse(j);
    FAIL_CHECK("accepted: " << j.dump());
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    for (const auto& part : parts) CHECK_MESSAGE(message.find(part) != std::string::npos, message << " lacks: " << part);
  }
}

}  // namespace

TEST_CASE("a pipeline expands seeds, names its parts and fills every default") {
  const Pipeline p = parse(minimal());
  REQUIRE(p.encoders.size() == 2);
  CHECK(p.encoders[0].name == "mlp-0");
  CHECK(p.encoders[1].spec["seed"] == 1);
  CHECK(p.encoders[1].spec["hidden"] == 256);  // the plugin's default
  CHECK(p.projections[1].name == "smooth");
  CHECK(p.anchors == json{{"count", 64}, {"strategy", "random"}, {"seed", 0}});
  CHECK(p.decoder["hidden"] == 256);
  CHECK(p.experiments[0].options["projection_sets"] == json::array({"each", "all"}));
  CHECK(p.experiments[1].options["aggregator"] == "self_attention");
  CHECK(p.output == "runs/t");
  CHECK(p.cache.empty());  // the run folder's cache/
}

TEST_CASE("pipeline -> JSON -> pipeline -> JSON is stable, for every shipped pipeline too") {
  const json once = parse(minimal()).to_json();
  CHECK(parse(once).to_json() == once);
  int shipped = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(BRIDGES_TEST_SOURCE_DIR) / "examples" / "pipelines")) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;  // study/ is a folder of them
    CAPTURE(entry.path().string());
    const Pipeline p = Pipeline::load(entry.path(), stitching::registry());
    const json resolved = p.to_json();
    CHECK(parse(resolved).to_json() == resolved);
    ++shipped;
  }
  CHECK(shipped >= 15);  // examples/pipelines and examples/pipelines/study
}

namespace {

// What a resolved pipeline trains and reports, one string per unit: each
// stitching run ("stitch cosine l1 · sum"), each ablation row, each
// fine-tuning experiment.
std::set<std::string> work_of(const Pipeline& p) {
  std::set<std::string> work;
  for (const auto& planned : planned_stitching(p)) {
    std::string set;
    for (const auto& n : planned.projections) set += " " + n;
    const std::string aggregator = planned.aggregator["type"];
    work.insert("stitch" + set + " · " + aggregator);  // trained once, whichever experiment asks for it
    if (planned.experiment == "ablation") work.insert("ablation row" + set + " · " + aggregator);
  }
  for (const auto& e : p.experiments)
    if (e.type == "finetune") work.insert(e.type + " " + e.options.dump());
  return work;
}

}  // namespace

TEST_CASE("the parts of fashion-mnist-paper share every setting with the whole, and together do its work") {
  const fs::path pipelines = fs::path(BRIDGES_TEST_SOURCE_DIR) / "examples" / "pipelines";
  const Pipeline whole = Pipeline::load(pipelines / "fashion-mnist-paper.json", stitching::registry());
  const auto settings = [](const Pipeline& p) {
    json j = p.to_json();
    for (const char* own : {"name", "description", "experiments", "output", "cache"}) j.erase(own);
    return j;
  };
  std::set<std::string> caches;
  std::set<std::string> done;  // a stitching run two parts need is trained once: they share the cache
  int parts = 0;
  for (const auto& entry : fs::directory_iterator(pipelines / "fashion-mnist-paper")) {
    CAPTURE(entry.path().string());
    const Pipeline part = Pipeline::load(entry.path(), stitching::registry());
    CHECK(settings(part) == settings(whole));
    caches.insert(part.cache);
    for (const auto& unit : work_of(part)) done.insert(unit);
    ++parts;
  }
  CHECK(parts == 8);
  CHECK(caches == std::set<std::string>{"runs/fashion-mnist-paper/cache"});  // one cache: each decoder trained once
  const std::set<std::string> expected = work_of(whole);
  // 4 singles and 5 × 11 subsets stitched (the 5 products among them), 5 × 11 ablation rows, 2 fine-tunings
  CHECK(expected.size() == 4 + 55 + 55 + 2);
  std::vector<std::string> missing, extra;
  std::set_difference(expected.begin(), expected.end(), done.begin(), done.end(), std::back_inserter(missing));
  std::set_difference(done.begin(), done.end(), expected.begin(), expected.end(), std::back_inserter(extra));
  CHECK_MESSAGE(missing.empty(), "no part does: " << (missing.empty() ? "" : missing.front()));
  CHECK_MESSAGE(extra.empty(), "the whole does not do: " << (extra.empty() ? "" : extra.front()));
}

TEST_CASE("pipeline errors name the file, the JSON path and the closest name") {
  check_error([](json& j) { j["encoder"] = j["encoders"]; }, {"t.json: $: unknown key \"encoder\"", "Did you mean 'encoders'?"});
  check_error([](json& j) { j["encoders"][0]["type"] = "mpl"; }, {"$.encoders[0].type", "encoder 'mpl' does not exist", "Did you mean 'mlp'?"});
  check_error([](json& j) { j["encoders"][0]["epoch"] = 1; }, {"$.encoders[0]", "unknown option 'epoch'", "Did you mean 'epochs'?"});
  check_error([](json& j) { j["encoders"][0]["seed"] = 3; }, {"$.encoders[0]", "either \"seed\" or \"seeds\""});
  check_error([](json& j) { j["encoders"].push_back({{"type", "mlp"}, {"seeds", {1}}}); }, {"two encoders are named \"mlp-1\""});
  check_error([](json& j) { j["projections"][0] = "cosin"; }, {"$.projections[0].type", "Did you mean 'cosine'?"});
  check_error([](json& j) { j["experiments"][2]["measures"][1] = "spearmann"; },
              {"$.experiments[2].measures[1].type", "measure 'spearmann' does not exist", "Did you mean 'spearman'?"});
  check_error([](json& j) { j["experiments"][2]["representations"] = json::array({"absolute", "l1"}); },
              {"$.experiments[2].representations[1]", "absolute, cosine, smooth, product"});
  check_error([](json& j) { j["anchors"]["strategy"] = "k_means"; }, {"$.anchors.strategy", "\"k_means\" is not one of random, stratified, farthest_point, kmeans"});
  check_error([](json& j) { j["experiments"][0]["projection_sets"] = json::array({json::array({"cosine", "l1"})}); }, {"$.experiments[0].projection_sets[0]", "\"l1\" is not a projection", "cosine, smooth"});
  check_error([](json& j) { j["experiments"][0]["type"] = "stiching"; }, {"$.experiments[0].type", "Did you mean 'stitching'?"});
  check_error([](json& j) { j["experiments"][1]["pairs"] = json::array({json::array({"mlp-0", "cnn-0"})}); }, {"$.experiments[1].pairs", "\"cnn-0\" is not an encoder", "mlp-0, mlp-1"});
  check_error([](json& j) { j["decoder"]["seeds"] = json::array(); }, {"$.decoder.seeds", "non-empty list"});
  check_error([](json& j) { j["encoders"] = {{{"type", "mlp"}}}; }, {"$.encoders", "at least two encoders"});
  check_error([](json& j) { j.erase("name"); }, {"\"name\" is missing"});
  check_error([](json& j) { j["output"] = "runs/${BRIDGES_TEST_UNSET_VARIABLE}"; }, {"$.output", "BRIDGES_TEST_UNSET_VARIABLE is not set"});
}

TEST_CASE("experiment options go through the same schema machinery as components'") {
  // Unknown options, types and ranges: the option schema's messages, with the JSON path.
  check_error([](json& j) { j["experiments"][1]["step"] = 5; },
              {"$.experiments[1]: experiment/finetune: unknown option 'step'", "Did you mean 'steps'?"});
  check_error([](json& j) { j["experiments"][1]["lr"] = 0; },
              {"$.experiments[1]", "option 'lr' must be a number > 0, found 0"});
  check_error([](json& j) { j["experiments"][1]["params"] = "qvk"; },
              {"$.experiments[1]", "option 'params' must be one of [\"qkv\",\"head\"]"});
  check_error([](json& j) { j["experiments"][2]["knn"] = 0; }, {"$.experiments[2]", "option 'knn' must be an integer >= 1"});
  check_error([](json& j) { j["experiments"][0]["absolute"] = "yes"; },
              {"$.experiments[0]", "option 'absolute' must be a boolean"});
  check_error([](json& j) { j["experiments"].push_back({{"type", "reconstruction"}, {"absolute", false}}); },
              {"$.experiments[3]: experiment/reconstruction: unknown option 'absolute'"});
  check_error([](json& j) { j["experiments"].push_back({{"type", "ablation"}, {"min_size", 3}, {"max_size", 2}}); },
              {"$.experiments[3].max_size", "2 is below \"min_size\" (3): no subset would be run"});
  check_error([](json& j) { j["cache"] = ""; }, {"$.cache", "expected a folder, found \"\""});
  // Translators are components: names and options checked by the registry, defaults filled.
  check_error([](json& j) { j["experiments"][0]["translators"] = json::array({"procrustes"}); },
              {"$.experiments[0].translators[0].type", "translator 'procrustes' does not exist"});
  check_error([](json& j) { j["experiments"][0]["translators"] = json::array({{{"type", "orthogonal"}, {"scaling", "unit"}}}); },
              {"$.experiments[0].translators[0]", "option 'scaling' must be one of"});
  CHECK(parse(minimal()).experiments[0].options["translators"][0] ==
        json{{"type", "orthogonal"}, {"center", true}, {"scaling", "isotropic"}});
  // What the schema cannot know is checked against the pipeline's parts.
  check_error([](json& j) { j["experiments"][1]["aggregator"] = "summ"; },
              {"$.experiments[1].aggregator", "\"summ\" is not one of sum, self_attention", "Did you mean 'sum'?"});
  // qkv fine-tuning picks self_attention by default: a pipeline without it
  // is refused when it is read, not when the experiment starts.
  check_error([](json& j) { j["aggregators"] = json::array({"sum"}); },
              {"$.experiments[1].aggregator", "\"self_attention\" is not one of sum"});
  // Every kind in the table: a schema that parses, a unique name, and the
  // defaults of a bare entry survive a round trip through to_json().
  std::set<std::string> names;
  for (const char* type : {"stitching", "ablation", "finetune", "latent_similarity", "reconstruction"}) {
    json j = minimal();
    j["experiments"] = json::array({type});
    const Pipeline p = parse(j);
    CHECK(names.insert(p.experiments.at(0).type).second);
    CHECK(parse(p.to_json()).to_json() == p.to_json());
  }
}

namespace {

// The registry, except that one similarity's manifest declares no direction.
class WithoutDirection final : public ComponentSource {
 public:
  WithoutDirection(ComponentSource& inner, std::string similarity) : inner_(inner), similarity_(std::move(similarity)) {}
  std::vector<ComponentInfo> components() const override {
    auto all = inner_.components();
    for (auto& c : all)
      if (c.kind == ComponentKind::similarity && c.name == similarity_) c.direction.clear();
    return all;
  }
  std::shared_ptr<Component> create(ComponentKind kind, std::string_view name, const json& options) override {
    return inner_.create(kind, name, options);
  }

 private:
  ComponentSource& inner_;
  std::string similarity_;
};

}  // namespace

TEST_CASE("orientation closer_is_larger negates the distances, as their manifests declare them") {
  json j = minimal();
  j["projections"] = json::array({"cosine", "euclidean", {{"type", "linf"}, {"p", 20}, {"name", "smooth"}}});
  CHECK(parse(j).orientation == "raw");
  for (const auto& pr : parse(j).projections) CHECK_FALSE(pr.negated);  // raw: as the similarities compute them

  j["orientation"] = "closer_is_larger";
  const Pipeline p = parse(j);
  std::map<std::string, bool> negated;
  for (const auto& pr : p.projections) negated[pr.name] = pr.negated;
  CHECK(negated == std::map<std::string, bool>{{"cosine", false}, {"euclidean", true}, {"smooth", true}});
  CHECK(parse(p.to_json()).to_json() == p.to_json());

  check_error([](json& k) { k["orientation"] = "closer"; },
              {"$.orientation", "\"closer\" is not one of raw, closer_is_larger"});
  // A similarity whose manifest does not say its direction cannot be oriented.
  WithoutDirection source(stitching::registry(), "euclidean");
  try {
    Pipeline::parse(j, source, "t.json");
    FAIL_CHECK("accepted a similarity of unknown direction");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    for (const char* part : {"t.json: $.projections[1]", "similarity/euclidean", "add \"direction\"", "\"orientation\": \"raw\""})
      CHECK_MESSAGE(message.find(part) != std::string::npos, message << " lacks: " << part);
  }
}

TEST_CASE("a symmetric aggregator merging a similarity with distances, orientation left to its default, is warned") {
  const auto warned = [](const Pipeline& p, const std::string& aggregator) {
    return std::count_if(p.warnings.begin(), p.warnings.end(), [&](const std::string& w) {
      return w.find("aggregator " + aggregator + " ") != std::string::npos;
    });
  };
  json j = minimal();  // cosine + smooth (L-inf, a distance); sum and self_attention; "orientation" left out
  j["experiments"] = json::array({"stitching"});
  Pipeline p = parse(j);
  REQUIRE(p.warnings.size() == 2);
  CHECK(warned(p, "sum") == 1);
  CHECK(warned(p, "self_attention") == 1);
  for (const char* part : {"$.orientation", "merges the similarity cosine with the distance smooth as they are",
                           "\"closer_is_larger\"", "\"raw\""})
    CHECK_MESSAGE(p.warnings[0].find(part) != std::string::npos, p.warnings[0] << " lacks: " << part);
  CHECK(parse(p.to_json()).warnings.empty());  // the resolved form writes "orientation": chosen

  // Written out, either way, it is a choice: no warning.
  for (const char* orientation : {"raw", "closer_is_larger"}) {
    j["orientation"] = orientation;
    CHECK(parse(j).warnings.empty());
  }
  j.erase("orientation");
  // Aggregators that weigh each subspace on their own may merge them raw.
  j["aggregators"] = json::array({"concat", "mlp_sum", "mlp_self_attention"});
  CHECK(parse(j).warnings.empty());
  // Every subspace a distance, or each alone: nothing opposite is merged.
  j["aggregators"] = json::array({"sum"});
  j["projections"] = json::array({"euclidean", "l1"});
  CHECK(parse(j).warnings.empty());
  j["projections"] = json::array({"cosine", "euclidean"});
  j["experiments"] = json::array({{{"type", "stitching"}, {"projection_sets", json::array({"each"})}}});
  CHECK(parse(j).warnings.empty());
  // Only the merges that mix directions count: here the ablation's pairs with cosine.
  j["projections"] = json::array({"cosine", "euclidean", "l1", "linf"});
  j["experiments"] = json::array({{{"type", "ablation"}, {"max_size", 2}}});
  j["aggregators"] = json::array({"sum", "self_attention"});
  p = parse(j);
  REQUIRE(p.warnings.size() == 2);
  CHECK(p.warnings[0].find("aggregator sum treats every subspace alike, and merges the similarity cosine with the "
                           "distances euclidean, l1, linf as they are") != std::string::npos);
  j["aggregators"] = json::array({"sum"});
  j["projections"] = json::array({"euclidean", "l1", "cosine"});
  j["experiments"] = json::array(
      {{{"type", "stitching"}, {"projection_sets", json::array({json::array({"euclidean", "l1"}), json::array({"l1", "cosine"})})}}});
  p = parse(j);
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].find("merges the similarity cosine with the distance l1 as they are") != std::string::npos);
  // Fine-tuning merges too: its self_attention decoder over all projections.
  j["aggregators"] = json::array({"concat", "self_attention"});
  j["experiments"] = json::array({{{"type", "stitching"}, {"aggregators", json::array({"concat"})}}, "finetune"});
  p = parse(j);
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].find("aggregator self_attention treats every subspace alike") != std::string::npos);
  // A similarity of undeclared direction is not guessed at.
  WithoutDirection source(stitching::registry(), "euclidean");
  j["projections"] = json::array({"cosine", "euclidean"});
  CHECK(Pipeline::parse(j, source, "t.json").warnings.empty());
  j["projections"] = json::array({"cosine", "euclidean", "l1"});  // nor named as either
  p = Pipeline::parse(j, source, "t.json");
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0].find("merges the similarity cosine with the distance l1 as they are") != std::string::npos);
}

TEST_CASE("decoder training: \"all\" samples, early stopping's options and their conflicts") {
  json j = minimal();
  j["decoder"]["train_samples"] = "all";
  j["decoder"].erase("epochs");
  j["decoder"]["patience"] = 4;
  const Pipeline p = parse(j);
  CHECK(p.decoder["train_samples"].is_null());  // the whole split
  const DecoderOptions o = p.decoder_options(7);
  CHECK(o.patience == 4);
  CHECK(o.max_epochs == 100);
  CHECK(o.val_fraction == doctest::Approx(0.1));
  CHECK(o.seed == 7);
  CHECK(parse(p.to_json()).to_json() == p.to_json());
  CHECK(parse(minimal()).decoder_options(0).patience == 0);  // no early stopping unless asked

  check_error([](json& k) { k["decoder"]["patience"] = 3; }, {"$.decoder.epochs", "remove \"epochs\""});
  check_error([](json& k) { k["decoder"]["max_epochs"] = 30; }, {"$.decoder.max_epochs", "early stopping only", "\"patience\""});
  check_error([](json& k) { k["decoder"].erase("epochs"); k["decoder"]["patience"] = 3; k["decoder"]["val_fraction"] = 1; },
              {"$.decoder.val_fraction", "between 0 and 1"});
  check_error([](json& k) { k["decoder"]["train_samples"] = "everything"; }, {"$.decoder.train_samples", "\"all\""});
  check_error([](json& k) { k["decoder"]["patience"] = -1; }, {"$.decoder"});
}

TEST_CASE("${VAR} in any string is replaced by the environment") {
  ::setenv("BRIDGES_TEST_RUNS", "/srv/runs", 1);
  json j = minimal();
  j["output"] = "${BRIDGES_TEST_RUNS}/${BRIDGES_TEST_RUNS}x";
  CHECK(parse(j).output == "/srv/runs//srv/runsx");
  ::unsetenv("BRIDGES_TEST_RUNS");
}

TEST_CASE("a reduced real-data pipeline runs end to end, reuses its caches, and repeats its results exactly") {
  testing::TempDir dir;
  const Pipeline p = parse(minimal());
  std::ostringstream log;
  const json first = run_pipeline(p, stitching::registry(), {dir.path()}, log);
  for (const char* file : {"pipeline.json", "results.json", "report.md", "report.html", "run.log"})
    CHECK(fs::exists(dir / file));
  CHECK(log.str().find("encoder mlp-0: trained") != std::string::npos);
  const json& stitching = first["stitching"];
  REQUIRE(stitching["runs"].size() == 6);  // (cosine, smooth, both) x (sum, self_attention)
  for (const auto& run : stitching["runs"]) {
    CHECK(run["accuracy"]["mean"].size() == 2);
    CHECK(run["summary"]["end_to_end"]["accuracy"]["mean"].get<double>() > 0.45);  // chance: 0.1
  }
  // Relative stitching works where raw latents do not (same dimension, other seed).
  const auto stitched = [](const json& run) { return run["summary"]["stitched"]["accuracy"]["mean"].get<double>(); };
  CHECK(stitched(stitching["runs"][0]) > stitched(stitching["absolute"]) + 0.2);
  // So does a map estimated between the spaces, read by the target's absolute
  // decoder: its end to end is the absolute decoder's own.
  REQUIRE(stitching["translations"].size() == 2);
  CHECK(stitching["translations"][0]["name"] == "orthogonal translation");
  CHECK(stitching["translations"][1]["name"] == "affine translation (lambda: 0.1)");
  for (const auto& t : stitching["translations"]) {
    CAPTURE(t["name"]);
    MESSAGE(t["name"] << ": translated " << stitched(t) << ", absolute stitched " << stitched(stitching["absolute"]));
    CHECK(stitched(t) > stitched(stitching["absolute"]) + 0.2);
    CHECK(t["summary"]["end_to_end"]["accuracy"] == stitching["absolute"]["summary"]["end_to_end"]["accuracy"]);
  }
  CHECK(read_text(dir / "report.md").find("| orthogonal translation |") != std::string::npos);
  REQUIRE(first["finetune"].size() == 1);
  REQUIRE(first["finetune"][0]["pairs"].size() == 2);
  CHECK(first["finetune"][0]["pairs"][0]["attention_before"].size() == 2);
  // Latent similarity: the one pair of seeds, every representation; entry by
  // entry, relative representations agree where absolute latents do not.
  const json& similarity = first["latent_similarity"];
  REQUIRE(similarity["pairs"].size() == 1);
  const json& summary = similarity["summary"]["mlp (across seeds)"];
  for (const char* rep : {"absolute", "cosine", "smooth", "product"}) CHECK(summary.contains(rep));
  CHECK(summary["absolute"]["cka_linear"]["mean"].get<double>() > 0.5);
  CHECK(summary["cosine"]["spearman"]["mean"].get<double>() > summary["absolute"]["spearman"]["mean"].get<double>() + 0.3);
  CHECK(similarity["most_similar"]["mlp (across seeds)"]["spearman"] != "absolute");
  CHECK(read_text(dir / "report.md").find("## Latent similarity") != std::string::npos);
  const std::string report = read_text(dir / "report.html");
  CHECK(report.find("<h2>Latent similarity: spearman between encoders</h2>") != std::string::npos);
  CHECK(report.find("<svg") != std::string::npos);
  CHECK(report.find("http") == report.find("http://www.w3.org/2000/svg"));  // self-contained: no external link
  const auto layout = testing::check_svg_layout(report);
  CHECK(layout.svgs >= 4);
  for (const auto& problem : layout.problems) FAIL_CHECK(problem);
  CHECK(read_text(dir / "report.md").find("| cosine · sum |") != std::string::npos);
  // Its sum and self_attention merge cosine with L-inf raw: warned in the log,
  // results.json and both reports.
  REQUIRE(p.warnings.size() == 2);
  CHECK(first["warnings"] == json(p.warnings));
  CHECK(log.str().find("warning: " + p.warnings[0]) != std::string::npos);
  CHECK(read_text(dir / "report.md").find("**Warnings**") != std::string::npos);
  CHECK(read_text(dir / "report.md").find("- " + p.warnings[1]) != std::string::npos);
  CHECK(report.find("aggregator self_attention treats every subspace alike") != std::string::npos);
  CHECK(json::parse(read_text(dir / "pipeline.json")) == p.to_json());
  // The test latents under readable names, row i the same sample everywhere.
  const Tensor z0 = read_npy(dir / "latents" / "mlp-0-test.npy"), z1 = read_npy(dir / "latents" / "mlp-1-test.npy");
  const Tensor labels = read_npy(dir / "latents" / "labels-test.npy");
  CHECK(z0.size(0) == first["samples"]["test"].get<int64_t>());
  CHECK(z1.sizes() == z0.sizes());
  CHECK(labels.size(0) == z0.size(0));
  CHECK(read_npy(dir / "latents" / "indices-test.npy").size(0) == z0.size(0));

  std::ostringstream again;
  const json second = run_pipeline(p, stitching::registry(), {dir.path()}, again);
  CHECK(again.str().find("encoder mlp-0: loaded from the cache") != std::string::npos);
  CHECK(again.str().find("stitching cosine|sum: 4 of 4 decoders from the cache") != std::string::npos);
  // The decoders on raw latents too: the baseline and both translations come from the cache.
  CHECK(again.str().find("absolute: 4 of 4 decoders' scores from the cache") != std::string::npos);
  CHECK(again.str().find("(4 of 4 decoders' scores from the cache)") != std::string::npos);
  CHECK(log.str().find("absolute: 0 of 4 decoders' scores from the cache") != std::string::npos);  // the first run trained them
  // The same numbers; only the provenance (date, wall times) differs.
  CHECK(numbers(second) == numbers(first));
  CHECK(second["provenance"]["steps"] != first["provenance"]["steps"]);  // the second read its caches
  CHECK(read_text(dir / "results.json") == second.dump(2) + "\n");

  // The decoders' cache. Retrained without it, every decoder gives the same
  // numbers (the cache hides no non-determinism) ...
  const auto cached_decoders = [](const std::string& log) {  // the sum of "X of Y decoders from the cache"
    int64_t total = 0;
    for (std::size_t at = log.find(" decoders from the cache"); at != std::string::npos;
         at = log.find(" decoders from the cache", at + 1)) {
      const std::size_t of = log.rfind(" of ", at), start = log.rfind(' ', of - 1);
      total += std::stoll(log.substr(start + 1, of - start - 1));
    }
    return total;
  };
  std::vector<fs::path> decoders;
  for (const auto& entry : fs::directory_iterator(dir / "cache" / "decoders")) decoders.push_back(entry.path());
  CHECK(decoders.size() == 6 * 4);  // 6 stitching runs x 2 encoders x 2 seeds (fine-tuning trains its own)
  fs::remove_all(dir / "cache" / "decoders");
  std::ostringstream afresh;
  CHECK(numbers(run_pipeline(p, stitching::registry(), {dir.path()}, afresh)) == numbers(first));
  CHECK(cached_decoders(afresh.str()) == 0);
  // ... a run interrupted after all but one decoder trains only that one,
  // and a cached score with a changed digit is noticed by its checksum and
  // trained again ...
  fs::remove(decoders.at(3));
  std::string tampered = read_text(decoders.at(4));
  const std::size_t digit = tampered.find("0.") + 3;
  tampered[digit] = tampered[digit] == '9' ? '8' : static_cast<char>(tampered[digit] + 1);
  testing::write_bytes(decoders.at(4), tampered);
  std::ostringstream resumed;
  CHECK(numbers(run_pipeline(p, stitching::registry(), {dir.path()}, resumed)) == numbers(first));
  CHECK(cached_decoders(resumed.str()) == 6 * 4 - 2);
  // ... and a third decoder seed trains only the decoders of that seed.
  json extended = minimal();
  extended["decoder"]["seeds"] = json::array({0, 1, 2});
  std::ostringstream more;
  run_pipeline(parse(extended), stitching::registry(), {dir.path()}, more);
  CHECK(more.str().find("stitching cosine|sum: 4 of 6 decoders from the cache") != std::string::npos);
  CHECK(cached_decoders(more.str()) == 6 * 4);
  // 64 anchors for 64 latent dimensions: a least-squares translator without a
  // ridge (affine, lambda 0) interpolates the anchors, and the log says so
  // with the fix; orthogonal Procrustes and a ridge affine map are not
  // least-squares fits at lambda 0 (the note named orthogonal too).
  CHECK(log.str().find("underdetermined") == std::string::npos);
  json plain_affine = minimal();
  plain_affine["experiments"][0]["translators"].push_back("affine");
  std::ostringstream plain;
  run_pipeline(parse(plain_affine), stitching::registry(), {dir.path()}, plain);
  CHECK(plain.str().find("translation affine: 64 anchors for 64 latent dimensions of mlp-0: least squares") !=
        std::string::npos);
  CHECK(plain.str().find("translation orthogonal: 64 anchors") == std::string::npos);
  run_pipeline(p, stitching::registry(), {dir.path()}, more);  // the run folder holds the two-seed results again

  // Flipped bits in a cached latents file are noticed and the latents encoded
  // again: the results stay those of the first run.
  fs::path cached;
  for (const auto& entry : fs::directory_iterator(dir / "cache" / "latents"))
    if (entry.path().extension() == ".npy") cached = entry.path();
  REQUIRE_FALSE(cached.empty());
  std::string bytes = read_text(cached);
  bytes[bytes.size() - 3] ^= 0x10;
  testing::write_bytes(cached, bytes);
  std::ostringstream third_log;
  const json third = run_pipeline(p, stitching::registry(), {dir.path()}, third_log);
  CHECK(third_log.str().find(cached.string() + ": its content does not match its checksum; encoding again") !=
        std::string::npos);
  CHECK(numbers(third) == numbers(first));

  // Early stopping holds part of the decoders' training samples out: results.json records how many, and the
  // report counts the rest as trained on (it said all 1000). The encoders come from the cache above.
  CHECK_FALSE(first["samples"].contains("validation"));
  json early = minimal();
  early["projections"] = {"cosine"};
  early["aggregators"] = {"sum"};
  early["decoder"] = {{"batch_size", 64}, {"seeds", {0}}, {"train_samples", 1000}, {"patience", 1},
                      {"max_epochs", 2}, {"val_fraction", 0.2}};
  early["experiments"] = {{{"type", "stitching"}, {"absolute", false}}};
  std::ostringstream early_log;
  const json stopped = run_pipeline(parse(early), stitching::registry(), {dir / "early", dir / "cache"}, early_log);
  CHECK(stopped["samples"]["train"] == 1000);
  CHECK(stopped["samples"]["validation"] == 200);
  CHECK(read_text(dir / "early" / "report.md").find("decoders trained on 800 samples (200 more held out for early "
                                                    "stopping), evaluated on 400 test samples") != std::string::npos);
}

TEST_CASE("the ablation and reconstruction experiments on real images") {
  testing::TempDir dir;
  json j = minimal();
  j["aggregators"] = json::array({"sum", "concat"});
  j["decoder"] = {{"epochs", 3}, {"batch_size", 64}, {"seeds", {0}}, {"train_samples", 1000}, {"hidden", 128}};
  j["experiments"] = json::array({json{{"type", "stitching"}, {"projection_sets", {"each"}}, {"aggregators", {"sum"}}},
                                  json{{"type", "ablation"}},
                                  json{{"type", "reconstruction"}, {"projection_sets", {"all"}}, {"aggregators", {"sum"}}}});
  std::ostringstream log;
  const json r = run_pipeline(parse(j), stitching::registry(), {dir.path()}, log);
  // Two projections: one subset of two or more, for each of the two aggregators.
  REQUIRE(r["ablation"]["rows"].size() == 2);
  for (const auto& row : r["ablation"]["rows"]) {
    CHECK(row["projections"].size() == 2);
    CHECK(row["summary"]["end_to_end"]["accuracy"]["mean"].get<double>() > 0.45);
  }
  REQUIRE(r["reconstruction"]["runs"].size() == 1);
  const json& run = r["reconstruction"]["runs"][0];
  // Better than the best constant guess: the per-pixel mean image of the test split.
  auto data = stitching::registry().make_from_json<Dataset>(j["dataset"]);
  const Tensor images = data->split("test").field("image");
  const double variance = (images - images.mean(0, true)).pow(2).mean().item<double>();
  CHECK(run["summary"]["end_to_end"]["mean"].get<double>() < 0.8 * variance);
  CHECK(run["summary"]["stitched"]["mean"].get<double>() > 0);
  const std::string report = read_text(dir / "report.md");
  CHECK(report.find("## Aggregation ablation") != std::string::npos);
  CHECK(report.find("## Reconstruction stitching") != std::string::npos);
  // The subset x aggregator table: the row's best in bold, and its margin
  // over the best single projection of the run's stitching.
  const auto stitched = [](const json& row) { return row["summary"]["stitched"]["accuracy"]["mean"].get<double>(); };
  const double sum = stitched(r["ablation"]["rows"][0]), concat = stitched(r["ablation"]["rows"][1]);
  REQUIRE(r["stitching"]["runs"].size() == 2);
  const double single = std::max(stitched(r["stitching"]["runs"][0]), stitched(r["stitching"]["runs"][1]));
  const std::string best_single = stitched(r["stitching"]["runs"][0]) >= stitched(r["stitching"]["runs"][1]) ? "cosine" : "smooth";
  CHECK(report.find(fmt::format("best single projection of this run's stitching, {} · sum ({:.3f})", best_single, single)) !=
        std::string::npos);
  CHECK(report.find("| projections | sum | concat | best − best single |") != std::string::npos);
  const auto cell = [](double v, bool best) { return best ? fmt::format("**{:.3f}**", v) : fmt::format("{:.3f}", v); };
  const std::string row = fmt::format("| cosine + smooth | {} | {} | {:+.3f} |", cell(sum, sum >= concat), cell(concat, concat >= sum),
                                      std::max(sum, concat) - single);
  CHECK_MESSAGE(report.find(row) != std::string::npos, report << " lacks " << row);
}

TEST_CASE("an anchor sweep runs every experiment once per count and seed, and reports the mean over seeds") {
  testing::TempDir dir;
  json j = minimal();
  j["anchors"] = {{"count", {8, 64}}, {"seed", {0, 1}}};
  j["decoder"] = {{"epochs", 4}, {"batch_size", 64}, {"seeds", {0}}, {"train_samples", 1000}};
  j["experiments"] = json::array({json{{"type", "stitching"}, {"projection_sets", {"all"}}, {"aggregators", {"sum"}}}});
  const Pipeline p = parse(j);
  CHECK(p.to_json()["anchors"]["count"] == json({8, 64}));
  std::ostringstream log;
  const json r = run_pipeline(p, stitching::registry(), {dir.path()}, log);
  REQUIRE(r["sweep"].size() == 4);  // counts x seeds
  CHECK(r["sweep"][0]["count"] == 8);
  CHECK(r["sweep"][1]["seed"] == 1);
  CHECK(r["sweep"][0]["results"]["anchors"]["count"] == 8);
  CHECK(r["sweep"][2]["results"]["anchors"]["count"] == 64);
  CHECK(r["sweep"][0]["results"]["anchors"]["fingerprint"] != r["sweep"][1]["results"]["anchors"]["fingerprint"]);
  CHECK(r["anchors"]["seed"] == 1);  // the top level is the last entry
  CHECK(r["anchors"]["count"] == 64);
  const double few = r["sweep"][0]["results"]["stitching"]["runs"][0]["summary"]["end_to_end"]["accuracy"]["mean"];
  const double many = r["sweep"][2]["results"]["stitching"]["runs"][0]["summary"]["end_to_end"]["accuracy"]["mean"];
  CHECK(few != many);  // different anchors, different decoders
  const std::string report = read_text(dir / "report.md");
  CHECK(report.find("| cosine + smooth · sum |") != std::string::npos);
  CHECK(report.find("## Anchor sweep") != std::string::npos);
  CHECK(report.find("| projections · aggregator | random · 8 | random · 64 |") != std::string::npos);
  CHECK(report.find(" ± ") != std::string::npos);  // the spread over two anchor seeds
  check_error([](json& x) { x["anchors"]["count"] = json::array({16, 0}); }, {"$.anchors.count[1]", "integer >= 1"});
  check_error([](json& x) { x["anchors"]["strategy"] = json::array({"random", "k_means"}); },
              {"$.anchors.strategy[1]", "\"k_means\" is not one of", "Did you mean 'kmeans'?"});
  check_error([](json& x) { x["anchors"]["seed"] = json::array(); }, {"$.anchors.seed", "at least one value"});
}

TEST_CASE("an interrupted run leaves no half-written file, and the next run completes") {
  testing::TempDir dir;
  json j = minimal();
  j["decoder"]["epochs"] = 30;  // long enough to be interrupted while training
  const Pipeline p = parse(j);
  std::thread interrupter([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    request_interrupt();
  });
  std::ostringstream log;
  CHECK_THROWS_AS(run_pipeline(p, stitching::registry(), {dir.path()}, log), Interrupted);
  interrupter.join();
  clear_interrupt();
  CHECK_FALSE(fs::exists(dir / "results.json"));
  for (const auto& entry : fs::recursive_directory_iterator(dir.path()))
    CHECK_MESSAGE(entry.path().filename().string().find(".tmp-") == std::string::npos, entry.path().string());
  j["decoder"]["epochs"] = 1;
  CHECK(run_pipeline(parse(j), stitching::registry(), {dir.path()}, log).contains("stitching"));
}

TEST_CASE("what the data decides is checked before any encoder trains: anchor count, labels") {
  testing::TempDir dir;
  json j = minimal();
  j["dataset"]["train_limit"] = 100;
  j["anchors"]["count"] = 500;
  std::ostringstream log;
  try {
    run_pipeline(parse(j), stitching::registry(), {dir.path()}, log);
    FAIL_CHECK("ran with more anchors than samples");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    CHECK(message.find("$.anchors.count: 500 anchors asked") != std::string::npos);
    CHECK(message.find("has 100") != std::string::npos);
  }
  CHECK(log.str().find("trained") == std::string::npos);
}

TEST_CASE("decoders on a data set with unlabelled samples stop before any work, naming the count") {
  testing::TempDir dir;
  Tensor y = at::arange(200, at::kLong).remainder(4);
  y.narrow(0, 0, 7).fill_(-1);  // 7 training samples without a label (-1, as graph_npy and words give)
  write_npy(dir / "x.npy", testing::randn({200, 8}, 1));
  write_npy(dir / "y.npy", y);
  const json j = {
      {"name", "unlabelled"},
      {"dataset", {{"type", "embeddings"}, {"train_x", (dir / "x.npy").string()}, {"train_y", (dir / "y.npy").string()},
                   {"test_x", (dir / "x.npy").string()}, {"test_y", (dir / "y.npy").string()}}},
      {"encoders", json::array({{{"type", "embeddings"}, {"name", "a"}, {"train", (dir / "x.npy").string()},
                                 {"test", (dir / "x.npy").string()}},
                                {{"type", "embeddings"}, {"name", "b"}, {"train", (dir / "x.npy").string()},
                                 {"test", (dir / "x.npy").string()}}})},
      {"anchors", {{"count", 10}}},
      {"projections", json::array({"cosine"})},
      {"experiments", json::array({{{"type", "stitching"}}})}};
  std::ostringstream log;
  try {
    run_pipeline(parse(j), stitching::registry(), {dir / "run"}, log);
    FAIL_CHECK("ran decoders on unlabelled samples");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find("leaves 7 of the 200 training samples unlabelled (label -1)") != std::string::npos);
  }
}

TEST_CASE("a latent-similarity measure undefined for one pair is recorded with its reason, and the run goes on") {
  testing::TempDir dir;
  write_npy(dir / "x.npy", testing::randn({200, 8}, 1));
  write_npy(dir / "flat.npy", at::ones({200, 8}));  // an encoder whose every latent is the same
  write_npy(dir / "y.npy", at::arange(200, at::kLong).remainder(4));
  const auto encoder = [&](const char* name, const char* file) {
    return json{{"type", "embeddings"}, {"name", name}, {"train", (dir / file).string()}, {"test", (dir / file).string()}};
  };
  const json j = {
      {"name", "flat"},
      {"dataset", {{"type", "embeddings"}, {"train_x", (dir / "x.npy").string()}, {"train_y", (dir / "y.npy").string()},
                   {"test_x", (dir / "x.npy").string()}, {"test_y", (dir / "y.npy").string()}}},
      {"encoders", json::array({encoder("a", "x.npy"), encoder("b", "x.npy"), encoder("flat", "flat.npy")})},
      {"anchors", {{"count", 10}}},
      {"projections", json::array({"euclidean"})},
      {"experiments", json::array({{{"type", "latent_similarity"},
                                    {"measures", {"cka_linear", "spearman_per_sample"}},
                                    {"representations", {"absolute", "euclidean"}}}})}};
  std::ostringstream log;
  const json r = run_pipeline(parse(j), stitching::registry(), {dir / "run"}, log);
  const json& pairs = r["latent_similarity"]["pairs"];
  REQUIRE(pairs.size() == 3);
  // a and b are the same space: every measure is 1.
  CHECK(pairs[0]["values"]["absolute"]["cka_linear"].get<double>() == doctest::Approx(1.0));
  CHECK_FALSE(pairs[0].contains("undefined"));
  // With the flat encoder nothing varies: no number, a reason instead.
  for (std::size_t i : {1, 2}) {
    CAPTURE(i);
    CHECK_FALSE(pairs[i]["values"].contains("absolute"));
    const json& undefined = pairs[i]["undefined"];
    CHECK(undefined["absolute"]["cka_linear"].get<std::string>().find("variance") != std::string::npos);
    CHECK(undefined["absolute"]["spearman_per_sample"].get<std::string>().find("no sample varies") != std::string::npos);
  }
  CHECK(read_text(dir / "run" / "report.md").find("## Latent similarity") != std::string::npos);
}

TEST_CASE("the report's verdict ranks every row against the best single projection on the same pairs") {
  // Three encoders, six ordered pairs; the diagonal is end to end.
  const auto run = [](const json& projections, const std::vector<double>& off_diagonal) {
    json mean = json::array();
    std::size_t c = 0;
    double sum = 0;
    for (int i = 0; i < 3; ++i) {
      mean.push_back(json::array());
      for (int j = 0; j < 3; ++j) {
        const double v = i == j ? 0.9 : off_diagonal.at(c++);
        if (i != j) sum += v;
        mean[i].push_back(v);
      }
    }
    const json zeros = json::array({json::array({0, 0, 0}), json::array({0, 0, 0}), json::array({0, 0, 0})});
    const json stats{{"mean", mean}, {"std", zeros}};
    const json ms{{"mean", sum / 6}, {"std", 0.002}};
    return json{{"projections", projections}, {"aggregator", "sum"}, {"accuracy", stats}, {"macro_f1", stats},
                {"index", stats},
                {"summary", {{"end_to_end", {{"accuracy", ms}, {"macro_f1", ms}}},
                             {"stitched", {{"accuracy", ms}, {"macro_f1", ms}}}, {"index", ms}}}};
  };
  const std::vector<double> a{0.80, 0.70, 0.60, 0.80, 0.70, 0.60};
  std::vector<double> product = a;
  for (std::size_t c = 0; c < 6; ++c) product[c] += c == 2 ? -0.01 : 0.05;
  json results{{"pipeline", "verdict"}, {"dataset", {{"type", "d"}}}, {"samples", {{"train", 10}, {"test", 10}}},
               {"classes", 2}, {"anchors", {{"count", 4}, {"strategy", "random"}}}, {"encoders", json::object()},
               {"stitching", {{"encoders", {"a", "b", "c"}},
                              {"runs", {run({"cosine"}, a), run({"l1"}, std::vector<double>(6, 0.65)),
                                        run({"cosine", "l1"}, product)}}}}};
  const std::string md = markdown_report(results);
  CHECK(md.find("the paired difference to **cosine · sum**") != std::string::npos);  // the best single: 0.700 > 0.650
  // The product is the best row: 0.740, +0.040 ± 0.024 over pairs, higher in 5 of 6.
  CHECK(md.find("| **cosine + l1 · sum** | **0.740 ± 0.105** | 0.002 | +0.040 ± 0.024 | 5 of 6 |") != std::string::npos);
  CHECK(md.find("| cosine · sum | 0.700 ± 0.089 | 0.002 | best single | – |") != std::string::npos);
  CHECK(md.find("| l1 · sum | 0.650 ± 0.000 | 0.002 | -0.050 ± 0.089 | 2 of 6 |") != std::string::npos);
  // Two-sided sign test for 5 wins of 6: 2 (C(6,0) + C(6,1)) / 2^6 = 14/64.
  CHECK(md.find(fmt::format("- cosine + l1 · sum: +0.040 ± 0.024 against cosine · sum, higher in 5 of 6 pairs (two-sided "
                            "sign test p = {:.3f}).",
                            14.0 / 64)) != std::string::npos);

  // The picture: a dot plot on a fitted scale whose every label fits its viewBox.
  const std::string html = html_report(results);
  const std::size_t h2 = html.find("<h2>Stitched accuracy against the best single projection</h2>");
  REQUIRE(h2 != std::string::npos);
  const std::string svg = html.substr(h2, html.find("</svg>", h2) - h2);
  int width = 0;
  REQUIRE(std::sscanf(svg.c_str() + svg.find("viewBox=\"0 0 "), "viewBox=\"0 0 %d", &width) == 1);
  CHECK(svg.find("stitched accuracy, mean ± std over 6 encoder pairs") != std::string::npos);  // the axis title
  for (const char* zero : {">0<", ">0.0<", ">0.00<", ">0.000<"})
    CHECK(svg.find(zero) == std::string::npos);  // not from 0: the scale fits the values
  // The Markdown's marks become HTML: the best row in bold, the key sentences as a list, emphasis.
  CHECK(html.find("<td><strong>cosine + l1 · sum</strong></td>") != std::string::npos);
  CHECK(html.find("<li>cosine + l1 · sum: +0.040 ± 0.024 against cosine · sum") != std::string::npos);  // a list item
  CHECK(html.find("<em>End to end</em>") != std::string::npos);
  CHECK(html.find("**") == std::string::npos);
  for (const char* label : {"cosine + l1 · sum", "cosine · sum", "l1 · sum"})
    CHECK(svg.find(std::string(">") + label + "</text>") != std::string::npos);
  const auto layout = testing::check_svg_layout(html);  // every label inside its picture, none overlapping
  CHECK(layout.svgs >= 2);
  for (const auto& problem : layout.problems) FAIL_CHECK(problem);
}

TEST_CASE("a stitching matrix of 20 encoders fits the report's page, its labels clear of each other") {
  json names = json::array(), mean = json::array(), zeros = json::array();
  for (int i = 0; i < 20; ++i) {
    names.push_back(fmt::format("lin_vae-{}", i));
    mean.push_back(json::array());
    zeros.push_back(json::array());
    for (int j = 0; j < 20; ++j) {
      mean[i].push_back(i == j ? 0.9 : -0.5 + 0.05 * ((i * 7 + j * 3) % 20));  // negative values: the widest labels
      zeros[i].push_back(0.0);
    }
  }
  const json stats{{"mean", mean}, {"std", zeros}}, ms{{"mean", 0.5}, {"std", 0.01}};
  const json run{{"projections", {"cosine"}}, {"aggregator", "sum"}, {"accuracy", stats}, {"macro_f1", stats}, {"index", stats},
                 {"summary", {{"end_to_end", {{"accuracy", ms}, {"macro_f1", ms}}},
                              {"stitched", {{"accuracy", ms}, {"macro_f1", ms}}}, {"index", ms}}}};
  // A product 0.01 above it in every one of the 380 pairs.
  json product = run;
  product["projections"] = {"cosine", "l1"};
  for (auto& row : product["accuracy"]["mean"])
    for (auto& v : row) v = v.get<double>() + 0.01;
  const json results{{"pipeline", "wide"}, {"dataset", {{"type", "d"}}}, {"samples", {{"train", 10}, {"test", 10}}},
                     {"classes", 10}, {"anchors", {{"count", 4}, {"strategy", "random"}}}, {"encoders", json::object()},
                     {"stitching", {{"encoders", names}, {"runs", {run, product}}}}};
  // A p-value below 0.001 reads so, not "p = 0.000".
  CHECK(markdown_report(results).find("higher in 380 of 380 pairs (two-sided sign test p < 0.001).") != std::string::npos);
  const std::string html = html_report(results);
  const std::size_t maps = html.find("<h2>Stitching matrices");
  REQUIRE(maps != std::string::npos);
  int width = 0;
  REQUIRE(std::sscanf(html.c_str() + html.find("<svg", maps), "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d", &width) == 1);
  CHECK(width <= 1060);  // the page is 1100 px, the map's frame takes some (64 px cells made it 1400)
  const auto layout = testing::check_svg_layout(html);
  for (const auto& problem : layout.problems) FAIL_CHECK(problem);
}

TEST_CASE("latent-similarity maps share one colour scale over the relative representations; the absolute one has its own") {
  // Absolute latents of different seeds barely correlate (-0.6 .. 0.6); the
  // relative ones do (0.80 .. 0.98). In one shared scale the relative maps
  // were a single dark blue.
  json pairs = json::array();
  const std::vector<std::string> names{"ae-0", "ae-1", "ae-2", "ae-3"};
  int c = 0;
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = i + 1; j < names.size(); ++j, ++c)
      pairs.push_back({{"a", names[i]}, {"b", names[j]}, {"group", "ae (across seeds)"},
                       {"values", {{"absolute", {{"pearson", -0.6 + 0.24 * c}}}, {"cosine", {{"pearson", 0.80 + 0.035 * c}}}}}});
  const json results{{"pipeline", "similarity"}, {"dataset", {{"type", "d"}}}, {"samples", {{"train", 10}, {"test", 10}}}, {"classes", 10},
                     {"anchors", {{"count", 4}, {"strategy", "random"}}}, {"encoders", json::object()},
                     {"latent_similarity", {{"measures", {"pearson"}}, {"representations", {"absolute", "cosine"}}, {"pairs", pairs},
                                            {"summary", json::object()}}}};
  const std::string html = html_report(results);
  const auto map_of = [&](const std::string& rep) {
    const std::size_t at = html.find("<h3>" + rep + "</h3>");
    REQUIRE(at != std::string::npos);
    return html.substr(at, html.find("</svg>", at) - at);
  };
  const std::string cosine = map_of("cosine"), absolute = map_of("absolute");
  CHECK(cosine.find(">0.90</text>") != std::string::npos);  // ticks within 0.80 .. 0.98
  for (const char* tick : {">0.0</text>", ">0.00</text>", ">-0.5</text>", ">0.5</text>"})
    CHECK_MESSAGE(cosine.find(tick) == std::string::npos, tick);
  CHECK(absolute.find(">0.0</text>") != std::string::npos);  // -0.6 .. 0.6: its own scale
}

TEST_CASE("a run of one decoder seed shows no spread over seeds (its std is 0 by construction, not measured)") {
  const json names{"a-0", "a-1", "b-0"};
  const json matrix{{0.9, 0.7, 0.6}, {0.8, 0.9, 0.5}, {0.6, 0.7, 0.8}};
  const json zeros{{0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}};
  const auto run = [&](json projections, double shift) {
    json mean = matrix;
    for (auto& row : mean)
      for (auto& v : row) v = v.get<double>() + shift;
    const json stats{{"mean", mean}, {"std", zeros}};
    const json ms{{"mean", 0.7 + shift}, {"std", 0.0}};
    return json{{"projections", projections}, {"aggregator", "sum"}, {"accuracy", stats}, {"macro_f1", stats},
                {"index", stats},
                {"summary", {{"end_to_end", {{"accuracy", ms}, {"macro_f1", ms}}},
                             {"stitched", {{"accuracy", ms}, {"macro_f1", ms}}}, {"index", ms}}}};
  };
  json results{{"pipeline", "one-seed"}, {"dataset", {{"type", "d"}}}, {"samples", {{"train", 10}, {"test", 10}}},
               {"classes", 10}, {"anchors", {{"count", 4}, {"strategy", "random"}}}, {"encoders", json::object()},
               {"stitching", {{"encoders", names}, {"decoder_seeds", {0}},
                              {"runs", {run({"cosine"}, 0.0), run({"cosine", "euclidean"}, 0.01)}}}}};
  const std::string one = markdown_report(results);
  CHECK(one.find("Accuracy of one decoder seed (no spread over seeds to show).") != std::string::npos);
  CHECK(one.find("| cosine · sum | 0.700 | 0.700 | 0.700 | 0.700 | 0.700 |") != std::string::npos);
  CHECK(one.find("| **a-0** | 0.900 | 0.700 | 0.600 |") != std::string::npos);
  CHECK(one.find("| 0.700 ± ") == std::string::npos);  // the summary's spread over pairs stays, that over seeds goes
  CHECK(one.find(" | – | best single | – |") != std::string::npos);
  CHECK(html_report(results).find(">accuracy (one decoder seed)</text>") != std::string::npos);
  // Two seeds: the spread over seeds is shown, zero or not.
  results["stitching"]["decoder_seeds"] = {0, 1};
  const std::string two = markdown_report(results);
  CHECK(two.find("Accuracy, mean ± std over decoder seeds.") != std::string::npos);
  CHECK(two.find("| cosine · sum | 0.700 ± 0.000 | 0.700 ± 0.000 |") != std::string::npos);
  CHECK(two.find("| **a-0** | 0.900 ± 0.000 | 0.700 ± 0.000 | 0.600 ± 0.000 |") != std::string::npos);
}

TEST_CASE("the report's figures: titled axes, colour bars on a fitted range, a chance line, no clipped or overlapping text") {
  // Long names, as real runs make them: every label must stay inside its
  // picture and clear of every other.
  const json names{"cnn-0", "mlp_self_attention_encoder-2", "vit_base_patch16_224-1"};
  const auto run = [&](json projections, const std::string& aggregator, double base) {
    json mean = json::array(), zeros = json::array();
    for (int i = 0; i < 3; ++i) {
      mean.push_back({base + 0.10 * (i == 0), base + 0.05, base + 0.29 * (i == 2)});
      zeros.push_back({0.0, 0.0, 0.0});
    }
    const json stats{{"mean", mean}, {"std", zeros}};
    const json ms{{"mean", base}, {"std", 0.01}};
    return json{{"projections", projections}, {"aggregator", aggregator}, {"accuracy", stats}, {"macro_f1", stats},
                {"index", stats},
                {"summary", {{"end_to_end", {{"accuracy", ms}, {"macro_f1", ms}}},
                             {"stitched", {{"accuracy", ms}, {"macro_f1", ms}}}, {"index", ms}}}};
  };
  const json four{"cosine", "euclidean", "l1", "linf"};
  // The absolute baseline, far below the rest (0.05 .. 0.34), as on real data.
  json absolute = run({"absolute"}, "", 0.05);
  absolute.erase("aggregator");
  json results{{"pipeline", "figures"}, {"dataset", {{"type", "d"}}}, {"samples", {{"train", 10}, {"test", 10}}},
               {"classes", 10}, {"anchors", {{"count", 4}, {"strategy", "random"}}}, {"encoders", json::object()},
               {"stitching", {{"encoders", names},
                              {"runs", {run({"cosine"}, "sum", 0.59), run({"euclidean"}, "sum", 0.62),
                                        run(four, "mlp_self_attention", 0.60), run(four, "sum", 0.61)}},
                              {"absolute", absolute}}},
               {"finetune", {{{"params", "qkv"}, {"projections", four}, {"steps", 10}, {"samples", 100}, {"aggregator", "self_attention"},
                              {"pairs", {{{"source", names[1]}, {"target", names[2]},
                                          {"attention_before", {0.25, 0.25, 0.25, 0.25}},
                                          {"attention_after", {0.4, 0.2, 0.2, 0.2}}}}}}}}};
  // Provenance as the runner writes it; step names hold a '|'.
  results["provenance"] = {{"bridges", "0.2.0"}, {"commit", "abc1234"}, {"build", "bridges=0.2;torch=1.13.1"},
                           {"blas", "OpenBLAS 0.3.21 (kernels: SkylakeX)"}, {"kernels", "avx512"}, {"threads", 2},
                           {"cpu", "Intel(R) Xeon(R) Processor"}, {"cores", 2}, {"started", "2026-12-07T05:22:36Z"},
                           {"seconds", 349.5}, {"command", "bridges run p.json --out runs/p"},
                           {"steps", {{{"step", "stitching cosine+l1|sum: end to end 0.85"}, {"seconds", 12.0}},
                                      {{"step", "encoder cnn-0: trained"}, {"seconds", 30.5}}}}};
  const std::string html = html_report(results);
  // One field a row, two cells each (seven columns ran off the page), and a
  // '|' inside a cell stays text instead of splitting it.
  const std::size_t provenance = html.find("<h2>Provenance</h2>");
  REQUIRE(provenance != std::string::npos);
  const std::string table = html.substr(provenance, html.find("</table>", provenance) - provenance);
  CHECK(table.find("<tr><td>machine</td><td>2 threads on Intel(R) Xeon(R) Processor (2 cores)</td></tr>") != std::string::npos);
  // A sentence-long cell wraps (class "text"); numbers stay on one line.
  CHECK(table.find("<tr><td>longest steps</td><td class=\"text\">encoder cnn-0: trained (30.5 s); stitching "
                   "cosine+l1|sum: end to end 0.85 (12.0 s)</td></tr>") != std::string::npos);
  CHECK(html.find("td.text{text-align:left;white-space:normal}") != std::string::npos);
  for (std::size_t row = table.find("<tr>"); row != std::string::npos; row = table.find("<tr>", row + 1)) {
    const std::string cells = table.substr(row, table.find("</tr>", row) - row);
    std::size_t count = 0;
    for (std::size_t c = cells.find("<t"); c != std::string::npos; c = cells.find("<t", c + 1)) ++count;
    CHECK_MESSAGE(count == 3, cells);  // <tr> and two cells
  }
  const auto layout = testing::check_svg_layout(html);
  CHECK(layout.svgs == 8);  // the dot plot, the bars, five stitching matrices, the attention bars
  CHECK(layout.texts > 100);
  for (const auto& problem : layout.problems) FAIL_CHECK(problem);
  // Axis titles, the colour bar's title and the reference lines are drawn.
  for (const char* text : {">decoder trained on</text>", ">evaluated on</text>", ">accuracy</text>",
                           ">accuracy (mean ± std over decoder seeds)</text>", ">chance: 1 / 10 classes</text>",
                           ">mean attention weight</text>", ">uniform: 1 / 4 subspaces</text>"})
    CHECK_MESSAGE(html.find(text) != std::string::npos, text);
  // One colour scale fitted to the values of every relative matrix (0.59 .. 0.91, the top being 0.62 + 0.29),
  // not 0 .. 1 and not stretched down to the absolute baseline's 0.05: about 4 round ticks, so every 0.1 from
  // 0.6 to 0.9, and no 0.
  const std::size_t maps = html.find("<h2>Stitching matrices");
  REQUIRE(maps != std::string::npos);
  const std::string first_map = html.substr(maps, html.find("</svg>", maps) - maps);
  for (const std::string tick : {">0.6</text>", ">0.7</text>", ">0.8</text>", ">0.9</text>"})
    CHECK_MESSAGE(first_map.find(tick) != std::string::npos, tick);
  CHECK(first_map.find(">0.5</text>") == std::string::npos);  // below the range
  CHECK(first_map.find(">1.0</text>") == std::string::npos);  // above it
  CHECK(first_map.find(">0.00</text>") == std::string::npos);
  // The absolute baseline's map has a scale of its own, fitted to its values.
  const std::size_t absolute_map = html.find("<h3>absolute</h3>", maps);
  REQUIRE(absolute_map != std::string::npos);
  const std::string last_map = html.substr(absolute_map, html.find("</svg>", absolute_map) - absolute_map);
  CHECK(last_map.find(">0.10</text>") != std::string::npos);
  CHECK(last_map.find(">0.30</text>") != std::string::npos);
  CHECK(last_map.find(">0.6</text>") == std::string::npos);
  CHECK(last_map.find(">0.60</text>") == std::string::npos);

  // The checker itself: it sees text leaving the picture, overlapping text
  // and unbalanced tags.
  const std::string bad =
      R"svg(<svg viewBox="0 0 100 50" font-size="11"><text x="90" y="20">far too long</text>)svg"
      R"svg(<text x="5" y="40">ab</text><text x="8" y="42">cd</text><g></svg>)svg";
  const auto flagged = testing::check_svg_layout(bad);
  REQUIRE(flagged.problems.size() == 3);
  CHECK(flagged.problems[0].find("outside the viewBox") != std::string::npos);
  CHECK(flagged.problems[1].find("overlaps") != std::string::npos);
  CHECK(flagged.problems[2].find("closes <g>") != std::string::npos);
  // Rotated neighbours whose bounding boxes meet but whose glyphs do not are fine.
  const std::string rotated =
      R"svg(<svg viewBox="0 0 300 200" font-size="11"><text transform="translate(150,60) rotate(-40)" text-anchor="end">a long rotated label</text>)svg"
      R"svg(<text transform="translate(176,60) rotate(-40)" text-anchor="end">a long rotated label</text></svg>)svg";
  const auto neighbours = testing::check_svg_layout(rotated);
  CHECK(neighbours.texts == 2);
  for (const auto& problem : neighbours.problems) FAIL_CHECK(problem);
}
