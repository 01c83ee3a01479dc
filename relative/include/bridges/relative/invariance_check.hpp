#pragma once
// Measures which transformations a similarity is invariant to.

#include <cstdint>
#include <string>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/invariance.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/similarity.hpp"

namespace bridges {

struct BRIDGES_API InvarianceCheckOptions {
  int64_t samples = 64;       ///< n random latents
  int64_t anchors = 16;       ///< k random anchors
  int64_t dim = 12;           ///< d
  uint64_t seed = 0;
  double tolerance = 1e-6;    ///< invariant when deviation < tolerance
  SubspaceNorm norm = SubspaceNorm::none;  ///< applied to both representations
  int64_t manifold_samples = 1000;  ///< samples on the sheet / Swiss roll (manifold_isometry)
  double manifold_tolerance = 0.05; ///< manifold_isometry: a neighbour graph only approximates the manifold
};

/// One transformation's outcome.
struct BRIDGES_API InvarianceMeasurement {
  Invariance invariance;
  bool measurable = true;   ///< false when a class cannot be measured
  bool invariant = false;   ///< measured
  bool declared = false;
  double deviation = 0.0;   ///< max |r(Tx, Ta) - r(x, a)| / max |r(x, a)|
};

struct BRIDGES_API InvarianceReport {
  std::string similarity;
  SubspaceNorm norm = SubspaceNorm::none;
  std::vector<InvarianceMeasurement> rows;  ///< one per Invariance, enum order

  /// Declared but not measured: always a disagreement. Measured but not
  /// declared: a disagreement without normalisation; with one, it is what the
  /// normalisation adds (e.g. standardize makes distances scale invariant).
  bool disagrees(const InvarianceMeasurement& m) const;
  bool agrees() const;
  InvarianceSet measured() const;
};

/// Projects random latents and anchors (float64) before and after each
/// transformation class, applied to both together: isotropic scaling (s =
/// 3.7), a random orthogonal map, a translation, a permutation of
/// dimensions, a random affine and a random linear map; and, for
/// manifold_isometry, a sheet against the same sheet rolled into a Swiss
/// roll (deviation below options.manifold_tolerance).
BRIDGES_API InvarianceReport measure_invariances(const Similarity& similarity,
                                                 const InvarianceCheckOptions& options = {});

}  // namespace bridges
