#include "bridges/registry/manifest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/plugin_abi.h"
#include "bridges/util/messages.hpp"

namespace bridges {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> kTopKeys{"manifest_version", "plugin",   "version",       "description",
                                        "library",          "abi",      "shared_options", "provides"};
const std::vector<std::string> kEntryKeys{"kind",      "name",           "description", "invariances", "represents",
                                          "same_width", "direction", "symmetric", "shared_options", "options"};

std::string found(const json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

struct Checker {
  const fs::path& file;

  [[noreturn]] void fail(std::string_view path, std::string_view problem) const {
    throw ManifestError(fmt::format("{}: {}: {}", file.string(), path, problem));
  }

  void only_keys(const json& obj, const std::vector<std::string>& allowed, std::string_view path) const {
    for (const auto& [key, value] : obj.items())
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(path, fmt::format("unknown key \"{}\".{} Allowed keys: {}.", key, did_you_mean(key, allowed),
                               join(allowed)));
  }

  std::string string_at(const json& obj, const std::string& key, std::string_view path, bool required = true) const {
    if (!obj.contains(key)) {
      if (required) fail(path, fmt::format("\"{}\" is missing; expected a string.", key));
      return {};
    }
    if (!obj[key].is_string()) fail(fmt::format("{}.{}", path, key), fmt::format("expected a string, found {}.", found(obj[key])));
    return obj[key].get<std::string>();
  }

  void identifier(const std::string& value, std::string_view path) const {
    const bool valid = !value.empty() && value[0] >= 'a' && value[0] <= 'z' &&
                       std::all_of(value.begin(), value.end(),
                                   [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'; });
    if (!valid)
      fail(path, fmt::format("\"{}\" is not a valid name: use lower-case letters, digits and '_', starting with a "
                             "letter (e.g. \"my_cosine\").",
                             value));
  }
};

}  // namespace

PluginManifest parse_manifest(const json& m, const fs::path& file) {
  const Checker c{file};
  if (!m.is_object()) c.fail("$", fmt::format("a manifest is a JSON object, found {}.", found(m)));
  c.only_keys(m, kTopKeys, "$");

  if (!m.contains("manifest_version") || !m["manifest_version"].is_number_integer())
    c.fail("$.manifest_version", "expected the integer 1. Add \"manifest_version\": 1.");
  if (m["manifest_version"].get<int64_t>() != 1)
    c.fail("$.manifest_version", fmt::format("this bridges reads manifest version 1, found {}. Upgrade bridges, or "
                                             "write the manifest in version 1.",
                                             m["manifest_version"].get<int64_t>()));

  PluginManifest out;
  out.file = file;
  out.plugin = c.string_at(m, "plugin", "$");
  c.identifier(out.plugin, "$.plugin");
  out.version = c.string_at(m, "version", "$");
  out.description = c.string_at(m, "description", "$", /*required=*/false);
  const std::string library = c.string_at(m, "library", "$");
  if (library.empty()) c.fail("$.library", "expected the library's file name, e.g. \"libbridges_distances.so\".");
  out.library = fs::path(library).is_absolute() ? fs::path(library) : file.parent_path() / library;

  if (!m.contains("abi") || !m["abi"].is_number_integer())
    c.fail("$.abi", fmt::format("expected the plugin ABI version as an integer ({}).", BRIDGES_PLUGIN_ABI_VERSION));
  const int64_t abi = m["abi"].get<int64_t>();
  if (abi != BRIDGES_PLUGIN_ABI_VERSION)
    throw AbiMismatchError(fmt::format("{}: plugin '{}' declares ABI {}, this bridges loads ABI {}. Rebuild the plugin "
                                       "against this bridges (its SDK writes the right ABI).",
                                       file.string(), out.plugin, abi, BRIDGES_PLUGIN_ABI_VERSION));
  out.abi = static_cast<uint32_t>(abi);

  // Option declarations several components share, written once; a
  // component lists the ones it takes in its own "shared_options".
  const json shared = m.value("shared_options", json::object());
  if (!shared.is_object())
    c.fail("$.shared_options", fmt::format("expected an object of option declarations, found {}.", found(shared)));
  std::vector<std::string> shared_names;
  for (const auto& [name, decl] : shared.items()) shared_names.push_back(name);

  if (!m.contains("provides") || !m["provides"].is_array() || m["provides"].empty())
    c.fail("$.provides", "expected a non-empty array of components, e.g. [{\"kind\": \"similarity\", \"name\": \"cosine\"}].");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < m["provides"].size(); ++i) {
    const json& e = m["provides"][i];
    const std::string path = fmt::format("$.provides[{}]", i);
    if (!e.is_object()) c.fail(path, fmt::format("expected an object, found {}.", found(e)));
    c.only_keys(e, kEntryKeys, path);
    ComponentInfo info;
    const std::string kind = c.string_at(e, "kind", path);
    try {
      info.kind = parse_component_kind(kind);
    } catch (const UnknownNameError& err) {
      c.fail(path + ".kind", err.what());
    }
    info.name = c.string_at(e, "name", path);
    c.identifier(info.name, path + ".name");
    info.description = c.string_at(e, "description", path, /*required=*/false);
    info.provider = out.plugin;
    if (!seen.insert(info.qualified_name()).second)
      c.fail(path, fmt::format("{} is listed twice.", info.qualified_name()));
    // Invariances (similarities, measures) may depend on options, so they
    // are parsed below, with the options; the transformations a translator
    // recovers exactly ("represents") share their vocabulary.
    if (e.contains("invariances") && info.kind != ComponentKind::similarity && info.kind != ComponentKind::measure)
      c.fail(path + ".invariances", "only similarities and measures declare \"invariances\".");
    if (e.contains("represents")) {
      const std::string at = path + ".represents";
      if (info.kind != ComponentKind::translator) c.fail(at, "only translators declare \"represents\".");
      if (!e["represents"].is_array()) c.fail(at, "expected an array of invariance names.");
      std::vector<std::string> names;
      for (Invariance inv : all_invariances()) names.emplace_back(to_string(inv));
      for (const auto& v : e["represents"]) {
        const auto inv = v.is_string() ? parse_invariance(v.get<std::string>()) : std::nullopt;
        if (!inv)
          c.fail(at, fmt::format("{} is not an invariance.{} Known: {}.", found(v),
                                 v.is_string() ? did_you_mean(v.get<std::string>(), names) : "", join(names)));
        info.represents.insert(*inv);
      }
    }
    if (e.contains("same_width")) {
      if (info.kind != ComponentKind::measure) c.fail(path + ".same_width", "only measures declare \"same_width\".");
      if (!e["same_width"].is_boolean())
        c.fail(path + ".same_width", fmt::format("expected true (the measure pairs entry (i, c) of one representation "
                                                "with entry (i, c) of the other) or false, found {}.",
                                                found(e["same_width"])));
      info.same_width = e["same_width"].get<bool>();
    }
    if (e.contains("symmetric")) {
      if (info.kind != ComponentKind::aggregator) c.fail(path + ".symmetric", "only aggregators declare \"symmetric\".");
      if (!e["symmetric"].is_boolean())
        c.fail(path + ".symmetric", fmt::format("expected true (the aggregator treats every subspace alike: permuting "
                                               "them changes nothing) or false, found {}.",
                                               found(e["symmetric"])));
      info.symmetric = e["symmetric"].get<bool>();
    }
    if (e.contains("direction")) {
      if (info.kind != ComponentKind::similarity && info.kind != ComponentKind::measure)
        c.fail(path + ".direction", "only similarities and measures declare a direction.");
      info.direction = c.string_at(e, "direction", path);
      if (info.direction != "similarity" && info.direction != "distance")
        c.fail(path + ".direction", fmt::format("\"{}\" is not \"similarity\" (a larger value is closer) or "
                                                "\"distance\" (a larger value is farther).",
                                                info.direction));
    }
    json options = e.value("options", json::object());
    if (!options.is_object()) c.fail(path + ".options", fmt::format("expected an object of option declarations, found {}.", found(options)));
    const json taken = e.value("shared_options", json::array());
    if (!taken.is_array()) c.fail(path + ".shared_options", "expected a list of names from the top-level \"shared_options\".");
    for (const auto& name : taken) {
      if (!name.is_string() || !shared.contains(name.get<std::string>()))
        c.fail(path + ".shared_options",
               fmt::format("{} is not declared in the top-level \"shared_options\".{} Declared: {}.", found(name),
                           name.is_string() ? did_you_mean(name.get<std::string>(), shared_names) : "",
                           shared_names.empty() ? std::string("none") : join(shared_names)));
      const std::string key = name.get<std::string>();
      if (e.contains("options") && e["options"].contains(key))
        c.fail(path + ".options", fmt::format("'{}' is both a shared option and one of its own; keep one.", key));
      if (options.contains(key)) c.fail(path + ".shared_options", fmt::format("'{}' is listed twice.", key));
      options[key] = shared[key];
    }
    try {
      info.options = OptionSchema::parse(options, info.qualified_name());
    } catch (const ConfigError& err) {
      c.fail(path + ".options", err.what());
    }
    try {
      info.invariances = InvarianceDeclaration::parse(e.value("invariances", json()), info.options,
                                                      info.qualified_name());
    } catch (const ConfigError& err) {
      c.fail(path + ".invariances", err.what());
    }
    out.provides.push_back(std::move(info));
  }
  return out;
}

PluginManifest read_manifest(const fs::path& file) {
  const std::string text = read_text(file);
  json m;
  try {
    m = parse_json(text, file.string());
  } catch (const FormatError& e) {
    throw ManifestError(e.what());  // skipped like any broken manifest
  }
  return parse_manifest(m, file);
}

}  // namespace bridges
