#pragma once
// The tensor type of every bridges interface. <ATen/core/Tensor.h> is the
// lightest header that declares it (about 5 s to compile against 12-15 s for
// <torch/types.h>); torch::Tensor is the same type. Arithmetic operators
// (x * 2, a - b) need <ATen/TensorOperators.h>, about 1 s more per file:
// include it where they are used.

#include <ATen/core/Tensor.h>

#include <string>

#include "bridges/export.hpp"

namespace bridges {

using Tensor = at::Tensor;

/// "float32 [3, 4]", or "undefined" for an empty handle: for error messages.
BRIDGES_API std::string describe(const Tensor& t);

/// Sets LibTorch's intra-op threads; `threads <= 0` means every core of the
/// machine. LibTorch may start with one thread: every program calls this.
/// Returns the number of threads now in use.
BRIDGES_API int set_threads(int threads);

}  // namespace bridges
