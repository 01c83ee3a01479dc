// `bridges plugins new KIND NAME`: a plugin that builds, loads and passes
// its own test as written, for the author to change. No LibTorch here (the
// front end runs it): only text.
#include "plugin_skeleton.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "bridges/error.hpp"
#include "bridges/version.hpp"
#include "bridges/util/io.hpp"

namespace bridges::cli {

namespace {

// Per kind: the component's manifest entry, its source and the checks its
// test makes. @NAME@ is the component's (and the plugin's) name, @CLASS@ its
// C++ class.
struct Template {
  const char* manifest_entry;
  const char* source;
  const char* test;
};

const std::map<std::string, Template>& templates() {
  static const std::map<std::string, Template> table{
      {"similarity",
       {R"(    {
      "kind": "similarity", "name": "@NAME@", "direction": "similarity",
      "description": "TODO: what @NAME@ computes; here a scaled dot product with each anchor",
      "invariances": ["orthogonal", "permutation"],
      "options": {
        "scale": {"type": "number", "default": 1.0, "exclusiveMinimum": 0,
                  "description": "TODO: an example option; the result is multiplied by it"}
      }
    })",
        R"(// @NAME@: a similarity of each sample to each anchor, [n, d] x [k, d] -> [n, k].
// TODO: replace the scaled dot product by your function, and keep the
// manifest's "invariances" true: `bridges invariances -s @NAME@` measures them.
@INCLUDE_SDK@

namespace {

// The manifest's options, parsed once (names as in @NAME@.plugin.json).
struct @CLASS@Options {
  double scale;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(@CLASS@Options, scale)

class @CLASS@ final : public bridges::sdk::WithOptions<bridges::Similarity, @CLASS@Options> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "@NAME@"; }
  // Invariances are declared in @NAME@.plugin.json only; one may depend on
  // an option ({"invariance": ..., "when": {"scale": 1.0}}) or be
  // approximate ({"invariance": ..., "tolerance": 1e-3}): docs/plugins.md.

 protected:
  // x [n, d], anchors [k, d] (checked: 2-D, finite, one dtype) -> [n, k].
  bridges::Tensor compute(const bridges::Tensor& x, const bridges::Tensor& anchors) const override {
    return x.mm(anchors.t()) * options_.scale;
  }
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<@CLASS@>("@NAME@"))
)",
        R"(  auto similarity = registry.make<bridges::Similarity>("@NAME@", {{"scale", 2.0}});
  const bridges::Tensor x = torch::randn({5, 3}), anchors = torch::randn({4, 3});
  const bridges::Tensor r = similarity->project(x, anchors);
  check(r.sizes() == torch::IntArrayRef({5, 4}), "project gives [n, k]");
  check(torch::allclose(r, 2.0 * x.mm(anchors.t())), "the scaled dot product");
  check(similarity->to_json()["scale"] == 2.0, "to_json() echoes the options");)"}},
      {"aggregator",
       {R"(    {
      "kind": "aggregator", "name": "@NAME@",
      "description": "TODO: how @NAME@ merges the subspaces; here their weighted mean, one trainable weight each",
      "options": {
        "trainable": {"type": "boolean", "default": true,
                      "description": "TODO: an example option; false keeps the weights equal"}
      }
    })",
        R"(// @NAME@: merges s relative subspaces [n, k] into one product space.
// TODO: replace the weighted mean by your merge. Trainable parts are
// registered parameters or submodules: they train with the decoder.
#include <bridges/aggregator.hpp>
@INCLUDE_SDK@

namespace {

struct @CLASS@Options {
  bool trainable;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(@CLASS@Options, trainable)

class @CLASS@ final : public bridges::sdk::WithOptions<bridges::Aggregator, @CLASS@Options> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "@NAME@"; }

  // Once, before training: one weight per subspace.
  void build(int64_t num_subspaces, int64_t) override {
    weights_ = at::zeros({num_subspaces});
    if (options_.trainable) weights_ = register_parameter("weights", weights_);
  }

  // s subspaces [n, k] -> [n, k]: their mean weighted by softmax(weights).
  bridges::Tensor aggregate(const std::vector<bridges::Tensor>& subspaces) override {
    const bridges::Tensor w = at::softmax(weights_, 0);
    bridges::Tensor out = subspaces[0] * w[0];
    for (std::size_t i = 1; i < subspaces.size(); ++i) out = out + subspaces[i] * w[static_cast<int64_t>(i)];
    return out;
  }

  int64_t output_dim(int64_t, int64_t k) const override { return k; }

 private:
  bridges::Tensor weights_;
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<@CLASS@>("@NAME@"))
)",
        R"(  auto aggregator = registry.make<bridges::Aggregator>("@NAME@");
  aggregator->build(2, 4);
  const bridges::Tensor a = torch::randn({5, 4}), b = torch::randn({5, 4});
  const bridges::Tensor z = aggregator->aggregate({a, b});
  check(z.sizes() == torch::IntArrayRef({5, aggregator->output_dim(2, 4)}), "aggregate gives [n, output_dim]");
  check(torch::allclose(z, (a + b) / 2), "equal weights before training: the mean");
  check(aggregator->parameters().size() == 1, "one trainable parameter");)"}},
      {"encoder",
       {R"(    {
      "kind": "encoder", "name": "@NAME@",
      "description": "TODO: what @NAME@ encodes; here a fixed random projection of the field \"x\", not trained",
      "options": {
        "dim": {"type": "integer", "default": 16, "minimum": 1, "description": "the latent size"},
        "seed": {"type": "integer", "default": 0, "minimum": 0, "description": "the projection's seed"}
      }
    })",
        R"(// @NAME@: maps samples to latents [n, dim].
// TODO: replace the fixed random projection by your model. A trainable
// encoder returns true from trainable() and implements fit(), save() and
// load() (pipelines cache it), and quality() (the stitching index uses it).
#include <ATen/CPUGeneratorImpl.h>
@INCLUDE_SDK@

#include <cmath>

namespace {

struct @CLASS@Options {
  int64_t dim, seed;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(@CLASS@Options, dim, seed)

class @CLASS@ final : public bridges::sdk::WithOptions<bridges::Encoder, @CLASS@Options> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "@NAME@"; }
  int64_t dim() const override { return options_.dim; }

  // The samples' field "x" [n, f...], flattened, times a seeded [f, dim] matrix.
  bridges::Tensor encode(const bridges::Examples& examples) override {
    const bridges::Tensor x = examples.field("x").flatten(1).to(at::kFloat);
    if (!projection_.defined() || projection_.size(0) != x.size(1)) {
      const auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(options_.seed));
      projection_ = at::randn({x.size(1), options_.dim}, generator) / std::sqrt(static_cast<double>(x.size(1)));
    }
    return x.mm(projection_);
  }

 private:
  bridges::Tensor projection_;
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<@CLASS@>("@NAME@"))
)",
        R"(  auto encoder = registry.make<bridges::Encoder>("@NAME@", {{"dim", 8}});
  bridges::Examples examples;
  examples.fields["x"] = torch::randn({5, 3});
  const bridges::Tensor z = encoder->encode(examples);
  check(z.sizes() == torch::IntArrayRef({5, 8}), "encode gives [n, dim]");
  check(torch::equal(z, registry.make<bridges::Encoder>("@NAME@", {{"dim", 8}})->encode(examples)),
        "the same seed, the same latents");)"}},
      {"dataset",
       {R"(    {
      "kind": "dataset", "name": "@NAME@",
      "description": "TODO: where @NAME@'s samples come from; here Gaussian blobs, one per class, in the field \"x\"",
      "options": {
        "samples": {"type": "integer", "default": 600, "minimum": 2, "description": "samples in all, a fifth of them for the test split"},
        "features": {"type": "integer", "default": 8, "minimum": 1, "description": "the width of \"x\""},
        "classes": {"type": "integer", "default": 3, "minimum": 2, "description": "the number of blobs"},
        "seed": {"type": "integer", "default": 0, "minimum": 0, "description": "the data's seed"}
      }
    })",
        R"(// @NAME@: labelled samples, split into "train" and "test".
// TODO: read your data instead of drawing blobs. Examples carry per-sample
// fields (first dimension n), labels [n] int64 and indices [n] int64.
#include <ATen/CPUGeneratorImpl.h>
@INCLUDE_SDK@

namespace {

struct @CLASS@Options {
  int64_t samples, features, classes, seed;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(@CLASS@Options, samples, features, classes, seed)

class @CLASS@ final : public bridges::sdk::WithOptions<bridges::Dataset, @CLASS@Options> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "@NAME@"; }

  bridges::DatasetInfo info() const override {
    bridges::DatasetInfo info;
    info.modality = bridges::Modality::embeddings;
    info.num_classes = options_.classes;
    info.fields = {{"x", "float32", {options_.features}}};
    info.splits = {"train", "test"};
    return info;
  }

  bridges::Examples split(const std::string& name) override {
    if (name != "train" && name != "test")
      throw bridges::UnknownNameError("dataset/@NAME@: split '" + name + "' does not exist. Splits: train, test.");
    // Every sample drawn once from the seed; the last fifth is the test split.
    const auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(options_.seed));
    const bridges::Tensor labels = at::randint(options_.classes, {options_.samples}, generator, at::kLong);
    const bridges::Tensor centres = at::randn({options_.classes, options_.features}, generator) * 3;
    const bridges::Tensor x = centres.index_select(0, labels) + at::randn({options_.samples, options_.features}, generator);
    const int64_t test = options_.samples / 5, train = options_.samples - test;
    const int64_t begin = name == "train" ? 0 : train, count = name == "train" ? train : test;
    bridges::Examples out;
    out.fields["x"] = x.narrow(0, begin, count).contiguous();
    out.labels = labels.narrow(0, begin, count).contiguous();
    out.indices = at::arange(count, at::kLong);
    out.split = name;
    out.split_size = count;
    return out;
  }
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<@CLASS@>("@NAME@"))
)",
        R"(  auto dataset = registry.make<bridges::Dataset>("@NAME@");
  const bridges::Examples train = dataset->split("train"), test = dataset->split("test");
  check(train.size() == 480 && test.size() == 120, "600 samples, a fifth for the test split");
  check(train.field("x").sizes() == torch::IntArrayRef({480, 8}), "the field x");
  check(train.labels.max().item<int64_t>() < dataset->info().num_classes, "labels below the class count");
  bool refused = false;
  try {
    dataset->split("validation");
  } catch (const bridges::UnknownNameError&) {
    refused = true;
  }
  check(refused, "an unknown split is an error");)"}},
  };
  return table;
}

std::string replaced(std::string text, const std::string& name, const std::string& cls) {
  // The SDK's include is spelt at run time: written out here, the layer
  // check (tests/layers) would read it as cli/ including the sdk layer.
  const std::string sdk_include = std::string("#include <bridges/") + "sdk/plugin.hpp>";
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"@NAME@", name}, {"@CLASS@", cls}, {"@INCLUDE_SDK@", sdk_include},
        // the bridges it is written for: a plugin builds only against the same major.minor
        {"@BRIDGES_VERSION@", fmt::format("{}.{}", BRIDGES_VERSION_MAJOR, BRIDGES_VERSION_MINOR)}})
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// "my_rbf" -> "MyRbf".
std::string class_name(const std::string& name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

const char* kCMake = R"(# The @NAME@ plugin, built out of the bridges tree:
#
#   cmake -S . -B build -Dbridges_DIR=/path/to/bridges/build/release   # a bridges build folder
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=/where/bridges/is/installed  # or an installed bridges
#   cmake --build build && ctest --test-dir build
#   BRIDGES_PLUGIN_PATH=$PWD/build/lib/bridges/plugins bridges plugins show @NAME@
cmake_minimum_required(VERSION 3.25)
project(bridges_@NAME@ VERSION 0.1.0 LANGUAGES CXX)

find_package(bridges @BRIDGES_VERSION@ CONFIG REQUIRED COMPONENTS sdk registry)
bridges_add_plugin(NAME @NAME@ SOURCES @NAME@.cpp MANIFEST @NAME@.plugin.json)

# The test loads the plugin from where it is staged, as bridges does.
enable_testing()
add_executable(test_@NAME@ test_@NAME@.cpp)
target_link_libraries(test_@NAME@ PRIVATE bridges::registry)
add_dependencies(test_@NAME@ bridges_plugin_@NAME@)
add_test(NAME @NAME@ COMMAND test_@NAME@ ${CMAKE_BINARY_DIR}/lib/bridges/plugins)
)";

const char* kManifest = R"({
  "manifest_version": 1,
  "plugin": "@NAME@",
  "version": "0.1.0",
  "description": "TODO: what the @NAME@ plugin provides",
  "library": "libbridges_@NAME@.so",
  "abi": 1,
  "provides": [
@ENTRY@
  ]
}
)";

const char* kTest = R"(// The @NAME@ plugin, loaded the way bridges loads it: from its manifest, in
// the folder given as the first argument. Exit code 0 when every check holds.
#include <bridges/aggregator.hpp>
#include <bridges/dataset.hpp>
#include <bridges/encoder.hpp>
#include <bridges/error.hpp>
#include <bridges/registry/registry.hpp>
#include <bridges/similarity.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
  failures += ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PLUGIN_FOLDER\n", argv[0]);
    return 2;
  }
  try {
    bridges::Registry registry({argv[1]});
@TEST@
  } catch (const std::exception& e) {
    std::printf("FAIL  %s\n", e.what());
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
)";

const char* kReadme = R"(# @NAME@: a bridges @KIND@ plugin

Written by `bridges plugins new @KIND@ @NAME@`: it builds, loads and passes its
test as it is. Change `@NAME@.cpp` (the TODOs) and `@NAME@.plugin.json` (the
description, options and what the component declares), then:

```sh
cmake -S . -B build -Dbridges_DIR=/path/to/bridges/build/release   # or -DCMAKE_PREFIX_PATH=<bridges install>
cmake --build build
ctest --test-dir build --output-on-failure
export BRIDGES_PLUGIN_PATH=$PWD/build/lib/bridges/plugins
bridges plugins check        # loads it and makes the component with its defaults
bridges plugins show @NAME@
```

The manifest's every key: docs/plugins.md in the bridges sources.
)";

}  // namespace

std::vector<std::string> skeleton_kinds() {
  std::vector<std::string> out;
  for (const auto& [kind, t] : templates()) out.push_back(kind);
  return out;
}

std::vector<std::filesystem::path> write_plugin_skeleton(const std::string& kind, const std::string& name,
                                                         const std::filesystem::path& folder) {
  const auto found = templates().find(kind);
  if (found == templates().end())
    throw ConfigError(fmt::format("plugins new: no skeleton for kind '{}'; kinds: similarity, aggregator, encoder, "
                                  "dataset.",
                                  kind));
  const bool identifier = !name.empty() && name[0] >= 'a' && name[0] <= 'z' &&
                          name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
  if (!identifier)
    throw ConfigError(fmt::format("plugins new: '{}' is not a valid name: use lower-case letters, digits and '_', "
                                  "starting with a letter (e.g. my_{}).",
                                  name, kind));
  std::error_code ec;
  if (std::filesystem::exists(folder, ec) && !std::filesystem::is_empty(folder, ec))
    throw ConfigError(fmt::format("plugins new: {} exists and is not empty; nothing was written. Give another "
                                  "folder (--out) or remove it.",
                                  folder.string()));
  const Template& t = found->second;
  const std::string cls = class_name(name);
  std::string manifest = kManifest;
  manifest.replace(manifest.find("@ENTRY@"), 7, t.manifest_entry);
  // The kind's checks, indented into main()'s try block.
  std::string checks;
  for (const auto& line : lines_of(replaced(t.test, name, cls))) checks += (line.empty() ? "" : "  ") + line + "\n";
  std::string test = kTest;
  test.replace(test.find("@TEST@\n"), 7, checks);
  std::string readme = kReadme;
  for (std::size_t at = readme.find("@KIND@"); at != std::string::npos; at = readme.find("@KIND@", at)) readme.replace(at, 6, kind);
  const std::vector<std::pair<std::string, std::string>> files{
      {"CMakeLists.txt", replaced(kCMake, name, cls)},
      {name + ".plugin.json", replaced(manifest, name, cls)},
      {name + ".cpp", replaced(t.source, name, cls)},
      {"test_" + name + ".cpp", replaced(test, name, cls)},
      {"README.md", replaced(readme, name, cls)},
  };
  std::filesystem::create_directories(folder);
  std::vector<std::filesystem::path> written;
  for (const auto& [file, text] : files) {
    write_text_atomically(folder / file, text);
    written.push_back(folder / file);
  }
  return written;
}

}  // namespace bridges::cli
