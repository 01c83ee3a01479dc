#include <ATen/ops/ones.h>
#include <stdlib.h>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/similarity.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kPlugins = BRIDGES_TEST_PLUGIN_DIR;
const fs::path kFixtures = BRIDGES_TEST_FIXTURE_DIR;

json distances_manifest() { return json::parse(read_text(kPlugins / "distances.plugin.json")); }

// A copy of the distances plugin under a file name no other test loads, so
// that whether it is mapped into the process says what this test did.
fs::path private_distances(const testing::TempDir& dir, const std::string& name) {
  const fs::path library = dir / ("lib" + name + ".so");
  fs::copy_file(kPlugins / "libbridges_distances.so", library);
  json m = distances_manifest();
  m["library"] = library.filename().string();
  write_text_atomically(dir / "distances.plugin.json", m.dump());
  return library;
}

// A manifest for one of the fixture libraries, claiming one similarity.
void fixture_manifest(const testing::TempDir& dir, const std::string& plugin, const fs::path& library,
                      const std::string& component = "foreign") {
  write_text_atomically(dir / (plugin + ".plugin.json"),
                        json{{"manifest_version", 1}, {"plugin", plugin}, {"version", "0.0.1"},
                             {"library", library.string()}, {"abi", 1},
                             {"provides", {{{"kind", "similarity"}, {"name", component}}}}}
                            .dump());
}

}  // namespace

TEST_CASE("the registry lists plugins from manifests and loads a library only when first used") {
  testing::TempDir dir;
  const fs::path library = private_distances(dir, "bridges_lazy_distances");
  Registry registry({dir.path()});
  CHECK(registry.warnings().empty());
  REQUIRE(registry.plugins().size() == 1);
  CHECK(registry.plugin("distances").version == "0.1.0");
  CHECK(registry.components().size() == 5);
  CHECK_FALSE(testing::library_mapped(library.filename().string()));

  auto cosine = registry.make<Similarity>("cosine");
  CHECK(testing::library_mapped(library.filename().string()));
  CHECK(cosine->type() == "cosine");
  CHECK(registry.info(ComponentKind::similarity, "cosine").invariances.holds(cosine->to_json()) ==
        InvarianceSet{Invariance::isotropic_scaling, Invariance::orthogonal, Invariance::permutation});
}

TEST_CASE("a component keeps its plugin library loaded after the registry is gone") {
  testing::TempDir dir;
  const fs::path library = private_distances(dir, "bridges_lifetime_distances");
  std::shared_ptr<Similarity> l1;
  {
    Registry registry({dir.path()});
    l1 = registry.make<Similarity>("l1");
  }
  CHECK(testing::library_mapped(library.filename().string()));
  const Tensor r = l1->project(at::ones({2, 3}), at::ones({1, 3}) * 2);  // runs code of the plugin
  CHECK(r.sum().item<float>() == 6.0f);
  l1.reset();
  CHECK_FALSE(testing::library_mapped(library.filename().string()));  // the last owner closed it
}

TEST_CASE("options are validated against the manifest before the plugin sees them") {
  Registry registry({kPlugins});
  CHECK(registry.make<Similarity>("linf", {{"p", 20}})->to_json() == json{{"type", "linf"}, {"p", 20.0}});
  CHECK_THROWS_WITH_ALL(registry.make<Similarity>("linf", {{"q", 2}}), ConfigError, "similarity/linf",
                        "unknown option 'q'", "Did you mean 'p'?");
  CHECK_THROWS_WITH_ALL(registry.make<Similarity>("linf", {{"p", 0.5}}), ConfigError, "must be a number >= 1");
  CHECK_THROWS_WITH_ALL(registry.make<Similarity>("cosnie"), UnknownNameError, "similarity 'cosnie' does not exist",
                        "Did you mean 'cosine'?", "Available: cosine, euclidean, geodesic, l1, linf");
}

TEST_CASE("a library without the entry point is a LoadError that names the fix") {
  testing::TempDir dir;
  fixture_manifest(dir, "no_entry", kFixtures / "no_entry" / "libbridges_no_entry.so");
  Registry registry({dir.path()});
  CHECK_THROWS_WITH_ALL(registry.make<Similarity>("foreign"), LoadError, "no_entry.plugin.json", "libbridges_no_entry.so",
                        "does not export the entry point bridges_plugin_v1", "BRIDGES_PLUGIN");
  // The failure is remembered: the same error again, without a second load.
  CHECK_THROWS_AS(registry.load("no_entry"), LoadError);
}

TEST_CASE("a library built for another ABI or another build is an AbiMismatchError") {
  testing::TempDir dir;
  fixture_manifest(dir, "wrong_abi", kFixtures / "wrong_abi" / "libbridges_wrong_abi.so");
  fixture_manifest(dir, "wrong_build", kFixtures / "wrong_build" / "libbridges_wrong_build.so", "foreign2");
  Registry registry({dir.path()});
  CHECK_THROWS_WITH_ALL(registry.load("wrong_abi"), AbiMismatchError, "wrong_abi.plugin.json", "plugin ABI 99",
                        "loads ABI 1", "Rebuild the plugin");
  CHECK_THROWS_WITH_ALL(registry.load("wrong_build"), AbiMismatchError, "torch: ", "0.0.1 in the plugin",
                        "cxx11abi: 1 here, 0 in the plugin", "Rebuild the plugin");
}

TEST_CASE("a manifest that disagrees with its library is a ManifestError listing both sides") {
  testing::TempDir dir;
  const fs::path library = private_distances(dir, "bridges_claims_distances");
  json m = distances_manifest();
  m["library"] = library.string();
  m["provides"].push_back({{"kind", "similarity"}, {"name", "angular"}});
  write_text_atomically(dir / "distances.plugin.json", m.dump());
  CHECK_THROWS_WITH_ALL(Registry({dir.path()}).make<Similarity>("cosine"), ManifestError,
                        "In the manifest only: similarity/angular", "In the library only: (none)");

  m = distances_manifest();
  m["library"] = library.string();
  m["plugin"] = "metrics";
  write_text_atomically(dir / "distances.plugin.json", m.dump());
  CHECK_THROWS_WITH_ALL(Registry({dir.path()}).make<Similarity>("cosine"), ManifestError,
                        "the manifest names plugin 'metrics'", "calls itself 'distances'");

  // The version is the manifest's too: a library built from another
  // version of the manifest is refused.
  m = distances_manifest();
  m["library"] = library.string();
  m["version"] = "9.9.9";
  write_text_atomically(dir / "distances.plugin.json", m.dump());
  CHECK_THROWS_WITH_ALL(Registry({dir.path()}).make<Similarity>("cosine"), ManifestError,
                        "the manifest names plugin 'distances' 9.9.9", "calls itself 'distances' 0.1.0",
                        "Rebuild the plugin");
}

TEST_CASE("a factory that throws becomes a CreateError or ConfigError with the plugin's message") {
  Registry registry({kFixtures / "faulty"});
  CHECK(registry.make<Similarity>("faulty", {{"factor", 2}})->type() == "faulty");
  CHECK_THROWS_WITH_ALL(registry.make<Similarity>("faulty", {{"fail", true}}), CreateError, "similarity/faulty",
                        "plugin 'faulty'", "libbridges_faulty.so", "boom: the constructor failed on purpose");
  CHECK_THROWS_WITH_ALL(registry.make<Similarity>("faulty", {{"factor", -1}}), ConfigError,
                        "factor must not be negative");
}

TEST_CASE("a broken manifest or a missing library is skipped or reported; other plugins keep working") {
  testing::TempDir dir;
  private_distances(dir, "bridges_neighbour_distances");
  write_text_atomically(dir / "broken.plugin.json", "{ this is not json");
  write_text_atomically(dir / "notes.json", "ignored: not a *.plugin.json");
  fixture_manifest(dir, "ghost", dir / "libbridges_ghost.so", "ghost");
  Registry registry({dir.path(), dir / "no-such-folder"});
  REQUIRE(registry.warnings().size() == 2);
  CHECK(registry.warnings()[0].find("broken.plugin.json") != std::string::npos);
  CHECK(registry.warnings()[0].find("not valid JSON") != std::string::npos);
  CHECK(registry.warnings()[1].find("no-such-folder") != std::string::npos);
  CHECK(registry.plugins().size() == 2);
  CHECK(registry.make<Similarity>("euclidean")->type() == "euclidean");
  CHECK_THROWS_WITH_ALL(registry.make<Similarity>("ghost"), LoadError, "libbridges_ghost.so does not exist",
                        "Build the plugin");

  const auto problems = registry.check();
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].file.filename() == "broken.plugin.json");
  CHECK(problems[1].plugin == "ghost");
}

TEST_CASE("earlier search path entries win, and the shadowed plugin is reported") {
  testing::TempDir first, second;
  private_distances(first, "bridges_first_distances");
  private_distances(second, "bridges_second_distances");
  Registry registry({first.path(), second.path()});
  REQUIRE(registry.plugins().size() == 1);
  CHECK(registry.plugin("distances").file.parent_path() == first.path());
  REQUIRE(registry.warnings().size() == 1);
  CHECK(registry.warnings()[0].find("shadowed") != std::string::npos);
}

TEST_CASE("BRIDGES_PLUGIN_PATH comes first on the default search path, then the plugins beside the library") {
  ::setenv("BRIDGES_PLUGIN_PATH", "/opt/a:/opt/b", 1);
  const auto path = Registry::default_search_path();
  ::unsetenv("BRIDGES_PLUGIN_PATH");
  REQUIRE(path.size() == 3);
  CHECK(path[0] == "/opt/a");
  CHECK(path[1] == "/opt/b");
  CHECK(fs::equivalent(path[2], kPlugins));
  CHECK(Registry::default_search_path().size() == 1);
}

TEST_CASE("check finds a similarity that breaks prepare()'s contract") {
  Registry registry({kFixtures / "faulty"});
  const auto problems = registry.check();
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message.find("similarity/faulty: prepare() returned a similarity whose own prepare() does not "
                                 "return nullptr") != std::string::npos);
  CHECK(Registry({kPlugins}).check().empty());
}
