#include "bridges/invariance.hpp"

#include <array>
#include <ostream>

namespace bridges {

namespace {
constexpr std::array<std::pair<Invariance, std::string_view>, 7> kNames{{
    {Invariance::isotropic_scaling, "isotropic_scaling"},
    {Invariance::orthogonal, "orthogonal"},
    {Invariance::translation, "translation"},
    {Invariance::permutation, "permutation"},
    {Invariance::affine, "affine"},
    {Invariance::linear, "linear"},
    {Invariance::manifold_isometry, "manifold_isometry"},
}};
}  // namespace

const std::vector<Invariance>& all_invariances() {
  static const std::vector<Invariance> all = [] {
    std::vector<Invariance> v;
    for (const auto& [inv, name] : kNames) v.push_back(inv);
    return v;
  }();
  return all;
}

std::string_view to_string(Invariance invariance) {
  for (const auto& [inv, name] : kNames)
    if (inv == invariance) return name;
  return "unknown";
}

std::optional<Invariance> parse_invariance(std::string_view name) {
  for (const auto& [inv, n] : kNames)
    if (n == name) return inv;
  return std::nullopt;
}

std::string to_string(const InvarianceSet& set) {
  std::string out;
  for (Invariance inv : set) {
    if (!out.empty()) out += ", ";
    out += to_string(inv);
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, Invariance invariance) { return out << to_string(invariance); }

}  // namespace bridges
