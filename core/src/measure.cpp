// Measure::compare: the checks every measure gets, plugins included, around
// the virtual prepare and compute.
#include "bridges/measure.hpp"

#include <fmt/format.h>

#include <cmath>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

Tensor Measure::prepare(const Tensor& x) const {
  const std::string where = fmt::format("measure/{}", type());
  if (!x.defined() || x.dim() != 2 || x.size(0) < 1 || (x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble))
    throw ShapeError(fmt::format("{}: a representation must be [n, d] float32 or float64 with n >= 1, found {}. "
                                 "Reshape it to one row per sample.",
                                 where, describe(x)));
  require_finite(x, where, "Similarity measures of non-finite values are undefined: fix or drop those rows.");
  return do_prepare(x);
}

double Measure::compare_prepared(const Tensor& a, const Tensor& b) const {
  if (a.defined() && b.defined() && a.dim() >= 1 && b.dim() >= 1 && a.size(0) != b.size(0))
    throw ShapeError(fmt::format("measure/{}: the two representations have {} and {} rows: both must hold the same "
                                 "samples, row by row.",
                                 type(), a.size(0), b.size(0)));
  const double value = compute(a, b);
  if (!std::isfinite(value))
    throw UndefinedMeasureError(fmt::format("measure/{}: the result is {} although both inputs are finite; if the "
                                            "measure is a plugin, it should have said why it is undefined here.",
                                            type(), std::isnan(value) ? "NaN" : "infinite"));
  return value;
}

double Measure::compare(const Tensor& a, const Tensor& b) const {
  if (a.defined() && b.defined() && a.dim() == 2 && b.dim() == 2 && a.size(0) != b.size(0))
    throw ShapeError(fmt::format("measure/{}: a {} and b {} must hold the same samples, row by row (found {} and {} "
                                 "rows).",
                                 type(), describe(a), describe(b), a.size(0), b.size(0)));
  return compare_prepared(prepare(a), prepare(b));
}

}  // namespace bridges
