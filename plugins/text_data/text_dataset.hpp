#pragma once
// What every text data set of this plugin shares: lazy loading, a seeded
// stratified train/test split of one pool of documents, stratified limits,
// and writing its options back to JSON.

#include <bridges/sdk/plugin.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace text_data {

using bridges::Tensor;
using nlohmann::json;

/// Texts (valid UTF-8, none empty) and their labels.
struct Corpus {
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  /// The document each text comes from (for splitting by document), or
  /// empty when every text is its own document.
  std::vector<int64_t> documents;
};

/// How a pool of documents becomes limited train and test splits (options
/// of every data set here but words; named like the manifest's).
struct Sampling {
  double test_fraction;
  uint64_t split_seed;
  std::optional<int64_t> train_limit, test_limit;
  uint64_t seed;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Sampling, test_fraction, split_seed, train_limit, test_limit, seed)

class TextDataset : public bridges::sdk::Family<bridges::Dataset, Sampling> {
 public:
  bridges::Examples split(const std::string& name) override;
  bridges::DatasetInfo info() const override;

 protected:
  /// Every document of a source without its own splits; the default
  /// splits() divides it with the options "test_fraction" and "split_seed".
  virtual Corpus load_all() const;
  /// The train and test splits. Default: load_all(), split by document and
  /// stratified by label, so no test text shares a document with a
  /// training text.
  virtual std::pair<Corpus, Corpus> splits() const;
  virtual std::vector<std::string> class_names() const = 0;

 private:
  const Corpus& corpus(const std::string& split) const;
  mutable std::map<std::string, Corpus> corpora_;
};

/// A data set with its typed Options, which extend Sampling.
template <class Options>
using Model = bridges::sdk::Member<TextDataset, Options>;

/// The texts whose labels are `rows` of a pool.
Corpus select(const Corpus& pool, const std::vector<int64_t>& rows);

}  // namespace text_data
