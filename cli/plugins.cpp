// bridges plugins list | show NAME | check. list and show read the
// manifests only (no LibTorch, no plugin loaded: the front end runs them);
// check loads every plugin and is the engine's (check_plugins, cli.hpp).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"
#include "context.hpp"
#include "plugin_skeleton.hpp"

namespace bridges::cli {

namespace {

using nlohmann::json;

std::string count(std::size_t n, std::string_view noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }

json names(const InvarianceSet& set) {
  json out = json::array();
  for (Invariance inv : set) out.push_back(to_string(inv));
  return out;
}

// The INVARIANCES column: what a similarity is invariant to, or what a
// translator recovers ("represents ...").
std::string transformations(const ComponentInfo& c) {
  if (c.kind == ComponentKind::similarity || c.kind == ComponentKind::measure) return c.invariances.describe();
  if (c.kind == ComponentKind::translator) return "represents " + to_string(c.represents);
  return "";
}

json component_json(const ComponentInfo& c) {
  json out = {{"kind", to_string(c.kind)}, {"name", c.name},       {"plugin", c.provider},
              {"description", c.description}, {"options", c.options.spec()}};
  if (c.kind == ComponentKind::similarity) {
    out["invariances"] = c.invariances.to_json();
    out["direction"] = c.direction.empty() ? json(nullptr) : json(c.direction);
  }
  if (c.kind == ComponentKind::translator) out["represents"] = names(c.represents);
  if (c.kind == ComponentKind::aggregator) out["symmetric"] = c.symmetric;
  if (c.kind == ComponentKind::measure) {
    out["invariances"] = c.invariances.to_json();
    out["same_width"] = c.same_width;
    out["direction"] = c.direction.empty() ? "similarity" : c.direction;
  }
  return out;
}

void list(Context& context, bool as_json, const std::string& kind_name) {
  const PluginIndex& registry = context.plugin_index();
  // --kind: one kind of component (a name from kind_from_string, checked).
  std::optional<ComponentKind> kind;
  if (!kind_name.empty()) kind = parse_component_kind(kind_name);
  const auto wanted = [&](const ComponentInfo& c) { return !kind || c.kind == *kind; };
  if (as_json) {
    json plugins = json::array();
    for (const auto& m : registry.plugins()) {
      json components = json::array();
      for (const auto& c : m.provides)
        if (wanted(c)) components.push_back(component_json(c));
      if (kind && components.empty()) continue;
      plugins.push_back({{"plugin", m.plugin}, {"version", m.version}, {"manifest", m.file.string()},
                         {"library", m.library.string()}, {"components", components}});
    }
    json search = json::array();
    for (const auto& p : registry.search_path()) search.push_back(p.string());
    std::cout << json{{"search_path", search}, {"plugins", plugins}, {"warnings", registry.warnings()}}.dump(2) << '\n';
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : registry.components()) {
    if (!wanted(c)) continue;
    const auto& m = registry.plugin(c.provider);
    rows.push_back({std::string(to_string(c.kind)), c.name, fmt::format("{} {}", m.plugin, m.version),
                    transformations(c), c.description});
  }
  if (rows.empty() && kind) {
    std::cout << fmt::format("No {} components found.\n", kind_name);
    return;
  }
  if (rows.empty()) {
    std::cout << "No plugins found. Searched: "
              << join(std::vector<std::string>(registry.search_path().begin(), registry.search_path().end()))
              << ".\nSet BRIDGES_PLUGIN_PATH to a folder that holds *.plugin.json manifests.\n";
    return;
  }
  print_table(std::cout, {"KIND", "NAME", "PLUGIN", "INVARIANCES", "DESCRIPTION"}, rows, terminal_width());
  std::cout << fmt::format("\n{} in {}. `bridges plugins show NAME` shows the options{}.\n",
                           count(rows.size(), kind ? kind_name + " component" : "component"),
                           count(registry.plugins().size(), "plugin"),
                           kind ? "" : "; `--kind KIND` lists one kind");
}

void show_component(const ComponentInfo& c, const PluginManifest& m) {
  std::cout << fmt::format("{}\n  {}\n  plugin: {} {} ({})\n", c.qualified_name(), c.description, m.plugin, m.version,
                           m.file.string());
  if (c.kind == ComponentKind::similarity) {
    std::cout << fmt::format("  invariances: {}\n", c.invariances.describe());
    std::cout << fmt::format("  direction: {}\n", c.direction == "similarity" ? "similarity (a larger value is closer)"
                                                   : c.direction == "distance" ? "distance (a larger value is farther)"
                                                                               : "not declared");
  }
  if (c.kind == ComponentKind::aggregator && c.symmetric)
    std::cout << "  symmetric: treats every subspace alike (permuting them changes nothing), so merge subspaces of one "
                 "direction (\"orientation\": \"closer_is_larger\")\n";
  if (c.kind == ComponentKind::translator)
    std::cout << fmt::format("  represents: {} (recovered exactly from paired anchors)\n",
                             c.represents.empty() ? "none" : to_string(c.represents));
  if (c.kind == ComponentKind::measure) {
    std::cout << fmt::format("  invariances: {} (of either space)\n", c.invariances.describe());
    std::cout << fmt::format("  direction: {}\n", c.direction == "distance" ? "distance (smaller is more similar)"
                                                                             : "similarity (larger is more similar)");
    if (c.same_width) std::cout << "  pairs entry (i, c) of one space with entry (i, c) of the other: needs the same width\n";
  }
  if (c.options.names().empty()) {
    std::cout << "  options: none\n";
    return;
  }
  std::cout << "  options:\n";
  for (const auto& name : c.options.names()) {
    const json& decl = c.options.spec()[name];
    const std::string fallback = decl.contains("default") ? "default " + decl["default"].dump() : "required";
    std::cout << fmt::format("    {:<12} {:<8} {:<18} {}\n", name, decl["type"].get<std::string>(), fallback,
                             decl.value("description", ""));
  }
}

void show(Context& context, const std::string& name, bool as_json) {
  const PluginIndex& registry = context.plugin_index();
  // NAME is a plugin ("distances"), a qualified name ("similarity/cosine")
  // or a component name ("cosine").
  std::vector<std::string> known;
  for (const auto& m : registry.plugins()) {
    known.push_back(m.plugin);
    if (m.plugin != name) continue;
    if (as_json) {
      json components = json::array();
      for (const auto& c : m.provides) components.push_back(component_json(c));
      std::cout << json{{"plugin", m.plugin}, {"version", m.version}, {"description", m.description},
                        {"manifest", m.file.string()}, {"library", m.library.string()}, {"components", components}}
                       .dump(2)
                << '\n';
      return;
    }
    std::cout << fmt::format("plugin {} {}\n  {}\n  manifest: {}\n  library:  {}\n\n", m.plugin, m.version,
                             m.description, m.file.string(), m.library.string());
    for (const auto& c : m.provides) {
      show_component(c, m);
      std::cout << '\n';
    }
    return;
  }
  std::vector<ComponentInfo> matches;
  const bool qualified = name.find('/') != std::string::npos;
  for (const auto& c : registry.components()) {
    known.push_back(qualified ? c.qualified_name() : c.name);  // suggest names of the form typed
    if (c.qualified_name() == name || c.name == name) matches.push_back(c);
  }
  if (matches.empty()) {
    try {
      throw_unknown_name("plugin or component", name, known);
    } catch (const UnknownNameError& e) {
      throw UnknownNameError(fmt::format("{} `bridges plugins list` lists every one.", e.what()));
    }
  }
  for (const auto& c : matches) {
    if (as_json)
      std::cout << component_json(c).dump(2) << '\n';
    else
      show_component(c, registry.plugin(c.provider));
  }
}

}  // namespace

void add_plugins_command(CLI::App& app, Context& context, std::function<void()> check) {
  auto* plugins = app.add_subcommand("plugins", description_of("plugins"));
  plugins->require_subcommand(1);

  auto* list_cmd = plugins->add_subcommand("list", "List every component of every plugin found");
  auto list_json = std::make_shared<bool>(false);
  auto list_kind = std::make_shared<std::string>();
  list_cmd->add_flag("--json", *list_json, "Print JSON");
  list_cmd->add_option("--kind", *list_kind,
                       "only components of this kind: similarity, aggregator, encoder, dataset, translator, measure");
  list_cmd->callback([&context, list_json, list_kind] { list(context, *list_json, *list_kind); });

  auto* show_cmd = plugins->add_subcommand("show", "Show a plugin or a component, with its options");
  auto show_name = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  show_cmd->add_option("NAME", *show_name, "plugin (distances), component (cosine) or kind/name")->required();
  show_cmd->add_flag("--json", *show_json, "Print JSON");
  show_cmd->callback([&context, show_name, show_json] { show(context, *show_name, *show_json); });

  auto* new_cmd = plugins->add_subcommand(
      "new", "Write a plugin that builds and passes its own test: source, manifest, CMakeLists, test, README");
  auto new_kind = std::make_shared<std::string>();
  auto new_name = std::make_shared<std::string>();
  auto new_out = std::make_shared<std::string>();
  new_cmd->add_option("KIND", *new_kind, "similarity, aggregator, encoder or dataset")->required();
  new_cmd->add_option("NAME", *new_name, "the plugin's and the component's name (lower case, digits, _)")->required();
  new_cmd->add_option("--out,-o", *new_out, "the folder to write (default: ./NAME; must be absent or empty)");
  new_cmd->footer("Example:\n  bridges plugins new similarity my_rbf\n  cmake -S my_rbf -B my_rbf/build -Dbridges_DIR=<bridges build folder>");
  new_cmd->callback([new_kind, new_name, new_out] {
    const std::filesystem::path folder(new_out->empty() ? *new_name : *new_out);
    for (const auto& file : write_plugin_skeleton(*new_kind, *new_name, folder)) std::cout << "wrote " << file.string() << '\n';
    std::cout << fmt::format("\nNext: build it and run its test, then point bridges at it:\n"
                             "  cmake -S {0} -B {0}/build -Dbridges_DIR=<bridges build folder>   (or "
                             "-DCMAKE_PREFIX_PATH=<bridges install>)\n"
                             "  cmake --build {0}/build && ctest --test-dir {0}/build\n"
                             "  BRIDGES_PLUGIN_PATH={0}/build/lib/bridges/plugins bridges plugins show {1}\n",
                             folder.string(), *new_name);
  });

  auto* check_cmd = plugins->add_subcommand(
      "check", "Load every plugin, make every component and report each problem (exit 1 if any)");
  check_cmd->callback(std::move(check));
}

}  // namespace bridges::cli
