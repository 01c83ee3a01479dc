#include "bridges/component_source.hpp"

#include <cctype>

#include <fmt/format.h>

#include <algorithm>

#include "bridges/util/messages.hpp"

namespace bridges {

using nlohmann::json;

std::string ComponentInfo::qualified_name() const { return fmt::format("{}/{}", to_string(kind), name); }

ComponentSource::~ComponentSource() = default;

ComponentInfo ComponentSource::info(ComponentKind kind, std::string_view name) const {
  for (auto& c : components())
    if (c.kind == kind && c.name == name) return c;
  throw_unknown(kind, name);
}

void ComponentSource::throw_unknown(ComponentKind kind, std::string_view name) const {
  std::vector<std::string> names;
  for (const auto& c : components())
    if (c.kind == kind) names.push_back(c.name);
  throw_unknown_name(to_string(kind), name, names);
}

std::pair<std::string, json> ComponentSource::split_spec(ComponentKind kind, const json& spec) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
    throw ConfigError(fmt::format("a {} must be written as {{\"type\": \"<name>\", ...options}}, found {}.",
                                  to_string(kind), spec.dump()));
  json options = spec;
  options.erase("type");
  return {spec["type"].get<std::string>(), options};
}

void ComponentSource::throw_wrong_type(ComponentKind kind, std::string_view name) {
  throw CreateError(fmt::format("{}/{}: the factory made an object that is not a {}. "
                                "Check the kind the component is registered under.",
                                to_string(kind), name, to_string(kind)));
}

void InProcessSource::add(ComponentKind kind, std::string name, Factory factory, const json& declaration) {
  ComponentInfo info;
  info.kind = kind;
  info.name = std::move(name);
  info.provider = "in-process";
  const std::string where = info.qualified_name();
  // A name is how pipelines, specs and qualified names ("similarity/NAME") refer to it.
  const bool bad_name = info.name.empty() || std::any_of(info.name.begin(), info.name.end(), [](unsigned char c) {
                          return c == '/' || std::isspace(c) || std::iscntrl(c);
                        });
  if (bad_name)
    throw ConfigError(fmt::format("{}: a component name must be non-empty, without '/' or spaces, found \"{}\".",
                                  where, info.name));
  const std::vector<std::string> keys{"options", "description", "direction", "invariances", "symmetric"};
  if (!declaration.is_object())
    throw ConfigError(fmt::format("{}: the declaration must be an object with the keys of a manifest entry ({}), found "
                                  "{}.",
                                  where, join(keys), json_excerpt(declaration)));
  for (const auto& [key, value] : declaration.items())
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      throw ConfigError(fmt::format("{}: unknown key \"{}\" in the declaration.{} Keys: {} (the options' schema goes "
                                    "under \"options\").",
                                    where, key, did_you_mean(key, keys), join(keys)));
  const auto text = [&](const char* key) {
    const json& v = declaration.contains(key) ? declaration[key] : json("");
    if (!v.is_string())
      throw ConfigError(fmt::format("{}: \"{}\" must be a string, found {}.", where, key, json_excerpt(v)));
    return v.get<std::string>();
  };
  info.description = text("description");
  const std::string direction = text("direction");
  const bool relational = kind == ComponentKind::similarity || kind == ComponentKind::measure;
  if (!direction.empty() && !relational)
    throw ConfigError(fmt::format("{}: only similarities and measures declare a direction.", where));
  if (!direction.empty() && direction != "similarity" && direction != "distance")
    throw ConfigError(fmt::format("{}: direction \"{}\" is not \"similarity\" (a larger value is closer) or \"distance\" "
                                  "(a larger value is farther).",
                                  where, direction));
  info.direction = direction;
  if (declaration.contains("symmetric")) {
    if (kind != ComponentKind::aggregator)
      throw ConfigError(fmt::format("{}: only aggregators declare \"symmetric\".", where));
    if (!declaration["symmetric"].is_boolean())
      throw ConfigError(fmt::format("{}: \"symmetric\" must be true or false, found {}.", where,
                                    json_excerpt(declaration["symmetric"])));
    info.symmetric = declaration["symmetric"].get<bool>();
  }
  info.options = OptionSchema::parse(declaration.value("options", json::object()), where);
  if (declaration.contains("invariances") && !relational)
    throw ConfigError(fmt::format("{}: only similarities and measures declare invariances.", where));
  info.invariances = InvarianceDeclaration::parse(declaration.value("invariances", json()), info.options, where);
  if (entries_.count(where) != 0)
    throw ConfigError(fmt::format("{} is registered twice; each name may be added once.", where));
  entries_.emplace(where, Entry{std::move(info), std::move(factory)});
}

std::vector<ComponentInfo> InProcessSource::components() const {
  std::vector<ComponentInfo> out;
  for (const auto& [key, entry] : entries_) out.push_back(entry.info);
  return out;
}

std::shared_ptr<Component> InProcessSource::create(ComponentKind kind, std::string_view name, const json& options) {
  auto it = entries_.find(fmt::format("{}/{}", to_string(kind), name));
  if (it == entries_.end()) throw_unknown(kind, name);
  const ComponentInfo& info = it->second.info;
  const json complete = info.options.apply(options, info.qualified_name());
  std::shared_ptr<Component> made;
  try {
    made = it->second.factory(complete);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw CreateError(fmt::format("{}: the factory failed: {}", info.qualified_name(), e.what()));
  }
  if (!made) throw CreateError(fmt::format("{}: the factory returned nothing.", info.qualified_name()));
  return made;
}

}  // namespace bridges
