// Zero-shot stitching on synthetic spaces related by known transformations.
#include <ATen/ops/cross_entropy_loss.h>
#include <torch/optim/adam.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/isfinite.h>

#include <cmath>
#include <limits>

#include "bridges/relative/kernels.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/aggregator.hpp"
#include "bridges/experiments/adam.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/experiments/stitching_matrix.hpp"
#include "bridges/translator.hpp"
#include "bridges/util/subsets.hpp"
#include "stitching_support.hpp"

using namespace bridges;
using nlohmann::json;

namespace {

struct Experiment {
  double end_to_end, stitched;
};

// A decoder trained on space A's relative representation (similarity
// `similarity`, anchors = the first 64 samples) is evaluated on A (end to
// end) and on B = transform(A) (zero-shot). "absolute" trains on the raw latents.
Experiment stitch(const std::string& similarity, const std::function<Tensor(const Tensor&)>& transform,
                  bool angular = false) {
  const auto data = [&](int64_t n) { return angular ? stitching::sectors(n, 16, 8, 1) : stitching::clusters(n, 16, 4, 1); };
  const int64_t classes = angular ? 8 : 4;
  const auto train = data(1600), test = data(800);
  const Tensor test_x = test.x + testing::randn({800, 16}, 9) * (angular ? 0.02 : 0.5);  // other noise than training
  const auto represent = [&](const Tensor& space_anchors, const Tensor& x) -> std::vector<Tensor> {
    if (similarity == "absolute") return {x};
    auto sim = stitching::registry().make<Similarity>(similarity);
    return RelativeProjector(space_anchors, {sim}).project(x);
  };
  const Tensor anchors_a = train.x.narrow(0, 0, 64), anchors_b = transform(anchors_a);
  DecoderOptions options;
  options.epochs = 8;
  options.batch_size = 64;
  const int64_t width = similarity == "absolute" ? 16 : 64;
  RelativeClassifier model(similarity == "absolute" ? nullptr : stitching::registry().make<Aggregator>("sum"), 1, width, classes, options);
  model.fit(represent(anchors_a, train.x), train.labels);
  const double own = classification_scores(model.predict(represent(anchors_a, test_x)), test.labels, classes).accuracy;
  const double other = classification_scores(model.predict(represent(anchors_b, transform(test_x))), test.labels, classes).accuracy;
  return {own, other};
}

}  // namespace

TEST_CASE("an orthogonal map: cosine stitching reaches the end-to-end score, absolute stitching does not") {
  const Tensor q = stitching::orthogonal(16, 3);
  const auto rotate = [&](const Tensor& x) { return x.mm(q) * 2.0; };  // rotation and rescaling
  const Experiment cosine = stitch("cosine", rotate), absolute = stitch("absolute", rotate);
  CHECK(cosine.end_to_end > 0.9);
  CHECK(cosine.stitched > cosine.end_to_end - 0.01);
  CHECK(absolute.end_to_end > 0.9);
  CHECK(absolute.stitched < 0.6);  // chance is 0.25
}

TEST_CASE("a translation: L1 and Euclidean stitching reach the end-to-end score, cosine does not") {
  // Classes told apart by angle only (stitching::sectors). Measured: cosine
  // stitched 0.67 / 0.68 / 0.75 / 0.79 / 0.83 / 0.84 after translations of
  // scale 0.5 / 1 / 2 / 3 / 6 / 20 (end to end 0.996), L1 and Euclidean
  // unchanged at every scale. Far translations partly recover: the decoder's
  // row normalisation turns cos(x + b, a + b) ~ 1 - |(x - a) perp b|^2 / 2|b|^2
  // into a distance.
  const Tensor shift = testing::randn({1, 16}, 4);
  const auto translate = [&](const Tensor& x) { return x + shift; };
  for (const char* name : {"l1", "euclidean"}) {
    CAPTURE(name);
    const Experiment e = stitch(name, translate, /*angular=*/true);
    CHECK(e.end_to_end > 0.95);
    CHECK(e.stitched > e.end_to_end - 0.01);
  }
  const Experiment cosine = stitch("cosine", translate, /*angular=*/true);
  CHECK(cosine.end_to_end > 0.95);
  CHECK(cosine.stitched < cosine.end_to_end - 0.15);
}

TEST_CASE("latent-space translation: a map fitted on anchors lets the target's own decoder read the source") {
  // B = 2.5 A Q + b. A decoder trained on B's raw latents reads A's test
  // latents translated into B by Procrustes fitted on 64 anchors: the same
  // accuracy as on B's own (the map is recovered), and far above reading A raw.
  const auto train = stitching::clusters(1600, 16, 4, 1), test = stitching::clusters(800, 16, 4, 1);
  const Tensor test_x = test.x + testing::randn({800, 16}, 9) * 0.5;
  const Tensor q = stitching::orthogonal(16, 3), shift = testing::randn({1, 16}, 5) * 4;
  const auto to_b = [&](const Tensor& x) { return x.mm(q) * 2.5 + shift; };
  DecoderOptions options;
  options.epochs = 8;
  options.batch_size = 64;
  RelativeClassifier decoder_b(nullptr, 1, 16, 4, options);
  decoder_b.fit({to_b(train.x)}, train.labels);
  const auto accuracy = [&](const Tensor& x) { return classification_scores(decoder_b.predict({x}), test.labels, 4).accuracy; };
  const double end_to_end = accuracy(to_b(test_x));
  const Tensor anchors_a = train.x.narrow(0, 0, 64);
  auto procrustes = stitching::registry().make<Translator>("orthogonal");
  procrustes->fit(anchors_a, to_b(anchors_a));
  CHECK(end_to_end > 0.9);
  CHECK(accuracy(procrustes->translate(test_x)) == doctest::Approx(end_to_end).epsilon(0.002));
  CHECK(accuracy(test_x) < 0.6);  // untranslated; chance is 0.25
}

TEST_CASE("classification scores: accuracy and macro-F1 from a known confusion") {
  // labels 0 0 1 1 2 2, predicted 0 1 1 1 2 0: accuracy 4/6; F1 per class 1/2, 4/5, 2/3.
  const Tensor labels = at::tensor({0, 0, 1, 1, 2, 2}, at::kLong), predicted = at::tensor({0, 1, 1, 1, 2, 0}, at::kLong);
  const Scores s = classification_scores(predicted, labels, 3);
  CHECK(s.accuracy == doctest::Approx(4.0 / 6));
  CHECK(s.macro_f1 == doctest::Approx((1.0 / 2 + 4.0 / 5 + 2.0 / 3) / 3));  // class 0: 2 tp / (2 tp + fp + fn) = 2/4
  CHECK(classification_scores(labels, labels, 5).macro_f1 == doctest::Approx(1.0));  // unseen classes skipped
}

TEST_CASE("a classifier refuses labels that are not class indices in [0, classes)") {
  const auto data = stitching::clusters(100, 8, 4, 2);
  const auto spaces = RelativeProjector(data.x.narrow(0, 0, 16), {stitching::registry().make<Similarity>("cosine")})
                          .project(data.x);
  DecoderOptions options;
  options.epochs = 1;
  RelativeClassifier c(stitching::registry().make<Aggregator>("sum"), 1, 16, 4, options);
  // Float labels were truncated to class 0 and trained on without a word.
  CHECK_THROWS_WITH_ALL(c.fit(spaces, at::rand({100})), ShapeError, "labels must be class indices [n] of an integer type",
                        "float32 [100]");
  CHECK_THROWS_WITH_ALL(c.fit(spaces, at::full({100}, 4, at::kLong)), ShapeError, "labels must lie in [0, 4)",
                        "found 4 to 4");
  CHECK_THROWS_WITH_ALL(c.finetune("head", 1, 0.01, spaces, at::full({100}, -1, at::kLong), 0), ShapeError,
                        "finetune: labels must lie in [0, 4)");
  CHECK(c.fit(spaces, data.labels.to(at::kInt)).epochs == 1);  // any integer type
}

TEST_CASE("FusedAdam takes the steps LibTorch's Adam takes, per parameter, and refuses what it cannot update") {
  // Sizes: one below a vector's width, one split across threads (more than
  // the 32768 elements of a task), one matrix.
  const std::vector<std::vector<int64_t>> shapes{{5}, {3, 40000}, {17, 33}};
  std::vector<Tensor> ours, theirs;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const Tensor start = testing::randn(shapes[i], 10 + i);  // the same again below
    ours.push_back(start.clone().requires_grad_(true));
    theirs.push_back(start.clone().requires_grad_(true));
  }
  const double lr = 0.01;
  FusedAdam fused(ours, lr);
  torch::optim::Adam reference(theirs, torch::optim::AdamOptions(lr));
  for (int step = 0; step < 6; ++step) {
    fused.zero_grad();
    reference.zero_grad();
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      // Parameter 1 has no gradient at step 2: it must not move, and its
      // step count (the bias correction) must not advance.
      if (i == 1 && step == 2) {
        theirs[i].mutable_grad() = Tensor();
        continue;
      }
      const Tensor g = testing::randn(shapes[i], 100 * step + i) * (step + 1);
      ours[i].mutable_grad() = g.clone();
      theirs[i].mutable_grad() = g.clone();
    }
    const Tensor held = ours[1].detach().clone();
    fused.step();
    reference.step();
    if (step == 2) CHECK(at::equal(ours[1].detach(), held));
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      CAPTURE(step);
      CAPTURE(i);
      const Tensor moved = (theirs[i] - ours[i]).detach();
      CHECK(moved.abs().max().item<double>() < 1e-6);  // every step moves a parameter by up to lr
    }
  }
  // Both moved every parameter (six steps of up to lr each), so the
  // agreement above is not two optimisers that did nothing.
  for (std::size_t i = 0; i < shapes.size(); ++i)
    CHECK(testing::max_abs_diff(ours[i].detach(), testing::randn(shapes[i], 10 + i)) > 0.02);
  fused.zero_grad();
  for (const auto& p : ours) CHECK_FALSE(p.grad().defined());
  CHECK_THROWS_WITH_ALL(FusedAdam({at::zeros({3}, at::kDouble).requires_grad_(true)}, lr), ShapeError, "Adam",
                        "contiguous float32", "float64 [3]");
  CHECK_THROWS_WITH_ALL(FusedAdam({at::zeros({4, 3}).t().requires_grad_(true)}, lr), ShapeError, "contiguous float32");
}

TEST_CASE("the same decoder seed gives the same decoder; fine-tuning qkv changes only the attention") {
  const auto data = stitching::clusters(400, 8, 4, 2);
  auto sim = stitching::registry().make<Similarity>("cosine");
  const auto spaces = RelativeProjector(data.x.narrow(0, 0, 16), {sim, stitching::registry().make<Similarity>("l1")}).project(data.x);
  DecoderOptions options;
  options.epochs = 2;
  options.seed = 5;
  const auto agg = [] { return stitching::registry().make<Aggregator>("self_attention", {{"heads", 2}}); };
  RelativeClassifier a(agg(), 2, 16, 4, options), b(agg(), 2, 16, 4, options);
  a.fit(spaces, data.labels);
  b.fit(spaces, data.labels);
  CHECK(at::equal(a.logits(spaces), b.logits(spaces)));
  const Tensor attention = a.mean_attention(spaces);
  REQUIRE(attention.defined());
  CHECK(attention.sizes() == at::IntArrayRef{2});
  CHECK(attention.sum().item<float>() == doctest::Approx(1.0).epsilon(1e-5));
  b.finetune("qkv", 5, 0.01, spaces, data.labels, 1);
  CHECK_FALSE(at::equal(a.logits(spaces), b.logits(spaces)));

  // copy_weights: another seed's decoder becomes a, exactly.
  options.seed = 6;
  RelativeClassifier copy(agg(), 2, 16, 4, options);
  CHECK_FALSE(at::equal(copy.logits(spaces), a.logits(spaces)));
  copy.copy_weights(a);
  CHECK(at::equal(copy.logits(spaces), a.logits(spaces)));
  RelativeClassifier other_shape(stitching::registry().make<Aggregator>("mlp_sum"), 2, 16, 4, options);
  CHECK_THROWS_AS(other_shape.copy_weights(a), ShapeError);
  RelativeClassifier plain(stitching::registry().make<Aggregator>("sum"), 2, 16, 4, options);
  CHECK_THROWS_WITH_ALL(plain.finetune("qkv", 1, 0.01, spaces, data.labels, 0), ConfigError, "needs an attention aggregator");
  // "head" trains the whole classification head (the method's "MLP opt"): LayerNorm(16), Linear(16, hidden),
  // Linear(hidden, 4), counted here from the shapes; "qkv" the attention's three Linear(16, 16).
  const int64_t hidden = options.hidden;
  CHECK(plain.finetune("head", 2, 0.01, spaces, data.labels, 0) == 2 * 16 + (16 * hidden + hidden) + (hidden * 4 + 4));
  CHECK_FALSE(plain.mean_attention(spaces).defined());
  RelativeClassifier attending(agg(), 2, 16, 4, options);
  attending.fit(spaces, data.labels);
  const Tensor before = attending.mean_attention(spaces);
  CHECK(attending.finetune("head", 5, 0.01, spaces, data.labels, 0) == 2 * 16 + (16 * hidden + hidden) + (hidden * 4 + 4));
  CHECK(at::equal(attending.mean_attention(spaces), before));  // the head cannot move the attention
  CHECK(attending.finetune("qkv", 5, 0.01, spaces, data.labels, 0) == 3 * (16 * 16 + 16));
  CHECK_FALSE(at::equal(attending.mean_attention(spaces), before));
}

TEST_CASE("a relative reconstructor learns images from a relative space") {
  const auto data = stitching::clusters(300, 12, 3, 6);
  const Tensor images = data.x.narrow(1, 0, 4).reshape({300, 1, 2, 2});  // a toy "image" the latent determines
  const auto spaces = RelativeProjector(data.x.narrow(0, 0, 24), {stitching::registry().make<Similarity>("euclidean")}).project(data.x);
  DecoderOptions options;
  options.epochs = 30;
  options.batch_size = 32;
  RelativeReconstructor model(stitching::registry().make<Aggregator>("sum"), 1, 24, {1, 2, 2}, options);
  model.fit(spaces, images);
  CHECK(model.reconstruct(spaces).sizes() == at::IntArrayRef{300, 1, 2, 2});
  CHECK(model.mse(spaces, images) < 0.5 * (images - images.mean({0}, true)).pow(2).mean().item<double>());
}

TEST_CASE("early stopping stops once the validation loss rises and restores the best epoch's weights") {
  // Random labels: nothing generalises, so the decoder memorises its
  // training rows and the held-out loss rises after the first epochs.
  const int64_t n = 400, classes = 4;
  const Tensor x = testing::randn({n, 32}, 3);
  const Tensor labels = at::arange(n, at::TensorOptions().dtype(at::kLong)).remainder(classes);
  const auto spaces = RelativeProjector(x.narrow(0, 0, 32), {stitching::registry().make<Similarity>("cosine")}).project(x);
  DecoderOptions options;
  options.hidden = 128;
  options.batch_size = 32;
  options.lr = 5e-3;
  options.patience = 3;
  options.max_epochs = 60;
  options.val_fraction = 0.25;
  RelativeClassifier model(stitching::registry().make<Aggregator>("sum"), 1, 32, classes, options);
  const FitReport report = model.fit(spaces, labels);
  CHECK(report.epochs < options.max_epochs);                        // it stopped early ...
  CHECK(report.epochs == report.best_epoch + options.patience);     // ... patience epochs after its best
  // The held-out rows, as documented: a stratified 25 % drawn with seed 0.
  const Tensor val = std::get<0>(stratified_subset(labels, 100, 0).sort());
  const Tensor val_loss = at::cross_entropy_loss(model.logits({spaces[0].index_select(0, val)}), labels.index_select(0, val));
  CHECK(val_loss.item<double>() == doctest::Approx(report.val_loss).epsilon(1e-5));  // the best epoch's weights are back

  // Without patience: exactly `epochs` epochs on every example, as before.
  DecoderOptions fixed = options;
  fixed.patience = 0;
  fixed.epochs = 2;
  RelativeClassifier plain(stitching::registry().make<Aggregator>("sum"), 1, 32, classes, fixed);
  const FitReport two = plain.fit(spaces, labels);
  CHECK(two.epochs == 2);
  CHECK(two.best_epoch == 2);
  // A fraction that leaves no validation example is refused by name.
  options.val_fraction = 0.001;
  RelativeClassifier tiny(stitching::registry().make<Aggregator>("sum"), 1, 32, classes, options);
  CHECK_THROWS_WITH_ALL(tiny.fit(spaces, labels), ConfigError, "val_fraction 0.001 of 400 training examples");
}

TEST_CASE("StitchingMatrix: the index, the summaries and the pair groups of a known matrix") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // [seed][trained on][evaluated on]; seed 1 never evaluated a-0's decoder on b-0.
  const ScoreCube accuracy{{{0.9, 0.8, 0.5}, {0.7, 0.8, 0.4}, {0.3, 0.6, 0.6}},
                           {{1.0, 0.6, nan}, {0.9, 0.9, 0.45}, {0.5, 0.4, 0.5}}};
  const StitchingMatrix m({"a-0", "a-1", "b-0"}, accuracy);
  const ScoreCube index = m.index();
  CHECK(index[0][0][1] == doctest::Approx(1.0));
  CHECK(index[0][0][2] == doctest::Approx(0.5 / 0.6));
  CHECK(index[1][2][0] == doctest::Approx(0.5 / 1.0));
  CHECK(std::isnan(index[1][0][2]));
  // Per seed, then over the seeds: diagonal (0.9 + 0.8 + 0.6) / 3 and (1.0 + 0.9 + 0.5) / 3.
  CHECK(m.end_to_end().mean == doctest::Approx((2.3 / 3 + 2.4 / 3) / 2));
  CHECK(m.end_to_end().std == doctest::Approx(std::abs(2.3 / 3 - 2.4 / 3) / std::sqrt(2.0)));
  CHECK(m.end_to_end().count == 2);
  CHECK(m.stitched().mean == doctest::Approx((3.3 / 6 + 2.85 / 5) / 2));  // the NaN is skipped, not a zero
  const std::vector<double> pairs = m.pair_means();
  REQUIRE(pairs.size() == 6);
  CHECK(pairs[0] == doctest::Approx(0.7));   // (a-0, a-1)
  CHECK(pairs[1] == doctest::Approx(0.5));   // (a-0, b-0): seed 0 only
  CHECK(pairs[3] == doctest::Approx(0.425)); // (a-1, b-0)

  const auto groups = m.pair_groups({"a", "a", "b"});
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].name == "a (across seeds)");
  CHECK(groups[0].pairs.size() == 2);
  CHECK(groups[0].stitched.mean == doctest::Approx(0.75));
  CHECK(groups[0].stitched.std == doctest::Approx(0.0));
  CHECK(groups[0].index.mean == doctest::Approx(((1.0 + 0.7 / 0.9) / 2 + (0.6 / 0.9 + 0.9) / 2) / 2));
  CHECK(groups[1].name == "a ↔ b");
  CHECK(groups[1].pairs.size() == 4);
  CHECK(groups[1].stitched.mean == doctest::Approx(0.45));
  CHECK(m.pair_groups({"a", "a", "a"}).empty());  // one group: nothing to tell apart

  CHECK_THROWS_WITH_ALL(m.pair_groups({"a", "b"}), ShapeError, "2 groups given for 3 encoders");
  CHECK_THROWS_WITH_ALL(StitchingMatrix({"a", "b"}, accuracy), ShapeError, "seed 0 has 3 rows for 2 encoders");
  CHECK_THROWS_WITH_ALL(StitchingMatrix({"a"}, ScoreCube{{{1.2}}}), ConfigError, "accuracy 1.2 is not in [0, 1]");
  CHECK_THROWS_WITH_ALL(StitchingMatrix({"a"}, ScoreCube{}), ShapeError, "at least one encoder and one decoder seed");
}

TEST_CASE("stitch() trains one decoder per encoder and seed, as a host program would, and scores every pair") {
  const auto all = stitching::clusters(1200, 16, 4, 1);  // the first 800 to train, the rest to test
  const stitching::Clusters train{all.x.narrow(0, 0, 800), all.labels.narrow(0, 0, 800)},
      test{all.x.narrow(0, 800, 400), all.labels.narrow(0, 800, 400)};
  const Tensor q = stitching::orthogonal(16, 3);
  auto cosine = stitching::registry().make<Similarity>("cosine");
  const Tensor anchors = train.x.narrow(0, 0, 32);
  // Two encoders related by a rotation: their cosine spaces are the same.
  std::vector<RelativeSpaces> encoders;
  for (const auto& [name, map] : std::vector<std::pair<std::string, Tensor>>{{"plain", at::eye(16)}, {"rotated", q}}) {
    const RelativeProjector projector(anchors.mm(map), {cosine});
    encoders.push_back({name, projector.project(train.x.mm(map)), projector.project(test.x.mm(map))});
  }
  DecoderOptions options;
  options.epochs = 4;
  options.batch_size = 64;
  const auto sum = [] { return stitching::registry().make<Aggregator>("sum"); };
  const StitchingMatrix m = stitch(encoders, train.labels, test.labels, 4, sum, options, {0, 1});
  CHECK(m.encoders() == std::vector<std::string>{"plain", "rotated"});
  REQUIRE(m.seeds() == 2);
  CHECK(m.end_to_end().mean > 0.9);
  CHECK(m.stitching_index().mean > 0.99);
  // Entry [1][1][0] is the decoder of seed 1 trained on "rotated", scored on "plain": the same decoder made by hand.
  options.seed = 1;
  RelativeClassifier by_hand(sum(), 1, 32, 4, options);
  by_hand.fit(encoders[1].train, train.labels);
  CHECK(m.accuracy()[1][1][0] == classification_scores(by_hand.predict(encoders[0].test), test.labels, 4).accuracy);
  // Spaces of another shape are named.
  std::vector<RelativeSpaces> wrong = encoders;
  wrong[1].test[0] = wrong[1].test[0].narrow(1, 0, 16);
  CHECK_THROWS_WITH_ALL(stitch(wrong, train.labels, test.labels, 4, sum, options, {0}), ShapeError,
                        "encoder rotated, test subspace 0", "like encoder plain's");
}
