#include "bridges/options.hpp"

#include <fmt/format.h>

#include <cmath>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

using nlohmann::json;

namespace {

const std::vector<std::string> kTypes{"number", "integer", "string", "boolean", "array", "object"};
const std::vector<std::string> kOptionKeys{"type",    "default", "nullable",         "enum",
                                           "minimum", "maximum", "exclusiveMinimum", "description"};

bool is_integral(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15;
}

// "type" is one name or a list of names (["string", "array"]).
std::vector<std::string> types_of(const json& decl) {
  return decl["type"].is_array() ? decl["type"].get<std::vector<std::string>>()
                                 : std::vector<std::string>{decl["type"].get<std::string>()};
}

bool has_type(const json& v, const std::string& type) {
  if (type == "number") return v.is_number();
  if (type == "integer") return is_integral(v);
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "array") return v.is_array();
  return v.is_object();
}

// What the option accepts, for messages: "a number >= 1 or null".
std::string expectation(const json& decl) {
  std::string out;
  for (const std::string& type : types_of(decl))
    out += (out.empty() ? "" : " or ") +
           (type == "integer" ? "an integer" : type == "array" ? "an array" : type == "object" ? "an object" : "a " + type);
  if (decl.contains("enum")) out = fmt::format("one of {}", decl["enum"].dump());
  if (decl.contains("minimum")) out += fmt::format(" >= {}", decl["minimum"].dump());
  if (decl.contains("exclusiveMinimum")) out += fmt::format(" > {}", decl["exclusiveMinimum"].dump());
  if (decl.contains("maximum")) out += fmt::format(" <= {}", decl["maximum"].dump());
  if (decl.value("nullable", false)) out += " or null";
  return out;
}

// Returns the error text for `value` under `decl`, or "" when it is valid.
std::string check_value(const json& decl, const json& value) {
  if (value.is_null()) return decl.value("nullable", false) ? "" : "null is not allowed";
  const auto types = types_of(decl);
  if (std::none_of(types.begin(), types.end(), [&](const std::string& t) { return has_type(value, t); }))
    return "wrong type";
  if (decl.contains("enum")) {
    bool found = false;
    for (const auto& allowed : decl["enum"]) found = found || allowed == value;
    if (!found) return "not an allowed value";
  }
  if (value.is_number()) {
    if (decl.contains("minimum") && value.get<double>() < decl["minimum"].get<double>()) return "too small";
    if (decl.contains("maximum") && value.get<double>() > decl["maximum"].get<double>()) return "too large";
    if (decl.contains("exclusiveMinimum") && value.get<double>() <= decl["exclusiveMinimum"].get<double>())
      return "too small";
  }
  return "";
}

}  // namespace

std::string json_excerpt(const json& value, std::size_t max) {
  std::string s = value.dump();
  if (s.size() > max) s = s.substr(0, max > 3 ? max - 3 : 0) + "...";
  return s;
}

OptionSchema::OptionSchema() : spec_(json::object()) {}

OptionSchema OptionSchema::parse(const json& spec, std::string_view where) {
  OptionSchema schema;
  if (spec.is_null()) return schema;
  if (!spec.is_object())
    throw ConfigError(fmt::format("{}: \"options\" must be an object of option declarations, found {}.", where,
                                  json_excerpt(spec)));
  for (const auto& item : spec.items()) {
    const std::string& name = item.key();
    const auto& decl = item.value();
    const auto at = [&] { return fmt::format("{}: option '{}'", where, name); };
    if (!decl.is_object())
      throw ConfigError(fmt::format("{} must be declared as an object like {{\"type\": \"number\", \"default\": 1}}, "
                                    "found {}.",
                                    at(), json_excerpt(decl)));
    for (const auto& [key, v] : decl.items())
      if (std::find(kOptionKeys.begin(), kOptionKeys.end(), key) == kOptionKeys.end())
        throw ConfigError(fmt::format("{}: unknown key \"{}\".{} Keys: {}.", at(), key, did_you_mean(key, kOptionKeys),
                                      join(kOptionKeys)));
    const json& type_spec = decl.contains("type") ? decl["type"] : json();
    const bool listed = type_spec.is_array() && !type_spec.empty() &&
                        std::all_of(type_spec.begin(), type_spec.end(), [](const json& t) { return t.is_string(); });
    if (!type_spec.is_string() && !listed)
      throw ConfigError(fmt::format("{}: \"type\" is missing; expected one of {} (or a list of them).", at(),
                                    join(kTypes)));
    for (const std::string& type : types_of(decl))
      if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end())
        throw ConfigError(fmt::format("{}: type \"{}\" is not one of {}.{}", at(), type, join(kTypes),
                                      did_you_mean(type, kTypes)));
    if (decl.contains("nullable") && !decl["nullable"].is_boolean())
      throw ConfigError(fmt::format("{}: \"nullable\" must be true or false.", at()));
    if (decl.contains("enum") && (!decl["enum"].is_array() || decl["enum"].empty()))
      throw ConfigError(fmt::format("{}: \"enum\" must be a non-empty array of allowed values.", at()));
    for (const char* bound : {"minimum", "maximum", "exclusiveMinimum"})
      if (decl.contains(bound) && !decl[bound].is_number())
        throw ConfigError(fmt::format("{}: \"{}\" must be a number, found {}.", at(), bound, json_excerpt(decl[bound])));
    json normalized = decl;
    if (decl.contains("default") && decl["default"].is_null()) normalized["nullable"] = true;
    if (decl.contains("default")) {
      const std::string problem = check_value(normalized, decl["default"]);
      if (!problem.empty())
        throw ConfigError(fmt::format("{}: the default {} is not {}.", at(), json_excerpt(decl["default"]),
                                      expectation(normalized)));
    }
    schema.spec_[name] = normalized;
  }
  return schema;
}

namespace {

// A NaN or an infinity can reach options only from code (JSON text has
// neither): JSON would write it back as null, and a comparison with a bound
// lets NaN through, so it is refused before any check.
bool all_finite(const json& v) {
  if (v.is_number_float()) return std::isfinite(v.get<double>());
  if (v.is_structured())
    for (const auto& item : v) if (!all_finite(item)) return false;
  return true;
}

}  // namespace

json OptionSchema::apply(const json& options, std::string_view component) const {
  json given = options.is_null() ? json::object() : options;
  if (!given.is_object())
    throw ConfigError(fmt::format("{}: options must be a JSON object like {{\"name\": value}}, found {}.", component,
                                  json_excerpt(options)));
  const std::vector<std::string> known = names();
  for (const auto& [name, value] : given.items()) {
    if (!spec_.contains(name)) {
      throw ConfigError(fmt::format("{}: unknown option '{}'.{} {}.", component, name, did_you_mean(name, known),
                                    known.empty() ? std::string("It takes no options")
                                                  : fmt::format("Its options: {}", join(known))));
    }
    const json& decl = spec_[name];
    if (!all_finite(value))
      throw ConfigError(fmt::format("{}: option '{}' must be {}, found a NaN or an infinity.", component, name,
                                    expectation(decl)));
    const std::string problem = check_value(decl, value);
    if (!problem.empty())
      throw ConfigError(fmt::format("{}: option '{}' must be {}, found {}.", component, name, expectation(decl),
                                    json_excerpt(value)));
    if (decl["type"] == "integer" && value.is_number_float()) given[name] = static_cast<int64_t>(value.get<double>());
  }
  json out = json::object();
  for (const auto& name : known) {
    const json& decl = spec_[name];
    if (given.contains(name))
      out[name] = given[name];
    else if (decl.contains("default"))
      out[name] = decl["default"];
    else
      throw ConfigError(fmt::format("{}: option '{}' is required: give it as {}.", component, name,
                                    expectation(decl)));
  }
  return out;
}

std::vector<std::string> OptionSchema::names() const {
  std::vector<std::string> out;
  for (const auto& [name, decl] : spec_.items()) out.push_back(name);
  return out;
}

bool OptionSchema::has_required() const {
  for (const auto& [name, decl] : spec_.items())
    if (!decl.contains("default")) return true;
  return false;
}

}  // namespace bridges
