// Out-of-line parts of Component: its destructor anchors the type_info of
// every component in libbridges_core, so dynamic_cast works across plugins.
#include "bridges/component.hpp"

#include <fmt/format.h>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

ComponentKind parse_component_kind(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& [k, n] : kComponentKinds) {
    if (n == name) return k;
    names.emplace_back(n);
  }
  throw_unknown_name("component kind", name, names);
}

Component::~Component() = default;

nlohmann::json Component::to_json() const { return {{"type", type()}}; }

}  // namespace bridges
