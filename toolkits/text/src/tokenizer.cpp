#include "bridges/text/tokenizer.hpp"

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <fmt/format.h>

#include <algorithm>
#include <istream>
#include <ostream>

#include "bridges/error.hpp"

namespace bridges {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at text[i], or 0 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) n = 3, hi = 0x9F;
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;
  else return 0;
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

// The code point of the well-formed n-byte sequence at text[i].
char32_t code_point(std::string_view text, std::size_t i, std::size_t n) {
  const auto byte = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(text[i + k])); };
  if (n == 2) return (byte(0) & 0x1F) << 6 | (byte(1) & 0x3F);
  if (n == 3) return (byte(0) & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
  return (byte(0) & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 | (byte(3) & 0x3F);
}

// Non-ASCII characters that separate words rather than belong to them:
// Latin-1 punctuation and symbols (no-break space, « », ¿, ×, ÷), general
// punctuation (dashes, curly quotes, ellipsis, zero-width spaces), CJK
// punctuation, and the replacement character U+FFFD.
bool is_separator(char32_t c) {
  return (c >= 0x80 && c <= 0xBF) || c == 0xD7 || c == 0xF7 || (c >= 0x2000 && c <= 0x206F) ||
         (c >= 0x3000 && c <= 0x303F) || c == 0xFEFF || c == 0xFFFD;
}

// Length of the word character at text[i] (an ASCII letter or digit, or a
// non-ASCII character that is not a separator), or 0.
std::size_t word_char_length(std::string_view text, std::size_t i) {
  const std::size_t n = utf8_length(text, i);
  if (n == 1) {
    const char c = text[i];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? 1 : 0;
  }
  return n > 1 && !is_separator(code_point(text, i, n)) ? n : 0;
}


}  // namespace

std::string clean_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_length(text, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      if (n == 1 && text[i] == '\0') out += ' ';
      else out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t n = word_char_length(text, i); n > 0) {
      if (n == 1 && text[i] >= 'A' && text[i] <= 'Z') current += static_cast<char>(text[i] - 'A' + 'a');
      else current.append(text.substr(i, n));
      i += n;
      continue;
    }
    // An apostrophe or hyphen joins two word characters; anything else ends the token.
    const bool joiner = (text[i] == '\'' || text[i] == '-') && !current.empty() && i + 1 < text.size() &&
                        word_char_length(text, i + 1) > 0;
    if (joiner) {
      current += text[i];
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
    i += std::max<std::size_t>(1, utf8_length(text, i));
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

Vocabulary Vocabulary::build(const std::vector<std::string>& texts, int64_t max_words, int64_t min_count) {
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> counts;  // word -> (count, first seen)
  int64_t seen = 0;
  for (const auto& text : texts)
    for (auto& token : tokenize(text)) {
      auto [it, inserted] = counts.try_emplace(std::move(token), 0, seen);
      seen += inserted;
      ++it->second.first;
    }
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second.first != b.second.first ? a.second.first > b.second.first : a.second.second < b.second.second;
  });
  std::vector<std::string> words;
  for (auto& [word, count] : sorted) {
    if (count.first < min_count || (max_words > 0 && static_cast<int64_t>(words.size()) >= max_words)) break;
    words.push_back(word);
  }
  return from_words(std::move(words));
}

Vocabulary Vocabulary::from_words(std::vector<std::string> words) {
  Vocabulary v;
  v.words_ = std::move(words);
  for (std::size_t i = 0; i < v.words_.size(); ++i) {
    const auto [it, inserted] = v.ids_.emplace(v.words_[i], static_cast<int64_t>(i) + 2);
    if (!inserted) throw FormatError(fmt::format("vocabulary: the word '{}' appears twice.", v.words_[i]));
  }
  return v;
}

int64_t Vocabulary::id(const std::string& word) const {
  const auto it = ids_.find(word);
  return it == ids_.end() ? kUnknown : it->second;
}

void Vocabulary::save(std::ostream& out) const {
  out << words_.size() << '\n';
  for (const auto& w : words_) out << w << '\n';
}

Vocabulary Vocabulary::load(std::istream& in) {
  std::size_t n = 0;
  if (!(in >> n)) throw FormatError("vocabulary: expected the number of words on the first line.");
  in.ignore(1);
  std::vector<std::string> words(n);
  for (auto& w : words)
    if (!std::getline(in, w)) throw FormatError(fmt::format("vocabulary: expected {} words, the stream ended early.", n));
  return from_words(std::move(words));
}

TokenIds token_ids(const Vocabulary& vocabulary, const std::vector<std::string>& texts, int64_t max_tokens) {
  if (max_tokens < 1) throw ConfigError(fmt::format("token_ids: max_tokens must be at least 1, got {}.", max_tokens));
  const auto n = static_cast<int64_t>(texts.size());
  Tensor ids = at::zeros({n, max_tokens}, at::kLong), lengths = at::empty({n}, at::kLong);
  auto* id = ids.data_ptr<int64_t>();
  auto* length = lengths.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto tokens = tokenize(texts[static_cast<std::size_t>(i)]);
    const auto kept = std::min<int64_t>(max_tokens, static_cast<int64_t>(tokens.size()));
    for (int64_t t = 0; t < kept; ++t) id[i * max_tokens + t] = vocabulary.id(tokens[static_cast<std::size_t>(t)]);
    length[i] = kept;
  }
  return {ids, lengths};
}

}  // namespace bridges
