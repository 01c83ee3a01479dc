#pragma once
// The common base of every component a plugin or a host program provides.

#include <nlohmann/json.hpp>

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "bridges/export.hpp"

namespace bridges {

/// What a component is. Its JSON spelling is the first half of a qualified
/// name: "similarity/cosine".
enum class ComponentKind { similarity, aggregator, encoder, dataset, translator, measure };

/// Every kind with its name: the one place the names are written (manifests,
/// the C descriptor, messages and the CLI all use it).
inline constexpr std::array<std::pair<ComponentKind, std::string_view>, 6> kComponentKinds{{
    {ComponentKind::similarity, "similarity"},
    {ComponentKind::aggregator, "aggregator"},
    {ComponentKind::encoder, "encoder"},
    {ComponentKind::dataset, "dataset"},
    {ComponentKind::translator, "translator"},
    {ComponentKind::measure, "measure"},
}};

/// "similarity" for ComponentKind::similarity (a string literal: data() is
/// null-terminated).
constexpr std::string_view to_string(ComponentKind kind) {
  for (const auto& [k, name] : kComponentKinds)
    if (k == kind) return name;
  return "unknown";
}
/// Throws UnknownNameError listing the kinds.
BRIDGES_API ComponentKind parse_component_kind(std::string_view name);

/// Base of Similarity, Aggregator, Encoder, Dataset, Translator and Measure. Components are made by
/// a ComponentSource from a name and JSON options, and write themselves back
/// to the same JSON, so JSON -> object -> JSON is stable.
class BRIDGES_API Component {
 public:
  virtual ~Component();

  /// The component's name within its kind ("cosine").
  virtual std::string type() const = 0;

  /// {"type": type(), ...every option with its value}. The default writes
  /// only the type: override it when the component has options.
  virtual nlohmann::json to_json() const;
};

}  // namespace bridges
