#include "bridges/tensor.hpp"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <atomic>

#include "bridges/error.hpp"

namespace bridges {

std::string dtype_name(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    case at::kBool: return "bool";
    case at::kShort: return "int16";
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    case at::kHalf: return "float16";
    default: return c10::toString(type);
  }
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("{}{} [{}]", dtype_name(t.scalar_type()), t.is_sparse() ? " sparse" : "", fmt::join(t.sizes(), ", "));
}

namespace {

// Index of the first non-finite value in p[0, n), or n. Blocks are screened
// with an integer max over the magnitude bits, which the compiler
// vectorises; only a block that holds a bad value is searched exactly.
template <class T, class Bits>
int64_t first_nonfinite_in(const T* p, int64_t n) {
  static_assert(sizeof(T) == sizeof(Bits));
  constexpr Bits kMagnitude = std::numeric_limits<Bits>::max() >> 1;
  constexpr Bits kExponent = static_cast<Bits>(sizeof(T) == 4 ? 0x7f800000ull : 0x7ff0000000000000ull);
  constexpr int64_t kBlock = 4096;
  for (int64_t begin = 0; begin < n; begin += kBlock) {
    const int64_t end = std::min(n, begin + kBlock);
    Bits largest = 0;
    for (int64_t i = begin; i < end; ++i) {
      Bits b;
      std::memcpy(&b, p + i, sizeof b);
      largest = std::max<Bits>(largest, b & kMagnitude);
    }
    if (largest >= kExponent)
      for (int64_t i = begin; i < end; ++i)
        if (!std::isfinite(p[i])) return i;
  }
  return n;
}

template <class T, class Bits>
std::optional<NonFinite> find_nonfinite_as(const Tensor& t) {
  const Tensor c = t.contiguous();
  const T* p = c.data_ptr<T>();
  const int64_t n = c.numel();
  std::atomic<int64_t> first{n};
  at::parallel_for(0, n, int64_t{1} << 16, [&](int64_t begin, int64_t end) {
    if (begin >= first.load()) return;
    const int64_t found = first_nonfinite_in<T, Bits>(p + begin, end - begin);
    if (found == end - begin) return;
    const int64_t i = begin + found;
    for (int64_t seen = first.load(); i < seen && !first.compare_exchange_weak(seen, i);) {
    }
  });
  if (first.load() == n) return std::nullopt;
  const int64_t i = first.load();
  const int64_t columns = c.dim() >= 2 ? c.numel() / std::max<int64_t>(1, c.size(0)) : std::max<int64_t>(1, n);
  return NonFinite{i / columns, i % columns, static_cast<double>(p[i])};
}

}  // namespace

std::optional<NonFinite> find_nonfinite(const Tensor& t) {
  if (!t.defined() || t.numel() == 0) return std::nullopt;
  if (t.is_sparse()) return find_nonfinite(t._values());
  switch (t.scalar_type()) {
    case at::kFloat: return find_nonfinite_as<float, uint32_t>(t);
    case at::kDouble: return find_nonfinite_as<double, uint64_t>(t);
    case at::kHalf:
    case at::kBFloat16: return find_nonfinite_as<float, uint32_t>(t.to(at::kFloat));
    default: return std::nullopt;
  }
}

void require_finite(const Tensor& t, std::string_view what, std::string_view fix, int64_t row_offset) {
  const auto bad = find_nonfinite(t);
  if (!bad) return;
  const std::string where = t.dim() >= 2 ? fmt::format("row {}, column {}", row_offset + bad->row, bad->column)
                                         : fmt::format("entry {}", bad->column);
  throw NonFiniteError(fmt::format("{}: {} is {} ({}); every value must be finite. {}", what, where,
                                   std::isnan(bad->value) ? "NaN" : (bad->value > 0 ? "inf" : "-inf"),
                                   describe(t), fix));
}

}  // namespace bridges
