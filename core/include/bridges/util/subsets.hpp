#pragma once
// Seeded, stratified subsets of a labelled split.

#include <cstdint>
#include <utility>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// `count` row indices of labels [n] int64, keeping each class's share
/// (largest-remainder rounding, so the counts add up exactly), chosen at
/// random within each class. Sorted increasing. count >= n returns every row.
/// Throws ConfigError for count < 1.
BRIDGES_API Tensor stratified_subset(const Tensor& labels, int64_t count, uint64_t seed);

/// Splits rows 0..n-1 into (train, test) with `test_count` test rows,
/// stratified as above. Both sorted increasing.
BRIDGES_API std::pair<Tensor, Tensor> stratified_split(const Tensor& labels, int64_t test_count, uint64_t seed);

}  // namespace bridges
