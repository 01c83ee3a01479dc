// Similarity::project: the checks every similarity gets, plugins included,
// around the virtual compute().
#include "bridges/similarity.hpp"

#include <ATen/ops/abs.h>
#include <ATen/ops/max.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

std::shared_ptr<const Similarity> Similarity::prepare(const Tensor&) const { return nullptr; }

Tensor Similarity::project(const Tensor& x, const Tensor& anchors) const {
  const auto where = [&] { return fmt::format("similarity/{}", type()); };
  if (!x.defined() || x.dim() != 2)
    throw ShapeError(fmt::format("{}: x must be [n, d], found {}. Reshape the latents to one row per sample.",
                                 where(), describe(x)));
  if (!anchors.defined() || anchors.dim() != 2 || anchors.size(0) < 1)
    throw ShapeError(fmt::format("{}: anchors must be [k, d] with k >= 1, found {}.", where(), describe(anchors)));
  if (x.scalar_type() != anchors.scalar_type() ||
      (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble))
    throw ShapeError(fmt::format("{}: x and anchors must both be float32 or both float64, found x {} and anchors {}.",
                                 where(), describe(x), describe(anchors)));
  if (x.size(1) != anchors.size(1))
    throw ShapeError(fmt::format("{}: x and anchors must have the same dimension d, found x {} and anchors {}. "
                                 "Anchors must come from the same latent space as x.",
                                 where(), describe(x), describe(anchors)));
  // Kernels do not propagate NaN reliably (a max ignores it, a clamp turns
  // it into 0), so a bad input would give a plausible number: refuse it.
  const char* fix =
      "Relative representations of non-finite values are undefined: find where they come from (a diverged encoder, "
      "a missing value in the file) and fix or drop those rows.";
  require_finite(x, where() + ": x", fix);
  require_finite(anchors, where() + ": anchors", fix);
  const std::shared_ptr<const Similarity> prepared = prepare(anchors);
  Tensor r = (prepared ? *prepared : *this).compute(x, anchors);
  if (!r.defined() || r.dim() != 2 || r.size(0) != x.size(0) || r.size(1) != anchors.size(0) ||
      r.scalar_type() != x.scalar_type())
    throw ShapeError(fmt::format("{}: the implementation returned {}, expected [{}, {}] of x's dtype. "
                                 "This is a bug in the plugin.",
                                 where(), describe(r), x.size(0), anchors.size(0)));
  if (const auto bad = find_nonfinite(r)) {
    const double largest = std::max(x.numel() ? x.abs().max().item<double>() : 0.0, anchors.abs().max().item<double>());
    throw NonFiniteError(fmt::format(
        "{}: the result is {} at row {}, anchor {} although x and anchors are finite. Their largest magnitude is {:g}: "
        "{} Scale the latents (and anchors) down, e.g. divide both by their largest value, or use float64.",
        where(), std::isnan(bad->value) ? "NaN" : "infinite", bad->row, bad->column, largest,
        largest > 1e15 ? "values this large overflow float32 arithmetic." : "if the similarity is a plugin, this is a "
                                                                           "bug in it."));
  }
  return r;
}

}  // namespace bridges
