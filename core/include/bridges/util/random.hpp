#pragma once
// Reproducible randomness. Draws that decide which samples are used (anchors,
// subsets, batch order) come from std::mt19937_64 through the functions here,
// never from std::uniform_int_distribution (implementation-defined) or
// LibTorch's generator (version-dependent): the same seed picks the same
// samples on every platform.

#include <cstdint>
#include <mutex>
#include <random>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// Uniform integer in [0, bound), bound >= 1, by rejection sampling.
BRIDGES_API uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound);

/// Uniform real in [0, 1) from the top 53 bits of one draw.
BRIDGES_API double uniform_unit(std::mt19937_64& rng);

/// Fisher-Yates on the first `count` positions: afterwards items[0..count)
/// is a uniform random sample of `items`, in random order.
BRIDGES_API void shuffle_prefix(std::vector<int64_t>& items, int64_t count, std::mt19937_64& rng);

/// A random permutation of 0..n-1, [n] int64.
BRIDGES_API Tensor permutation(int64_t n, std::mt19937_64& rng);

/// LibTorch initialises parameters (and draws dropout or VAE noise) from one
/// global generator. Whoever seeds it and then draws from it (building a
/// network, training a decoder) holds this lock, so that a seed gives the
/// same network even when other threads train too.
///
/// Example:
///   { std::lock_guard lock(bridges::torch_rng_mutex()); torch::manual_seed(seed); build(); }
BRIDGES_API std::mutex& torch_rng_mutex();

}  // namespace bridges
