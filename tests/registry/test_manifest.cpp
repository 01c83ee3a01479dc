#include <map>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/registry/manifest.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
json good() {
  return json::parse(R"({
    "manifest_version": 1, "plugin": "demo", "version": "1.2.3", "library": "libbridges_demo.so", "abi": 1,
    "provides": [
      {"kind": "similarity", "name": "angle", "description": "d", "invariances": ["orthogonal", "isotropic_scaling"],
       "options": {"eps": {"type": "number", "default": 0.1}}},
      {"kind": "dataset", "name": "toy"}
    ]})");
}
}  // namespace

TEST_CASE("a valid manifest is read with its library resolved beside it") {
  testing::TempDir dir;
  write_text_atomically(dir / "demo.plugin.json", good().dump());
  const PluginManifest m = read_manifest(dir / "demo.plugin.json");
  CHECK(m.plugin == "demo");
  CHECK(m.version == "1.2.3");
  CHECK(m.library == dir / "libbridges_demo.so");
  REQUIRE(m.provides.size() == 2);
  CHECK(m.provides[0].qualified_name() == "similarity/angle");
  CHECK(m.provides[0].invariances.holds(json{{"eps", 0.1}}) ==
        InvarianceSet{Invariance::orthogonal, Invariance::isotropic_scaling});
  CHECK(m.provides[0].options.apply(json::object(), "x") == json{{"eps", 0.1}});
  CHECK(m.provides[0].provider == "demo");
  CHECK(m.provides[1].kind == ComponentKind::dataset);
}

TEST_CASE("a manifest's invariance may depend on an option or be approximate") {
  json spec = good();
  spec["provides"][0]["invariances"] = json::parse(R"(["orthogonal",
      {"invariance": "isotropic_scaling", "when": {"eps": {"maximum": 0.01}}},
      {"invariance": "manifold_isometry", "tolerance": 0.1}])");
  const PluginManifest m = parse_manifest(spec, "demo.plugin.json");
  const InvarianceDeclaration& declared = m.provides[0].invariances;
  CHECK(declared.holds({{"eps", 0.1}}) == InvarianceSet{Invariance::orthogonal, Invariance::manifold_isometry});
  CHECK(declared.holds({{"eps", 0.001}}).contains(Invariance::isotropic_scaling));
  CHECK(declared.claim(Invariance::manifold_isometry, {{"eps", 0.1}})->tolerance == 0.1);
  CHECK(declared.describe() ==
        "orthogonal, isotropic_scaling if eps <= 0.01, manifold_isometry (approximate, 0.1)");
}

TEST_CASE("an option several components share is declared once, in shared_options") {
  json m = good();
  m["shared_options"] = {{"normalize", {{"type", "string"}, {"default", "l2"}, {"enum", {"none", "l2"}}}}};
  m["provides"][0]["shared_options"] = {"normalize"};
  m["provides"][1]["shared_options"] = {"normalize"};
  const PluginManifest parsed = parse_manifest(m, "/p/demo.plugin.json");
  CHECK(parsed.provides[0].options.apply(json::object(), "x") == json{{"eps", 0.1}, {"normalize", "l2"}});
  CHECK(parsed.provides[1].options.apply(json::object(), "x") == json{{"normalize", "l2"}});
  CHECK_THROWS_WITH_ALL(parsed.provides[1].options.apply({{"normalize", "max"}}, "dataset/toy"), ConfigError,
                        "option 'normalize' must be one of");
  // A name that is not declared, and one declared twice for a component.
  m["provides"][1]["shared_options"] = {"normalise"};
  CHECK_THROWS_WITH_ALL(parse_manifest(m, "/p/demo.plugin.json"), ManifestError, "$.provides[1].shared_options",
                        "\"normalise\" is not declared", "Did you mean 'normalize'?");
  m["provides"][1]["shared_options"] = {"normalize", "normalize"};
  CHECK_THROWS_WITH_ALL(parse_manifest(m, "/p/demo.plugin.json"), ManifestError, "$.provides[1].shared_options",
                        "'normalize' is listed twice");
  m["provides"][1]["shared_options"] = {"normalize"};
  m["provides"][0]["options"]["normalize"] = {{"type", "string"}, {"default", "none"}};
  CHECK_THROWS_WITH_ALL(parse_manifest(m, "/p/demo.plugin.json"), ManifestError,
                        "'normalize' is both a shared option and one of its own");
  m["shared_options"] = json::array();
  CHECK_THROWS_WITH_ALL(parse_manifest(m, "/p/demo.plugin.json"), ManifestError, "$.shared_options",
                        "expected an object");
}

TEST_CASE("a similarity declares whether a larger value is closer or farther") {
  json m = good();
  CHECK(parse_manifest(m, "/p/demo.plugin.json").provides[0].direction.empty());  // optional
  m["provides"][0]["direction"] = "distance";
  CHECK(parse_manifest(m, "/p/demo.plugin.json").provides[0].direction == "distance");
  m["provides"][0]["direction"] = "dissimilarity";
  CHECK_THROWS_WITH_ALL(parse_manifest(m, "/p/demo.plugin.json"), ManifestError, "$.provides[0].direction",
                        "is not \"similarity\" (a larger value is closer) or \"distance\"");
  m["provides"][0]["direction"] = "distance";
  m["provides"][1]["direction"] = "distance";
  CHECK_THROWS_WITH_ALL(parse_manifest(m, "/p/demo.plugin.json"), ManifestError, "$.provides[1].direction",
                        "only similarities and measures declare a direction");
  // The built-in ones declare it.
  const PluginManifest distances = read_manifest(fs::path(BRIDGES_TEST_PLUGIN_DIR) / "distances.plugin.json");
  std::map<std::string, std::string> direction;
  for (const auto& c : distances.provides) direction[c.name] = c.direction;
  CHECK(direction == std::map<std::string, std::string>{
                         {"cosine", "similarity"}, {"euclidean", "distance"}, {"l1", "distance"}, {"linf", "distance"},
                         {"rbf", "similarity"}});
}

TEST_CASE("an aggregator declares whether it treats every subspace alike (symmetric)") {
  json m = good();
  m["provides"].push_back({{"kind", "aggregator"}, {"name", "merge"}, {"description", "d"}});
  CHECK_FALSE(parse_manifest(m, "/p/demo.plugin.json").provides[2].symmetric);  // optional
  m["provides"][2]["symmetric"] = true;
  CHECK(parse_manifest(m, "/p/demo.plugin.json").provides[2].symmetric);
  m["provides"][2]["symmetric"] = "yes";
  CHECK_THROWS_WITH_ALL(parse_manifest(m, "/p/demo.plugin.json"), ManifestError, "$.provides[2].symmetric",
                        "expected true", "found \"yes\"");
  m["provides"][2]["symmetric"] = false;
  m["provides"][0]["symmetric"] = true;
  CHECK_THROWS_WITH_ALL(parse_manifest(m, "/p/demo.plugin.json"), ManifestError, "$.provides[0].symmetric",
                        "only aggregators declare \"symmetric\"");
  // The built-in ones: sum and self_attention share everything across subspaces.
  const PluginManifest aggregators = read_manifest(fs::path(BRIDGES_TEST_PLUGIN_DIR) / "aggregators.plugin.json");
  std::map<std::string, bool> symmetric;
  for (const auto& c : aggregators.provides) symmetric[c.name] = c.symmetric;
  CHECK(symmetric == std::map<std::string, bool>{{"concat", false},
                                                 {"sum", true},
                                                 {"mlp_sum", false},
                                                 {"self_attention", true},
                                                 {"mlp_self_attention", false}});
}

TEST_CASE("manifest errors name the file, the JSON path, the expectation and the fix") {
  const std::string file = "/plugins/demo.plugin.json";
  const auto bad = [&](const std::function<void(json&)>& edit, std::vector<std::string> parts) {
    json m = good();
    edit(m);
    parts.push_back(file);
    try {
      parse_manifest(m, file);
      FAIL_CHECK("accepted: " << m.dump());
    } catch (const ManifestError& e) {
      for (const auto& part : parts) CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  };
  bad([](json& m) { m["libary"] = "x"; }, {"$: unknown key \"libary\"", "Did you mean 'library'?"});
  bad([](json& m) { m.erase("provides"); }, {"$.provides", "non-empty array"});
  bad([](json& m) { m["manifest_version"] = 2; }, {"$.manifest_version", "found 2", "Upgrade bridges"});
  bad([](json& m) { m["plugin"] = "My Plugin"; }, {"$.plugin", "lower-case letters"});
  bad([](json& m) { m["version"] = 3; }, {"$.version", "expected a string, found 3"});
  bad([](json& m) { m["provides"][0]["kind"] = "similarty"; }, {"$.provides[0].kind", "Did you mean 'similarity'?"});
  bad([](json& m) { m["provides"][1]["invariances"] = json::array(); }, {"$.provides[1].invariances", "only similarities"});
  bad([](json& m) { m["provides"][0]["invariances"][0] = "rotation"; }, {"$.provides[0].invariances", "\"rotation\" is not an invariance"});
  bad([](json& m) { m["provides"][0]["invariances"][1] = {{"invariance", "isotropic_scaling"}, {"when", {{"epsilon", 0}}}}; },
      {"$.provides[0].invariances", "similarity/angle", "\"invariances\"[1]", "names option 'epsilon'",
       "Did you mean 'eps'?"});
  bad([](json& m) { m["provides"][1]["name"] = "angle"; m["provides"][1]["kind"] = "similarity"; }, {"similarity/angle is listed twice"});
  bad([](json& m) { m["provides"][0]["options"]["eps"]["type"] = "real"; }, {"$.provides[0].options", "option 'eps'"});
  bad([](json& m) { m["provides"][0]["descripton"] = "x"; }, {"$.provides[0]", "Did you mean 'description'?"});
  bad([](json& m) { m = json::array(); }, {"a manifest is a JSON object"});
  json other_abi = good();
  other_abi["abi"] = 2;
  CHECK_THROWS_WITH_ALL(parse_manifest(other_abi, file), AbiMismatchError, file, "declares ABI 2", "loads ABI 1");
}

TEST_CASE("a manifest that is not JSON says so with the file") {
  testing::TempDir dir;
  write_text_atomically(dir / "x.plugin.json", "{\"plugin\": \"x\",, }");
  CHECK_THROWS_WITH_ALL(read_manifest(dir / "x.plugin.json"), ManifestError, "x.plugin.json", "not valid JSON");
  CHECK_THROWS_AS(read_manifest(dir / "absent.plugin.json"), IoError);
  // fuzz_manifest: a number out of range (nlohmann's out_of_range, not a
  // parse_error) escaped as a raw exception and stopped every plugin.
  write_text_atomically(dir / "y.plugin.json", "11E1310");
  CHECK_THROWS_WITH_ALL(read_manifest(dir / "y.plugin.json"), ManifestError, "y.plugin.json", "not valid JSON");
}
