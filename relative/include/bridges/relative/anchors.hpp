#pragma once
// Anchor selection. Every strategy returns sample indices, so that all the
// encoders of an experiment use the same anchor samples.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// `count` distinct indices in [0, num_samples), uniformly at random.
/// Deterministic for a seed, on every platform (std::mt19937_64, not
/// LibTorch's generator). Result [count] int64, in selection order.
BRIDGES_API Tensor random_anchors(int64_t num_samples, int64_t count, uint64_t seed);

/// The same number of anchors from each class of labels [n] int64: count / C
/// per class, and the count % C left over go to that many classes picked at
/// random. Result [count] int64, grouped by class in increasing label order.
/// Throws ConfigError when a class has too few samples.
BRIDGES_API Tensor stratified_anchors(const Tensor& labels, int64_t count, uint64_t seed);

/// Greedy farthest-point sampling on latents [n, d] (Euclidean): a random
/// first anchor, then each next anchor is the sample farthest from those
/// already chosen (ties: lowest index). Result [count] int64.
BRIDGES_API Tensor farthest_point_anchors(const Tensor& latents, int64_t count, uint64_t seed);

/// k-means on latents [n, d] (Euclidean): k-means++ seeding (seeded,
/// std::mt19937_64), then Lloyd iterations until no assignment changes or
/// `iterations` passes; the anchors are the samples nearest each centroid
/// (distinct: a centroid whose nearest sample is taken gets the next
/// nearest). Result [count] int64, in centroid order.
BRIDGES_API Tensor kmeans_anchors(const Tensor& latents, int64_t count, uint64_t seed, int64_t iterations = 50);

/// The strategies by name: "random", "stratified", "farthest_point", "kmeans".
BRIDGES_API const std::vector<std::string>& anchor_strategies();

/// Dispatches on `strategy`. `labels` is needed by stratified, `latents` by
/// farthest_point and kmeans (ConfigError otherwise); num_samples comes from whichever
/// is given. Throws UnknownNameError for another name.
BRIDGES_API Tensor select_anchors(std::string_view strategy, int64_t count, uint64_t seed,
                                  const Tensor& labels, const Tensor& latents);

}  // namespace bridges
