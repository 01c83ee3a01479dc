#include "bridges/util/random.hpp"

#include <ATen/ops/from_blob.h>

#include <limits>
#include <numeric>

namespace bridges {

uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  uint64_t r;
  do r = rng();
  while (r >= limit);
  return r % bound;
}

double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

void shuffle_prefix(std::vector<int64_t>& items, int64_t count, std::mt19937_64& rng) {
  const auto n = static_cast<uint64_t>(items.size());
  for (uint64_t i = 0; i < static_cast<uint64_t>(count) && i + 1 < n; ++i)
    std::swap(items[i], items[i + uniform_below(rng, n - i)]);
}

Tensor permutation(int64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  shuffle_prefix(p, n, rng);
  return at::from_blob(p.data(), {n}, at::kLong).clone();
}

std::mutex& torch_rng_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace bridges
