#include "bridges/tensor.hpp"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace bridges {

namespace {
// NumPy's spelling, which is what users see in .npy files and docs.
std::string dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    default: return c10::toString(type);
  }
}
}  // namespace

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("{} [{}]", dtype_name(t.scalar_type()), fmt::join(t.sizes(), ", "));
}

int set_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

}  // namespace bridges
