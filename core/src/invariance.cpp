#include "bridges/invariance.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <ostream>

#include "bridges/error.hpp"
#include "bridges/options.hpp"
#include "bridges/util/messages.hpp"

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

using nlohmann::json;

namespace {

bool is_range(const json& condition) {
  return condition.is_object() && !condition.empty() &&
         std::all_of(condition.items().begin(), condition.items().end(),
                     [](const auto& item) { return item.key() == "minimum" || item.key() == "maximum"; });
}

std::string describe_condition(const std::string& name, const json& condition) {
  if (!is_range(condition)) return fmt::format("{} = {}", name, condition.dump());
  if (condition.contains("minimum") && condition.contains("maximum"))
    return fmt::format("{} <= {} <= {}", condition["minimum"].dump(), name, condition["maximum"].dump());
  return condition.contains("minimum") ? fmt::format("{} >= {}", name, condition["minimum"].dump())
                                       : fmt::format("{} <= {}", name, condition["maximum"].dump());
}

}  // namespace

bool InvarianceClaim::applies(const json& options) const {
  for (const auto& [name, condition] : when.items()) {
    const json value = options.is_object() && options.contains(name) ? options[name] : json();
    if (!is_range(condition)) {
      if (value != condition) return false;
      continue;
    }
    if (!value.is_number()) return false;
    const double v = value.get<double>();
    if (condition.contains("minimum") && v < condition["minimum"].get<double>()) return false;
    if (condition.contains("maximum") && v > condition["maximum"].get<double>()) return false;
  }
  return true;
}

std::string InvarianceClaim::describe() const {
  std::string out(to_string(invariance));
  if (tolerance > 0) out += fmt::format(" (approximate, {:g})", tolerance);
  std::string conditions;
  for (const auto& [name, condition] : when.items())
    conditions += (conditions.empty() ? "" : " and ") + describe_condition(name, condition);
  if (!conditions.empty()) out += " if " + conditions;
  return out;
}

InvarianceDeclaration::InvarianceDeclaration(std::initializer_list<Invariance> exact) {
  for (Invariance inv : exact) claims_.push_back(InvarianceClaim{inv});
}

InvarianceDeclaration::InvarianceDeclaration(const InvarianceSet& exact) {
  for (Invariance inv : exact) claims_.push_back(InvarianceClaim{inv});
}

InvarianceDeclaration InvarianceDeclaration::parse(const json& spec, const OptionSchema& options,
                                                   std::string_view where) {
  InvarianceDeclaration out;
  if (spec.is_null()) return out;
  std::vector<std::string> names;
  for (Invariance inv : all_invariances()) names.emplace_back(to_string(inv));
  const auto fail = [&](std::size_t i, const std::string& what) {
    throw ConfigError(fmt::format("{}: \"invariances\"[{}]: {}", where, i, what));
  };
  if (!spec.is_array())
    throw ConfigError(fmt::format("{}: \"invariances\" must be an array of invariance names or "
                                  "{{\"invariance\": NAME, \"when\": {{...}}, \"tolerance\": x}} objects, found {}.",
                                  where, json_excerpt(spec)));
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const json& entry = spec[i];
    InvarianceClaim claim;
    const json& name = entry.is_object() ? (entry.contains("invariance") ? entry["invariance"] : json()) : entry;
    if (entry.is_object())
      for (const auto& [key, value] : entry.items())
        if (key != "invariance" && key != "when" && key != "tolerance")
          fail(i, fmt::format("unknown key \"{}\".{} Keys: invariance, when, tolerance.", key,
                              did_you_mean(key, {"invariance", "when", "tolerance"})));
    const auto inv = name.is_string() ? parse_invariance(name.get<std::string>()) : std::nullopt;
    if (!inv)
      fail(i, fmt::format("{} is not an invariance.{} Known: {}.", entry.is_object() && name.is_null() ? "a missing "
                                                                                                        "\"invariance\""
                                                                                                      : json_excerpt(name),
                          name.is_string() ? did_you_mean(name.get<std::string>(), names) : "", join(names)));
    claim.invariance = *inv;
    if (entry.is_object() && entry.contains("tolerance")) {
      const json& t = entry["tolerance"];
      if (!t.is_number() || !(t.get<double>() > 0) || !std::isfinite(t.get<double>()))
        fail(i, fmt::format("\"tolerance\" must be a positive number (the largest relative deviation the "
                            "invariance promises), found {}.",
                            json_excerpt(t)));
      claim.tolerance = t.get<double>();
    }
    if (entry.is_object() && entry.contains("when")) {
      const json& when = entry["when"];
      if (!when.is_object() || when.empty())
        fail(i, fmt::format("\"when\" must be a non-empty object of option name -> value or {{\"minimum\": a, "
                            "\"maximum\": b}}, found {}.",
                            json_excerpt(when)));
      const std::vector<std::string> known = options.names();
      for (const auto& [option, condition] : when.items()) {
        if (std::find(known.begin(), known.end(), option) == known.end())
          fail(i, fmt::format("\"when\" names option '{}', which is not declared.{} Options: {}.", option,
                              did_you_mean(option, known), known.empty() ? "none" : join(known)));
        if (condition.is_object() && !is_range(condition))
          fail(i, fmt::format("\"when\".{}: an object must be a range {{\"minimum\": a, \"maximum\": b}}, found {}.",
                              option, json_excerpt(condition)));
        if (is_range(condition))
          for (const auto& [bound, value] : condition.items())
            if (!value.is_number())
              fail(i, fmt::format("\"when\".{}.{} must be a number, found {}.", option, bound, json_excerpt(value)));
      }
      claim.when = when;
    }
    out.claims_.push_back(std::move(claim));
  }
  return out;
}

InvarianceSet InvarianceDeclaration::holds(const json& options) const {
  InvarianceSet out;
  for (const auto& c : claims_)
    if (c.applies(options)) out.insert(c.invariance);
  return out;
}

std::optional<InvarianceClaim> InvarianceDeclaration::claim(Invariance invariance, const json& options) const {
  for (const auto& c : claims_)
    if (c.invariance == invariance && c.applies(options)) return c;
  return std::nullopt;
}

InvarianceSet InvarianceDeclaration::mentioned() const {
  InvarianceSet out;
  for (const auto& c : claims_) out.insert(c.invariance);
  return out;
}

bool InvarianceDeclaration::unconditional() const {
  return std::all_of(claims_.begin(), claims_.end(), [](const auto& c) { return c.tolerance == 0 && c.when.empty(); });
}

json InvarianceDeclaration::to_json() const {
  json out = json::array();
  for (const auto& c : claims_) {
    if (c.tolerance == 0 && c.when.empty()) {
      out.push_back(to_string(c.invariance));
      continue;
    }
    json entry{{"invariance", to_string(c.invariance)}};
    if (c.tolerance > 0) entry["tolerance"] = c.tolerance;
    if (!c.when.empty()) entry["when"] = c.when;
    out.push_back(std::move(entry));
  }
  return out;
}

std::string InvarianceDeclaration::describe() const {
  std::string out;
  for (const auto& c : claims_) out += (out.empty() ? "" : ", ") + c.describe();
  return out.empty() ? "none" : out;
}

}  // namespace bridges
