#pragma once
// The classes of transformations a similarity function can be invariant to.

#include <iosfwd>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bridges/export.hpp"

namespace bridges {

/// A class of transformations T applied to latents and anchors together; a
/// similarity f is invariant to it when f(T x, T a) = f(x, a).
enum class Invariance {
  isotropic_scaling,  ///< x -> s x, s > 0
  orthogonal,         ///< x -> Q x, Q orthogonal (rotations and reflections)
  translation,        ///< x -> x + b
  permutation,        ///< x -> P x, P permutes the dimensions
  affine,             ///< x -> A x + b, A invertible
  linear,             ///< x -> A x, A invertible
  manifold_isometry,  ///< maps that preserve geodesic distances on the data manifold
};

using InvarianceSet = std::set<Invariance>;

/// Every invariance, in the order above.
BRIDGES_API const std::vector<Invariance>& all_invariances();

/// "isotropic_scaling", ... (the JSON spelling).
BRIDGES_API std::string_view to_string(Invariance invariance);

/// Parses the JSON spelling; nullopt for an unknown name.
BRIDGES_API std::optional<Invariance> parse_invariance(std::string_view name);

/// "isotropic_scaling, orthogonal" in enum order.
BRIDGES_API std::string to_string(const InvarianceSet& set);

/// Writes the JSON spelling (for logs and test failure messages).
BRIDGES_API std::ostream& operator<<(std::ostream& out, Invariance invariance);

}  // namespace bridges
