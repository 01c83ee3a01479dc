#pragma once
// Decoders on relative (product) spaces, and the scores of zero-shot
// stitching. An aggregator merges the subspaces; a decoder on top is trained
// on one encoder's relative space and reused, untouched, on another's.

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

// Declared only: the decoders hold one by pointer, and its header pulls in
// torch::nn (about 10 s per file). Include bridges/aggregator.hpp to make one.
class Aggregator;

/// Training of a relative decoder (and of the aggregator's parameters).
///
/// Two regimes. patience = 0: exactly `epochs` passes over every training
/// example. patience > 0 (early stopping, as the method trains): a
/// `val_fraction` of the training examples is held out (stratified by label
/// for classifiers; the same rows for every decoder of a training set, so
/// decoders are compared on one validation set), training stops once the
/// validation loss has not improved for `patience` epochs or after
/// `max_epochs`, and the weights of the best epoch are restored.
struct BRIDGES_API DecoderOptions {
  int64_t hidden = 256;     ///< width of the hidden layer
  int64_t epochs = 5;       ///< without early stopping
  int64_t batch_size = 256;
  double lr = 1e-3;         ///< Adam
  uint64_t seed = 0;        ///< initial weights and batch order
  int64_t patience = 0;     ///< epochs without a better validation loss before stopping; 0: no early stopping
  int64_t max_epochs = 100; ///< the cap under early stopping
  double val_fraction = 0.1;  ///< held out for validation under early stopping, in (0, 1)

  /// From {"hidden": 256, "epochs": 5, "batch_size": 256, "lr": 0.001,
  /// "patience": 0, "max_epochs": 100, "val_fraction": 0.1} (missing keys
  /// keep their defaults; "seed" is set by the caller).
  static DecoderOptions from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  /// How many of n training examples are held out for validation: 0
  /// without early stopping, else round(val_fraction * n).
  int64_t validation_size(int64_t n) const;
};

/// How a training went.
struct BRIDGES_API FitReport {
  int64_t epochs = 0;       ///< epochs trained
  int64_t best_epoch = 0;   ///< the epoch whose weights were kept (1-based; = epochs without early stopping)
  double val_loss = 0;      ///< validation loss of the kept weights (NaN without early stopping)
};

/// accuracy and macro-averaged F1 of predicted [n] against labels [n]
/// (int64) over `classes` classes; a class absent from both counts F1 = 0
/// only if it appears in either (classes seen in neither are skipped).
struct BRIDGES_API Scores {
  double accuracy = 0;
  double macro_f1 = 0;
};
BRIDGES_API Scores classification_scores(const Tensor& predicted, const Tensor& labels, int64_t classes);

/// aggregator -> LayerNorm -> Linear(hidden) -> Tanh -> Linear(classes),
/// the relative decoder for classification. Without an aggregator its
/// input is a single subspace (e.g. absolute latents, for the baseline).
///
/// Example:
///   bridges::RelativeClassifier model(agg, 4, 1280, 10, options);
///   model.fit(source_train_spaces, labels);              // on encoder i
///   Tensor predicted = model.predict(target_test_spaces);  // encoder j, zero-shot
class BRIDGES_API RelativeClassifier {
 public:
  RelativeClassifier(std::shared_ptr<Aggregator> aggregator, int64_t num_subspaces, int64_t k, int64_t classes,
                     DecoderOptions options);
  ~RelativeClassifier();

  /// Trains decoder and aggregator on subspaces (each [n, k]) and labels [n].
  /// `label` names the run in progress output.
  FitReport fit(const std::vector<Tensor>& subspaces, const Tensor& labels, const std::string& label = "decoder");
  /// [n, classes], in evaluation mode, without gradients.
  Tensor logits(const std::vector<Tensor>& subspaces);
  /// [n] int64.
  Tensor predict(const std::vector<Tensor>& subspaces);

  /// Trains only "qkv" (the aggregator's attention projections q, k, v) or
  /// "head" (the whole classification head after the aggregator: LayerNorm,
  /// Linear(hidden), Linear(classes); the method's "MLP opt") for `steps`
  /// Adam steps of batch size options.batch_size on the given examples, and
  /// returns how many parameters (scalars) it trained. Throws ConfigError
  /// for "qkv" when the aggregator has no q, k, v.
  int64_t finetune(const std::string& params, int64_t steps, double lr, const std::vector<Tensor>& subspaces,
                const Tensor& labels, uint64_t seed);

  /// Copies every parameter and buffer of `trained`, a classifier built with
  /// the same aggregator type and sizes (e.g. to fine-tune one trained
  /// decoder towards several targets without training it again). Throws
  /// ShapeError when the two differ.
  void copy_weights(const RelativeClassifier& trained);

  /// The mean attention weight each subspace receives over these examples,
  /// [s], summing to 1; undefined when the aggregator does not attend.
  Tensor mean_attention(const std::vector<Tensor>& subspaces);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// aggregator -> LayerNorm -> Linear(hidden) -> ReLU -> Linear(c * h * w):
/// reconstructs images [n, c, h, w] from a relative space.
class BRIDGES_API RelativeReconstructor {
 public:
  RelativeReconstructor(std::shared_ptr<Aggregator> aggregator, int64_t num_subspaces, int64_t k,
                        std::vector<int64_t> image_shape, DecoderOptions options);
  ~RelativeReconstructor();

  FitReport fit(const std::vector<Tensor>& subspaces, const Tensor& images, const std::string& label = "decoder");
  /// [n, c, h, w].
  Tensor reconstruct(const std::vector<Tensor>& subspaces);
  /// Mean squared error per pixel against `images`.
  double mse(const std::vector<Tensor>& subspaces, const Tensor& images);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bridges
