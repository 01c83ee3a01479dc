// bridges plugins check: loads every plugin and makes every component.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "cli.hpp"

namespace bridges::cli {

namespace {
std::string counted(std::size_t n, std::string_view noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }
}  // namespace

void check_plugins(Context& context) {
  Registry& registry = context.registry();
  const auto problems = registry.check();
  std::size_t components = 0;
  for (const auto& m : registry.plugins()) components += m.provides.size();
  for (const auto& p : problems)
    std::cout << fmt::format("FAIL {}: {}\n", p.plugin.empty() ? p.file.string() : p.plugin, p.message);
  for (const auto& m : registry.plugins()) {
    const bool failed = std::any_of(problems.begin(), problems.end(), [&](const auto& p) { return p.plugin == m.plugin; });
    if (!failed)
      std::cout << fmt::format("ok   {} {} ({})\n", m.plugin, m.version, counted(m.provides.size(), "component"));
  }
  std::cout << fmt::format("{}, {}, {}.\n", counted(registry.plugins().size(), "plugin"), counted(components, "component"),
                           counted(problems.size(), "problem"));
  if (!problems.empty()) context.exit_code = 1;
}


}  // namespace bridges::cli
