#pragma once
// Measures which transformations a similarity is invariant to, and which a
// translator recovers.

#include <cstdint>
#include <string>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/invariance.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/measure.hpp"
#include "bridges/similarity.hpp"
#include "bridges/translator.hpp"

namespace bridges {

struct BRIDGES_API InvarianceCheckOptions {
  int64_t samples = 64;       ///< n random latents
  int64_t anchors = 16;       ///< k random anchors
  int64_t dim = 12;           ///< d
  uint64_t seed = 0;
  double tolerance = 1e-6;    ///< invariant when deviation < tolerance (unless an approximate claim sets its own)
  SubspaceNorm norm = SubspaceNorm::none;  ///< applied to both representations
  int64_t manifold_samples = 1000;  ///< samples on the sheet / Swiss roll (manifold_isometry)
  /// manifold_isometry's test, when no claim sets a tolerance: a similarity
  /// can follow the manifold only through the samples, so never exactly.
  double manifold_tolerance = 0.05;
};

/// One transformation's outcome.
struct BRIDGES_API InvarianceMeasurement {
  Invariance invariance;
  bool measurable = true;   ///< false when a class cannot be measured
  bool invariant = false;   ///< measured
  bool declared = false;    ///< a claim applies to the component's options
  bool approximate = false; ///< ... and promises only `tolerance`
  double deviation = 0.0;   ///< max |r(Tx, Ta) - r(x, a)| / max |r(x, a)|
  double tolerance = 0.0;   ///< invariant when deviation < tolerance: the claim's, or the test's
};

struct BRIDGES_API InvarianceReport {
  std::string similarity;  ///< the component's type (a similarity or a translator)
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
/// `declared`: the similarity's declaration (its ComponentInfo), evaluated
/// for the similarity's own options (to_json()); an approximate claim's
/// tolerance replaces options.tolerance for its row.
BRIDGES_API InvarianceReport measure_invariances(const Similarity& similarity, const InvarianceDeclaration& declared,
                                                 const InvarianceCheckOptions& options = {});

/// For each class, fits the translator on random anchors (float64) and the
/// same anchors transformed (target = T(anchors)), and measures how far
/// translate(x) is from T(x) on other random latents: deviation = max |translate(x)
/// - T(x)| / max |T(x)|; `invariant` means "recovered" (deviation <
/// options.tolerance). manifold_isometry: a 2-D sheet mapped to its 3-D
/// Swiss roll, which no linear or affine map recovers (deviation <
/// options.manifold_tolerance would be a recovery). `declared` is the
/// manifest's "represents". Refits the translator for every class.
BRIDGES_API InvarianceReport measure_translations(Translator& translator, const InvarianceSet& declared,
                                                  const InvarianceCheckOptions& options = {});

/// Which transformations of one space leave a measure unchanged: m(a, T b)
/// and m(T a, b) against m(a, b) for random related spaces (b = a M +
/// noise, float64); deviation = the larger change / |m(a, b)|. manifold_isometry is not
/// measurable for a measure. `declared` is the manifest's "invariances".
BRIDGES_API InvarianceReport measure_invariances(const Measure& measure, const InvarianceDeclaration& declared,
                                                 const InvarianceCheckOptions& options = {});

}  // namespace bridges
