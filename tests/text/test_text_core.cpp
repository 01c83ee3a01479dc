// The tokenizer, the vocabulary and the word-vectors reader of the core.
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/tensor.h>

#include <sstream>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/text/tokenizer.hpp"
#include "bridges/text/word_vectors.hpp"
#include "testing.hpp"

using namespace bridges;
namespace fs = std::filesystem;

TEST_CASE("clean_utf8 replaces every malformed byte and keeps valid text as it is") {
  const std::string valid = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 plain";
  CHECK(clean_utf8(valid) == valid);
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(clean_utf8("a\xFF" "b") == "a" + fffd + "b");             // never valid
  CHECK(clean_utf8("\xC0\xAF") == fffd + fffd);                     // overlong '/'
  CHECK(clean_utf8("\xED\xA0\x80") == fffd + fffd + fffd);          // a UTF-16 surrogate
  CHECK(clean_utf8("\xE2\x82") == fffd + fffd);                     // cut short
  CHECK(clean_utf8(std::string("a\0b", 3)) == "a b");
}

TEST_CASE("tokenize: lower-cased words, inner apostrophes and hyphens kept, punctuation and bad bytes separate") {
  CHECK(tokenize("Don't STOP -- the term-end, 3.5% ``said'' she.") ==
        std::vector<std::string>{"don't", "stop", "the", "term-end", "3", "5", "said", "she"});
  // Non-ASCII letters belong to words; Unicode punctuation separates them.
  CHECK(tokenize("Caf\xC3\xA9 na\xC3\xAFve\xE2\x80\x94gar\xC3\xA7on \xC2\xABquoted\xC2\xBB") ==
        std::vector<std::string>{"caf\xC3\xA9", "na\xC3\xAFve", "gar\xC3\xA7on", "quoted"});
  CHECK(tokenize("ab\xFF" "cd") == std::vector<std::string>{"ab", "cd"});  // a malformed byte separates
  CHECK(tokenize("-x- 'y' --").size() == 2);
  CHECK(tokenize("   \n\t ").empty());
}

TEST_CASE("Vocabulary: most frequent first, limits, ids, round trip, token ids with padding") {
  const std::vector<std::string> texts{"b a b", "c b a", "d"};
  const auto all = Vocabulary::build(texts, 0, 1);
  CHECK(all.words() == std::vector<std::string>{"b", "a", "c", "d"});  // ties in first-seen order
  CHECK(all.id("b") == 2);
  CHECK(all.id("zzz") == Vocabulary::kUnknown);
  CHECK(Vocabulary::build(texts, 0, 2).words() == std::vector<std::string>{"b", "a"});
  CHECK(Vocabulary::build(texts, 1, 1).words() == std::vector<std::string>{"b"});
  std::stringstream stream;
  all.save(stream);
  CHECK(Vocabulary::load(stream).words() == all.words());
  CHECK_THROWS_AS(Vocabulary::from_words({"x", "x"}), FormatError);

  const auto t = token_ids(all, {"A b zzz", "", "b b b b b"}, 3);
  CHECK(at::equal(t.ids, at::tensor({3, 2, 1, 0, 0, 0, 2, 2, 2}, at::kLong).reshape({3, 3})));
  CHECK(at::equal(t.lengths, at::tensor({3, 0, 3}, at::kLong)));
}

TEST_CASE("word vectors: the wink JSON, fastText and GloVe text, and the binary form read the same") {
  testing::TempDir dir;
  // wink layout: extra values after the vector, other keys around it, a \u escape.
  write_text_atomically(dir / "wink.json",
                        R"({"precision": 8, "dimensions": 3, "size": 3, "words": ["the", "caf\u00e9"],
                            "vectors": {"the": [1, 2, 3, 3.74, 0], "caf\u00e9": [-1e-1, 0.5, 2E1, 9, 1], "x": [0, 0, 1, 1, 2]},
                            "unkVector": [0, 0, 0, 0, -1]})");
  const WordVectors wink = read_word_vectors(dir / "wink.json");
  REQUIRE(wink.size() == 3);
  CHECK(wink.dim() == 3);
  CHECK(wink.words()[1] == "caf\xC3\xA9");
  CHECK(wink.find("caf\xC3\xA9") == 1);
  CHECK(wink.find("nope") == -1);
  const Tensor expected = at::tensor({1.f, 2.f, 3.f, -0.1f, 0.5f, 20.f, 0.f, 0.f, 1.f}).reshape({3, 3});
  CHECK(at::allclose(wink.vectors(), expected));

  write_text_atomically(dir / "ft.vec", "3 3\nthe 1 2 3\ncaf\xC3\xA9 -0.1 0.5 20\nx 0 0 1\n");
  write_text_atomically(dir / "glove.txt", "the 1 2 3\r\ncaf\xC3\xA9 -0.1 0.5 20\r\nx 0 0 1\r\n");
  for (const char* name : {"ft.vec", "glove.txt"}) {
    const WordVectors v = read_word_vectors(dir / name);
    CHECK(v.words() == wink.words());
    CHECK(at::allclose(v.vectors(), expected));
  }
  write_word_vectors(dir / "w.bvec", wink);
  const WordVectors binary = read_word_vectors(dir / "w.bvec");
  CHECK(binary.words() == wink.words());
  CHECK(at::equal(binary.vectors(), wink.vectors()));
  // A word given twice keeps its first vector.
  write_text_atomically(dir / "twice.txt", "a 1 1\nb 2 2\na 3 3\n");
  const WordVectors twice = read_word_vectors(dir / "twice.txt");
  CHECK(twice.size() == 2);
  CHECK(twice.vectors()[twice.find("a")][0].item<float>() == 1.f);
}

TEST_CASE("word vectors: bad files are errors naming the file and the place") {
  testing::TempDir dir;
  const auto fails = [&](const std::string& name, const std::string& content, const std::string& part) {
    write_text_atomically(dir / name, content);
    CHECK_THROWS_WITH_ALL(read_word_vectors(dir / name), FormatError, (dir / name).string(), part);
  };
  fails("short.txt", "a 1 2 3\nb 1 2\n", "line 2: expected a word and 3 numbers, found 3 fields");
  fails("nan.txt", "a 1 x 3\n", "line 1: 'x' is not a number");
  fails("cut.json", R"({"dimensions": 2, "vectors": {"a": [1, 2], "b": [1)", "expected ']', found the end of the file");
  fails("few.json", R"({"dimensions": 3, "vectors": {"a": [1, 2]}})", "the vector of 'a' has 2 values, expected at least 3");
  fails("none.json", R"({"words": []})", "found no vectors");
  write_text_atomically(dir / "cut.bvec", "bridges-word-vectors 1\n2 3\na\nb\n1234");
  CHECK_THROWS_WITH_ALL(read_word_vectors(dir / "cut.bvec"), FormatError, "the file ends early", "bridges vectors convert");
  CHECK_THROWS_WITH_ALL(read_word_vectors(dir / "absent.bvec"), IoError, "scripts/setup");
  CHECK(vectors_file("glove-100d").filename() == "glove-100d.bvec");
  CHECK(vectors_file("my/file.vec") == fs::path("my/file.vec"));
}
