// Embeds bridges in a program, with no CLI and no JSON file: two "models"
// whose latent spaces differ by a rotation and a rescaling (as two training
// runs of one network may), the same anchor samples in both, relative
// representations, and a zero-shot stitching evaluation: a decoder trained
// on model A's relative space classifies model B's latents untouched; and
// the baseline that estimates the map between the spaces instead.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/linalg_qr.h>
#include <ATen/ops/randn.h>

#include <cstdio>

#include <bridges/bridges.hpp>
#include <bridges/registry/registry.hpp>
#include <bridges/relative/relative.hpp>
#include <bridges/aggregator.hpp>
#include <bridges/experiments/stitching.hpp>

int main() {
  bridges::set_threads(0);
  bridges::keep_freed_memory();
  bridges::Registry registry;  // BRIDGES_PLUGIN_PATH, then the installed plugins
  auto cosine = registry.make<bridges::Similarity>("cosine");
  auto l1 = registry.make<bridges::Similarity>("l1");

  // Model A's latents: 8 classes as clusters in 32 dimensions. Model B: the
  // same samples, rotated and scaled.
  at::Generator gen = at::detail::createCPUGenerator(7);
  const int64_t n = 4000, d = 32, classes = 8;
  const bridges::Tensor labels = at::arange(n, at::TensorOptions().dtype(at::kLong)).remainder(classes);
  const bridges::Tensor centres = at::randn({classes, d}, gen) * 2;
  const bridges::Tensor a = centres.index_select(0, labels) + at::randn({n, d}, gen);
  const bridges::Tensor rotation = std::get<0>(at::linalg_qr(at::randn({d, d}, gen)));
  const bridges::Tensor b = a.mm(rotation) * 3.0;

  // The same anchor samples in both spaces, chosen in A.
  const bridges::Tensor anchors = bridges::farthest_point_anchors(a, 128, /*seed=*/0);
  bridges::RelativeProjector in_a(a.index_select(0, anchors), {cosine, l1});
  bridges::RelativeProjector in_b(b.index_select(0, anchors), {cosine, l1});
  const auto ra = in_a.project(a), rb = in_b.project(b);
  const auto gap = [](const bridges::Tensor& x, const bridges::Tensor& y) {
    return (x - y).abs().max().item<double>() / y.abs().max().item<double>();
  };
  std::printf("relative gap between the two models (max |difference| / max |value|):\n");
  std::printf("  absolute latents   %.3g\n", gap(a, b));
  std::printf("  cosine relative    %.3g\n", gap(ra[0], rb[0]));
  std::printf("  l1 relative        %.3g\n", gap(ra[1], rb[1]));

  // Zero-shot stitching on the cosine space: train on A's first half,
  // evaluate on the second half of A (end to end) and of B (stitched).
  const auto half = [](const bridges::Tensor& t, int64_t part) { return t.narrow(0, part * t.size(0) / 2, t.size(0) / 2); };
  bridges::DecoderOptions options;
  options.epochs = 5;
  bridges::RelativeClassifier decoder(registry.make<bridges::Aggregator>("sum"), 1, 128, classes, options);
  decoder.fit({half(ra[0], 0)}, half(labels, 0), "decoder on model A");
  const double end_to_end = bridges::classification_scores(decoder.predict({half(ra[0], 1)}), half(labels, 1), classes).accuracy;
  const double stitched = bridges::classification_scores(decoder.predict({half(rb[0], 1)}), half(labels, 1), classes).accuracy;
  std::printf("zero-shot stitching (cosine): end to end %.4f, stitched A -> B %.4f\n", end_to_end, stitched);

  // The other way across: estimate the map B -> A on the anchors (latent-space
  // translation) and let A's decoder on raw latents read B's latents.
  auto procrustes = registry.make<bridges::Translator>("orthogonal");
  procrustes->fit(b.index_select(0, anchors), a.index_select(0, anchors));
  bridges::RelativeClassifier raw(nullptr, 1, d, classes, options);
  raw.fit({half(a, 0)}, half(labels, 0), "decoder on model A's latents");
  const double translated =
      bridges::classification_scores(raw.predict({procrustes->translate(half(b, 1))}), half(labels, 1), classes).accuracy;
  std::printf("latent-space translation (orthogonal): B -> A read by A's decoder %.4f\n", translated);

  // Exit status for scripts: cosine is invariant, L1 is not, and stitching and translation work.
  const bool ok = gap(ra[0], rb[0]) < 1e-4 && gap(ra[1], rb[1]) > 1e-2 && end_to_end > 0.9 &&
                  stitched > end_to_end - 0.01 && translated > end_to_end - 0.01;
  return ok ? 0 : 1;
}
