#pragma once
// The one tokenizer and vocabulary every text component shares, so that a
// word means the same thing to a data set, an encoder and a vectors file.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// `text` as valid UTF-8: every byte that does not start a well-formed
/// sequence (overlong forms and surrogates included) becomes U+FFFD, and NUL
/// becomes a space. Valid text is returned unchanged.
BRIDGES_API std::string clean_utf8(std::string_view text);

/// Lower-cased word tokens of UTF-8 text. A token is a run of letters and
/// digits, where every non-ASCII character counts as a letter (so "café" and
/// "naïve" stay whole) and an apostrophe or hyphen between two such
/// characters is kept ("don't", "term-end"). Everything else (punctuation,
/// blanks, U+FFFD) separates tokens. Only ASCII letters are lower-cased.
BRIDGES_API std::vector<std::string> tokenize(std::string_view text);

/// Word ids for a model's embedding table: 0 is padding, 1 an unknown word,
/// 2.. the words kept, most frequent first (ties in first-seen order).
class BRIDGES_API Vocabulary {
 public:
  static constexpr int64_t kPadding = 0;
  static constexpr int64_t kUnknown = 1;

  Vocabulary() = default;
  /// The `max_words` most frequent tokens of `texts` that occur at least
  /// `min_count` times (max_words 0: no limit).
  static Vocabulary build(const std::vector<std::string>& texts, int64_t max_words, int64_t min_count);
  /// Words in id order from id 2 on.
  static Vocabulary from_words(std::vector<std::string> words);

  /// The id of `word`, kUnknown when it is not kept.
  int64_t id(const std::string& word) const;
  /// Ids including padding and unknown.
  int64_t size() const { return static_cast<int64_t>(words_.size()) + 2; }
  const std::vector<std::string>& words() const { return words_; }

  /// One word per line (words hold no line break: they are tokens).
  void save(std::ostream& out) const;
  static Vocabulary load(std::istream& in);

 private:
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> ids_;
};

/// Texts as token ids: ids [n, max_tokens] int64 (the first max_tokens
/// tokens of each text, padded with 0) and lengths [n] int64 (tokens kept;
/// 0 for an empty text).
struct BRIDGES_API TokenIds {
  Tensor ids;
  Tensor lengths;
};
BRIDGES_API TokenIds token_ids(const Vocabulary& vocabulary, const std::vector<std::string>& texts, int64_t max_tokens);

}  // namespace bridges
