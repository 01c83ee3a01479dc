#include "bridges/experiments/pipeline.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <set>

#include "bridges/relative/anchors.hpp"
#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/options.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/experiments/runner.hpp"
#include "experiment.hpp"

namespace bridges {

using nlohmann::json;

namespace {

const std::vector<std::string> kTopKeys{"name", "description", "dataset", "encoders", "anchors", "projections",
                                        "normalize", "orientation", "aggregators", "decoder", "experiments", "output", "cache"};

// Validation with the file and JSON path in every message.
struct Checker {
  std::string where;
  const ComponentSource& source;

  [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
    throw ConfigError(fmt::format("{}: {}: {}", where, path, problem));
  }

  void only_keys(const json& obj, const std::vector<std::string>& allowed, const std::string& path) const {
    if (!obj.is_object()) fail(path, fmt::format("expected an object, found {}.", json_excerpt(obj)));
    for (const auto& [key, value] : obj.items())
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        fail(path, fmt::format("unknown key \"{}\".{} Allowed: {}.", key, did_you_mean(key, allowed), join(allowed)));
  }

  int64_t integer(const json& obj, const std::string& key, int64_t fallback, int64_t minimum, const std::string& path) const {
    if (!obj.contains(key)) return fallback;
    const json& v = obj[key];
    if (!v.is_number_integer() || v.get<int64_t>() < minimum)
      fail(path + "." + key, fmt::format("expected an integer >= {}, found {}.", minimum, json_excerpt(v)));
    return v.get<int64_t>();
  }

  std::string string(const json& obj, const std::string& key, const std::string& fallback, const std::string& path,
                     const std::vector<std::string>& allowed = {}) const {
    if (!obj.contains(key)) return fallback;
    const json& v = obj[key];
    if (!v.is_string()) fail(path + "." + key, fmt::format("expected a string, found {}.", json_excerpt(v)));
    const std::string s = v;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), s) == allowed.end())
      fail(path + "." + key, fmt::format("\"{}\" is not one of {}.{}", s, join(allowed), did_you_mean(s, allowed)));
    return s;
  }

  // "cosine" or {"type": "cosine", ...options} -> {"type": "cosine", ...all options}.
  // Keys in `extra` are not options (e.g. "name", "seeds") and are returned in `taken`.
  json component(const json& value, ComponentKind kind, const std::string& path,
                 const std::vector<std::string>& extra = {}, json* taken = nullptr) const {
    json spec = value.is_string() ? json{{"type", value}} : value;
    if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
      fail(path, fmt::format("a {} is a name or {{\"type\": \"<name>\", ...options}}, found {}.", to_string(kind),
                             json_excerpt(value)));
    const std::string type = spec["type"];
    json options = spec;
    options.erase("type");
    for (const auto& key : extra)
      if (options.contains(key)) {
        if (taken) (*taken)[key] = options[key];
        options.erase(key);
      }
    ComponentInfo info;
    try {
      info = source.info(kind, type);
    } catch (const UnknownNameError& e) {
      fail(path + ".type", e.what());
    }
    json complete;
    try {
      complete = info.options.apply(options, info.qualified_name());
    } catch (const ConfigError& e) {
      fail(path, e.what());
    }
    complete["type"] = type;
    return complete;
  }
};

// One experiment entry: its kind from the table, its options through the
// kind's schema (unknown keys, types, ranges, defaults: the machinery that
// checks components' options), then the kind's own checks against the
// pipeline's parts.
json experiment(const Checker& c, const json& value, const Pipeline& p, const std::string& path) {
  const json spec = value.is_string() ? json{{"type", value}} : value;
  if (!spec.is_object() || !spec.contains("type"))
    c.fail(path, fmt::format("an experiment is {{\"type\": \"stitching\", ...}}, found {}.", json_excerpt(value)));
  const std::string type = c.string(spec, "type", "", path, experiment_names());
  const Experiment& kind = find_experiment(type);
  json options = spec;
  options.erase("type");
  try {
    const std::string qualified = "experiment/" + type;
    options = OptionSchema::parse(kind.option_schema(), qualified).apply(options, qualified);
  } catch (const ConfigError& e) {
    c.fail(path, e.what());
  }
  kind.check(options, ExperimentCheck(p, c.where, path, c.source, [&c](const json& v, ComponentKind k, const std::string& at) {
               return c.component(v, k, at);
             }));
  options["type"] = type;
  return options;
}

// A symmetric aggregator (sum, self_attention: the same weights for every
// subspace) that merges a similarity with distances as they are adds rows
// that are nearly each other's negatives once normalised, and the two cancel
// (docs/study.md, sections 1 and 7: cosine + L-inf by sum 0.29 raw, 0.79
// with the distances negated). Valid, and the method's own choice, so a
// warning, given only when "orientation" is left to its default.
std::vector<std::string> opposite_directions_warnings(const Pipeline& p, const ComponentSource& source) {
  const auto direction = [&](const std::string& projection) {
    return source.info(ComponentKind::similarity, p.projection(projection).spec["type"].get<std::string>()).direction;
  };
  // Per symmetric aggregator (in pipeline order), the projections of every
  // merge by it that mixes directions: one warning each, the same for a
  // whole study and for the union of its parts.
  std::vector<PlannedStitching> merges;
  for (const auto& e : p.experiments)
    for (auto& merge : find_experiment(e.type).merges(p, e.options)) merges.push_back(std::move(merge));
  std::vector<std::string> warnings;
  for (const auto& aggregator : p.aggregators) {
    const std::string type = aggregator["type"];
    if (!source.info(ComponentKind::aggregator, type).symmetric) continue;
    std::set<std::string> involved;
    for (const auto& merge : merges) {
      if (merge.aggregator != aggregator) continue;
      const auto of = [&](const char* d) {
        return std::any_of(merge.projections.begin(), merge.projections.end(),
                           [&](const std::string& name) { return direction(name) == d; });
      };
      if (of("similarity") && of("distance")) involved.insert(merge.projections.begin(), merge.projections.end());
    }
    // Named by their declared direction; one of undeclared direction is neither.
    std::vector<std::string> similarities, distances;
    for (const auto& name : p.projection_names()) {
      if (involved.count(name) == 0) continue;
      if (direction(name) == "similarity") similarities.push_back(name);
      if (direction(name) == "distance") distances.push_back(name);
    }
    if (similarities.empty()) continue;
    warnings.push_back(fmt::format(
        "$.orientation: aggregator {} treats every subspace alike, and merges the {} {} with the {} {} as they are "
        "(\"orientation\" defaults to \"raw\"). Normalised, their rows are nearly each other's negatives and cancel "
        "(docs/study.md, section 1). Set \"orientation\": \"closer_is_larger\" to negate the distances; or \"raw\" "
        "to keep them as they are, as the method does, without this warning; or merge with an aggregator that weighs "
        "each subspace on its own (concat, mlp_sum).",
        type, similarities.size() == 1 ? "similarity" : "similarities", join(similarities, ", "),
        distances.size() == 1 ? "distance" : "distances", join(distances, ", ")));
  }
  return warnings;
}

}  // namespace

json expand_environment(const json& j, const std::string& where) {
  std::function<json(const json&, const std::string&)> walk = [&](const json& v, const std::string& path) -> json {
    if (v.is_object()) {
      json out = json::object();
      for (const auto& [key, value] : v.items()) out[key] = walk(value, path + "." + key);
      return out;
    }
    if (v.is_array()) {
      json out = json::array();
      for (std::size_t i = 0; i < v.size(); ++i) out.push_back(walk(v[i], fmt::format("{}[{}]", path, i)));
      return out;
    }
    if (!v.is_string()) return v;
    const std::string s = v;
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
      if (s.compare(i, 2, "${") != 0) {
        out += s[i++];
        continue;
      }
      const std::size_t end = s.find('}', i);
      if (end == std::string::npos) throw ConfigError(fmt::format("{}: {}: \"${{\" without a closing \"}}\" in \"{}\".", where, path, s));
      const std::string name = s.substr(i + 2, end - i - 2);
      const char* value = std::getenv(name.c_str());
      if (value == nullptr)
        throw ConfigError(fmt::format("{}: {}: the environment variable {} is not set (used as ${{{}}}). Set it, or write "
                                      "the value in the file.",
                                      where, path, name, name));
      out += value;
      i = end + 1;
    }
    return out;
  };
  return walk(j, "$");
}

Pipeline Pipeline::load(const std::filesystem::path& file, const ComponentSource& source) {
  return parse(parse_json(read_text(file), file.string()), source, file.string());
}

Pipeline Pipeline::parse(const json& raw, const ComponentSource& source, const std::string& where) {
  const Checker c{where, source};
  const json j = expand_environment(raw, where);
  c.only_keys(j, kTopKeys, "$");
  Pipeline p;
  if (!j.contains("name")) c.fail("$", "\"name\" is missing: give the pipeline a name (it names the run folder).");
  p.name = c.string(j, "name", "", "$");
  p.description = c.string(j, "description", "", "$");
  p.dataset = c.component(j.value("dataset", json("fashion_mnist")), ComponentKind::dataset, "$.dataset");

  // Encoders: each entry may carry "seeds", expanded into one encoder per seed.
  if (!j.contains("encoders") || !j["encoders"].is_array() || j["encoders"].empty())
    c.fail("$.encoders", "expected a non-empty array of encoders, e.g. [{\"type\": \"cnn\", \"seeds\": [0, 1, 2]}].");
  p.encoder_groups = json::array();
  std::set<std::string> names;
  for (std::size_t i = 0; i < j["encoders"].size(); ++i) {
    const std::string path = fmt::format("$.encoders[{}]", i);
    json taken = json::object();
    json spec = c.component(j["encoders"][i], ComponentKind::encoder, path, {"name", "seeds"}, &taken);
    const std::string base = taken.contains("name") ? c.string(taken, "name", "", path) : spec["type"].get<std::string>();
    json group = spec;
    if (taken.contains("name")) group["name"] = base;
    std::vector<json> expanded;
    if (taken.contains("seeds")) {
      const json& seeds = taken["seeds"];
      if (!seeds.is_array() || seeds.empty())
        c.fail(path + ".seeds", fmt::format("expected a non-empty list of integers, found {}.", json_excerpt(seeds)));
      if (!spec.contains("seed"))
        c.fail(path + ".seeds", fmt::format("encoder/{} has no \"seed\" option to vary.", spec["type"].get<std::string>()));
      const json written = j["encoders"][i];
      if (written.is_object() && written.contains("seed"))
        c.fail(path, "give either \"seed\" or \"seeds\", not both.");
      group["seeds"] = seeds;
      group.erase("seed");
      for (const auto& seed : seeds) {
        if (!seed.is_number_integer() || seed.get<int64_t>() < 0)
          c.fail(path + ".seeds", fmt::format("{} is not a seed (a non-negative integer).", json_excerpt(seed)));
        json one = spec;
        one["seed"] = seed;
        p.encoders.push_back({fmt::format("{}-{}", base, seed.get<int64_t>()), one, base});
      }
    } else {
      p.encoders.push_back({base, spec, base});
    }
    p.encoder_groups.push_back(group);
  }
  for (const auto& e : p.encoders)
    if (!names.insert(e.name).second)
      c.fail("$.encoders", fmt::format("two encoders are named \"{}\"; give one a \"name\".", e.name));
  if (p.encoders.size() < 2 && !j.contains("experiments"))
    c.fail("$.encoders", "stitching needs at least two encoders (e.g. \"seeds\": [0, 1]).");

  const json anchors = j.value("anchors", json::object());
  c.only_keys(anchors, {"count", "strategy", "seed", "encoder"}, "$.anchors");
  // "count", "strategy" and "seed" each take one value, or a list of them to
  // sweep: every experiment then runs once per combination.
  const auto one_or_list = [&](const char* key, json fallback, const auto& check) {
    if (!anchors.contains(key)) return fallback;
    const json& v = anchors[key];
    if (!v.is_array()) return check(v, fmt::format("$.anchors.{}", key));
    if (v.empty())
      c.fail(fmt::format("$.anchors.{}", key), "a sweep needs at least one value, e.g. \"count\": [16, 64, 256, 1280].");
    json out = json::array();
    for (std::size_t i = 0; i < v.size(); ++i)
      out.push_back(check(v[i], fmt::format("$.anchors.{}[{}]", key, i)));
    return out;
  };
  const auto integer_at_least = [&](int64_t minimum) {
    return [&c, minimum](const json& v, const std::string& path) -> json {
      if (!v.is_number_integer() || v.get<int64_t>() < minimum)
        c.fail(path, fmt::format("expected an integer >= {}, found {}.", minimum, json_excerpt(v)));
      return v;
    };
  };
  const auto strategy_name = [&](const json& v, const std::string& path) -> json {
    if (!v.is_string()) c.fail(path, fmt::format("expected a string, found {}.", json_excerpt(v)));
    const std::string s = v;
    const auto allowed = anchor_strategies();
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
      c.fail(path, fmt::format("\"{}\" is not one of {}.{}", s, join(allowed), did_you_mean(s, allowed)));
    return v;
  };
  p.anchors = {{"count", one_or_list("count", json(1280), integer_at_least(1))},
               {"strategy", one_or_list("strategy", json("random"), strategy_name)},
               {"seed", one_or_list("seed", json(0), integer_at_least(0))}};
  const json& strategies = p.anchors["strategy"];
  const auto uses = [&](const char* name) {
    return strategies.is_array() ? std::find(strategies.begin(), strategies.end(), name) != strategies.end() : strategies == name;
  };
  if (uses("farthest_point") || uses("kmeans")) {
    std::vector<std::string> encoder_names;
    for (const auto& e : p.encoders) encoder_names.push_back(e.name);
    p.anchors["encoder"] = c.string(anchors, "encoder", p.encoders[0].name, "$.anchors", encoder_names);
  } else if (anchors.contains("encoder")) {
    c.fail("$.anchors.encoder", "only farthest_point and kmeans anchors are chosen in an encoder's latent space.");
  }

  if (!j.contains("projections") || !j["projections"].is_array() || j["projections"].empty())
    c.fail("$.projections", "expected a non-empty array of similarities, e.g. [\"cosine\", \"euclidean\", \"l1\", \"linf\"].");
  std::set<std::string> projection_names;
  for (std::size_t i = 0; i < j["projections"].size(); ++i) {
    const std::string path = fmt::format("$.projections[{}]", i);
    json taken = json::object();
    const json spec = c.component(j["projections"][i], ComponentKind::similarity, path, {"name"}, &taken);
    const std::string name = taken.contains("name") ? c.string(taken, "name", "", path) : spec["type"].get<std::string>();
    if (!projection_names.insert(name).second)
      c.fail(path, fmt::format("two projections are named \"{}\"; give one a \"name\".", name));
    p.projections.push_back({name, spec});
  }
  p.normalize = c.string(j, "normalize", "none", "$", {"none", "l2", "standardize"});
  // In every subspace, a larger value means closer: a distance's values are
  // negated, as its manifest's "direction" says. Summed subspaces then agree
  // instead of cancelling (a row-standardised cosine and Euclidean distance
  // of the same sample are nearly opposite).
  p.orientation = c.string(j, "orientation", "raw", "$", {"raw", "closer_is_larger"});
  if (p.orientation == "closer_is_larger")
    for (std::size_t i = 0; i < p.projections.size(); ++i) {
      auto& pr = p.projections[i];
      const std::string type = pr.spec["type"];
      const std::string direction = source.info(ComponentKind::similarity, type).direction;
      if (direction.empty())
        c.fail(fmt::format("$.projections[{}]", i),
               fmt::format("\"orientation\": \"closer_is_larger\" needs to know whether a larger value of similarity/{} "
                           "is closer or farther, and its manifest does not say: add \"direction\": \"similarity\" or "
                           "\"distance\" to its entry in the plugin's manifest, or use \"orientation\": \"raw\".",
                           type));
      pr.negated = direction == "distance";
    }

  const json aggregators = j.value("aggregators", json::array({"mlp_sum"}));
  if (!aggregators.is_array() || aggregators.empty()) c.fail("$.aggregators", "expected a non-empty array of aggregators.");
  std::set<std::string> aggregator_types;
  for (std::size_t i = 0; i < aggregators.size(); ++i) {
    const json spec = c.component(aggregators[i], ComponentKind::aggregator, fmt::format("$.aggregators[{}]", i));
    if (!aggregator_types.insert(spec["type"]).second)
      c.fail(fmt::format("$.aggregators[{}]", i), fmt::format("aggregator {} is listed twice.", spec["type"].get<std::string>()));
    p.aggregators.push_back(spec);
  }

  json decoder = j.value("decoder", json::object());
  c.only_keys(decoder, {"hidden", "epochs", "batch_size", "lr", "seeds", "train_samples", "test_samples", "patience",
                        "max_epochs", "val_fraction"},
              "$.decoder");
  p.decoder = {{"hidden", c.integer(decoder, "hidden", 256, 1, "$.decoder")},
               {"epochs", c.integer(decoder, "epochs", 5, 1, "$.decoder")},
               {"batch_size", c.integer(decoder, "batch_size", 256, 1, "$.decoder")},
               {"lr", decoder.value("lr", 1e-3)},
               {"seeds", decoder.value("seeds", json::array({0, 1, 2}))},
               {"patience", c.integer(decoder, "patience", 0, 0, "$.decoder")},
               {"max_epochs", c.integer(decoder, "max_epochs", 100, 1, "$.decoder")},
               {"val_fraction", decoder.value("val_fraction", 0.1)}};
  if (!p.decoder["lr"].is_number() || p.decoder["lr"].get<double>() <= 0)
    c.fail("$.decoder.lr", fmt::format("expected a positive number, found {}.", json_excerpt(p.decoder["lr"])));
  if (!p.decoder["seeds"].is_array() || p.decoder["seeds"].empty())
    c.fail("$.decoder.seeds", "expected a non-empty list of seeds, e.g. [0, 1, 2].");
  for (const auto& seed : p.decoder["seeds"])
    if (!seed.is_number_integer() || seed.get<int64_t>() < 0) c.fail("$.decoder.seeds", fmt::format("{} is not a seed.", json_excerpt(seed)));
  if (const json& f = p.decoder["val_fraction"]; !f.is_number() || !(f.get<double>() > 0 && f.get<double>() < 1))
    c.fail("$.decoder.val_fraction", fmt::format("expected a number between 0 and 1 (exclusive), found {}.", json_excerpt(f)));
  if (p.decoder["patience"].get<int64_t>() > 0 && decoder.contains("epochs"))
    c.fail("$.decoder.epochs", "with \"patience\" (early stopping) training runs until the validation loss stops "
                               "improving, at most \"max_epochs\"; remove \"epochs\", the count without early stopping.");
  if (p.decoder["patience"].get<int64_t>() == 0)
    for (const char* key : {"max_epochs", "val_fraction"})
      if (decoder.contains(key))
        c.fail(fmt::format("$.decoder.{}", key), fmt::format("\"{}\" applies to early stopping only; set \"patience\" "
                                                             "(e.g. 5) too, or remove it.",
                                                             key));
  // The resolved decoder names the options of its regime only, so that it reads back as it was.
  if (p.decoder["patience"].get<int64_t>() > 0)
    p.decoder.erase("epochs");
  else
    for (const char* key : {"max_epochs", "val_fraction"}) p.decoder.erase(key);
  for (const char* key : {"train_samples", "test_samples"}) {
    json limit = decoder.value(key, json());
    if (limit == "all") limit = nullptr;  // the whole split, as null
    if (!limit.is_null() && (!limit.is_number_integer() || limit.get<int64_t>() < 1))
      c.fail(fmt::format("$.decoder.{}", key), fmt::format("expected \"all\" (the whole split) or a positive integer, "
                                                           "found {}.",
                                                           json_excerpt(limit)));
    p.decoder[key] = limit;
  }

  const json experiments = j.value("experiments", json::array({"stitching"}));
  if (!experiments.is_array() || experiments.empty()) c.fail("$.experiments", "expected a non-empty array of experiments.");
  for (std::size_t i = 0; i < experiments.size(); ++i) {
    const json e = experiment(c, experiments[i], p, fmt::format("$.experiments[{}]", i));
    p.experiments.push_back({e["type"], e});
  }
  if (p.encoders.size() < 2) c.fail("$.encoders", "stitching needs at least two encoders (e.g. \"seeds\": [0, 1]).");

  p.output = c.string(j, "output", "runs/" + p.name, "$");
  p.cache = c.string(j, "cache", "", "$");
  if (j.contains("cache") && p.cache.empty())
    c.fail("$.cache", "expected a folder, found \"\"; leave \"cache\" out to keep the caches in the run folder.");
  // A pipeline that writes "orientation" has chosen it: only the default warns.
  if (!j.contains("orientation")) p.warnings = opposite_directions_warnings(p, source);
  return p;
}

json Pipeline::to_json() const {
  json out{{"name", name}};
  if (!description.empty()) out["description"] = description;
  out["dataset"] = dataset;
  out["encoders"] = encoder_groups;
  out["anchors"] = anchors;
  out["projections"] = json::array();
  for (const auto& pr : projections) {
    json spec = pr.spec;
    if (pr.name != spec["type"]) spec["name"] = pr.name;
    out["projections"].push_back(spec);
  }
  out["normalize"] = normalize;
  out["orientation"] = orientation;
  out["aggregators"] = aggregators;
  out["decoder"] = decoder;
  out["experiments"] = json::array();
  for (const auto& e : experiments) out["experiments"].push_back(e.options);
  out["output"] = output;
  if (!cache.empty()) out["cache"] = cache;
  return out;
}

std::vector<std::string> Pipeline::projection_names() const {
  std::vector<std::string> names;
  for (const auto& pr : projections) names.push_back(pr.name);
  return names;
}

std::vector<std::vector<std::string>> Pipeline::projection_sets(const json& sets) const {
  std::vector<std::vector<std::string>> out;
  const auto add = [&](std::vector<std::string> set) {
    if (std::find(out.begin(), out.end(), set) == out.end()) out.push_back(std::move(set));
  };
  for (const auto& s : sets) {
    if (s == "each")
      for (const auto& name : projection_names()) add({name});
    else if (s == "all")
      add(projection_names());
    else
      add(s.get<std::vector<std::string>>());
  }
  return out;
}

std::vector<json> Pipeline::aggregator_specs(const json& names) const {
  if (names.is_null()) return aggregators;
  std::vector<json> out;
  for (const auto& a : aggregators)
    if (std::find(names.begin(), names.end(), a["type"]) != names.end()) out.push_back(a);
  return out;
}

DecoderOptions Pipeline::decoder_options(uint64_t seed) const {
  DecoderOptions o = DecoderOptions::from_json(decoder);
  o.seed = seed;
  return o;
}

const PipelineProjection& Pipeline::projection(const std::string& n) const {
  for (const auto& pr : projections)
    if (pr.name == n) return pr;
  throw ConfigError(fmt::format("pipeline {}: no projection named \"{}\".", name, n));
}

const PipelineEncoder& Pipeline::encoder(const std::string& n) const {
  for (const auto& e : encoders)
    if (e.name == n) return e;
  throw ConfigError(fmt::format("pipeline {}: no encoder named \"{}\".", name, n));
}

}  // namespace bridges
