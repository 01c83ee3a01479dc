#pragma once
// The tensor type of every bridges interface. <ATen/core/Tensor.h> is the
// lightest header that declares it (about 5 s to compile against 12-15 s for
// <torch/types.h>); torch::Tensor is the same type. Arithmetic operators
// (x * 2, a - b) need <ATen/TensorOperators.h>, about 1 s more per file:
// include it where they are used.

#include <ATen/core/Tensor.h>

#include <optional>
#include <string>
#include <string_view>

#include "bridges/export.hpp"

namespace bridges {

using Tensor = at::Tensor;

/// NumPy's spelling of a dtype ("float32", "int64"), which is what users see
/// in .npy files and docs; LibTorch's name for the others.
BRIDGES_API std::string dtype_name(at::ScalarType type);

/// "float32 [3, 4]", or "undefined" for an empty handle: for error messages.
BRIDGES_API std::string describe(const Tensor& t);

/// Where a tensor first holds NaN or an infinity.
struct NonFinite {
  int64_t row = 0;     ///< row of t viewed as [rows, -1] (0 for a 0-d or 1-d tensor's only row)
  int64_t column = 0;  ///< column in that view
  double value = 0;    ///< NaN, inf or -inf
};

/// The first NaN or infinite entry of t in row-major order, or nothing when
/// every entry is finite (integer and bool tensors always are). One pass at
/// memory speed, threaded, with no temporary as large as t: cheap enough to
/// run on every input that comes from outside.
BRIDGES_API std::optional<NonFinite> find_nonfinite(const Tensor& t);

/// Throws NonFiniteError when t holds NaN or an infinity:
/// "{what}: row R, column C is NaN (float32 [n, d]); every value must be
/// finite. {fix}". `what` names the source (a file, a component), `fix`
/// says what to do about it; `row_offset` is added to the row reported (t
/// is a chunk of a larger file).
BRIDGES_API void require_finite(const Tensor& t, std::string_view what, std::string_view fix,
                                int64_t row_offset = 0);

/// The fix `require_finite` suggests for latents read from a file.
inline constexpr std::string_view kFixNonFiniteLatents =
    "Fix or drop those rows where the file is made (NumPy: x = x[np.isfinite(x).all(axis=1)]); relative "
    "representations of NaN or infinity are undefined.";

}  // namespace bridges
