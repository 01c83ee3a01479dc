#pragma once
// Declared options of a component, and their validation.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "bridges/export.hpp"

namespace bridges {

/// A JSON value as compact text for messages, cut to `max` characters
/// ("{\"type\": \"cnn\", \"seed...").
BRIDGES_API std::string json_excerpt(const nlohmann::json& value, std::size_t max = 60);

/// The options a component accepts, as a manifest declares them:
///
///   {"eps": {"type": "number", "default": 1e-8, "minimum": 0,
///            "description": "added to norms before dividing"},
///    "p":   {"type": "number", "default": null, "nullable": true, "minimum": 1}}
///
/// Per option: "type" (number, integer, string, boolean, array, object, or a
/// list of them such as ["string", "array"]); optional "default" (no default
/// means the option is required), "nullable", "enum" (the allowed values),
/// "minimum", "maximum", "exclusiveMinimum" (a bound the value must exceed:
/// 0 for a positive step size), "description". The names follow JSON Schema.
class BRIDGES_API OptionSchema {
 public:
  /// A schema that accepts no option at all.
  OptionSchema();

  /// Checks `spec` (the manifest's "options" object). Throws ConfigError
  /// naming `where` (e.g. "similarity/cosine") and the offending option.
  static OptionSchema parse(const nlohmann::json& spec, std::string_view where);

  /// Validates `options` and returns them with every default filled in.
  /// Throws ConfigError naming `component`, the option, the expected and
  /// the found value; an unknown option gets a "did you mean".
  nlohmann::json apply(const nlohmann::json& options, std::string_view component) const;

  /// The names of the options, sorted.
  std::vector<std::string> names() const;
  /// True when some option has no default.
  bool has_required() const;
  /// The spec this schema was parsed from.
  const nlohmann::json& spec() const { return spec_; }

 private:
  nlohmann::json spec_;
};

}  // namespace bridges
