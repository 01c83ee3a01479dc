// Embeds bridges in a program: two "models" whose latent spaces differ by a
// rotation and a rescaling (as two training runs of one network may), the
// same anchor samples in both, and the relative representations compared.
// Cosine is invariant to that transformation, so the two relative spaces
// agree although the absolute ones do not; L1 is not, so its spaces differ.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/linalg_qr.h>
#include <ATen/ops/randn.h>

#include <cstdio>

#include <bridges/bridges.hpp>
#include <bridges/registry/registry.hpp>

int main() {
  bridges::set_threads(0);
  bridges::Registry registry;  // BRIDGES_PLUGIN_PATH, then the installed plugins
  auto cosine = registry.make<bridges::Similarity>("cosine");
  auto l1 = registry.make<bridges::Similarity>("l1");

  // Model A's latents, and model B's: the same samples, rotated and scaled.
  at::Generator gen = at::detail::createCPUGenerator(7);
  const bridges::Tensor a = at::randn({2000, 64}, gen);
  const bridges::Tensor rotation = std::get<0>(at::linalg_qr(at::randn({64, 64}, gen)));
  const bridges::Tensor b = a.mm(rotation) * 3.0;

  // The same anchor samples in both spaces, chosen in A.
  const bridges::Tensor anchors = bridges::farthest_point_anchors(a, 100, /*seed=*/0);
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
  // Exit status for scripts: cosine must agree, L1 must not.
  return gap(ra[0], rb[0]) < 1e-4 && gap(ra[1], rb[1]) > 1e-2 ? 0 : 1;
}
