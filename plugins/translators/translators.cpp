// The built-in translators of latent-space translation: orthogonal
// (Procrustes), linear and affine least squares. Each fit ends in one affine
// map y = x W + b (the normalisations folded in), so translating n latents
// is one GEMM whatever the translator.
//
// Degenerate anchors never give an arbitrary map: directions the anchors
// leave empty (fewer anchors than dimensions, a constant or duplicated
// dimension) map to zero, the minimum-norm answer of least squares
// (numpy.linalg.lstsq) and its Procrustes counterpart; anchors that span
// nothing at all (one distinct anchor) are refused.
#include <ATen/ATen.h>
#include <bridges/sdk/plugin.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace {

using bridges::Tensor;
using nlohmann::json;

[[noreturn]] void no_span(const std::string& who, int64_t k) {
  throw bridges::ConfigError(fmt::format(
      "{}: the source anchors span no direction ({} anchors, all equal{}): the map is undetermined. Give at least "
      "2 distinct anchors, and more anchors than the latent dimension for a map determined everywhere.",
      who, k, k == 1 ? " as there is one" : " after centring"));
}

// The map every translator ends in: y = x W + b, W [d1, d2] and b [1, d2]
// in float64, cast to x's dtype when used.
class AffineMap {
 public:
  void set(Tensor weight, Tensor bias) {
    weight_ = std::move(weight);
    bias_ = std::move(bias);
  }
  Tensor apply(const Tensor& x) const {
    return at::addmm(bias_.to(x.scalar_type()), x, weight_.to(x.scalar_type()));
  }

 private:
  Tensor weight_, bias_;
};

// The eigenpairs of a symmetric positive semi-definite matrix above the
// rank tolerance (largest x size x epsilon), largest first. The translators
// work through the d x d Gram matrices rather than SVDs of the data: the
// same answers in O(k d^2) GEMM time (LAPACK's SVD of a 768 x 768 float64
// matrix took 0.16 s here, its eigh 0.065 s; measured 2026-12-06 on a quiet
// machine: an earlier 3.6 s against 0.35 s was taken under load).
std::pair<Tensor, Tensor> eigen_above_tolerance(const Tensor& symmetric) {
  const auto [values, vectors] = at::linalg_eigh(symmetric);
  const double largest = values.numel() ? values.max().item<double>() : 0.0;
  const Tensor keep = values > largest * static_cast<double>(symmetric.size(0)) * std::numeric_limits<double>::epsilon();
  const Tensor index = keep.nonzero().squeeze(1).flip(0);
  return {values.index_select(0, index), vectors.index_select(1, index)};
}

// Least squares W = argmin |S W - T|^2 + lambda |W|^2 on already centred
// (or raw) anchors, minimum-norm when lambda = 0 and S is rank deficient:
// W = V diag(1/l) V' S'T over the eigenpairs (l, V) of S'S above the rank
// tolerance, as numpy.linalg.lstsq's answer.
Tensor least_squares(const Tensor& s, const Tensor& t, double lambda, const std::string& who) {
  const Tensor gram = s.t().mm(s), cross = s.t().mm(t);
  if (lambda > 0) return at::linalg_solve(gram + lambda * at::eye(s.size(1), s.options()), cross);
  const auto [values, vectors] = eigen_above_tolerance(gram);
  if (values.numel() == 0) no_span(who, s.size(0));
  return vectors.mm(vectors.t().mm(cross) / values.unsqueeze(1));
}

struct LeastSquaresOptions {
  double lambda;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LeastSquaresOptions, lambda)

class Linear final : public bridges::sdk::WithOptions<bridges::Translator, LeastSquaresOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "linear"; }

 protected:
  void do_fit(const Tensor& source, const Tensor& target) override {
    map_.set(least_squares(source, target, options_.lambda, "translator/linear"),
             at::zeros({1, target.size(1)}, target.options()));
  }
  Tensor do_translate(const Tensor& x) const override { return map_.apply(x); }

 private:
  AffineMap map_;
};

class Affine final : public bridges::sdk::WithOptions<bridges::Translator, LeastSquaresOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "affine"; }

 protected:
  // The bias is not penalised: centre both sides, solve, and put the means back.
  void do_fit(const Tensor& source, const Tensor& target) override {
    const Tensor ms = source.mean(0, true), mt = target.mean(0, true);
    const Tensor w = least_squares(source - ms, target - mt, options_.lambda, "translator/affine");
    map_.set(w, mt - ms.mm(w));
  }
  Tensor do_translate(const Tensor& x) const override { return map_.apply(x); }

 private:
  AffineMap map_;
};

struct OrthogonalOptions {
  bool center;
  std::string scaling;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OrthogonalOptions, center, scaling)

// Orthogonal Procrustes between the two sides, each centred and scaled by
// its own anchors' statistics; the narrower side is padded with zero
// dimensions. R = U V^T from the SVD of S^T T maximises trace(R^T S^T T)
// over orthogonal R.
class Orthogonal final : public bridges::sdk::WithOptions<bridges::Translator, OrthogonalOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "orthogonal"; }

 protected:
  void do_fit(const Tensor& source, const Tensor& target) override {
    const auto [ms, ss] = statistics(source);
    const auto [mt, st] = statistics(target);
    const Tensor s = (source - ms) / ss, t = (target - mt) / st;
    // Padding both sides to max(d1, d2) and keeping R's top-left [d1, d2]
    // block is the same as the polar factor of the [d1, d2] cross-covariance
    // M = S'T (the padded rows and columns of S'T are zero): R = U V' from
    // M = U s V', computed as M V s^-1 V' with (s^2, V) the eigenpairs of
    // M'M. Directions with a zero singular value are left out (mapped to
    // zero), not rotated arbitrarily.
    const Tensor m = s.t().mm(t);
    const auto [values, vectors] = eigen_above_tolerance(m.t().mm(m));
    if (values.numel() == 0) no_span("translator/orthogonal", source.size(0));
    const Tensor r = m.mm(vectors / values.sqrt().unsqueeze(0)).mm(vectors.t());  // [d1, d2]
    // y = ((x - ms) / ss) R * st + mt = x W + b
    const Tensor w = (r / ss.t()) * st;
    map_.set(w, mt - ms.mm(w));
  }
  Tensor do_translate(const Tensor& x) const override { return map_.apply(x); }

 private:
  // Mean [1, d] (zero without centring) and scale ([1, d] per dimension, or
  // [1, 1] isotropic) of one side's anchors.
  std::pair<Tensor, Tensor> statistics(const Tensor& a) const {
    const Tensor mean = options_.center ? a.mean(0, true) : at::zeros({1, a.size(1)}, a.options());
    const Tensor c = a - mean;
    if (options_.scaling == "isotropic") {
      // The root mean square norm of a centred anchor; 1 for anchors that are all equal.
      const double rms = c.square().sum(1).mean().sqrt().item<double>();
      return {mean, at::full({1, 1}, rms > 0 ? rms : 1.0, a.options())};
    }
    if (options_.scaling == "standard") {
      // Per dimension; a constant dimension keeps scale 1 (it is 0 once centred).
      Tensor std = c.square().mean(0, true).sqrt();
      return {mean, at::where(std > 0, std, at::ones_like(std))};
    }
    return {mean, at::ones({1, 1}, a.options())};
  }

  AffineMap map_;
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<Orthogonal>("orthogonal"), bridges::sdk::component<Linear>("linear"),
               bridges::sdk::component<Affine>("affine"))
