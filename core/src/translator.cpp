// Translator::fit and translate: the checks every translator gets, plugins
// included, around the virtual do_fit() and do_translate().
#include "bridges/translator.hpp"

#include <fmt/format.h>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

namespace {

constexpr std::string_view kFix =
    "A map between latent spaces is undefined at non-finite values: find where they come from (a diverged "
    "encoder, a missing value in the file) and fix or drop those rows.";

bool floating(const Tensor& t) { return t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble; }

}  // namespace

void Translator::fit(const Tensor& source, const Tensor& target) {
  const std::string where = fmt::format("translator/{}", type());
  source_dim_ = target_dim_ = 0;  // a failed fit leaves the translator unfitted, not fitted to the last anchors
  for (const auto& [t, name] : {std::pair{&source, "source anchors"}, std::pair{&target, "target anchors"}})
    if (!t->defined() || t->dim() != 2 || t->size(0) < 1 || t->size(1) < 1 || !floating(*t))
      throw ShapeError(fmt::format("{}: {} must be [k, d] float32 or float64 with k, d >= 1, found {}.", where, name,
                                   describe(*t)));
  if (source.size(0) != target.size(0))
    throw ShapeError(fmt::format("{}: source anchors {} and target anchors {} must have the same number of rows: "
                                 "row i of both is the same anchor sample, encoded by each model.",
                                 where, describe(source), describe(target)));
  require_finite(source, where + ": source anchors", kFix);
  require_finite(target, where + ": target anchors", kFix);
  do_fit(source.to(at::kDouble).contiguous(), target.to(at::kDouble).contiguous());
  source_dim_ = source.size(1);
  target_dim_ = target.size(1);
}

Tensor Translator::translate(const Tensor& x) const {
  const std::string where = fmt::format("translator/{}", type());
  if (!fitted())
    throw ConfigError(fmt::format("{}: translate() was called before fit(); fit it on paired anchors first.", where));
  if (!x.defined() || x.dim() != 2 || !floating(x) || x.size(1) != source_dim_)
    throw ShapeError(fmt::format("{}: x must be [n, {}] float32 or float64 (the source anchors' dimension), found "
                                 "{}. x must come from the same latent space as the source anchors.",
                                 where, source_dim_, describe(x)));
  require_finite(x, where + ": x", kFix);
  Tensor y = do_translate(x);
  if (!y.defined() || y.dim() != 2 || y.size(0) != x.size(0) || y.size(1) != target_dim_ ||
      y.scalar_type() != x.scalar_type())
    throw ShapeError(fmt::format("{}: the implementation returned {}, expected [{}, {}] of x's dtype. This is a bug "
                                 "in the plugin.",
                                 where, describe(y), x.size(0), target_dim_));
  require_finite(y, where + ": the translation",
                 "x is finite, so the map overflowed: scale the latents down or use float64; if the translator is a "
                 "plugin, this may be a bug in it.");
  return y;
}

}  // namespace bridges
