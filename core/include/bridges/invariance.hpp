#pragma once
// The classes of transformations a similarity function can be invariant to.

#include <iosfwd>
#include <optional>

#include <nlohmann/json.hpp>
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

class OptionSchema;

/// One declared invariance: `invariance` holds whenever the component's
/// options satisfy `when`, exactly (to rounding) or, when `tolerance` > 0,
/// approximately: the relative change stays below `tolerance`.
struct BRIDGES_API InvarianceClaim {
  Invariance invariance = Invariance::permutation;
  /// 0: exact. > 0: approximate, the largest relative deviation promised.
  double tolerance = 0.0;
  /// Option name -> the value it must have, or {"minimum": a, "maximum": b}
  /// (either bound may be left out) for a numeric range; empty: always.
  nlohmann::json when = nlohmann::json::object();

  /// Whether the claim holds for `options` (complete, defaults filled in).
  bool applies(const nlohmann::json& options) const;
  /// "isotropic_scaling", "isotropic_scaling (approximate, 0.05) if sigma = null".
  std::string describe() const;
};

/// What a similarity or measure declares about its invariances: the
/// manifest's "invariances" array, the one place they are written. Each
/// entry is a name (exact, always) or an object:
///
///   "invariances": ["translation", "permutation",
///     {"invariance": "isotropic_scaling", "when": {"sigma": null}},
///     {"invariance": "manifold_isometry", "tolerance": 0.05}]
class BRIDGES_API InvarianceDeclaration {
 public:
  InvarianceDeclaration() = default;
  /// Exact, unconditional claims (in-process components, tests).
  InvarianceDeclaration(std::initializer_list<Invariance> exact);
  explicit InvarianceDeclaration(const InvarianceSet& exact);

  /// Parses the "invariances" array; `options` is the component's schema,
  /// which every name in "when" must belong to. Throws ConfigError naming
  /// `where`, the entry, what was expected and what was found.
  static InvarianceDeclaration parse(const nlohmann::json& spec, const OptionSchema& options, std::string_view where);

  /// The invariances that hold for these (complete) options, exact or approximate.
  InvarianceSet holds(const nlohmann::json& options) const;
  /// The claim about `invariance` that applies to `options` (the first), if any.
  std::optional<InvarianceClaim> claim(Invariance invariance, const nlohmann::json& options) const;
  /// Every invariance some claim mentions, whatever the options.
  InvarianceSet mentioned() const;
  /// True when every claim is exact and unconditional.
  bool unconditional() const;

  const std::vector<InvarianceClaim>& claims() const { return claims_; }
  bool empty() const { return claims_.empty(); }
  /// The array form parse() reads (names for exact, unconditional claims).
  nlohmann::json to_json() const;
  /// "translation, permutation, isotropic_scaling if sigma = null"; "none" when empty.
  std::string describe() const;

 private:
  std::vector<InvarianceClaim> claims_;
};

}  // namespace bridges
