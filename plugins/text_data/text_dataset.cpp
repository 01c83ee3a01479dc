#include "text_dataset.hpp"

#include <ATen/ops/arange.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/index_select.h>
#include <fmt/format.h>

#include <bridges/util/subsets.hpp>
#include <bridges/util/messages.hpp>

#include <cmath>

namespace text_data {

namespace {

Tensor long_tensor(const std::vector<int64_t>& v) {
  return at::from_blob(const_cast<int64_t*>(v.data()), {static_cast<int64_t>(v.size())}, at::kLong).clone();
}

std::vector<int64_t> to_vector(const Tensor& t) { return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()}; }

}  // namespace

Corpus TextDataset::load_all() const {
  throw bridges::NotImplemented(fmt::format("dataset/{}: load_all", type()));
}

Corpus select(const Corpus& pool, const std::vector<int64_t>& rows) {
  Corpus out;
  for (const int64_t r : rows) {
    const auto i = static_cast<std::size_t>(r);
    out.texts.push_back(pool.texts[i]);
    out.labels.push_back(pool.labels[i]);
    if (!pool.documents.empty()) out.documents.push_back(pool.documents[i]);
  }
  return out;
}

std::pair<Corpus, Corpus> TextDataset::splits() const {
  const Corpus pool = load_all();
  // One label per document (the label of its first text): the split is
  // stratified over documents, then every text follows its document.
  std::vector<int64_t> document_of(pool.texts.size()), document_label;
  std::map<int64_t, int64_t> documents;  // document id -> position
  for (std::size_t i = 0; i < pool.texts.size(); ++i) {
    const int64_t id = pool.documents.empty() ? static_cast<int64_t>(i) : pool.documents[i];
    const auto [it, inserted] = documents.emplace(id, static_cast<int64_t>(document_label.size()));
    if (inserted) document_label.push_back(pool.labels[i]);
    document_of[i] = it->second;
  }
  const auto n = static_cast<int64_t>(document_label.size());
  const double fraction = shared_options().test_fraction;
  const auto test_count = std::clamp<int64_t>(std::llround(fraction * static_cast<double>(n)), 1, n - 1);
  const auto [train_docs, test_docs] =
      bridges::stratified_split(long_tensor(document_label), test_count, shared_options().split_seed);
  std::vector<char> in_test(static_cast<std::size_t>(n), 0);
  for (const int64_t d : to_vector(test_docs)) in_test[static_cast<std::size_t>(d)] = 1;
  std::vector<int64_t> train_rows, test_rows;
  for (std::size_t i = 0; i < pool.texts.size(); ++i)
    (in_test[static_cast<std::size_t>(document_of[i])] ? test_rows : train_rows).push_back(static_cast<int64_t>(i));
  return {select(pool, train_rows), select(pool, test_rows)};
}

const Corpus& TextDataset::corpus(const std::string& split) const {
  if (split != "train" && split != "test")
    bridges::throw_unknown_name(fmt::format("split of dataset/{}", type()), split, {"train", "test"});
  if (corpora_.empty()) {
    auto [train, test] = splits();
    corpora_["train"] = std::move(train);
    corpora_["test"] = std::move(test);
  }
  return corpora_.at(split);
}

bridges::Examples TextDataset::split(const std::string& name) {
  const Corpus& c = corpus(name);
  const auto n = static_cast<int64_t>(c.texts.size());
  const Tensor labels = long_tensor(c.labels);
  Tensor rows = at::arange(n, at::TensorOptions().dtype(at::kLong));
  const Sampling& o = shared_options();
  if (const auto limit = name == "train" ? o.train_limit : o.test_limit; limit && *limit < n)
    rows = bridges::stratified_subset(labels, *limit, o.seed);
  bridges::Examples out;
  for (const int64_t r : to_vector(rows)) out.texts.push_back(c.texts[static_cast<std::size_t>(r)]);
  out.labels = at::index_select(labels, 0, rows);
  out.indices = rows;
  out.split = name;
  out.split_size = n;
  return out;
}

bridges::DatasetInfo TextDataset::info() const {
  bridges::DatasetInfo info;
  info.modality = bridges::Modality::text;
  info.class_names = class_names();
  info.num_classes = static_cast<int64_t>(info.class_names.size());
  info.splits = {"train", "test"};
  return info;
}

}  // namespace text_data
