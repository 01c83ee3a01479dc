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

/// Like at::empty, but a tensor of 4 MiB or more is backed by memory aligned
/// to 2 MiB and marked for transparent huge pages. Touching fresh memory
/// costs a page fault per page; measured in this project's VM, first writes
/// to a 51 MB result took ~150 ms with 4 KiB pages and ~6 ms with 2 MiB ones.
/// Used for every large result bridges computes.
BRIDGES_API Tensor empty_large(at::IntArrayRef sizes, at::TensorOptions options);

/// Sets LibTorch's intra-op threads; `threads <= 0` means every core of the
/// machine. LibTorch may start with one thread: every program calls this.
/// Returns the number of threads now in use.
BRIDGES_API int set_threads(int threads);

}  // namespace bridges
