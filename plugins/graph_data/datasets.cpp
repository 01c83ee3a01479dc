// Graph data sets: WordNet's noun graph (Debian wordnet-base) and any graph
// saved as .npy files.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <bridges/graph/graph.hpp>
#include <bridges/formats/npy.hpp>
#include <bridges/text/tokenizer.hpp>
#include <bridges/text/word_vectors.hpp>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "graph_dataset.hpp"

namespace graph_data {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- data.noun

constexpr int kFirstNounFile = 3;  // lexicographer files 03 (noun.Tops) .. 28 (noun.time)

const std::vector<std::string>& noun_files() {
  static const std::vector<std::string> names = {
      "noun.Tops",      "noun.act",       "noun.animal",   "noun.artifact",      "noun.attribute", "noun.body",
      "noun.cognition", "noun.communication", "noun.event", "noun.feeling",      "noun.food",      "noun.group",
      "noun.location",  "noun.motive",    "noun.object",   "noun.person",        "noun.phenomenon", "noun.plant",
      "noun.possession", "noun.process",  "noun.quantity", "noun.relation",      "noun.shape",     "noun.state",
      "noun.substance", "noun.time"};
  return names;
}

/// The noun synsets of a data.noun file.
struct NounSynsets {
  std::vector<std::string> words;   ///< first word of each synset (for messages)
  std::vector<std::string> glosses;
  std::vector<int64_t> labels;      ///< lexicographer file - 3
  std::vector<std::pair<int64_t, int64_t>> edges;  ///< hypernym/hyponym pointers, as listed
};

// One data.noun line, read field by field; every error names the file, the
// line and the field.
class LineReader {
 public:
  LineReader(std::string_view line, const fs::path& file, int64_t number) : line_(line), file_(file), number_(number) {}

  std::string_view next(const char* field) {
    while (pos_ < line_.size() && line_[pos_] == ' ') ++pos_;
    const std::size_t begin = pos_;
    while (pos_ < line_.size() && line_[pos_] != ' ') ++pos_;
    if (begin == pos_) fail(field, "a value", "the end of the line");
    return line_.substr(begin, pos_ - begin);
  }

  int64_t number(const char* field, int base, std::size_t digits) {
    const std::string_view token = next(field);
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value, base);
    if (ec != std::errc() || end != token.data() + token.size() || (digits && token.size() != digits))
      fail(field, fmt::format("{}{} number", digits ? fmt::format("a {}-digit ", digits) : "a ", base == 16 ? "hexadecimal" : "decimal"),
           fmt::format("'{}'", token));
    return value;
  }

  /// The text after " | ", or a failure when there is none.
  std::string_view gloss() {
    while (pos_ < line_.size() && line_[pos_] == ' ') ++pos_;
    if (pos_ >= line_.size() || line_[pos_] != '|')
      fail("gloss", "'|' and the gloss after the pointers", pos_ < line_.size() ? fmt::format("'{}'", next("gloss")) : "the end of the line");
    std::string_view rest = line_.substr(pos_ + 1);
    while (!rest.empty() && (rest.front() == ' ')) rest.remove_prefix(1);
    while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.remove_suffix(1);
    return rest;
  }

  [[noreturn]] void fail(std::string_view field, std::string_view expected, std::string_view found) const {
    throw bridges::FormatError(fmt::format(
        "{}:{}: field {}: expected {}, found {}. A data.noun line is 'offset lex_filenum n w_cnt word lex_id... p_cnt "
        "pointer... | gloss' (man 5WN wndb); reinstall wordnet-base (scripts/setup) or fix that line.",
        file_.string(), number_, field, expected, found));
  }

 private:
  std::string_view line_;
  const fs::path& file_;
  int64_t number_;
  std::size_t pos_ = 0;
};

NounSynsets read_data_noun(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw bridges::IoError(fmt::format("dataset/wordnet_nouns: cannot read {}. It comes from Debian's wordnet-base: run "
                                       "scripts/setup, or set \"path\" to a WordNet 3.0 dict folder or data.noun file.",
                                       file.string()));
  NounSynsets out;
  std::unordered_map<int64_t, int64_t> node_of;                 // synset offset -> node
  std::vector<std::tuple<int64_t, int64_t, int64_t>> pointers;  // (node, target offset, line)
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty() || line.compare(0, 2, "  ") == 0) continue;  // the licence header lines start with two spaces
    LineReader r(line, file, number);
    const int64_t offset = r.number("synset_offset", 10, 8);
    const int64_t lexfile = r.number("lex_filenum", 10, 2);
    if (lexfile < kFirstNounFile || lexfile >= kFirstNounFile + static_cast<int64_t>(noun_files().size()))
      r.fail("lex_filenum", "a noun lexicographer file, 03 to 28", fmt::format("{:02}", lexfile));
    if (const auto type = r.next("ss_type"); type != "n") r.fail("ss_type", "'n' (data.noun holds nouns)", fmt::format("'{}'", type));
    const int64_t words = r.number("w_cnt", 16, 2);
    if (words < 1) r.fail("w_cnt", "at least one word", "00");
    std::string first;
    for (int64_t w = 0; w < words; ++w) {
      const auto word = r.next("word");
      if (w == 0) first = word;
      r.number("lex_id", 16, 1);
    }
    const int64_t count = r.number("p_cnt", 10, 3);
    const auto node = static_cast<int64_t>(out.labels.size());
    for (int64_t p = 0; p < count; ++p) {
      const auto symbol = r.next("pointer_symbol");
      const int64_t target = r.number("pointer synset_offset", 10, 8);
      const auto pos = r.next("pointer pos");
      if (pos.size() != 1 || std::string_view("nvasr").find(pos[0]) == std::string_view::npos)
        r.fail("pointer pos", "one of n, v, a, s, r", fmt::format("'{}'", pos));
      r.number("pointer source/target", 16, 4);
      // Hypernyms and hyponyms, instance ones included: the noun hierarchy.
      if (pos == "n" && (symbol == "@" || symbol == "@i" || symbol == "~" || symbol == "~i"))
        pointers.emplace_back(node, target, number);
    }
    const auto gloss = r.gloss();
    if (!node_of.emplace(offset, node).second)
      r.fail("synset_offset", "an offset no other line has", fmt::format("{:08} a second time", offset));
    out.words.push_back(std::move(first));
    out.glosses.emplace_back(bridges::clean_utf8(gloss));
    out.labels.push_back(lexfile - kFirstNounFile);
  }
  if (out.labels.empty())
    throw bridges::FormatError(fmt::format("dataset/wordnet_nouns: {} holds no synset line; is it WordNet's data.noun?", file.string()));
  for (const auto& [node, target, number] : pointers) {
    const auto it = node_of.find(target);
    if (it == node_of.end())
      throw bridges::FormatError(fmt::format("{}:{}: a pointer names noun synset {:08}, which no line of the file defines; "
                                             "the file is cut or damaged: reinstall wordnet-base (scripts/setup).",
                                             file.string(), number, target));
    out.edges.emplace_back(node, it->second);
  }
  return out;
}

Tensor edge_tensor(const std::vector<std::pair<int64_t, int64_t>>& edges) {
  Tensor e = at::empty({2, static_cast<int64_t>(edges.size())}, at::kLong);
  auto a = e.accessor<int64_t, 2>();
  for (std::size_t i = 0; i < edges.size(); ++i) {
    a[0][static_cast<int64_t>(i)] = edges[i].first;
    a[1][static_cast<int64_t>(i)] = edges[i].second;
  }
  return e;
}

// Bag of words of the glosses over the `size` words found in most glosses,
// leaving out those in more than `max_df` of them (a, of, the...): sparse
// [N, size]; each row L2-normalised, of 0/1 or tf-idf weights.
Tensor gloss_words(const std::vector<std::string>& glosses, int64_t size, double max_df, bool tfidf) {
  const auto n = static_cast<int64_t>(glosses.size());
  std::vector<std::vector<std::string>> tokens(glosses.size());
  std::unordered_map<std::string, int64_t> df;
  for (std::size_t i = 0; i < glosses.size(); ++i) {
    tokens[i] = bridges::tokenize(glosses[i]);
    for (const auto& t : std::set<std::string>(tokens[i].begin(), tokens[i].end())) ++df[t];
  }
  std::vector<std::pair<int64_t, std::string>> ranked;
  for (const auto& [word, count] : df)
    if (count >= 2 && static_cast<double>(count) <= max_df * static_cast<double>(n)) ranked.emplace_back(-count, word);
  std::sort(ranked.begin(), ranked.end());  // most glosses first, then alphabetical
  if (static_cast<int64_t>(ranked.size()) > size) ranked.resize(static_cast<std::size_t>(size));
  std::unordered_map<std::string, int64_t> column;
  for (const auto& [count, word] : ranked) column.emplace(word, static_cast<int64_t>(column.size()));

  std::vector<int64_t> rows, cols;
  std::vector<float> values;
  for (int64_t i = 0; i < n; ++i) {
    std::map<int64_t, double> weight;
    for (const auto& t : tokens[static_cast<std::size_t>(i)])
      if (const auto it = column.find(t); it != column.end()) weight[it->second] += 1.0;
    double norm = 0;
    for (auto& [c, w] : weight) {
      if (tfidf) w *= std::log(static_cast<double>(n) / static_cast<double>(df.at(ranked[static_cast<std::size_t>(c)].second)));
      else w = 1.0;
      norm += w * w;
    }
    for (const auto& [c, w] : weight) {
      rows.push_back(i);
      cols.push_back(c);
      values.push_back(static_cast<float>(w / std::sqrt(norm)));
    }
  }
  const auto nnz = static_cast<int64_t>(values.size());
  Tensor index = at::empty({2, nnz}, at::kLong);
  std::copy(rows.begin(), rows.end(), index.data_ptr<int64_t>());
  std::copy(cols.begin(), cols.end(), index.data_ptr<int64_t>() + nnz);
  Tensor v = at::empty({nnz}, at::kFloat);
  std::copy(values.begin(), values.end(), v.data_ptr<float>());
  return at::sparse_coo_tensor(index, v, {n, static_cast<int64_t>(ranked.size())}).coalesce();
}

// The mean pretrained vector of each gloss's words (zeros when it has none).
Tensor gloss_vectors(const std::vector<std::string>& glosses, const std::string& vectors) {
  const bridges::WordVectors space = bridges::read_word_vectors(bridges::vectors_file(vectors));
  Tensor out = at::zeros({static_cast<int64_t>(glosses.size()), space.dim()}, at::kFloat);
  const Tensor table = space.vectors();
  at::parallel_for(0, out.size(0), 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      std::vector<int64_t> found;
      for (const auto& t : bridges::tokenize(glosses[static_cast<std::size_t>(i)]))
        if (const int64_t r = space.find(t); r >= 0) found.push_back(r);
      if (!found.empty())
        out[i].copy_(table.index_select(0, at::from_blob(found.data(), {static_cast<int64_t>(found.size())}, at::kLong)).mean(0));
    }
  });
  return out;
}

// WordNet 3.0 nouns: one node per synset, hypernym/hyponym edges, label =
// lexicographer file, features from the gloss.
struct WordNetOptions : Sampling {
  std::optional<std::string> path;
  std::string features;
  int64_t vocabulary;
  double max_df;
  std::string vectors;
};
BRIDGES_DERIVED_OPTIONS(WordNetOptions, Sampling, path, features, vocabulary, max_df, vectors)

class WordNetNouns final : public Model<WordNetOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "wordnet_nouns"; }

 protected:
  Graph load() const override {
    fs::path file = options_.path ? fs::path(*options_.path) : fs::path("/usr/share/wordnet");
    if (fs::is_directory(file)) file /= "data.noun";
    const NounSynsets synsets = read_data_noun(file);
    Graph g;
    const auto n = static_cast<int64_t>(synsets.labels.size());
    g.edge_index = bridges::undirected(edge_tensor(synsets.edges), n);
    g.labels = at::from_blob(const_cast<int64_t*>(synsets.labels.data()), {n}, at::kLong).clone();
    g.class_names = noun_files();
    const std::string& features = options_.features;
    g.x = features == "vectors" ? gloss_vectors(synsets.glosses, options_.vectors)
                                : gloss_words(synsets.glosses, options_.vocabulary, options_.max_df, features == "tfidf");
    return g;
  }
};

// ---------------------------------------------------------------- .npy graphs

Tensor read_part(const fs::path& folder, const std::string& name) {
  const fs::path file = folder / name;
  if (!fs::exists(file)) return {};
  return bridges::read_npy(file);
}

// A user's graph: x.npy [N, f], edge_index.npy [2, E], y.npy [N] (-1 where
// unknown), optional train/val/test_mask.npy and classes.txt.
struct GraphNpyOptions : Sampling {
  std::string path;
  bool undirected;
};
BRIDGES_DERIVED_OPTIONS(GraphNpyOptions, Sampling, path, undirected)

class GraphNpy final : public Model<GraphNpyOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "graph_npy"; }

 protected:
  Graph load() const override {
    const fs::path folder = options_.path;
    const auto fail = [&](const std::string& file, const std::string& what) -> void {
      throw bridges::ShapeError(fmt::format("dataset/graph_npy: {}: {}", (folder / file).string(), what));
    };
    if (!fs::is_directory(folder))
      throw bridges::IoError(fmt::format("dataset/graph_npy: \"path\" {} is not a folder; it must hold x.npy, "
                                         "edge_index.npy and y.npy.",
                                         folder.string()));
    for (const char* required : {"x.npy", "edge_index.npy", "y.npy"})
      if (!fs::exists(folder / required))
        throw bridges::IoError(fmt::format("dataset/graph_npy: {} is missing; the folder needs x.npy [N, f], "
                                           "edge_index.npy [2, E] and y.npy [N].",
                                           (folder / required).string()));
    Graph g;
    g.x = read_part(folder, "x.npy");
    if (g.x.dim() != 2 || !g.x.is_floating_point()) fail("x.npy", fmt::format("expected [N, f] floats, found {}.", bridges::describe(g.x)));
    g.x = g.x.to(at::kFloat);
    const int64_t n = g.x.size(0);
    Tensor e = read_part(folder, "edge_index.npy");
    if (e.dim() == 2 && e.size(1) == 2 && e.size(0) != 2)
      fail("edge_index.npy", fmt::format("expected [2, E], found {}: it looks like [E, 2]; save its transpose.", bridges::describe(e)));
    try {
      bridges::check_edge_index(e, n, "edge_index");
    } catch (const bridges::ShapeError& err) {
      fail("edge_index.npy", fmt::format("{} (N comes from x.npy)", err.what()));
    }
    e = e.to(at::kLong);
    g.edge_index = options_.undirected ? bridges::undirected(e, n) : e;
    g.labels = read_part(folder, "y.npy");
    if (g.labels.dim() != 1 || g.labels.size(0) != n || g.labels.is_floating_point())
      fail("y.npy", fmt::format("expected [{}] integer labels (-1 where unknown), found {}.", n, bridges::describe(g.labels)));
    g.labels = g.labels.to(at::kLong);
    if (g.labels.lt(-1).any().item<bool>()) fail("y.npy", "labels must be class numbers 0, 1, ... or -1 for unknown.");
    const int64_t classes = g.labels.numel() ? g.labels.max().item<int64_t>() + 1 : 0;
    if (std::ifstream names(folder / "classes.txt"); names) {
      for (std::string line; std::getline(names, line);)
        if (!line.empty()) g.class_names.push_back(line);
      if (static_cast<int64_t>(g.class_names.size()) < classes)
        fail("classes.txt", fmt::format("{} names for {} classes (one name per line).", g.class_names.size(), classes));
    } else {
      for (int64_t c = 0; c < classes; ++c) g.class_names.push_back(std::to_string(c));
    }
    g.split_of = masks(folder, n);
    return g;
  }

 private:
  // The split codes from train/val/test_mask.npy, or undefined when there are none.
  static Tensor masks(const fs::path& folder, int64_t n) {
    const std::vector<std::string> names = {"train_mask.npy", "val_mask.npy", "test_mask.npy"};
    Tensor code;
    for (std::size_t s = 0; s < names.size(); ++s) {
      const Tensor mask = read_part(folder, names[s]);
      if (!mask.defined()) continue;
      if (!code.defined()) code = at::full({n}, -1, at::kLong);
      if (mask.dim() != 1 || mask.size(0) != n || mask.is_floating_point())
        throw bridges::ShapeError(fmt::format("dataset/graph_npy: {}: expected [{}] booleans (or 0/1), found {}.",
                                              (folder / names[s]).string(), n, bridges::describe(mask)));
      const Tensor on = mask.ne(0);
      if (code.masked_select(on).ne(-1).any().item<bool>())
        throw bridges::ShapeError(fmt::format("dataset/graph_npy: {} marks nodes that an earlier mask marks too; a node "
                                              "belongs to one split.",
                                              (folder / names[s]).string()));
      code.masked_fill_(on, static_cast<int64_t>(s));
    }
    if (code.defined() && (!code.eq(0).any().item<bool>() || !code.eq(2).any().item<bool>()))
      throw bridges::ShapeError(fmt::format("dataset/graph_npy: {}: with masks, train_mask.npy and test_mask.npy must "
                                            "each mark at least one node.",
                                            folder.string()));
    return code;
  }
};

}  // namespace

}  // namespace graph_data

BRIDGES_PLUGIN(bridges::sdk::component<graph_data::WordNetNouns>("wordnet_nouns"),
               bridges::sdk::component<graph_data::GraphNpy>("graph_npy"))
