// The `bridges` program, run as a user runs it.
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/linalg_qr.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/stack.h>
#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>
#include <sstream>

#include "bridges/util/io.hpp"
#include "bridges/util/runtime.hpp"
#include "bridges/relative/kernels.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/text/word_vectors.hpp"
#include "bridges/translator.hpp"
#include "context.hpp"
#include "plugin_registry.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Result {
  int code;
  std::string out, err;
};

// Runs `bridges ARGS` with a clean plugin environment; `env` is prepended
// (e.g. "BRIDGES_PLUGIN_PATH=/x").
Result bridges_cli(const std::string& args, const std::string& env = "") {
  testing::TempDir dir;
  const std::string command = "env -u BRIDGES_PLUGIN_PATH " + env + " " + BRIDGES_TEST_CLI + " " + args + " >" +
                              (dir / "out").string() + " 2>" + (dir / "err").string();
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(dir / "out"), read_text(dir / "err")};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// One check per part, each naming the part missing from `text`.
void check_contains(const std::string& text, std::initializer_list<std::string> parts) {
  for (const auto& part : parts) CHECK_MESSAGE(contains(text, part), "missing \"", part, "\" in:\n", text);
}

// A run's results.json without its "provenance" (date, wall times, the
// command): what must be the same for the same seeds, as text.
std::string numbers_of(const fs::path& results) {
  json j = json::parse(read_text(results));
  j.erase("provenance");
  return j.dump(2);
}

}  // namespace

TEST_CASE("exit codes: 0 for help and success, 2 for usage errors") {
  const auto help = bridges_cli("--help");
  CHECK(help.code == 0);
  CHECK(contains(help.out, "plugins"));
  CHECK(contains(help.out, "invariances"));
  for (const auto& sub : {"plugins --help", "plugins list --help", "project --help", "invariances --help"})
    CHECK(bridges_cli(sub).code == 0);
  CHECK(contains(bridges_cli("--version").out, "bridges 0.2.0"));
  CHECK(bridges_cli("").code == 2);
  CHECK(bridges_cli("frobnicate").code == 2);
  CHECK(bridges_cli("project --input x.npy").code == 2);
  CHECK(bridges_cli("--threads -3 plugins list").code == 2);
}

TEST_CASE("a misspelt command or option is named with the closest one, in both programs") {
  struct Slip {
    const char* args;
    const char* message;
  };
  for (const Slip& slip : {
           Slip{"rn", "bridges: unknown command 'rn'. Did you mean 'run'?"},                      // front end
           Slip{"plugins lst", "bridges plugins: unknown command 'lst'. Did you mean 'list'?"},    // front end
           Slip{"run --outt x.json", "bridges run: unknown option '--outt'. Did you mean '--out'?"},  // engine
           Slip{"--thread 2 plugins list", "bridges: unknown option '--thread'. Did you mean '--threads'?"},
           Slip{"compare a.npy b.npy --measure cka_linear", "bridges compare: unknown option '--measure'. Did you mean '--measures'?"},
           Slip{"frobnicate", "bridges: unknown command 'frobnicate'. Commands: plugins, project,"},
       }) {
    CAPTURE(slip.args);
    const auto r = bridges_cli(slip.args);
    CHECK(r.code == 2);
    CHECK(contains(r.err, slip.message));
  }
  // Valid command lines are never mistaken for slips: a value that looks
  // like an option, and options after the positionals.
  CHECK(bridges_cli("--threads 1 plugins show cosine").code == 0);
  CHECK_FALSE(contains(bridges_cli("run missing.json --out x --dry-run").err, "unknown"));
  // An unknown plugin or component: the close names only, not all 60.
  const auto cosin = bridges_cli("plugins show cosin");
  CHECK(cosin.code == 1);
  CHECK(contains(cosin.err, "Did you mean 'cosine'? Close names: cosine, knn_cosine ("));
  CHECK_FALSE(contains(cosin.err, "translator/affine"));
  const auto nothing = bridges_cli("plugins show nosuch");
  CHECK(contains(nothing.err, "'nosuch' does not exist, nor any name close to it"));
  CHECK(contains(nothing.err, "`bridges plugins list` lists every one."));
}

TEST_CASE("the front end answers --help, --version and plugins list/show without loading LibTorch") {
  // LD_DEBUG=files makes the dynamic loader name every library it loads.
  for (const auto& args : {"--help", "--version", "plugins list", "plugins show cosine"}) {
    const auto r = bridges_cli(args, "LD_DEBUG=files");
    INFO(args);
    CHECK(r.code == 0);
    CHECK(contains(r.err, "libbridges_manifests"));  // the loader did report
    CHECK_FALSE(contains(r.err, "libtorch"));
  }
  // Every other command is the engine's, which loads it.
  CHECK(contains(bridges_cli("plugins check", "LD_DEBUG=files").err, "libtorch_cpu"));
  // Without its engine the front end says where it looked.
  testing::TempDir dir;
  fs::create_directories(dir / "bin");
  fs::copy_file(BRIDGES_TEST_CLI, dir / "bin" / "bridges");
  fs::permissions(dir / "bin" / "bridges", fs::perms::owner_all);
  const std::string lone = (dir / "bin" / "bridges").string();
  const int status = std::system((lone + " run x.json 2>" + (dir / "err").string()).c_str());
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(contains(read_text(dir / "err"), "the bridges engine is missing"));
  CHECK(contains(read_text(dir / "err"), "libexec/bridges/bridges-engine"));
}

TEST_CASE("OpenBLAS runs the kernels the CPU supports, and a forced fallback is named with its fix") {
  // OpenBLAS 0.3.21 falls back to its SSE3 (Prescott) kernels on CPU models
  // it does not know, this project's build machine among them; bridges::core
  // makes it choose again. (Fails when the tests run under a user's own
  // OPENBLAS_CORETYPE=Prescott: then the fallback is what was asked for.)
  const std::string kernels = blas_kernels();
  INFO(kernels);
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (kernels == "unknown BLAS" || !avx2) return;  // nothing to choose between here
  CHECK_FALSE(contains(kernels, "kernels: Prescott"));
  CHECK(blas_kernel_warning().empty());
  // Forced back by the user: the program says so, once, with the fix.
  const auto forced = bridges_cli("plugins check", "OPENBLAS_CORETYPE=Prescott BRIDGES_QUIET=0");
  CHECK(forced.code == 0);
  CHECK(contains(forced.err, "OpenBLAS runs its Prescott (SSE3) kernels"));
  CHECK(contains(forced.err, __builtin_cpu_supports("avx512f") ? "OPENBLAS_CORETYPE=SkylakeX" : "OPENBLAS_CORETYPE=Haswell"));
  CHECK_FALSE(contains(bridges_cli("plugins check", "BRIDGES_QUIET=0").err, "OpenBLAS"));
}

TEST_CASE("plugins list, show and check describe the built-in plugins") {
  const auto list = bridges_cli("plugins list");
  CHECK(list.code == 0);
  for (const auto& name : {"cosine", "euclidean", "l1", "linf", "distances 0.1.0"}) CHECK(contains(list.out, name));
  const json listed = json::parse(bridges_cli("plugins list --json").out);
  std::map<std::string, std::size_t> components_per_plugin;
  for (const auto& plugin : listed["plugins"]) components_per_plugin[plugin["plugin"]] = plugin["components"].size();
  CHECK(components_per_plugin["distances"] == 5);
  CHECK(components_per_plugin["aggregators"] == 5);
  CHECK(components_per_plugin["translators"] == 3);
  CHECK(components_per_plugin["measures"] == 18);
  // Measures and translators show what their manifests declare.
  for (const auto& plugin : listed["plugins"])
    for (const auto& c : plugin["components"]) {
      if (c["name"] == "pearson") CHECK(c["same_width"] == true);
      if (c["name"] == "procrustes") CHECK(c["direction"] == "distance");
      if (c["name"] == "affine") CHECK(c["represents"].size() == 6);
    }
  CHECK(contains(bridges_cli("plugins show procrustes").out, "direction: distance (smaller is more similar)"));
  CHECK(contains(bridges_cli("plugins show orthogonal").out, "represents: isotropic_scaling, orthogonal, translation"));

  const auto show = bridges_cli("plugins show linf");
  CHECK(show.code == 0);
  CHECK(contains(show.out, "similarity/linf"));
  CHECK(contains(show.out, "default null"));
  CHECK(json::parse(bridges_cli("plugins show similarity/cosine --json").out)["options"]["eps"]["default"] == 1e-8);
  CHECK(contains(bridges_cli("plugins show distances").out, "libbridges_distances.so"));
  const auto unknown = bridges_cli("plugins show cosnie");
  CHECK(unknown.code == 1);
  CHECK(contains(unknown.err, "Did you mean 'cosine'?"));

  const auto check = bridges_cli("plugins check");
  CHECK(check.code == 0);
  CHECK(contains(check.out, "ok   distances 0.1.0 (5 components)"));
}

TEST_CASE("plugins list --kind lists one kind; in a terminal the descriptions wrap to its width") {
  const auto similarities = bridges_cli("plugins list --kind similarity");
  CHECK(similarities.code == 0);
  CHECK(contains(similarities.out, "similarity  l1"));
  CHECK_FALSE(contains(similarities.out, "measure "));
  CHECK(contains(similarities.out, "6 similarity components in"));
  const json only = json::parse(bridges_cli("plugins list --kind translator --json").out);
  for (const auto& plugin : only["plugins"])
    for (const auto& c : plugin["components"]) CHECK(c["kind"] == "translator");
  const auto typo = bridges_cli("plugins list --kind similarities");
  CHECK(typo.code == 1);
  CHECK(contains(typo.err, "component kind 'similarities' does not exist. Did you mean 'similarity'?"));

  // print_table: the last column wrapped at spaces to the width left, or,
  // with less than 40 characters left, under its row.
  const std::vector<std::vector<std::string>> rows{{"a", "one two three four five six seven eight nine ten eleven twelve"}};
  std::ostringstream wide, narrow, file;
  cli::print_table(wide, {"K", "TEXT"}, rows, 45);
  CHECK(wide.str() == "K  TEXT\na  one two three four five six seven eight\n   nine ten eleven twelve\n");
  cli::print_table(narrow, {"KIND", "TEXT"}, {{std::string(30, 'x'), "one two three four five six seven eight nine"}}, 60);
  CHECK(narrow.str() == "KIND\n    TEXT\n" + std::string(30, 'x') + "\n    one two three four five six seven eight nine\n");
  cli::print_table(file, {"K", "TEXT"}, rows);  // not a terminal: one line per row
  CHECK(file.str() == "K  TEXT\na  " + rows[0][1] + "\n");
}

TEST_CASE("plugins check and list report a broken manifest and still serve the rest") {
  testing::TempDir dir;
  write_text_atomically(dir / "broken.plugin.json", "{\"manifest_version\": 1}");
  const auto check = bridges_cli("plugins check", "BRIDGES_PLUGIN_PATH=" + dir.path().string());
  CHECK(check.code == 1);
  CHECK(contains(check.out, "FAIL " + (dir / "broken.plugin.json").string()));
  CHECK(contains(check.out, "ok   distances"));
  const auto list = bridges_cli("--plugin-path " + dir.path().string() + " plugins list");
  CHECK(list.code == 0);
  CHECK(contains(list.err, "warning: skipped: " + (dir / "broken.plugin.json").string()));
  CHECK(contains(list.out, "cosine"));
}

TEST_CASE("invariances prints the measured table beside the declared one, and fails on a disagreement") {
  const auto table = bridges_cli("invariances");
  CHECK(table.code == 0);
  CHECK(contains(table.out, "Every measurement agrees"));
  CHECK(contains(table.out, "TRANSLATOR"));  // the translators are measured beside the similarities
  const json recovered = json::parse(bridges_cli("invariances --json -t orthogonal").out);
  REQUIRE(recovered.size() == 1);
  CHECK(recovered[0]["translator"] == "orthogonal");
  CHECK(recovered[0]["represents"]["translation"]["invariant"] == true);
  CHECK(recovered[0]["represents"]["affine"]["invariant"] == false);
  // An option that takes a declared transformation away shows as a disagreement, under the spec as given.
  const auto uncentred = bridges_cli("invariances -t '{\"type\": \"orthogonal\", \"center\": false}'");
  CHECK(uncentred.code == 1);
  CHECK(contains(uncentred.out, "DISAGREES orthogonal {\"center\":false}: declared translation "
                                "recovered but measured not recovered"));
  const json measured = json::parse(bridges_cli("invariances --json --similarity cosine,l1").out);
  REQUIRE(measured.size() == 2);
  CHECK(measured[0]["similarity"] == "cosine");
  CHECK(measured[0]["invariances"]["orthogonal"]["invariant"] == true);
  CHECK(measured[1]["invariances"]["orthogonal"]["invariant"] == false);
  CHECK(measured[1]["agrees"] == true);
  // A row is named by its type and the options that differ from their defaults; the claim that depends on
  // sigma holds for one spec only;
  // every test's tolerance is stated, an approximate claim's beside it.
  const auto rbf = bridges_cli("invariances -s rbf -s '{\"type\": \"rbf\", \"sigma\": 5}' -s geodesic");
  CHECK(rbf.code == 0);
  check_contains(rbf.out, {"rbf {\"sigma\":5.0}", "Tolerances (", "1e-06 for each map",
                           "declared approximate: geodesic manifold_isometry 0.05", "yes ~"});
  const json rbf_json = json::parse(bridges_cli("invariances --json -s rbf -s '{\"type\": \"rbf\", \"sigma\": 5}'").out);
  CHECK(rbf_json[0]["similarity"] == "rbf");
  CHECK(rbf_json[1]["similarity"] == "rbf {\"sigma\":5.0}");
  CHECK(rbf_json[0]["invariances"]["isotropic_scaling"]["declared"] == true);
  CHECK(rbf_json[0]["invariances"]["isotropic_scaling"]["invariant"] == true);
  CHECK(rbf_json[1]["invariances"]["isotropic_scaling"]["declared"] == false);
  CHECK(rbf_json[1]["invariances"]["isotropic_scaling"]["invariant"] == false);
  CHECK(rbf_json[1]["invariances"]["isotropic_scaling"]["tolerance"] == 1e-6);
  const auto standardized = bridges_cli("invariances --normalize standardize -s l1");
  CHECK(standardized.code == 0);
  CHECK(contains(standardized.out, "yes +"));

  // The faulty fixture's manifest declares [orthogonal]; permutation is measured too.
  const auto faulty = bridges_cli(std::string("--plugin-path ") + BRIDGES_TEST_FIXTURE_DIR + "/faulty invariances -s faulty");
  CHECK(faulty.code == 1);
  CHECK(contains(faulty.out, "DISAGREES faulty: not declared permutation invariant but measured invariant"));
  CHECK(bridges_cli("invariances --normalize l3").code == 1);

  // A plugin whose library is missing is reported; the others are still measured.
  testing::TempDir dir;
  write_text_atomically(dir / "ghost.plugin.json",
                        json{{"manifest_version", 1}, {"plugin", "ghost"}, {"version", "1"},
                             {"library", "libbridges_ghost.so"}, {"abi", 1},
                             {"provides", {{{"kind", "similarity"}, {"name", "ghost"}}}}}
                            .dump());
  const auto partial = bridges_cli("--plugin-path " + dir.path().string() + " invariances");
  CHECK(partial.code == 1);
  CHECK(contains(partial.err, "error: ghost: "));
  CHECK(contains(partial.err, "libbridges_ghost.so does not exist"));
  CHECK(contains(partial.out, "cosine      yes"));
}

TEST_CASE("translate: a map fitted on paired anchors, from anchor files or anchor rows, equal to the C++ API's") {
  testing::TempDir dir;
  const Tensor a = testing::randn({400, 12}, 40);
  const Tensor q = std::get<0>(at::linalg_qr(testing::randn({12, 12}, 41, at::kDouble))).to(at::kFloat);
  const Tensor b = 3.0 * a.mm(q) + 1.5;
  const Tensor rows = at::arange(0, 400, 8, at::TensorOptions().dtype(at::kLong));  // 50 anchors
  write_npy(dir / "a.npy", a);
  write_npy(dir / "b.npy", b);
  write_npy(dir / "idx.npy", rows);
  write_npy(dir / "sa.npy", at::index_select(a, 0, rows));
  write_npy(dir / "ta.npy", at::index_select(b, 0, rows));
  const std::string d = dir.path().string();

  const auto paired = bridges_cli("translate --source " + d + "/a.npy --target " + d + "/b.npy --anchors " + d +
                                  "/idx.npy -o " + d + "/y.npy --json");
  REQUIRE(paired.code == 0);
  const json report = json::parse(paired.out);
  CHECK(report["anchors"] == 50);
  CHECK(report["translator"]["type"] == "orthogonal");
  CHECK(report["relative_error_anchors"].get<double>() < 1e-5);
  CHECK(report["relative_error_held_out"].get<double>() < 1e-5);  // a similarity transform: recovered everywhere
  const Tensor y = read_npy(dir / "y.npy");
  CHECK((y.scalar_type() == at::kFloat));
  auto api = testing::registry().make<Translator>("orthogonal");
  api->fit(at::index_select(a, 0, rows), at::index_select(b, 0, rows));
  CHECK(at::equal(y, api->translate(a)));

  // The same map from anchor files, applied to another input; a JSON spec.
  const auto files = bridges_cli("translate -t '{\"type\": \"affine\", \"lambda\": 0}' --source-anchors " + d +
                                 "/sa.npy --target-anchors " + d + "/ta.npy -i " + d + "/a.npy -o " + d + "/y2.npy");
  REQUIRE(files.code == 0);
  CHECK(contains(files.out, "fitted on 50 anchor pairs, [50, 12] -> [50, 12]"));
  CHECK(testing::max_abs_diff(read_npy(dir / "y2.npy"), b) < 1e-4);

  // Bad input: no anchors, both ways at once, NaN, the wrong width; nothing written.
  const auto none = bridges_cli("translate -i " + d + "/a.npy -o " + d + "/z.npy");
  CHECK(none.code == 1);
  CHECK(contains(none.err, "give the anchors one way"));
  CHECK(bridges_cli("translate --source-anchors " + d + "/sa.npy --target-anchors " + d + "/ta.npy --anchors " + d +
                    "/idx.npy --source " + d + "/a.npy --target " + d + "/b.npy -o " + d + "/z.npy")
            .code == 2);
  Tensor bad = a.clone();
  bad[7][3] = std::nan("");
  write_npy(dir / "bad.npy", bad);
  const auto nan = bridges_cli("translate --source-anchors " + d + "/sa.npy --target-anchors " + d + "/ta.npy -i " + d +
                               "/bad.npy -o " + d + "/z.npy");
  CHECK(nan.code == 1);
  CHECK(contains(nan.err, "bad.npy: row 7, column 3 is NaN"));
  write_npy(dir / "narrow.npy", testing::randn({5, 11}, 42));
  const auto narrow = bridges_cli("translate --source-anchors " + d + "/sa.npy --target-anchors " + d + "/ta.npy -i " +
                                  d + "/narrow.npy -o " + d + "/z.npy");
  CHECK(narrow.code == 1);
  CHECK(contains(narrow.err, "the latents have d = 11, but the source anchors have d = 12"));
  CHECK_FALSE(fs::exists(dir / "z.npy"));
  // Nor over an input.
  const auto over = bridges_cli("translate --source " + d + "/a.npy --target " + d + "/b.npy --anchors " + d +
                                "/idx.npy -o " + d + "/b.npy");
  CHECK(over.code == 1);
  CHECK(contains(over.err, "--out is the input file"));
  CHECK(at::equal(read_npy(dir / "b.npy"), b));
}

TEST_CASE("project writes one relative representation per similarity, or one stacked file") {
  testing::TempDir dir;
  const Tensor x = testing::randn({20, 6}, 3);
  write_npy(dir / "x.npy", x);
  write_npy(dir / "idx.npy", at::arange(2, 7, at::TensorOptions().dtype(at::kLong)));
  const Tensor anchors = at::index_select(x, 0, at::arange(2, 7, at::TensorOptions().dtype(at::kLong)));
  write_npy(dir / "anchors.npy", anchors);
  const std::string io = " -i " + (dir / "x.npy").string() + " -o " + (dir / "r.npy").string();

  const auto two = bridges_cli("project -s cosine,l1 --chunk-rows 7 -a " + (dir / "idx.npy").string() + io);
  CHECK(two.code == 0);
  CHECK(contains(two.out, "r.cosine.npy float32 [20, 5]"));
  CHECK(contains(two.out, "projected 20 rows in 3 chunks of 7"));
  CHECK(testing::max_abs_diff(read_npy(dir / "r.cosine.npy"), kernels::cosine(x, anchors)) < 1e-6);
  CHECK(testing::max_abs_diff(read_npy(dir / "r.l1.npy"), kernels::l1(x, anchors)) < 1e-5);

  CHECK(bridges_cli("project --stack --normalize l2 -s euclidean,linf -a " + (dir / "anchors.npy").string() + io).code == 0);
  const Tensor stacked = read_npy(dir / "r.npy");
  CHECK(stacked.sizes() == at::IntArrayRef{20, 2, 5});
  CHECK(testing::max_abs_diff(stacked.select(1, 1), normalize_subspace(kernels::linf(x, anchors), SubspaceNorm::l2)) < 1e-6);

  CHECK(bridges_cli(R"(project -s '{"type": "linf", "p": 4}' -a )" + (dir / "idx.npy").string() + io).code == 0);
  CHECK(testing::max_abs_diff(read_npy(dir / "r.npy"), kernels::pnorm(x, anchors, 4)) < 1e-5);
  CHECK_FALSE(contains(two.err, "warning"));

  // Two zero latents: under cosine their rows are 0 at every anchor (no
  // information), and the command says so; L1 is not flat there.
  Tensor zeros = x.clone();
  zeros.narrow(0, 10, 2).zero_();
  write_npy(dir / "zeros.npy", zeros);
  const auto flat = bridges_cli("project -s cosine,l1 --chunk-rows 7 -a " + (dir / "anchors.npy").string() + " -i " +
                                (dir / "zeros.npy").string() + " -o " + (dir / "z.npy").string());
  CHECK(flat.code == 0);
  CHECK(contains(flat.err, "warning: cosine: 2 of 20 rows are the same at every anchor"));
  CHECK_FALSE(contains(flat.err, "warning: l1"));
  CHECK(flat_rows(read_npy(dir / "z.cosine.npy")) == 2);
  CHECK(flat_rows(at::ones({3, 1})) == 0);  // one anchor: nothing to compare
}

TEST_CASE("project explains bad inputs and writes nothing") {
  testing::TempDir dir;
  write_npy(dir / "x.npy", testing::randn({4, 3}, 0));
  write_npy(dir / "far.npy", at::arange(3, 6, at::TensorOptions().dtype(at::kLong)));
  write_npy(dir / "cube.npy", testing::randn({2, 2, 3}, 0));
  testing::write_bytes(dir / "junk.npy", "not an npy file");
  const std::string io = " -i " + (dir / "x.npy").string() + " -o " + (dir / "out" / "r.npy").string();
  const auto far = bridges_cli("project -a " + (dir / "far.npy").string() + io);
  CHECK(far.code == 1);
  CHECK(contains(far.err, "far.npy: anchor indices must lie in [0, 4)"));
  const auto cube = bridges_cli("project -a " + (dir / "cube.npy").string() + io);
  CHECK(cube.code == 1);
  CHECK(contains(cube.err, "float32 [2, 2, 3]"));
  const auto junk = bridges_cli("project -a " + (dir / "junk.npy").string() + io);
  CHECK(junk.code == 1);
  CHECK(contains(junk.err, "junk.npy: not a .npy file"));
  const auto typo = bridges_cli("project -s cosine,l2 -a " + (dir / "x.npy").string() + io);
  CHECK(typo.code == 1);
  CHECK(contains(typo.err, "similarity 'l2' does not exist. Did you mean 'l1'?"));
  write_npy(dir / "wide.npy", testing::randn({2, 5}, 0));
  const auto wide = bridges_cli("project -a " + (dir / "wide.npy").string() + io);
  CHECK(wide.code == 1);
  CHECK(contains(wide.err, "wide.npy: anchor latents have d = 5, but the latents in"));
  const auto chunk = bridges_cli("project --chunk-rows -3 -a " + (dir / "x.npy").string() + io);
  CHECK(chunk.code == 1);
  CHECK(contains(chunk.err, "--chunk-rows: expected a positive number of rows or 0"));
  CHECK_FALSE(fs::exists(dir / "out"));
}

TEST_CASE("encode trains once, reuses the cache on the next run, and writes the latents") {
  testing::TempDir dir;
  const std::string args = R"(encode -d '{"type": "fashion_mnist", "train_limit": 300, "test_limit": 100}' )"
                           R"(-e '{"type": "mlp", "epochs": 1}' --json --cache )" +
                           (dir / "cache").string() + " --out " + (dir / "z.npy").string();
  const auto first = bridges_cli(args);
  REQUIRE(first.code == 0);
  const json a = json::parse(first.out);
  CHECK(a["training"]["trained"] == true);
  CHECK(a["quality"]["accuracy"].get<double>() > 0.3);
  CHECK(a["encode"]["shape"] == json::array({100, 64}));
  CHECK(read_npy(dir / "z.npy").sizes() == at::IntArrayRef{100, 64});
  const json b = json::parse(bridges_cli(args).out);
  CHECK(b["training"]["trained"] == false);
  CHECK(b["quality"] == a["quality"]);
  CHECK(b["training"]["cache_file"] == a["training"]["cache_file"]);

  const auto typo = bridges_cli("encode -d fashion_mnst -e mlp");
  CHECK(typo.code == 1);
  CHECK(contains(typo.err, "dataset 'fashion_mnst' does not exist. Did you mean 'fashion_mnist'?"));
  const auto bad_option = bridges_cli(R"(encode -e '{"type": "cnn", "epoch": 1}')");
  CHECK(bad_option.code == 1);
  CHECK(contains(bad_option.err, "unknown option 'epoch'. Did you mean 'epochs'?"));
}

TEST_CASE("run --dry-run validates a pipeline and prints its plan; an invalid one is an error with its path") {
  const std::string pipelines = std::string(BRIDGES_TEST_SOURCE_DIR) + "/examples/pipelines/";
  // Global options may follow the command.
  const auto plan = bridges_cli("run --dry-run " + pipelines + "fashion-mnist-stitching.json --threads 1");
  CHECK(plan.code == 0);
  CHECK(contains(plan.out, "encoder      cnn-2"));
  CHECK(contains(plan.out, "is valid; nothing was run"));
  // The main job: 4 singles and the product with sum, the product with mlp_sum: 6 runs of 18 decoders.
  CHECK(contains(plan.out, "Stitching runs: 6 (108 decoders in all"));
  // The time is estimated from one timed epoch of each decoder shape: the single projections' sum and the product's
  // sum and mlp_sum.
  check_contains(plan.out, {"Estimated encoder training here, 1 thread: ", " for 6 encoders (each kind fitted now",
                            "Estimated time of the decoders here, 1 thread, none cached: ", " for 108 decoders",
                            "  {\"normalize\":\"standardize\",\"type\":\"sum\"} over 1 subspace: ",
                            "\"type\":\"mlp_sum\"} over 4 subspaces: "});
  // The paper-scale study: a run the ablation shares with the stitching is counted once (4 + 5 × 11).
  const auto paper = bridges_cli("run --dry-run --no-estimate " + pipelines + "fashion-mnist-paper.json");
  CHECK(contains(paper.out, "Stitching runs: 59 (1062 decoders"));
  CHECK_FALSE(contains(paper.out, "Estimated time"));
  testing::TempDir dir;
  write_text_atomically(dir / "bad.json", R"({"name": "x", "encoders": [{"type": "cnn"}, {"type": "mpl"}], "projections": ["cosine"]})");
  const auto bad = bridges_cli("run " + (dir / "bad.json").string());
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, (dir / "bad.json").string() + ": $.encoders[1].type: encoder 'mpl' does not exist. Did you mean 'mlp'?"));
  CHECK_FALSE(fs::exists(dir / "runs"));
  CHECK(bridges_cli("run " + (dir / "absent.json").string()).code == 2);

  // The plan names the folders --out and --cache give, and which encoders
  // the cache holds: one trained by `encode` on the same data is found.
  const std::string dataset = R"({"type": "fashion_mnist", "train_limit": 300, "test_limit": 100})";
  REQUIRE(bridges_cli("encode -d '" + dataset + R"(' -e '{"type": "mlp", "epochs": 1, "seed": 0}' --cache )" +
                      (dir / "cache" / "encoders").string())
              .code == 0);
  write_text_atomically(dir / "two.json", R"({"name": "two", "dataset": )" + dataset +
                                              R"(, "encoders": [{"type": "mlp", "epochs": 1, "seeds": [0, 1]}],
                                              "projections": ["cosine"], "anchors": {"count": 20},
                                              "decoder": {"seeds": [0], "epochs": 1},
                                              "experiments": [{"type": "stitching"}]})");
  const auto two = bridges_cli("run --dry-run " + (dir / "two.json").string() + " --out " + (dir / "run").string() +
                               " --cache " + (dir / "cache").string());
  CHECK(two.code == 0);
  CHECK(contains(two.out, "output       " + (dir / "run").string() + "\n"));
  CHECK(contains(two.out, "cache        " + (dir / "cache").string() + " (shared)\n"));
  CHECK(contains(two.out, "Encoders: 1 to train (mlp-1), 1 in the cache (mlp-0)."));
  CHECK(contains(two.out, "the cache holds none, every one trains"));
  // A count of one is singular.
  CHECK(contains(two.out, "Each stitching run trains 2 decoders (2 encoders x 1 seed) and scores each on 2 encoders."));
  CHECK_FALSE(fs::exists(dir / "run"));
  // After the run, the plan finds each of its decoders in the cache by its key (no training); with a second
  // decoder seed, half of them.
  const std::string folders = " --out " + (dir / "run").string() + " --cache " + (dir / "cache").string();
  REQUIRE(bridges_cli("run " + (dir / "two.json").string() + folders).code == 0);
  // results.json records the decoder seeds: with one, the report shows no spread over seeds.
  const json written = json::parse(read_text(dir / "run" / "results.json"));
  CHECK(written["stitching"]["decoder_seeds"] == json{0});
  CHECK(contains(read_text(dir / "run" / "report.md"), "Accuracy of one decoder seed (no spread over seeds to show)."));
  const auto again = bridges_cli("run --dry-run --no-estimate " + (dir / "two.json").string() + folders);
  check_contains(again.out, {"Encoders: 0 to train, 2 in the cache (mlp-0, mlp-1).",
                             "Stitching runs: 1 (2 decoders in all; the cache holds every one: none trains)."});
  json more = json::parse(read_text(dir / "two.json"));
  more["decoder"]["seeds"] = {0, 1};
  write_text_atomically(dir / "more.json", more.dump());
  check_contains(bridges_cli("run --dry-run --no-estimate " + (dir / "more.json").string() + folders).out,
                 {"Stitching runs: 1 (4 decoders in all; the cache holds 2, 2 train)."});
}

namespace {
// Seconds in format_duration's words ("7s", "2m05s", "1h03m").
double seconds_in(const std::string& words) {
  double total = 0, number = 0;
  for (const char c : words) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      number = number * 10 + (c - '0');
    } else {
      total += number * (c == 'h' ? 3600 : c == 'm' ? 60 : 1);
      number = 0;
    }
  }
  return total;
}
}  // namespace

TEST_CASE("run --dry-run estimates a graph encoder's full-batch training from timed epochs, scaled to its epochs") {
  testing::TempDir dir;
  // A random graph of 3000 nodes with 64 features: every epoch sees all of it.
  write_npy(dir / "graph" / "x.npy", testing::randn({3000, 64}, 1));
  write_npy(dir / "graph" / "edge_index.npy", at::randint(0, 3000, {2, 30000}, at::kLong));
  write_npy(dir / "graph" / "y.npy", at::randint(0, 4, {3000}, at::kLong));
  const auto plan_with_epochs = [&](int epochs) {
    const json pipeline = {
        {"name", "graph"},
        {"dataset", {{"type", "graph_npy"}, {"path", (dir / "graph").string()}}},
        {"encoders", {{{"type", "gcn"}, {"epochs", epochs}, {"latent_dim", 32}, {"hidden", 32}, {"seeds", {0, 1}}}}},
        {"projections", {"cosine"}},
        {"anchors", {{"count", 50}}},
        {"decoder", {{"seeds", {0}}, {"epochs", 1}}},
        {"experiments", {{{"type", "stitching"}}}}};
    write_text_atomically(dir / "graph.json", pipeline.dump());
    const auto plan = bridges_cli("run --dry-run " + (dir / "graph.json").string() + " --out " + (dir / "run").string());
    REQUIRE(plan.code == 0);
    const std::string head = "Estimated encoder training here, ";
    const auto at = plan.out.find(head);
    REQUIRE(at != std::string::npos);
    const std::string line = plan.out.substr(at, plan.out.find('\n', at) - at);
    INFO(line);
    CHECK(contains(line, " for 2 encoders (each kind timed now for 1 and 3 full-batch epochs on the "));
    CHECK_FALSE(contains(line, "not estimated"));
    const auto colon = line.find(": ");
    return seconds_in(line.substr(colon + 2, line.find(' ', colon + 2) - colon - 2));
  };
  // 5 timed epochs of a few milliseconds each; 20000 of them take seconds.
  const double few = plan_with_epochs(3), many = plan_with_epochs(20000);
  CHECK(few < 5);
  CHECK(many > few);
  CHECK(many >= 10);
}

TEST_CASE("run --dry-run times a classifier encoder on a split sorted by class") {
  // The training texts sorted by label, as the SpamAssassin corpus is (ham,
  // then spam): the timed fits must see both classes, not the first 512.
  testing::TempDir dir;
  std::string train = "text,label\n", test = "text,label\n";
  for (int i = 0; i < 2400; ++i) train += fmt::format("{} word{} common,{}\n", i < 1200 ? "alpha" : "beta", i % 50, i < 1200 ? "a" : "b");
  for (int i = 0; i < 100; ++i) test += fmt::format("{} common,{}\n", i % 2 ? "alpha" : "beta", i % 2 ? "a" : "b");
  write_text_atomically(dir / "train.csv", train);
  write_text_atomically(dir / "test.csv", test);
  const json pipeline = {
      {"name", "sorted"},
      {"dataset", {{"type", "text_csv"}, {"train", (dir / "train.csv").string()}, {"test", (dir / "test.csv").string()}}},
      {"encoders", {{{"type", "text_bow"}, {"epochs", 1}, {"seeds", {0, 1}}}}},
      {"projections", {"cosine"}},
      {"anchors", {{"count", 20}}},
      {"decoder", {{"seeds", {0}}, {"epochs", 1}}},
      {"experiments", {{{"type", "stitching"}}}}};
  write_text_atomically(dir / "sorted.json", pipeline.dump());
  const auto plan = bridges_cli("run --dry-run " + (dir / "sorted.json").string() + " --out " + (dir / "run").string());
  REQUIRE(plan.code == 0);
  INFO(plan.out);
  CHECK(contains(plan.out, " for 2 encoders (each kind fitted now on 512 and 1024 of the 2400 training samples"));
  CHECK_FALSE(contains(plan.out, "not estimated"));
}

TEST_CASE("compare: absolute and relative similarity of two spaces, as a table and as JSON") {
  testing::TempDir dir;
  // B is A rotated: CKA sees through the rotation, entry-wise correlation of
  // the absolute latents does not; cosine relative representations coincide,
  // L1 ones do not.
  const Tensor a = testing::randn({200, 8}, 1);
  const Tensor q = std::get<0>(at::linalg_qr(testing::randn({8, 8}, 2)));
  write_npy(dir / "a.npy", a);
  write_npy(dir / "b.npy", a.mm(q));
  write_npy(dir / "narrow.npy", a.narrow(1, 0, 5));
  const std::string files = (dir / "a.npy").string() + " " + (dir / "b.npy").string();
  const auto result = bridges_cli("compare " + files + " -s cosine,l1 --num-anchors 20 --json");
  REQUIRE(result.code == 0);
  const json j = json::parse(result.out)["measures"];
  CHECK(j["absolute"]["cka_linear"].get<double>() == doctest::Approx(1.0).epsilon(1e-4));
  CHECK(j["absolute"]["pearson"].get<double>() < 0.9);
  CHECK(j["cosine"]["pearson"].get<double>() == doctest::Approx(1.0).epsilon(1e-4));
  CHECK(j["cosine"]["knn_mrr"].get<double>() == doctest::Approx(1.0));
  CHECK(j["l1"]["pearson"].get<double>() < j["cosine"]["pearson"].get<double>() - 1e-3);

  const auto table = bridges_cli("compare " + (dir / "a.npy").string() + " " + (dir / "narrow.npy").string() +
                                 " -m cka_linear,spearman");
  CHECK(table.code == 0);
  CHECK(contains(table.out, "CKA_LINEAR"));
  CHECK(contains(table.out, "-: needs the same width"));

  const auto typo = bridges_cli("compare " + files + " -m cka");
  CHECK(typo.code == 1);
  CHECK(contains(typo.err, "Did you mean"));
  const auto no_anchors = bridges_cli("compare " + files + " -s cosine");
  CHECK(no_anchors.code == 1);
  CHECK(contains(no_anchors.err, "--similarity needs anchors"));
  write_npy(dir / "short.npy", a.narrow(0, 0, 10));
  const auto rows = bridges_cli("compare " + (dir / "a.npy").string() + " " + (dir / "short.npy").string());
  CHECK(rows.code == 1);
  CHECK(contains(rows.err, "same samples"));
}

namespace {

// A results.json of a latent-similarity run in which `winners` maps each
// architecture to its most similar representation under Pearson.
json latent_results(const std::string& dataset, const std::map<std::string, std::string>& winners) {
  json summary = json::object(), most_similar = json::object();
  for (const auto& [architecture, winner] : winners) {
    const std::string group = architecture + " (across seeds)";
    for (const char* rep : {"absolute", "cosine", "euclidean"})
      summary[group][rep]["pearson"] = {{"mean", rep == winner ? 0.9 : 0.5}, {"std", 0.01}};
    most_similar[group]["pearson"] = winner;
  }
  return {{"pipeline", "latent-analysis-" + dataset},
          {"dataset", {{"type", dataset}}},
          {"samples", {{"train", 100}, {"test", 100}}},
          {"classes", 10},
          {"anchors", {{"count", 16}, {"strategy", "random"}}},
          {"encoders", json::object()},
          {"projections", {"cosine", "euclidean"}},
          {"latent_similarity",
           {{"measures", {"pearson"}},
            {"representations", {"absolute", "cosine", "euclidean"}},
            {"pairs", json::array()},
            {"summary", summary},
            {"most_similar", most_similar}}}};
}

}  // namespace

TEST_CASE("report: writes a run's reports again, and compares the most similar representation across runs") {
  testing::TempDir dir;
  write_text_atomically(dir / "f" / "results.json",
                        latent_results("fashion_mnist", {{"ae", "cosine"}, {"vae", "euclidean"}}).dump());
  write_text_atomically(dir / "m" / "results.json", latent_results("mnist", {{"ae", "cosine"}, {"vae", "cosine"}}).dump());

  const auto again = bridges_cli("report " + (dir / "f").string());
  REQUIRE(again.code == 0);
  const std::string md = read_text(dir / "f" / "report.md");
  CHECK(contains(md, "| cosine | **0.900 ± 0.010** |"));
  CHECK(contains(md, "- pearson: yes: cosine (ae), euclidean (vae)"));
  CHECK(fs::exists(dir / "f" / "report.html"));

  const auto both = bridges_cli("report " + (dir / "f").string() + " " + (dir / "m" / "results.json").string());
  REQUIRE(both.code == 0);
  CHECK(contains(both.out, "| architecture | fashion_mnist | mnist |"));
  CHECK(contains(both.out, "| vae | euclidean 0.900 (+0.400 over cosine) | cosine 0.900 (+0.400 over euclidean) |"));
  CHECK(contains(both.out, "- fashion_mnist: yes: cosine (ae), euclidean (vae)"));
  CHECK(contains(both.out, "- mnist: no: cosine for every one of ae, vae"));
  CHECK(contains(both.out, "- ae: no: cosine for every one of fashion_mnist, mnist"));
  CHECK(contains(both.out, "- vae: yes: cosine (mnist), euclidean (fashion_mnist)"));
  CHECK(contains(both.out, "no single representation is the most similar everywhere (cosine, euclidean differ)"));

  // The same choice everywhere is reported as such.
  // A margin within the spread over pairs is marked as a near-tie.
  json near_tie = latent_results("kmnist", {{"ae", "cosine"}});
  near_tie["latent_similarity"]["summary"]["ae (across seeds)"]["euclidean"]["pearson"]["mean"] = 0.895;
  write_text_atomically(dir / "g" / "results.json", near_tie.dump());
  const auto same = bridges_cli("report " + (dir / "m").string() + " " + (dir / "g").string() + " -o " +
                                (dir / "same.md").string());
  REQUIRE(same.code == 0);
  const std::string same_md = read_text(dir / "same.md");
  CHECK(contains(same_md, "cosine is the most similar everywhere"));
  CHECK(contains(same_md, "| ae | cosine 0.900 (+0.400 over euclidean) | cosine 0.900 (+0.005 over euclidean) ≈ |"));
  CHECK(contains(same_md, "1 of the 3 choices (≈) win by less than the spread over the pairs"));

  // Bad input names the file and what is wrong; nothing is written.
  write_text_atomically(dir / "bad" / "results.json", R"({"pipeline": "x", "dataset": {}})");
  const auto bad = bridges_cli("report " + (dir / "bad").string());
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, (dir / "bad" / "results.json").string() + ": field \"samples\" is missing"));
  CHECK_FALSE(fs::exists(dir / "bad" / "report.md"));
  const auto empty = bridges_cli("report " + (dir / "bad").string() + " " + (dir / "nowhere").string());
  CHECK(empty.code == 2);  // a path that does not exist is a usage error
  write_text_atomically(dir / "plain" / "results.json", json(latent_results("x", {})).dump());
  json plain = json::parse(read_text(dir / "plain" / "results.json"));
  plain.erase("latent_similarity");
  write_text_atomically(dir / "plain" / "results.json", plain.dump());
  const auto none = bridges_cli("report " + (dir / "plain").string() + " " + (dir / "plain").string());
  CHECK(none.code == 1);
  CHECK(contains(none.err, "none of these runs has a latent_similarity experiment"));
}

TEST_CASE("vectors: convert any format to the binary form, show neighbours, write a data set's corpus") {
  testing::TempDir dir;
  write_text_atomically(dir / "w.vec", "4 2\nking 1 0\nqueen 0.9 0.1\nriver 0 1\nlake 0.1 0.9\n");
  const auto converted = bridges_cli("vectors convert " + (dir / "w.vec").string() + " " + (dir / "w.bvec").string());
  REQUIRE(converted.code == 0);
  CHECK(contains(converted.out, "4 words x 2"));
  CHECK(read_word_vectors(dir / "w.bvec").words() == std::vector<std::string>{"king", "queen", "river", "lake"});
  const auto shown = bridges_cli("vectors show " + (dir / "w.bvec").string() + " king nowhere -k 1");
  CHECK(shown.code == 0);
  CHECK(contains(shown.out, "king: queen 0.99"));
  CHECK(contains(shown.out, "nowhere: not in the file"));

  write_text_atomically(dir / "c.csv", "text,label\n\"Hello, World!\",a\nsecond text,b\n");
  const std::string spec = fmt::format(R"('{{"type": "text_csv", "train": "{}", "test": "{}"}}')", (dir / "c.csv").string(),
                                       (dir / "c.csv").string());
  const auto corpus = bridges_cli("vectors corpus -d " + spec + " --split train -o " + (dir / "c.txt").string());
  REQUIRE(corpus.code == 0);
  CHECK(read_text(dir / "c.txt") == "hello world\nsecond text\n");

  const auto missing = bridges_cli("vectors show no-such-vectors");
  CHECK(missing.code == 1);
  CHECK(contains(missing.err, "no-such-vectors.bvec: no such file"));
  CHECK(contains(missing.err, "scripts/setup"));
  write_text_atomically(dir / "bad.vec", "a 1 2\nb 1\n");
  const auto bad = bridges_cli("vectors convert " + (dir / "bad.vec").string() + " " + (dir / "out.bvec").string());
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, "bad.vec: line 2"));
  CHECK_FALSE(fs::exists(dir / "out.bvec"));
}

// --- issue 16: no silent wrong numbers, no lost files, no crash -------------

namespace {

// Runs a shell script (bash) and returns its exit code.
int shell(const std::string& script) {
  const int status = std::system(("bash -c '" + script + "'").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool has_temporaries(const fs::path& folder) {
  for (const auto& name : testing::list_folder(folder))
    if (contains(name, ".tmp-")) return true;
  return false;
}

}  // namespace

TEST_CASE("project and compare refuse NaN and infinity, naming the file, the row and the column") {
  testing::TempDir dir;
  Tensor x = testing::randn({300, 6}, 3);
  x[217][4] = std::nan("");
  write_npy(dir / "x.npy", x);
  write_npy(dir / "good.npy", testing::randn({300, 6}, 4));
  write_npy(dir / "idx.npy", at::arange(0, 5, at::TensorOptions().dtype(at::kLong)));
  // The NaN row lies in the fourth chunk of 64: the row is the file's.
  const auto project = bridges_cli("project -s euclidean --chunk-rows 64 -a " + (dir / "idx.npy").string() + " -i " +
                                   (dir / "x.npy").string() + " -o " + (dir / "r.npy").string());
  CHECK(project.code == 1);
  CHECK(contains(project.err, (dir / "x.npy").string() + ": row 217, column 4 is NaN"));
  CHECK(contains(project.err, "np.isfinite"));
  CHECK_FALSE(fs::exists(dir / "r.npy"));
  CHECK_FALSE(has_temporaries(dir.path()));
  const auto compare = bridges_cli("compare " + (dir / "good.npy").string() + " " + (dir / "x.npy").string());
  CHECK(compare.code == 1);
  CHECK(contains(compare.err, "x.npy: row 217, column 4 is NaN"));
}

TEST_CASE("project refuses to overwrite its input, the same file twice, or a folder as output") {
  testing::TempDir dir;
  const Tensor x = testing::randn({20, 6}, 3);
  write_npy(dir / "x.npy", x);
  write_npy(dir / "idx.npy", at::arange(0, 5, at::TensorOptions().dtype(at::kLong)));
  const std::string anchors = " -a " + (dir / "idx.npy").string();
  // The same file by another name: a hard link.
  fs::create_hard_link(dir / "x.npy", dir / "link.npy");
  const auto over = bridges_cli("project" + anchors + " -i " + (dir / "x.npy").string() + " -o " +
                                (dir / "link.npy").string());
  CHECK(over.code == 1);
  CHECK(contains(over.err, "this output is the input file"));
  CHECK(testing::max_abs_diff(read_npy(dir / "x.npy"), x) == 0);
  const auto twice = bridges_cli("project -s cosine,cosine" + anchors + " -i " + (dir / "x.npy").string() + " -o " +
                                 (dir / "r.npy").string());
  CHECK(twice.code == 1);
  CHECK(contains(twice.err, "is given twice"));
  const auto same_name = bridges_cli(R"(project -s linf -s '{"type": "linf", "p": 20}')" + anchors + " -i " +
                                     (dir / "x.npy").string() + " -o " + (dir / "r.npy").string());
  CHECK(same_name.code == 1);
  CHECK(contains(same_name.err, "each output needs its own path"));
  fs::create_directory(dir / "folder");
  const auto folder = bridges_cli("project" + anchors + " -i " + (dir / "x.npy").string() + " -o " +
                                  (dir / "folder").string());
  CHECK(folder.code == 1);
  CHECK(contains(folder.err, "is a folder, expected a file to write"));
  CHECK(testing::list_folder(dir.path()).size() == 4);  // x, link, idx, folder: nothing written
}

TEST_CASE("compare reports the measures it can on few samples and marks the others undefined, with the reason") {
  testing::TempDir dir;
  write_npy(dir / "a.npy", testing::randn({5, 4}, 1));
  write_npy(dir / "b.npy", testing::randn({5, 4}, 2));
  const auto few = bridges_cli("compare " + (dir / "a.npy").string() + " " + (dir / "b.npy").string());
  CHECK(few.code == 0);
  CHECK(contains(few.out, "undefined[1]"));
  CHECK(contains(few.out, "kNN retrieval: k = 10 neighbours need at least k + 1 = 11 samples, found 5"));
  const auto as_json = bridges_cli("compare --json " + (dir / "a.npy").string() + " " + (dir / "b.npy").string());
  const json j = json::parse(as_json.out);
  CHECK(j["measures"]["absolute"]["cka_linear"].is_number());
  CHECK(j["measures"]["absolute"]["knn_jaccard"].is_null());
  CHECK(j["undefined"]["absolute"].contains("knn_jaccard"));
  // knn_mrr ranks among all samples: defined with 5 (no neighbour count to exceed them).
  CHECK(j["measures"]["absolute"]["knn_mrr"].is_number());
  write_npy(dir / "flat.npy", at::ones({5, 4}));
  const auto flat = bridges_cli("compare -m cka_linear,svcca " + (dir / "a.npy").string() + " " +
                                (dir / "flat.npy").string());
  CHECK(flat.code == 0);
  CHECK_FALSE(contains(flat.out, "0.0000"));
  CHECK(contains(flat.out, "zero variance"));
  const auto zero = bridges_cli("compare --knn 0 " + (dir / "a.npy").string() + " " + (dir / "b.npy").string());
  CHECK(zero.code == 1);
  CHECK(contains(zero.err, "--knn: the number of neighbours must be at least 1, found 0"));
}

TEST_CASE("--threads is bounded; deep JSON and truncated plugins are errors, not crashes") {
  const auto threads = bridges_cli("--threads 100000 plugins list");
  CHECK(threads.code == 1);
  CHECK(contains(threads.err, "threads: at most"));
  testing::TempDir dir;
  // 100000 nested arrays: the stack overflowed while walking them.
  write_text_atomically(dir / "deep.json", std::string(100000, '[') + std::string(100000, ']'));
  const auto deep = bridges_cli("run --dry-run " + (dir / "deep.json").string());
  CHECK(deep.code == 1);
  CHECK(contains(deep.err, "deep.json: JSON nested deeper than 128 levels"));
  const auto spec = bridges_cli("project -a x -i y -o z -s '{\"type\": " + std::string(5000, '[') + "'");
  CHECK(spec.code != 139);
  // A plugin library cut in half: reported like any load failure, and the
  // other plugins still work.
  const fs::path library = fs::path(BRIDGES_TEST_PLUGIN_DIR) / "libbridges_distances.so";
  const std::string bytes = testing::read_file(library);
  testing::write_bytes(dir / "libtruncated.so", bytes.substr(0, bytes.size() / 2));
  write_text_atomically(dir / "truncated.plugin.json", R"({"manifest_version": 1, "plugin": "truncated",
    "version": "0.1.0", "library": "libtruncated.so", "abi": 1,
    "provides": [{"kind": "similarity", "name": "cut_cosine", "description": "d", "invariances": []}]})");
  const auto check = bridges_cli("plugins check", "BRIDGES_PLUGIN_PATH=" + dir.path().string());
  CHECK(check.code == 1);
  CHECK(contains(check.out, "it is truncated"));
  CHECK(contains(check.out, "ok   distances"));
}

TEST_CASE("interrupted or killed projections leave no file behind; a write past ulimit -f is a clean error") {
  testing::TempDir dir;
  write_npy(dir / "x.npy", testing::randn({20000, 64}, 5));
  write_npy(dir / "idx.npy", at::arange(0, 500, at::TensorOptions().dtype(at::kLong)));
  // linf with p: the slowest similarity, so the signal lands mid-run.
  const std::string command = std::string(BRIDGES_TEST_CLI) + R"( project -s "{\"type\": \"linf\", \"p\": 8}" -s l1)" +
                              " --chunk-rows 256 -a " + (dir / "idx.npy").string() + " -i " +
                              (dir / "x.npy").string() + " -o " + (dir / "r.npy").string();
  // The signal is sent once the outputs' temporary files exist: the run is
  // then mid-way, past its start-up.
  const auto interrupt_with = [&](const std::string& signal) {
    return shell(command + " >/dev/null 2>&1 & pid=$!; for i in $(seq 400); do ls -a " + dir.path().string() +
                 " | grep -q tmp- && break; sleep 0.05; done; kill -" + signal + " $pid; wait $pid; exit $?");
  };
  for (const char* signal : {"INT", "TERM"}) {
    CAPTURE(signal);
    CHECK(interrupt_with(signal) == 130);
    CHECK(testing::list_folder(dir.path()).size() == 2);  // x.npy and idx.npy only
  }
  // SIGKILL leaves its temporaries; the next write into the folder sweeps them.
  CHECK(interrupt_with("KILL") == 137);
  CHECK(has_temporaries(dir.path()));
  write_npy(dir / "small.npy", testing::randn({10, 64}, 6));
  CHECK(bridges_cli("project -a " + (dir / "idx.npy").string() + " -i " + (dir / "x.npy").string() + " -o " +
                    (dir / "out" / "r.npy").string() + " --chunk-rows 100000 -s cosine")
            .code == 0);
  CHECK(bridges_cli("project -a " + (dir / "small.npy").string() + " -i " + (dir / "small.npy").string() + " -o " +
                    (dir / "r2.npy").string())
            .code == 0);
  CHECK_FALSE(has_temporaries(dir.path()));
  // ulimit -f 64: files may not grow past 64 KiB; the output needs 40 MB.
  const int limited = shell("ulimit -f 64; " + command + " > " + (dir / "log").string() + " 2>&1");
  CHECK(limited == 1);
  CHECK(contains(read_text(dir / "log"), "error: "));
  CHECK_FALSE(fs::exists(dir / "r.npy"));
  CHECK_FALSE(fs::exists(dir / "r.l1.npy"));
  CHECK_FALSE(has_temporaries(dir.path()));
}

TEST_CASE("a second run into a run folder in use stops at once, naming the holder") {
  testing::TempDir dir;
  const fs::path pipeline = fs::path(BRIDGES_TEST_SOURCE_DIR) / "examples" / "pipelines" / "smoke.json";
  // flock(1) holds the folder's lock while bridges tries to run into it.
  fs::create_directories(dir / "run");
  const int code = shell("flock " + (dir / "run" / ".lock").string() + " -c \"" + BRIDGES_TEST_CLI + " run " +
                         pipeline.string() + " --out " + (dir / "run").string() + " > " + (dir / "log").string() +
                         " 2>&1\"");
  CHECK(code == 1);
  CHECK(contains(read_text(dir / "log"), "another process (pid"));
  CHECK(testing::list_folder(dir / "run") == std::vector<std::string>{".lock"});
  // The same for a cache that several runs share.
  fs::create_directories(dir / "cache");
  const int shared = shell("flock " + (dir / "cache" / ".lock").string() + " -c \"" + BRIDGES_TEST_CLI + " run " +
                           pipeline.string() + " --out " + (dir / "other").string() + " --cache " + (dir / "cache").string() +
                           " > " + (dir / "log").string() + " 2>&1\"");
  CHECK(shared == 1);
  CHECK(contains(read_text(dir / "log"), "It is a cache another run shares"));
  CHECK(testing::list_folder(dir / "cache") == std::vector<std::string>{".lock"});
}

TEST_CASE("report on a results.json with a field of the wrong type names the file and writes nothing") {
  testing::TempDir dir;
  write_text_atomically(dir / "results.json", R"({"pipeline": "p", "dataset": 5, "samples": "many", "classes": [],
    "anchors": 1, "encoders": 3, "stitching": "no"})");
  const auto report = bridges_cli("report " + dir.path().string());
  CHECK(report.code == 1);
  CHECK(contains(report.err, (dir / "results.json").string() + ": a field is missing or of another type"));
  CHECK(testing::list_folder(dir.path()) == std::vector<std::string>{"results.json"});
}

TEST_CASE("a pipeline run killed at any point resumes to the results of an uninterrupted run") {
  testing::TempDir dir;
  write_text_atomically(dir / "p.json", R"({"name": "interrupted",
    "dataset": {"type": "fashion_mnist", "train_limit": 2000, "test_limit": 400},
    "encoders": [{"type": "mlp", "seeds": [0, 1], "epochs": 2}],
    "anchors": {"count": 64},
    "projections": ["cosine", "l1"],
    "aggregators": ["sum"],
    "decoder": {"epochs": 3, "seeds": [0], "train_samples": 1000},
    "experiments": [{"type": "stitching"}]})");
  const auto run_into = [&](const std::string& folder) {
    return fmt::format("{} run {} --out {} > {} 2>&1", BRIDGES_TEST_CLI, (dir / "p.json").string(), (dir / folder).string(),
                       (dir / (folder + ".log")).string());
  };
  REQUIRE(shell(run_into("reference")) == 0);
  const std::string reference = numbers_of(dir / "reference" / "results.json");
  // What made the numbers travels with them: build, commit, kernels,
  // threads, date, the command line and the wall time of each step.
  const json provenance = json::parse(read_text(dir / "reference" / "results.json"))["provenance"];
  CHECK(provenance["bridges"] == "0.2.0");
  CHECK(provenance["commit"].get<std::string>().size() >= 7);
  CHECK(contains(provenance["build"].get<std::string>(), "torch="));
  CHECK(provenance["threads"].get<int>() >= 1);
  CHECK(provenance["started"].get<std::string>().size() == 20);  // 2026-12-06T20:08:48Z
  CHECK(provenance["command"] == "bridges run " + (dir / "p.json").string() + " --out " + (dir / "reference").string());
  CHECK(provenance["steps"].size() >= 5);
  CHECK(provenance["seconds"].get<double>() > 0);
  CHECK(contains(read_text(dir / "reference" / "report.md"), "## Provenance"));

  // Signals land at three points of the run, each found by what it has
  // logged so far: while an encoder trains, once the encoders are cached
  // and the first decoders train, and between two stitching runs.
  const auto recursive_temporaries = [](const fs::path& folder) {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(folder))
      if (contains(entry.path().filename().string(), ".tmp-")) found.push_back(entry.path().string());
    return found;
  };
  struct Point {
    const char* signal;
    const char* logged;
    int code;
  };
  for (const Point& point : {Point{"INT", "encoder mlp-0: trained", 130}, Point{"TERM", "experiment stitching", 130},
                             Point{"KILL", "stitching cosine|sum:", 137}}) {
    CAPTURE(point.signal);
    const int code = shell(run_into("resumed") + " & pid=$!; for i in $(seq 1200); do grep -qF \"" + point.logged +
                           "\" " + (dir / "resumed.log").string() + " && break; sleep 0.02; done; kill -" +
                           point.signal + " $pid; wait $pid 2>/dev/null; exit $?");
    CHECK(code == point.code);
    CHECK_FALSE(fs::exists(dir / "resumed" / "results.json"));
    if (code != 137) CHECK(recursive_temporaries(dir / "resumed").empty());
  }
  // The next start sweeps what SIGKILL left, reuses the caches, and its
  // results are those of the run that was never interrupted.
  REQUIRE(shell(run_into("resumed")) == 0);
  CHECK(contains(read_text(dir / "resumed.log"), "encoder mlp-1: loaded from the cache"));
  CHECK(recursive_temporaries(dir / "resumed").empty());
  CHECK(numbers_of(dir / "resumed" / "results.json") == reference);
}

TEST_CASE("a study cut into parts over one shared cache merges into the results of the whole, and refuses parts that differ") {
  testing::TempDir dir;
  // One study, and the same cut in two parts that differ only in their
  // name and experiments; the parts share a cache folder.
  const std::string settings = R"(
    "dataset": {"type": "fashion_mnist", "train_limit": 2000, "test_limit": 400},
    "encoders": [{"type": "mlp", "seeds": [0, 1], "epochs": 2}],
    "anchors": {"count": 64},
    "projections": ["cosine", "l1", "linf"],
    "aggregators": ["sum"],
    "decoder": {"epochs": 2, "seeds": [0], "train_samples": 1000},)";
  const std::string stitching = R"({"type": "stitching", "projection_sets": ["each", "all"]})";
  const std::string ablation = R"({"type": "ablation"})";
  const std::string pairs = R"({"type": "ablation", "max_size": 2})", triples = R"({"type": "ablation", "min_size": 3})";
  const std::string cache = (dir / "cache").string();
  write_text_atomically(dir / "whole.json", "{\"name\": \"study\"," + settings + "\"experiments\": [" + stitching + ", " + ablation + "]}");
  write_text_atomically(dir / "part-1.json", "{\"name\": \"study-1-stitching\"," + settings + "\"experiments\": [" +
                                                 stitching + "], \"cache\": \"" + cache + "\"}");
  write_text_atomically(dir / "part-2.json", "{\"name\": \"study-2-pairs\"," + settings + "\"experiments\": [" +
                                                 pairs + "], \"cache\": \"" + cache + "\"}");
  write_text_atomically(dir / "part-3.json", "{\"name\": \"study-3-triples\"," + settings + "\"experiments\": [" +
                                                 triples + "], \"cache\": \"" + cache + "\"}");
  const auto run = [&](const std::string& name) {
    return bridges_cli("run " + (dir / (name + ".json")).string() + " --out " + (dir / name).string());
  };
  REQUIRE(run("whole").code == 0);
  REQUIRE(run("part-1").code == 0);
  const auto second = run("part-2");
  REQUIRE(second.code == 0);
  // Each later part trains only what no earlier one did: the encoders and
  // the full set's decoders come from the shared cache.
  CHECK(contains(second.out, "cache: " + cache + " (shared)"));
  CHECK(contains(second.out, "encoder mlp-0: loaded from the cache"));
  CHECK_FALSE(contains(second.out, "stitching cosine+l1+linf|sum"));  // max_size 2: no triple
  const auto third = run("part-3");
  REQUIRE(third.code == 0);
  CHECK(contains(third.out, "stitching cosine+l1+linf|sum: 2 of 2 decoders from the cache"));
  CHECK_FALSE(contains(third.out, "stitching cosine+l1|sum"));  // min_size 3: no pair
  CHECK_FALSE(fs::exists(dir / "part-1" / "cache"));

  // Merged in any order, the rows take the order of one whole run.
  const auto merged = bridges_cli("report --merge " + (dir / "part-1").string() + " " + (dir / "part-3").string() + " " +
                                  (dir / "part-2").string() + " -o " + (dir / "merged").string());
  REQUIRE(merged.code == 0);
  json whole = json::parse(read_text(dir / "whole" / "results.json"));
  json joined = json::parse(read_text(dir / "merged" / "results.json"));
  CHECK(joined["pipeline"] == "study");  // the parts' names' common prefix
  REQUIRE(joined["parts"].size() == 3);
  CHECK(joined["parts"][1]["pipeline"] == "study-3-triples");
  for (const auto& part : joined["parts"]) CHECK(part["provenance"]["steps"].size() > 0);  // each part's own
  CHECK(contains(read_text(dir / "merged" / "report.md"), "Part `study-3-triples`:\n\n| what | value |\n|---|---|\n| bridges | 0.2.0 (commit "));
  // Every part warns of sum over cosine and the distances (orientation left
  // to its default); the merge keeps the warning once, as the whole run has it.
  CHECK(whole["warnings"].size() == 1);
  joined.erase("parts");
  json whole_numbers = whole;
  whole_numbers.erase("provenance");
  CHECK(joined == whole_numbers);  // every number, in the whole run's order
  CHECK(contains(read_text(dir / "merged" / "report.md"), "The results of 3 parts, each run into its own folder and merged"));
  CHECK(contains(read_text(dir / "merged" / "run.log"), "== part 3 of 3: "));
  // The merged pipeline.json runs every part in one sitting.
  const json pipeline = json::parse(read_text(dir / "merged" / "pipeline.json"));
  CHECK(pipeline["experiments"].size() == 3);
  CHECK(pipeline["name"] == "study");

  // A part with another decoder setting is refused, naming the field.
  std::string other = read_text(dir / "part-2.json");
  const std::string two_epochs = "\"epochs\": 2, \"seeds\": [0]";
  other.replace(other.find(two_epochs), two_epochs.size(), "\"epochs\": 3, \"seeds\": [0]");
  write_text_atomically(dir / "other-decoder.json", other);
  const auto other_run = run("other-decoder");
  INFO(other_run.err);
  REQUIRE(other_run.code == 0);
  const auto differ = bridges_cli("report --merge " + (dir / "part-1").string() + " " + (dir / "other-decoder").string() +
                                  " -o " + (dir / "refused").string());
  CHECK(differ.code == 1);
  CHECK(contains(differ.err, "pipeline.json differs from that of " + (dir / "part-1").string() + " at $.decoder.epochs (3 here, 2 there)"));
  CHECK_FALSE(fs::exists(dir / "refused" / "results.json"));
  // The same stitching run with other numbers (another build, say) is refused too.
  json edited = json::parse(read_text(dir / "part-1" / "results.json"));
  edited["stitching"]["runs"][0]["summary"]["stitched"]["accuracy"]["mean"] = 0.5;
  write_text_atomically(dir / "edited" / "results.json", edited.dump());
  fs::copy_file(dir / "part-1" / "pipeline.json", dir / "edited" / "pipeline.json");
  const auto clash = bridges_cli("report --merge " + (dir / "part-1").string() + " " + (dir / "edited").string() +
                                 " -o " + (dir / "refused").string());
  CHECK(clash.code == 1);
  CHECK(contains(clash.err, (dir / "edited").string() + ": its stitching run \"cosine · sum\" differs from the same stitching run of an earlier run"));
  CHECK_FALSE(fs::exists(dir / "refused" / "results.json"));
  // Warnings that are not a list of texts (a hand-edited file) are refused, naming the field.
  edited = json::parse(read_text(dir / "part-1" / "results.json"));
  edited["warnings"] = 5;
  write_text_atomically(dir / "edited" / "results.json", edited.dump());
  const auto bad_warnings = bridges_cli("report --merge " + (dir / "part-1").string() + " " + (dir / "edited").string() +
                                        " -o " + (dir / "refused").string());
  CHECK(bad_warnings.code == 1);
  CHECK(contains(bad_warnings.err, (dir / "edited").string() + ": results.json field \"warnings\" is 5, not a list of texts"));
  CHECK_FALSE(fs::exists(dir / "refused" / "results.json"));
  // An empty "cache" is a mistake, not the run folder.
  std::string empty_cache = read_text(dir / "part-2.json");
  empty_cache.replace(empty_cache.find(cache), cache.size(), "");
  write_text_atomically(dir / "empty-cache.json", empty_cache);
  const auto refused = run("empty-cache");
  CHECK(refused.code == 1);
  CHECK(contains(refused.err, "$.cache: expected a folder, found \"\""));
  // A merge never writes over a run: neither one of its parts nor another.
  const auto onto_part = bridges_cli("report --merge " + (dir / "part-1").string() + " " + (dir / "part-2").string() +
                                     " -o " + (dir / "part-1").string());
  CHECK(onto_part.code == 1);
  CHECK(contains(onto_part.err, "is one of the runs to merge"));
  const auto onto_run = bridges_cli("report --merge " + (dir / "part-1").string() + " " + (dir / "part-2").string() +
                                    " -o " + (dir / "whole").string());
  CHECK(onto_run.code == 1);
  CHECK(contains(onto_run.err, "holds the results of a run, not of a merge"));
  CHECK(json::parse(read_text(dir / "whole" / "results.json")) == whole);
  // A merge again into its own folder is fine.
  CHECK(bridges_cli("report --merge " + (dir / "part-1").string() + " " + (dir / "part-2").string() + " " +
                    (dir / "part-3").string() + " -o " + (dir / "merged").string()).code == 0);
  // A merge needs two runs and an output folder.
  CHECK(bridges_cli("report --merge " + (dir / "part-1").string() + " -o " + (dir / "refused").string()).code == 1);
  const auto no_out = bridges_cli("report --merge " + (dir / "part-1").string() + " " + (dir / "part-2").string());
  CHECK(no_out.code == 1);
  CHECK(contains(no_out.err, "--merge writes a run folder: give it with --out"));
}

TEST_CASE("fine-tuning interrupted between pairs resumes from the cached pairs to the results of an uninterrupted run") {
  testing::TempDir dir;
  write_text_atomically(dir / "p.json", R"({"name": "finetune-resumed",
    "dataset": {"type": "fashion_mnist", "train_limit": 2000, "test_limit": 400},
    "encoders": [{"type": "mlp", "seeds": [0, 1], "epochs": 1}],
    "anchors": {"count": 32},
    "projections": ["cosine", "l1"],
    "aggregators": [{"type": "self_attention", "heads": 2}],
    "decoder": {"epochs": 1, "seeds": [0], "train_samples": 600},
    "experiments": [{"type": "finetune", "params": "qkv", "steps": 100, "samples": 100}]})");
  const auto run_into = [&](const std::string& folder) {
    return fmt::format("{} run {} --out {} > {} 2>&1", BRIDGES_TEST_CLI, (dir / "p.json").string(), (dir / folder).string(),
                       (dir / (folder + ".log")).string());
  };
  REQUIRE(shell(run_into("reference")) == 0);
  const std::string reference = numbers_of(dir / "reference" / "results.json");
  // Stopped while the second of the two pairs fine-tunes.
  const int code = shell(run_into("resumed") + " & pid=$!; for i in $(seq 3000); do grep -q \"fine-tune mlp-0 -> mlp-1\" " +
                         (dir / "resumed.log").string() + " 2>/dev/null && break; sleep 0.01; done; kill -INT $pid; wait $pid");
  CHECK(code == 130);
  CHECK_FALSE(fs::exists(dir / "resumed" / "results.json"));
  REQUIRE(shell(run_into("resumed")) == 0);
  CHECK(contains(read_text(dir / "resumed.log"), "fine-tune (qkv): 1 of 2 pairs from the cache"));
  CHECK(numbers_of(dir / "resumed" / "results.json") == reference);
  // A changed fine-tuning option is not served from the cache.
  std::string pipeline = read_text(dir / "p.json");
  pipeline.replace(pipeline.find("\"steps\": 100"), 12, "\"steps\": 101");
  write_text_atomically(dir / "p.json", pipeline);
  REQUIRE(shell(run_into("resumed")) == 0);
  CHECK_FALSE(contains(read_text(dir / "resumed.log"), "pairs from the cache"));
}
