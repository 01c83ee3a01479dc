// Text encoders: pooled pretrained word vectors, and three classifiers
// trained from scratch on token ids (bag of embeddings, CNN, transformer).
// Every one tokenizes with bridges::tokenize, so a word means the same thing
// to each of them and to the data sets.
#include <torch/torch.h>

#include <fmt/format.h>

#include <bridges/util/random.hpp>
#include <bridges/sdk/plugin.hpp>
#include <bridges/sdk/training.hpp>
#include <bridges/text/tokenizer.hpp>
#include <bridges/text/word_vectors.hpp>
#include <bridges/util/runtime.hpp>

#include <mutex>
#include <optional>
#include <random>
#include <sstream>

namespace text_encoders {

using bridges::Tensor;
using nlohmann::json;

namespace {

constexpr int64_t kEncodeBatch = 256;

const std::vector<std::string>& texts_of(const bridges::Examples& examples, const std::string& type) {
  if (examples.texts.empty() && examples.size() > 0)
    throw bridges::ConfigError(fmt::format("encoder/{}: the samples carry no texts; use a text data set (brown, "
                                           "spam_assassin, text_csv, words).",
                                           type));
  return examples.texts;
}

// ---------------------------------------------------------------- word_vectors

// The mean (or max) of the pretrained vectors of a text's words. Words the
// vectors file does not have are skipped; a text with no known word maps to
// the zero vector (its count is in quality()).
struct WordVectorsOptions {
  std::string vectors;
  std::string pooling;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(WordVectorsOptions, vectors, pooling)

class WordVectorsEncoder final : public bridges::sdk::WithOptions<bridges::Encoder, WordVectorsOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "word_vectors"; }
  int64_t dim() const override { return space().dim(); }

  Tensor encode(const bridges::Examples& examples) override {
    const auto& texts = texts_of(examples, type());
    const auto& s = space();
    const bool max = options_.pooling == "max";
    const auto n = static_cast<int64_t>(texts.size());
    Tensor out = at::zeros({n, s.dim()}, at::kFloat);
    const Tensor vectors = s.vectors();
    at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        std::vector<int64_t> rows;
        for (const auto& token : bridges::tokenize(texts[static_cast<std::size_t>(i)]))
          if (const int64_t r = s.find(token); r >= 0) rows.push_back(r);
        if (rows.empty()) continue;
        const Tensor found = vectors.index_select(0, torch::from_blob(rows.data(), {static_cast<int64_t>(rows.size())}, at::kLong));
        out[i].copy_(max ? std::get<0>(found.max(0)) : found.mean(0));
      }
    });
    return out;
  }

  // Coverage, since a fixed encoder has no accuracy of its own: the share of
  // tokens found in the vectors file and of texts with no known word.
  json quality(const bridges::Examples& test) override {
    const auto& s = space();
    int64_t tokens = 0, known = 0, empty = 0;
    for (const auto& text : texts_of(test, type())) {
      int64_t here = 0;
      for (const auto& token : bridges::tokenize(text)) {
        ++tokens;
        here += s.find(token) >= 0;
      }
      known += here;
      empty += here == 0;
    }
    return {{"token_coverage", tokens ? static_cast<double>(known) / static_cast<double>(tokens) : 0.0},
            {"texts_without_known_word", empty}};
  }

 private:
  const bridges::WordVectors& space() const {
    std::call_once(loaded_, [&] { space_ = bridges::read_word_vectors(bridges::vectors_file(options_.vectors)); });
    return space_;
  }
  mutable std::once_flag loaded_;
  mutable bridges::WordVectors space_;
};

// ---------------------------------------------------------------- trained classifiers

// Token ids of texts; an empty text becomes one unknown token, so that every
// sample has something to pool over.
bridges::TokenIds ids_of(const bridges::Vocabulary& vocabulary, const std::vector<std::string>& texts, int64_t max_tokens) {
  auto t = bridges::token_ids(vocabulary, texts, max_tokens);
  const Tensor empty = t.lengths.eq(0);
  t.ids.select(1, 0).masked_fill_(empty, bridges::Vocabulary::kUnknown);
  t.lengths.masked_fill_(empty, 1);
  return t;
}

// The options every classifier has (the manifest's shared_options).
struct Training {
  int64_t latent_dim;
  int64_t embedding_dim;
  int64_t max_words;
  int64_t min_count;
  int64_t max_tokens;
  int64_t epochs;
  int64_t batch_size;
  double lr;
  uint64_t seed;
  int64_t threads;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Training, latent_dim, embedding_dim, max_words, min_count, max_tokens, epochs,
                                   batch_size, lr, seed, threads)

struct BowOptions : Training {
  int64_t hidden;
};
BRIDGES_DERIVED_OPTIONS(BowOptions, Training, hidden)

struct CnnOptions : Training {
  int64_t channels;
};
BRIDGES_DERIVED_OPTIONS(CnnOptions, Training, channels)

struct TransformerOptions : Training {
  int64_t layers;
  int64_t heads;
  double dropout;
};
BRIDGES_DERIVED_OPTIONS(TransformerOptions, Training, layers, heads, dropout)

// A classifier on token ids: backbone -> latent [b, latent_dim] -> ReLU ->
// Linear(classes). The vocabulary is built from the training texts and
// saved with the weights.
class TextClassifier : public bridges::sdk::Family<bridges::Encoder, Training> {
 public:
  bool trainable() const override { return true; }
  int64_t dim() const override { return shared_options().latent_dim; }

  void fit(const bridges::Examples& train) override {
    const auto& texts = texts_of(train, type());
    if (texts.empty()) throw bridges::ConfigError(fmt::format("encoder/{}: no training texts.", type()));
    if (!train.labels.defined()) throw bridges::ConfigError(fmt::format("encoder/{}: training needs labels.", type()));
    const Tensor labels = train.labels.to(at::kLong);
    if (labels.min().item<int64_t>() < 0)
      throw bridges::ConfigError(fmt::format("encoder/{}: training needs a label for every text (found -1); a data set "
                                             "without labels (words) can only be encoded by word_vectors.",
                                             type()));
    const Training& o = shared_options();
    const bridges::ThreadScope threads(o.threads);
    const uint64_t seed = o.seed;
    vocabulary_ = bridges::Vocabulary::build(texts, o.max_words, o.min_count);
    const auto ids = ids_of(vocabulary_, texts, o.max_tokens);
    {
      std::lock_guard lock(bridges::torch_rng_mutex());
      torch::manual_seed(seed);
      classes_ = labels.max().item<int64_t>() + 1;
      build_all();
    }
    net_.train();
    torch::optim::Adam optimizer(net_.parameters(), torch::optim::AdamOptions(o.lr));
    std::mt19937_64 rng(seed);
    bridges::sdk::train_epochs(type(), ids.ids.size(0), o.epochs, o.batch_size, rng, "texts", [&](const Tensor& rows) {
      optimizer.zero_grad();
      std::lock_guard lock(bridges::torch_rng_mutex());  // dropout draws from the global generator
      const Tensor logits = head_->forward(latent(ids.ids.index_select(0, rows), ids.lengths.index_select(0, rows)));
      const Tensor loss = torch::cross_entropy_loss(logits, labels.index_select(0, rows));
      loss.backward();
      optimizer.step();
      return loss.item<double>();
    });
    net_.eval();
  }

  Tensor encode(const bridges::Examples& examples) override {
    Tensor out = torch::empty({examples.size(), dim()}, torch::kFloat);
    for_batches(texts_of(examples, type()), [&](int64_t begin, const Tensor& z) { out.narrow(0, begin, z.size(0)).copy_(z); });
    return out;
  }

  json quality(const bridges::Examples& test) override {
    const Tensor labels = test.labels.to(at::kLong);
    int64_t correct = 0;
    for_batches(texts_of(test, type()), [&](int64_t begin, const Tensor& z) {
      correct += head_->forward(z).argmax(1).eq(labels.narrow(0, begin, z.size(0))).sum().item<int64_t>();
    });
    return {{"accuracy", test.size() ? static_cast<double>(correct) / static_cast<double>(test.size()) : 0.0}};
  }

  void save(std::ostream& out) const override {
    require_built();
    std::ostringstream words;
    vocabulary_.save(words);
    bridges::sdk::save_module(net_, {{"encoder", to_json()}, {"classes", classes_}, {"vocabulary", words.str()}}, out);
  }

  void load(std::istream& in) override {
    torch::serialize::InputArchive archive;
    const json meta = bridges::sdk::load_module_meta(in, archive, to_json(), type());
    std::istringstream words(meta.at("vocabulary").get<std::string>());
    vocabulary_ = bridges::Vocabulary::load(words);
    {
      std::lock_guard lock(bridges::torch_rng_mutex());
      classes_ = meta.at("classes").get<int64_t>();
      build_all();
    }
    net_.load(archive);
    net_.eval();
  }

 protected:
  /// Registers the backbone's modules under net_ (vocabulary_ is set).
  virtual void build() = 0;
  /// Latents of a batch: ids [b, t] int64 (0 = padding), lengths [b] >= 1.
  virtual Tensor latent(const Tensor& ids, const Tensor& lengths) = 0;

  torch::nn::Module net_;
  bridges::Vocabulary vocabulary_;

 private:
  void build_all() {
    if (classes_ < 2)
      throw bridges::ConfigError(fmt::format("encoder/{}: a classifier needs labels of at least 2 classes.", type()));
    net_ = torch::nn::Module();
    build();
    head_ = net_.register_module("head", torch::nn::Sequential(torch::nn::ReLU(), torch::nn::Linear(shared_options().latent_dim, classes_)));
    built_ = true;
  }
  void require_built() const {
    if (!built_) throw bridges::ConfigError(fmt::format("encoder/{}: not trained yet: fit it (or load a trained one) first.", type()));
  }
  // Runs `f(begin, latents)` over batches of texts under no-grad, eval mode.
  void for_batches(const std::vector<std::string>& texts, const std::function<void(int64_t, const Tensor&)>& f) {
    require_built();
    torch::NoGradGuard no_grad;
    net_.eval();
    const auto n = static_cast<int64_t>(texts.size());
    for (int64_t begin = 0; begin < n; begin += kEncodeBatch) {
      const auto end = std::min(n, begin + kEncodeBatch);
      const std::vector<std::string> batch(texts.begin() + begin, texts.begin() + end);
      const auto ids = ids_of(vocabulary_, batch, shared_options().max_tokens);
      f(begin, latent(ids.ids, ids.lengths));
    }
  }

  torch::nn::Sequential head_{nullptr};
  int64_t classes_ = 0;
  bool built_ = false;
};

// A classifier with its typed Options, which extend Training.
template <class Options>
using Model = bridges::sdk::Member<TextClassifier, Options>;

// Mean of the embeddings of a text's tokens (EmbeddingBag), then an MLP.
class TextBow final : public Model<BowOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "text_bow"; }

 protected:
  void build() override {
    const int64_t e = options_.embedding_dim;
    bag_ = net_.register_module("bag", torch::nn::EmbeddingBag(torch::nn::EmbeddingBagOptions(vocabulary_.size(), e)
                                                                   .mode(torch::kMean)
                                                                   .padding_idx(bridges::Vocabulary::kPadding)));
    mlp_ = net_.register_module("mlp", torch::nn::Sequential(torch::nn::Linear(e, options_.hidden), torch::nn::ReLU(),
                                                             torch::nn::Linear(options_.hidden, options_.latent_dim)));
  }
  Tensor latent(const Tensor& ids, const Tensor&) override { return mlp_->forward(bag_->forward(ids)); }

 private:
  torch::nn::EmbeddingBag bag_{nullptr};
  torch::nn::Sequential mlp_{nullptr};
};

// Embeddings -> 1-d convolutions of widths 3, 4, 5 -> max over time -> Linear.
class TextCnn final : public Model<CnnOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "text_cnn"; }

 protected:
  void build() override {
    const int64_t e = options_.embedding_dim, c = options_.channels;
    embedding_ = net_.register_module("embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocabulary_.size(), e)
                                                                           .padding_idx(bridges::Vocabulary::kPadding)));
    for (const int64_t width : {3, 4, 5})
      convs_.push_back(net_.register_module(fmt::format("conv{}", width),
                                            torch::nn::Conv1d(torch::nn::Conv1dOptions(e, c, width).padding(width / 2))));
    out_ = net_.register_module("out", torch::nn::Linear(3 * c, options_.latent_dim));
  }
  Tensor latent(const Tensor& ids, const Tensor& lengths) override {
    const Tensor x = embedding_->forward(ids).transpose(1, 2);  // [b, e, t]
    std::vector<Tensor> pooled;
    for (auto& conv : convs_) {
      Tensor h = torch::relu(conv->forward(x));
      h = h.narrow(2, 0, ids.size(1));  // even widths pad one more step
      // Positions past a text's end take no part in the max.
      const Tensor pad = torch::arange(ids.size(1)).unsqueeze(0).ge(lengths.unsqueeze(1)).unsqueeze(1);
      pooled.push_back(std::get<0>(h.masked_fill(pad, 0.0).max(2)));
    }
    return out_->forward(torch::cat(pooled, 1));
  }

 private:
  torch::nn::Embedding embedding_{nullptr};
  std::vector<torch::nn::Conv1d> convs_;
  torch::nn::Linear out_{nullptr};
};

// Embeddings + learned positions -> transformer encoder layers (padding
// masked) -> mean over the text's tokens -> Linear.
class TextTransformer final : public Model<TransformerOptions> {
 public:
  using Member::Member;
  std::string type() const override { return "text_transformer"; }

 protected:
  void build() override {
    const int64_t e = options_.embedding_dim;
    embedding_ = net_.register_module("embedding", torch::nn::Embedding(torch::nn::EmbeddingOptions(vocabulary_.size(), e)
                                                                           .padding_idx(bridges::Vocabulary::kPadding)));
    positions_ = net_.register_parameter("positions", torch::randn({options_.max_tokens, e}) * 0.02);
    encoder_ = net_.register_module(
        "encoder", torch::nn::TransformerEncoder(torch::nn::TransformerEncoderOptions(
                                                     torch::nn::TransformerEncoderLayerOptions(e, options_.heads)
                                                         .dim_feedforward(2 * e)
                                                         .dropout(options_.dropout),
                                                     options_.layers)));
    out_ = net_.register_module("out", torch::nn::Linear(e, options_.latent_dim));
  }
  Tensor latent(const Tensor& ids, const Tensor& lengths) override {
    // Only as many positions as the longest text of the batch.
    const int64_t t = std::max<int64_t>(1, lengths.max().item<int64_t>());
    const Tensor x = embedding_->forward(ids.narrow(1, 0, t)) + positions_.narrow(0, 0, t).unsqueeze(0);  // [b, t, e]
    const Tensor pad = torch::arange(t).unsqueeze(0).ge(lengths.unsqueeze(1));                            // [b, t]
    const Tensor h = encoder_->forward(x.transpose(0, 1), {}, pad).transpose(0, 1);                        // [b, t, e]
    const Tensor keep = pad.logical_not().unsqueeze(2).to(h.scalar_type());
    return out_->forward((h * keep).sum(1) / keep.sum(1));
  }

 private:
  torch::nn::Embedding embedding_{nullptr};
  Tensor positions_;
  torch::nn::TransformerEncoder encoder_{nullptr};
  torch::nn::Linear out_{nullptr};
};

}  // namespace

}  // namespace text_encoders

BRIDGES_PLUGIN(bridges::sdk::component<text_encoders::WordVectorsEncoder>("word_vectors"),
               bridges::sdk::component<text_encoders::TextBow>("text_bow"),
               bridges::sdk::component<text_encoders::TextCnn>("text_cnn"),
               bridges::sdk::component<text_encoders::TextTransformer>("text_transformer"))
