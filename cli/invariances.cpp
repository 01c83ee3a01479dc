// bridges invariances: measured against declared invariances.
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/relative/invariance_check.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

using nlohmann::json;

struct InvarianceOptions {
  std::vector<std::string> similarities, translators, measures;
  std::string normalize = "none";
  bool json = false;
  uint64_t seed = 0;
  double tolerance = 1e-6;
};

// "yes"/"no" measured; "!" marks a disagreement with the declaration, "+"
// an invariance the normalisation adds; unmeasurable classes show what is declared.
std::string cell(const InvarianceReport& report, const InvarianceMeasurement& m) {
  if (!m.measurable) return m.declared ? "declared" : "-";
  std::string text = m.invariant ? "yes" : "no";
  if (m.approximate) text += " ~";
  if (report.disagrees(m)) return text + " !";
  if (m.invariant && !m.declared) return text + " +";
  return text;
}

void run(Context& context, const InvarianceOptions& o) {
  InvarianceCheckOptions check;
  check.seed = o.seed;
  check.tolerance = o.tolerance;
  check.norm = parse_subspace_norm(o.normalize);

  // Without -s, -t or -m every similarity, translator and measure found is measured,
  // and one whose plugin cannot be loaded is reported without stopping the
  // others.
  std::vector<std::string> names = list_values(o.similarities), translator_names = list_values(o.translators),
                           measure_names = list_values(o.measures);
  const bool every = names.empty() && translator_names.empty() && measure_names.empty();
  if (every)
    for (const auto& c : context.registry().components()) {
      if (c.options.has_required()) continue;
      if (c.kind == ComponentKind::similarity) names.push_back(c.name);
      if (c.kind == ComponentKind::translator) translator_names.push_back(c.name);
      if (c.kind == ComponentKind::measure) measure_names.push_back(c.name);
    }
  if (names.empty() && translator_names.empty() && measure_names.empty())
    throw ConfigError("no similarity, translator or measure plugin was found; `bridges plugins list` shows the search "
                      "path.");

  std::vector<InvarianceReport> reports, translations, measure_reports;
  std::vector<std::string> failures;
  const auto measure = [&](const std::string& name, auto&& how) {
    try {
      how();
    } catch (const Error& e) {
      if (!every) throw;
      failures.push_back(fmt::format("{}: {}", name, e.what()));
    }
  };
  // Each report's spec, to name rows by their full spec when two share a type.
  std::vector<json> similarity_specs, translator_specs, measure_specs;
  for (const auto& name : names)
    measure(name, [&] {
      const auto similarity = make_similarity(context, name);
      const auto& declared = context.registry().info(ComponentKind::similarity, similarity->type()).invariances;
      reports.push_back(measure_invariances(*similarity, declared, check));
      similarity_specs.push_back(similarity->to_json());
    });
  for (const auto& name : translator_names)
    measure(name, [&] {
      const auto translator = make_component<Translator>(context, name, "--translator");
      const InvarianceSet declared = context.registry().info(ComponentKind::translator, translator->type()).represents;
      translations.push_back(measure_translations(*translator, declared, check));
      translator_specs.push_back(translator->to_json());
    });
  for (const auto& name : measure_names)
    measure(name, [&] {
      const auto m = make_component<Measure>(context, name, "--measure");
      const auto& declared = context.registry().info(ComponentKind::measure, m->type()).invariances;
      measure_reports.push_back(measure_invariances(*m, declared, check));
      measure_specs.push_back(m->to_json());
    });
  // Rows are named by type, followed by the options that differ from their
  // defaults ("rbf {"sigma":5.0}"); two specs of one type that still read
  // alike get their full spec.
  const auto label = [&](ComponentKind kind, const json& spec) {
    const std::string type = spec.value("type", "");
    json options = spec;
    options.erase("type");
    json defaults;
    try {
      defaults = context.registry().info(kind, type).options.apply(json::object(), type);
    } catch (const Error&) {
      defaults = json::object();  // a required option: every option is shown
    }
    json differing = json::object();
    for (const auto& [key, value] : options.items())
      if (!defaults.contains(key) || defaults[key] != value) differing[key] = value;
    return differing.empty() ? type : type + " " + differing.dump();
  };
  for (auto [group, group_specs, kind] :
       {std::tuple{&reports, &similarity_specs, ComponentKind::similarity},
        std::tuple{&translations, &translator_specs, ComponentKind::translator},
        std::tuple{&measure_reports, &measure_specs, ComponentKind::measure}}) {
    std::map<std::string, int> uses;
    for (const auto& spec : *group_specs) ++uses[label(kind, spec)];
    for (std::size_t i = 0; i < group->size(); ++i) {
      const json& spec = (*group_specs)[i];
      const std::string name = label(kind, spec);
      json options = spec;
      options.erase("type");
      (*group)[i].similarity = uses[name] > 1 ? spec.value("type", "") + " " + options.dump() : name;
    }
  }
  for (const auto& failure : failures) std::cerr << "error: " << failure << '\n';

  bool agree = failures.empty();
  for (const auto& r : reports) agree = agree && r.agrees();
  for (const auto& r : translations) agree = agree && r.agrees();
  for (const auto& r : measure_reports) agree = agree && r.agrees();
  context.exit_code = agree ? 0 : 1;

  if (o.json) {
    json out = json::array();
    for (const auto* group : {&reports, &translations, &measure_reports})
    for (const auto& r : *group) {
      const bool translator = group == &translations;
      json rows = json::object();
      for (const auto& m : r.rows)
        rows[std::string(to_string(m.invariance))] = {{"declared", m.declared},
                                                      {"measurable", m.measurable},
                                                      {"invariant", m.measurable ? json(m.invariant) : json(nullptr)},
                                                      {"deviation", m.measurable ? json(m.deviation) : json(nullptr)},
                                                      {"tolerance", m.tolerance},
                                                      {"approximate", m.approximate},
                                                      {"disagrees", r.disagrees(m)}};
      if (translator)
        out.push_back({{"translator", r.similarity}, {"agrees", r.agrees()}, {"represents", rows}});
      else if (group == &measure_reports)
        out.push_back({{"measure", r.similarity}, {"agrees", r.agrees()}, {"invariances", rows}});
      else
        out.push_back({{"similarity", r.similarity}, {"normalize", to_string(r.norm)}, {"agrees", r.agrees()},
                       {"invariances", rows}});
    }
    std::cout << out.dump(2) << '\n';
    return;
  }

  const auto table = [&](const std::vector<InvarianceReport>& group, const std::string& title) {
    std::vector<std::string> header{title};
    for (Invariance inv : all_invariances()) header.emplace_back(to_string(inv));
    header.push_back("DECLARED");
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : group) {
      std::vector<std::string> row{r.similarity};
      for (const auto& m : r.rows) row.push_back(cell(r, m));
      std::set<Invariance> declared;
      for (const auto& m : r.rows)
        if (m.declared) declared.insert(m.invariance);
      row.push_back(declared.empty() ? "none" : to_string(declared));
      rows.push_back(std::move(row));
    }
    print_table(std::cout, header, rows);
  };
  if (!reports.empty()) {
    std::cout << fmt::format("Measured invariance of relative representations (normalisation: {}, tolerance {:g}):\n"
                             "each transformation is applied to latents and anchors together.\n\n",
                             o.normalize, o.tolerance);
    table(reports, "SIMILARITY");
    std::cout << "\nyes/no: measured.  !: disagrees with the declaration.  +: added by the normalisation.  ~: declared "
                 "approximate.\n";
    // Each test's tolerance, so that a "yes" says how close it is.
    std::vector<std::string> approximate;
    for (const auto& r : reports)
      for (const auto& m : r.rows)
        if (m.approximate) approximate.push_back(fmt::format("{} {} {:g}", r.similarity, to_string(m.invariance), m.tolerance));
    std::cout << fmt::format("Tolerances (the largest max |r(Tx, Ta) - r(x, a)| / max |r(x, a)| counted as invariant):\n"
                             "  {:g} for each map on {} random latents and {} anchors (d = {}, float64)\n"
                             "  {:g} for manifold_isometry: a sheet of {} points against the same sheet rolled into a "
                             "Swiss roll\n  (a similarity follows the manifold only through its samples){}\n",
                             o.tolerance, check.samples, check.anchors, check.dim, check.manifold_tolerance,
                             check.manifold_samples,
                             approximate.empty() ? "" : "\n  declared approximate: " + join(approximate));
  }
  if (!translations.empty()) {
    std::cout << fmt::format("{}Transformations each translator recovers (tolerance {:g}): fitted on {} random anchors "
                             "and the same anchors transformed, then\ntranslate(x) against T(x) on {} other random "
                             "latents; manifold_isometry: a sheet against its Swiss roll.\n\n",
                             reports.empty() ? "" : "\n", o.tolerance, check.anchors, check.samples);
    table(translations, "TRANSLATOR");
    std::cout << "\nyes/no: measured (recovered or not).  !: disagrees with the manifest's \"represents\".\n";
  }
  if (!measure_reports.empty()) {
    std::cout << fmt::format("{}Invariance of each measure (tolerance {:g}): m(a, T b) against m(a, b) for {} random "
                             "samples of two related spaces.\n\n",
                             reports.empty() && translations.empty() ? "" : "\n", o.tolerance, check.samples);
    table(measure_reports, "MEASURE");
    std::cout << "\nyes/no: measured.  !: disagrees with the manifest's \"invariances\".  -: not measurable.\n";
  }
  for (const auto* group : {&reports, &translations, &measure_reports})
    for (const auto& r : *group)
      for (const auto& m : r.rows)
        if (r.disagrees(m)) {
          const std::string word = group == &translations ? "recovered" : "invariant";
          std::cout << fmt::format("DISAGREES {}: {} {} {} but measured {} (deviation {:.3g}).\n", r.similarity,
                                   m.declared ? "declared" : "not declared", to_string(m.invariance), word,
                                   m.invariant ? word : "not " + word, m.deviation);
        }
  if (agree) std::cout << "Every measurement agrees with the declarations.\n";
  if (!failures.empty())
    std::cout << fmt::format("{} components could not be measured (see the errors).\n", failures.size());
}

}  // namespace

void add_invariances_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<InvarianceOptions>();
  auto* cmd = app.add_subcommand("invariances", description_of("invariances"));
  cmd->footer(
      "Applies isotropic scaling, a random orthogonal map, a translation, a permutation of dimensions, a\n"
      "random affine and a random linear map to random latents and anchors together, and reports which\n"
      "leave the relative representation unchanged. Translators are fitted on random anchors and the same\n"
      "anchors transformed, and checked on other latents. Measures compare a space with a transformed\n"
      "second space. Exit code 1 when a measurement disagrees with a declaration.");
  cmd->add_option("--similarity,-s", o->similarities,
                  "similarities to measure, comma separated or JSON specs (default: every similarity found)");
  cmd->add_option("--translator,-t", o->translators,
                  "translators to measure, comma separated or JSON specs (default: with no -s either, every translator "
                  "found)");
  cmd->add_option("--measure,-m", o->measures,
                  "measures to measure, comma separated or JSON specs (default: with no -s or -t either, every measure "
                  "found)");
  cmd->add_option("--normalize", o->normalize, "per-subspace normalisation applied first: none, l2 or standardize")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the random data and transformations")->capture_default_str();
  cmd->add_option("--tolerance", o->tolerance, "largest relative deviation counted as invariant")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([&context, o] { run(context, *o); });
}

}  // namespace bridges::cli
