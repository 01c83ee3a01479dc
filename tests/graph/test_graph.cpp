// The graph modality: core graph utilities on tiny hand-made graphs, the
// data.noun parser on good and malformed lines, graph_npy, and GCN /
// GraphSAGE on a real WordNet subgraph (accuracy, determinism, stitching).
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <fmt/format.h>

#include <set>
#include <sstream>

#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/error.hpp"
#include "bridges/experiments/fingerprint.hpp"
#include "bridges/graph/graph.hpp"
#include "bridges/util/io.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/experiments/runner.hpp"
#include "plugin_registry.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
namespace fs = std::filesystem;

using testing::dataset;
using testing::registry;

namespace {

Tensor edges(std::vector<std::pair<int64_t, int64_t>> list) {
  Tensor e = at::empty({2, static_cast<int64_t>(list.size())}, at::kLong);
  for (std::size_t i = 0; i < list.size(); ++i) {
    e[0][static_cast<int64_t>(i)] = list[i].first;
    e[1][static_cast<int64_t>(i)] = list[i].second;
  }
  return e;
}

std::set<std::pair<int64_t, int64_t>> pairs(const Tensor& edge_index) {
  std::set<std::pair<int64_t, int64_t>> out;
  for (int64_t i = 0; i < edge_index.size(1); ++i)
    out.emplace(edge_index[0][i].item<int64_t>(), edge_index[1][i].item<int64_t>());
  return out;
}

// A path 0-1-2, an isolated node 3, and a pair 4-5; listed with a duplicate,
// a self loop and one direction only.
const int64_t kNodes = 6;
Tensor tiny_graph() { return edges({{0, 1}, {1, 2}, {2, 1}, {1, 2}, {4, 5}, {3, 3}}); }

// A data.noun line: offset, lexicographer file, words, pointers, gloss.
std::string synset(int offset, int lexfile, const std::string& word, const std::vector<std::string>& pointers,
                   const std::string& gloss) {
  std::string line = fmt::format("{:08} {:02} n 01 {} 0 {:03}", offset, lexfile, word, pointers.size());
  for (const auto& p : pointers) line += " " + p;
  return line + " | " + gloss + "  \n";
}

// A little noun hierarchy after WordNet's licence header: entity (Tops) over
// animal (2 kinds) and artifact (2 kinds); one instance noun; one pointer to
// a verb, which is not an edge.
std::string tiny_data_noun() {
  return "  1 This software and database is being provided to you, the LICENSEE, by  \n"
         "  2 Princeton University under the following license.  \n" +
         synset(100, 3, "entity", {"~ 00000200 n 0000", "~ 00000300 n 0000"}, "that which exists") +
         synset(200, 5, "animal", {"@ 00000100 n 0000", "~ 00000400 n 0000", "~ 00000500 n 0000"},
                "a living organism that moves; \"animals eat\"") +
         synset(300, 6, "artifact", {"@ 00000100 n 0000", "~ 00000600 n 0000", "~ 00000700 n 0000"},
                "a man-made object made by people") +
         synset(400, 5, "dog", {"@ 00000200 n 0000", "+ 01234567 v 0101"}, "a domestic animal that barks") +
         synset(500, 5, "cat", {"@ 00000200 n 0000"}, "a small domestic animal that purrs") +
         synset(600, 6, "hammer", {"@ 00000300 n 0000"}, "a hand tool made of metal") +
         synset(700, 6, "saw", {"@ 00000300 n 0000", "~i 00000800 n 0000"}, "a hand tool made to cut") +
         synset(800, 6, "excalibur", {"@i 00000700 n 0000"}, "the sword of king arthur");
}

double majority_share(const Tensor& labels) {
  return labels.bincount().max().item<double>() / static_cast<double>(labels.size(0));
}

bool have_wordnet() { return fs::exists("/usr/share/wordnet/data.noun"); }

}  // namespace

TEST_CASE("graph utilities on a tiny hand-made graph: undirected edges, GCN and mean adjacency, components, subgraphs") {
  const Tensor e = undirected(tiny_graph(), kNodes);
  CHECK(pairs(e) == std::set<std::pair<int64_t, int64_t>>{{0, 1}, {1, 0}, {1, 2}, {2, 1}, {4, 5}, {5, 4}});
  CHECK(e.size(1) == 6);

  // D^-1/2 (A + I) D^-1/2 by hand: degrees with the self loop are 2, 3, 2, 1, 2, 2.
  const Tensor a = gcn_adjacency(e, kNodes).to_dense();
  CHECK(a[0][0].item<double>() == doctest::Approx(1.0 / 2));
  CHECK(a[0][1].item<double>() == doctest::Approx(1.0 / std::sqrt(6.0)));
  CHECK(a[1][1].item<double>() == doctest::Approx(1.0 / 3));
  CHECK(a[1][2].item<double>() == doctest::Approx(1.0 / std::sqrt(6.0)));
  CHECK(a[3][3].item<double>() == doctest::Approx(1.0));  // isolated: only its self loop
  CHECK(a[0][2].item<double>() == 0.0);
  CHECK(at::equal(a, a.t()));
  // The same from the formula, with the listed self loop and duplicate counted once.
  const Tensor adjacency = at::zeros({kNodes, kNodes});
  for (const auto& [s, t] : pairs(e)) adjacency[s][t] = 1.0;
  const Tensor with_self = adjacency + at::eye(kNodes);
  const Tensor d = with_self.sum(1).rsqrt();
  CHECK(at::allclose(a, d.unsqueeze(1) * with_self * d.unsqueeze(0)));

  const Tensor m = mean_adjacency(e, kNodes).to_dense();
  CHECK(m[1][0].item<double>() == doctest::Approx(0.5));
  CHECK(m[1][2].item<double>() == doctest::Approx(0.5));
  CHECK(m[0][1].item<double>() == doctest::Approx(1.0));
  CHECK(m[3].abs().sum().item<double>() == 0.0);  // no neighbours: zeros
  CHECK(at::allclose(m.sum(1), at::tensor({1.0f, 1.0f, 1.0f, 0.0f, 1.0f, 1.0f})));

  // Components numbered by size: the path, then the pair, then node 3.
  CHECK(at::equal(connected_components(e, kNodes), at::tensor({0, 0, 0, 2, 1, 1}, at::kLong)));
  CHECK(at::equal(connected_components(edges({}), 3), at::tensor({0, 1, 2}, at::kLong)));

  const Tensor sub = induced_subgraph(e, at::tensor({1, 2, 5}, at::kLong), kNodes);
  CHECK(pairs(sub) == std::set<std::pair<int64_t, int64_t>>{{0, 1}, {1, 0}});

  CHECK_THROWS_WITH_ALL(gcn_adjacency(edges({{0, 6}}), kNodes), ShapeError, "from 0 to 6", "6 nodes");
  CHECK_THROWS_WITH_ALL(undirected(at::zeros({3, 2}, at::kLong), kNodes), ShapeError, "[2, E]");
}

TEST_CASE("SparseRows: products and gradients match dense LibTorch; sparse tensors have fingerprints") {
  // A random sparse [7, 5] with an empty row and an empty column.
  Tensor dense = testing::randn({7, 5}, 1);
  dense.masked_fill_(testing::randn({7, 5}, 2).lt(0.3), 0.0);
  dense[3].zero_();
  dense.select(1, 4).zero_();
  const SparseRows a(dense.to_sparse());
  CHECK(a.rows() == 7);
  CHECK(a.cols() == 5);
  for (const int64_t h : {1, 3, 17}) {  // 17: not a multiple of the vector width
    const Tensor b = testing::randn({5, h}, 3 + static_cast<uint64_t>(h)).requires_grad_(true);
    const Tensor b_ref = b.detach().clone().requires_grad_(true);
    const Tensor y = a.times(b), y_ref = dense.mm(b_ref);
    CHECK(testing::max_abs_diff(y, y_ref) < 1e-5);
    const Tensor g = testing::randn({7, h}, 9);
    y.backward(g);
    y_ref.backward(g);
    CHECK(testing::max_abs_diff(b.grad(), b_ref.grad()) < 1e-5);
    CHECK(b.grad().select(0, 4).abs().sum().item<double>() == 0.0);  // the empty column gets no gradient
  }
  CHECK_THROWS_WITH_ALL(a.times(at::zeros({4, 2})), ShapeError, "[7, 5]", "[4, 2]");
  CHECK_THROWS_WITH_ALL(SparseRows{dense}, ShapeError, "sparse COO");

  // The encoder cache keys training data by fingerprint: a sparse feature
  // matrix must count, values and positions both.
  const Tensor s = dense.to_sparse();
  Tensor changed = dense.clone();
  changed[0][0] = changed[0][0].item<double>() + 1.0;
  CHECK(Fingerprint().add(s).hex() == Fingerprint().add(dense.to_sparse()).hex());
  CHECK(Fingerprint().add(s).hex() != Fingerprint().add(changed.to_sparse()).hex());
  CHECK(describe(s) == "float32 sparse [7, 5]");
}

TEST_CASE("wordnet_nouns: the data.noun parser on a hand-made file, features, splits and a snowball subgraph") {
  testing::TempDir dir;
  write_text_atomically(dir / "data.noun", tiny_data_noun());
  const json spec = {{"type", "wordnet_nouns"}, {"path", dir.path().string()}, {"vocabulary", 50}, {"max_df", 1.0},
                     {"val_fraction", 0.0}, {"test_fraction", 0.25}};
  const auto d = dataset(spec);
  const DatasetInfo info = d->info();
  CHECK(info.modality == Modality::graph);
  CHECK(info.num_classes == 26);
  CHECK(info.class_names.front() == "noun.Tops");
  CHECK(info.class_names[2] == "noun.animal");
  CHECK(info.class_names.back() == "noun.time");

  const Examples train = d->split("train"), test = d->split("test"), val = d->split("val");
  CHECK(train.size() + test.size() == 8);
  CHECK(val.size() == 0);
  CHECK(test.size() == 2);
  const Tensor x = train.graph.at("x");
  CHECK(x.is_sparse());
  CHECK(x.size(0) == 8);
  // Hypernym/hyponym pointers (instance ones too) in both directions: 7 edges; the verb pointer is not one.
  const Tensor e = train.graph.at("edge_index");
  CHECK(e.size(1) == 14);
  CHECK(pairs(e).count({7, 6}) == 1);  // excalibur -> saw (instance hypernym)
  // Every node's gloss has a word found in another gloss: each row has unit length.
  CHECK(at::allclose(x.to_dense().norm(2, 1), at::ones({8})));
  // Labels are lexicographer files - 3, whichever split a node is in.
  const std::vector<int64_t> lexfile{3, 5, 6, 5, 5, 6, 6, 6};
  for (const Examples* s : {&train, &test})
    for (int64_t i = 0; i < s->size(); ++i)
      CHECK(s->labels[i].item<int64_t>() == lexfile[static_cast<std::size_t>(s->field("node")[i].item<int64_t>())] - 3);
  std::set<int64_t> seen;
  for (const Examples* s : {&train, &test})
    for (int64_t i = 0; i < s->size(); ++i) CHECK(seen.insert(s->field("node")[i].item<int64_t>()).second);

  // tf-idf weights differ from 0/1 ones; the same words carry them.
  const Tensor tfidf = dataset({{"type", "wordnet_nouns"}, {"path", (dir / "data.noun").string()}, {"features", "tfidf"},
                                {"vocabulary", 50}, {"max_df", 1.0}, {"test_fraction", 0.25}, {"val_fraction", 0.0}})
                           ->split("train")
                           .graph.at("x")
                           .to_dense();
  CHECK(at::equal(tfidf.ne(0), x.to_dense().ne(0)));
  CHECK(!at::allclose(tfidf, x.to_dense()));

  // Features "vectors": the mean vector of the gloss's words found in the file; none found: zeros.
  write_text_atomically(dir / "vectors.txt", "animal 1 0\ndomestic 0 1\ntool 2 2\n");
  const Tensor v = dataset({{"type", "wordnet_nouns"}, {"path", dir.path().string()}, {"features", "vectors"},
                            {"vectors", (dir / "vectors.txt").string()}, {"test_fraction", 0.25}})
                       ->split("test")
                       .graph.at("x");
  CHECK(!v.is_sparse());
  CHECK(v.sizes() == at::IntArrayRef{8, 2});
  CHECK(at::equal(v[0], at::zeros({2})));                  // entity: "that which exists"
  CHECK(at::allclose(v[3], at::tensor({0.5f, 0.5f})));   // dog: "a domestic animal that barks"
  CHECK(at::allclose(v[5], at::tensor({2.0f, 2.0f})));   // hammer: "a hand tool made of metal"

  // A snowball subgraph of 4 nodes: 4 nodes, edges among them only, same for the same seed.
  const auto sub = [&](int seed) {
    json s = spec;
    s["nodes"] = 4;
    s["subgraph_seed"] = seed;
    s["test_fraction"] = 0.25;
    return dataset(s)->split("train");
  };
  const Examples s0 = sub(0), s0_again = sub(0);
  CHECK(s0.graph.at("x").size(0) == 4);
  CHECK(at::equal(s0.graph.at("edge_index"), s0_again.graph.at("edge_index")));
  CHECK(at::equal(s0.graph.at("x").to_dense(), s0_again.graph.at("x").to_dense()));
  CHECK(s0.graph.at("edge_index").max().item<int64_t>() < 4);
  CHECK(s0.graph.at("edge_index").size(1) >= 2);  // a breadth-first sample keeps neighbours

  CHECK_THROWS_AS(d->split("validation"), UnknownNameError);
}

TEST_CASE("wordnet_nouns: a malformed data.noun line is an error naming the file, the line and the field") {
  testing::TempDir dir;
  const std::string header = "  1 licence line  \n";
  const std::string good = synset(100, 3, "entity", {}, "that which exists");
  struct Bad {
    std::string line, field, found;
  };
  const std::vector<Bad> cases = {
      {"00000200 99 n 01 thing 0 000 | a thing\n", "field lex_filenum", "99"},
      {"00000200 03 v 01 thing 0 000 | a thing\n", "field ss_type", "'v'"},
      {"00000200 03 n zz thing 0 000 | a thing\n", "field w_cnt", "'zz'"},
      {"2OO 03 n 01 thing 0 000 | a thing\n", "field synset_offset", "'2OO'"},
      {"00000200 03 n 01 thing 0 001 @ 00000100 x 0000 | a thing\n", "field pointer pos", "'x'"},
      {"00000200 03 n 01 thing 0 002 @ 00000100 n 0000 | a thing\n", "field pointer synset_offset", "'a'"},
      {"00000200 03 n 01 thing 0 000 a thing\n", "field gloss", "'a'"},
      {"00000200 03 n 02 thing 0\n", "field word", "the end of the line"},
      {"00000100 03 n 01 thing 0 000 | the same offset again\n", "field synset_offset", "a second time"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    write_text_atomically(dir / "data.noun", header + good + c.line);
    CHECK_THROWS_WITH_ALL(dataset({{"type", "wordnet_nouns"}, {"path", dir.path().string()}})->split("train"),
                          FormatError, (dir / "data.noun").string() + ":3:", c.field, c.found, "wordnet-base");
  }
  // A pointer to a synset no line defines: the file is cut.
  write_text_atomically(dir / "data.noun", header + good + synset(200, 3, "thing", {"@ 00000999 n 0000"}, "a thing"));
  CHECK_THROWS_WITH_ALL(dataset({{"type", "wordnet_nouns"}, {"path", dir.path().string()}})->split("train"),
                        FormatError, ":3:", "00000999", "no line of the file defines");
  CHECK_THROWS_WITH_ALL(dataset({{"type", "wordnet_nouns"}, {"path", (dir / "missing").string()}})->split("train"),
                        IoError, "missing", "wordnet-base", "scripts/setup");
}

TEST_CASE("graph_npy: a user's graph from .npy files, with masks, components, and clear errors") {
  testing::TempDir dir;
  // Two components: a triangle 0-1-2 with a tail 3, and a pair 4-5.
  write_npy(dir / "x.npy", testing::randn({6, 3}, 5));
  write_npy(dir / "edge_index.npy", edges({{0, 1}, {1, 2}, {2, 0}, {2, 3}, {4, 5}}));
  write_npy(dir / "y.npy", at::tensor({0, 0, 1, 1, 0, -1}, at::kLong));
  const json spec = {{"type", "graph_npy"}, {"path", dir.path().string()}, {"test_fraction", 0.4}, {"val_fraction", 0.0}};
  const Examples train = dataset(spec)->split("train"), test = dataset(spec)->split("test");
  CHECK(train.graph.at("edge_index").size(1) == 10);  // made undirected
  CHECK(train.size() + test.size() == 5);            // the unlabelled node is in no split
  CHECK(dataset(spec)->info().class_names == std::vector<std::string>{"0", "1"});

  json largest = spec;
  largest["component"] = "largest";
  const Examples big = dataset(largest)->split("train");
  CHECK(big.graph.at("x").size(0) == 4);

  // Masks fix the split.
  write_npy(dir / "train_mask.npy", at::tensor({1, 1, 0, 0, 1, 0}, at::kLong).to(at::kBool));
  write_npy(dir / "test_mask.npy", at::tensor({0, 0, 1, 1, 0, 0}, at::kLong).to(at::kByte));  // 0/1 works too
  CHECK(at::equal(dataset(spec)->split("test").field("node"), at::tensor({2, 3}, at::kLong)));
  CHECK(dataset(spec)->split("val").size() == 0);
  write_npy(dir / "val_mask.npy", at::tensor({0, 0, 1, 0, 0, 0}, at::kLong).to(at::kBool));
  CHECK_THROWS_WITH_ALL(dataset(spec)->split("train"), ShapeError, "test_mask.npy", "one split");
  fs::remove(dir / "val_mask.npy");

  write_npy(dir / "edge_index.npy", edges({{0, 1}, {1, 2}, {2, 3}}).t().contiguous());
  CHECK_THROWS_WITH_ALL(dataset(spec)->split("train"), ShapeError, "edge_index.npy", "[E, 2]", "transpose");
  write_npy(dir / "edge_index.npy", edges({{0, 9}}));
  CHECK_THROWS_WITH_ALL(dataset(spec)->split("train"), ShapeError, "edge_index.npy", "from 0 to 9", "6 nodes");
  write_npy(dir / "edge_index.npy", edges({{0, 1}}));
  write_npy(dir / "y.npy", at::tensor({0, 1, 1}, at::kLong));
  CHECK_THROWS_WITH_ALL(dataset(spec)->split("train"), ShapeError, "y.npy", "[6]");
  fs::remove(dir / "y.npy");
  CHECK_THROWS_WITH_ALL(dataset(spec)->split("train"), IoError, "y.npy", "is missing");
}

TEST_CASE("gcn and graphsage on a real WordNet subgraph: beat the majority class widely, repeat exactly, reload") {
  if (!have_wordnet()) {
    FAIL("/usr/share/wordnet/data.noun is missing: run scripts/setup (it installs wordnet-base).");
    return;
  }
  const auto d = dataset({{"type", "wordnet_nouns"}, {"nodes", 3000}});
  const Examples train = d->split("train"), test = d->split("test");
  CHECK(train.graph.at("x").size(0) == 3000);
  const double majority = majority_share(test.labels);
  for (const std::string type : {"gcn", "graphsage"}) {
    CAPTURE(type);
    const json options = {{"epochs", 40}, {"hidden", 64}, {"latent_dim", 32}, {"seed", 3}};
    auto a = registry().make<Encoder>(type, options);
    a->fit(train);
    const double accuracy = a->quality(test)["accuracy"];
    MESSAGE(type << " accuracy " << accuracy << " against the majority class's " << majority);
    CHECK(accuracy > majority + 0.3);
    const Tensor z = a->encode(test);
    CHECK(z.sizes() == at::IntArrayRef{test.size(), 32});

    // The same seed trains the same model bit for bit; another seed does not.
    auto b = registry().make<Encoder>(type, options);
    b->fit(train);
    CHECK(at::equal(b->encode(test), z));
    json other = options;
    other["seed"] = 4;
    auto c = registry().make<Encoder>(type, other);
    c->fit(train);
    CHECK(!at::allclose(c->encode(test), z));

    // Saved and loaded: the same latents.
    std::stringstream saved;
    a->save(saved);
    auto loaded = registry().make<Encoder>(type, options);
    loaded->load(saved);
    CHECK(at::equal(loaded->encode(test), z));
  }
  auto untrained = registry().make<Encoder>("gcn");
  CHECK_THROWS_WITH_ALL(untrained->encode(test), ConfigError, "not trained");
  Examples images;
  images.fields["image"] = at::zeros({2, 1, 4, 4});
  CHECK_THROWS_WITH_ALL(untrained->fit(images), ConfigError, "encoder/gcn", "graph data set");
}

TEST_CASE("a small graph pipeline: relative stitching across GCN seeds and architectures works where absolute does not") {
  if (!have_wordnet()) {
    FAIL("/usr/share/wordnet/data.noun is missing: run scripts/setup (it installs wordnet-base).");
    return;
  }
  testing::TempDir dir;
  const json j = {
      {"name", "graph-smoke"},
      {"dataset", {{"type", "wordnet_nouns"}, {"nodes", 3000}}},
      {"encoders", {{{"type", "gcn"}, {"seeds", {0, 1}}, {"epochs", 40}, {"hidden", 64}, {"latent_dim", 64}},
                    {{"type", "graphsage"}, {"epochs", 40}, {"hidden", 64}, {"latent_dim", 64}}}},
      {"anchors", {{"count", 100}, {"strategy", "random"}}},
      {"projections", {"cosine"}},
      {"decoder", {{"epochs", 10}, {"batch_size", 64}, {"seeds", {0}}}},
      {"experiments", {{{"type", "stitching"}, {"absolute", true}}}}};
  const Pipeline p = Pipeline::parse(j, registry(), "graph-smoke.json");
  std::ostringstream log;
  const json r = run_pipeline(p, registry(), {dir / "run"}, log);
  const json& run = r["stitching"]["runs"][0];
  const double end_to_end = run["summary"]["end_to_end"]["accuracy"]["mean"];
  const double relative = run["summary"]["stitched"]["accuracy"]["mean"];
  const double absolute = r["stitching"]["absolute"]["summary"]["stitched"]["accuracy"]["mean"];
  MESSAGE("end to end " << end_to_end << ", stitched relative " << relative << ", absolute " << absolute);
  CHECK(end_to_end > 0.7);
  CHECK(relative > 0.6);
  CHECK(relative > absolute + 0.3);

  // Pairs grouped by encoder entry: 2 ordered pairs across gcn seeds, 4 between gcn and graphsage.
  const json& groups = run["summary"]["groups"];
  REQUIRE(groups.size() == 2);
  CHECK(groups["gcn (across seeds)"]["pairs"] == 2);
  CHECK(groups["gcn ↔ graphsage"]["pairs"] == 4);
  const double across_seeds = groups["gcn (across seeds)"]["stitched"]["mean"];
  const double across_architectures = groups["gcn ↔ graphsage"]["stitched"]["mean"];
  CHECK((across_seeds * 2 + across_architectures * 4) / 6 == doctest::Approx(relative).epsilon(1e-9));
  CHECK(groups["gcn ↔ graphsage"]["index"]["mean"].get<double>() > 0.6);
  const std::string report = testing::read_file(dir / "run" / "report.md");
  CHECK(report.find("Stitched accuracy by pair group") != std::string::npos);
  CHECK(report.find("gcn ↔ graphsage (4 pairs)") != std::string::npos);
}
