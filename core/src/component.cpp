// Out-of-line parts of Component: its destructor anchors the type_info of
// every component in libbridges_core, so dynamic_cast works across plugins.
#include "bridges/component.hpp"

#include <fmt/format.h>

#include <array>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

namespace {
constexpr std::array<std::pair<ComponentKind, std::string_view>, 4> kKinds{{
    {ComponentKind::similarity, "similarity"},
    {ComponentKind::aggregator, "aggregator"},
    {ComponentKind::encoder, "encoder"},
    {ComponentKind::dataset, "dataset"},
}};
}  // namespace

std::string_view to_string(ComponentKind kind) {
  for (const auto& [k, name] : kKinds)
    if (k == kind) return name;
  return "unknown";
}

ComponentKind parse_component_kind(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& [k, n] : kKinds) {
    if (n == name) return k;
    names.emplace_back(n);
  }
  throw_unknown_name("component kind", name, names);
}

Component::~Component() = default;

nlohmann::json Component::to_json() const { return {{"type", type()}}; }

}  // namespace bridges
