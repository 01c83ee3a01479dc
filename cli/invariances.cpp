// bridges invariances: measured against declared invariances.
#include <fmt/format.h>

#include <iostream>

#include "bridges/error.hpp"
#include "bridges/relative/invariance_check.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

using nlohmann::json;

struct InvarianceOptions {
  std::vector<std::string> similarities;
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
  if (report.disagrees(m)) return text + " !";
  if (m.invariant && !m.declared) return text + " +";
  return text;
}

void run(Context& context, const InvarianceOptions& o) {
  InvarianceCheckOptions check;
  check.seed = o.seed;
  check.tolerance = o.tolerance;
  check.norm = parse_subspace_norm(o.normalize);

  std::vector<std::string> names = list_values(o.similarities);
  if (names.empty())
    for (const auto& c : context.registry().components())
      if (c.kind == ComponentKind::similarity && !c.options.has_required()) names.push_back(c.name);
  if (names.empty()) throw ConfigError("no similarity plugin was found; `bridges plugins list` shows the search path.");

  // Without -s every similarity found is measured, and one whose plugin
  // cannot be loaded is reported without stopping the others.
  const bool every = list_values(o.similarities).empty();
  std::vector<InvarianceReport> reports;
  std::vector<std::string> failures;
  for (const auto& name : names) {
    try {
      reports.push_back(measure_invariances(*make_similarity(context, name), check));
    } catch (const Error& e) {
      if (!every) throw;
      failures.push_back(fmt::format("{}: {}", name, e.what()));
    }
  }
  for (const auto& failure : failures) std::cerr << "error: " << failure << '\n';

  bool agree = failures.empty();
  for (const auto& r : reports) agree = agree && r.agrees();
  context.exit_code = agree ? 0 : 1;

  if (o.json) {
    json out = json::array();
    for (const auto& r : reports) {
      json rows = json::object();
      for (const auto& m : r.rows)
        rows[std::string(to_string(m.invariance))] = {{"declared", m.declared},
                                                      {"measurable", m.measurable},
                                                      {"invariant", m.measurable ? json(m.invariant) : json(nullptr)},
                                                      {"deviation", m.measurable ? json(m.deviation) : json(nullptr)},
                                                      {"disagrees", r.disagrees(m)}};
      out.push_back({{"similarity", r.similarity}, {"normalize", to_string(r.norm)}, {"agrees", r.agrees()},
                     {"invariances", rows}});
    }
    std::cout << out.dump(2) << '\n';
    return;
  }

  std::vector<std::string> header{"SIMILARITY"};
  for (Invariance inv : all_invariances()) header.emplace_back(to_string(inv));
  header.push_back("DECLARED");
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : reports) {
    std::vector<std::string> row{r.similarity};
    for (const auto& m : r.rows) row.push_back(cell(r, m));
    std::set<Invariance> declared;
    for (const auto& m : r.rows)
      if (m.declared) declared.insert(m.invariance);
    row.push_back(declared.empty() ? "none" : to_string(declared));
    rows.push_back(std::move(row));
  }
  std::cout << fmt::format("Measured invariance of relative representations (normalisation: {}, tolerance {:g}):\n"
                           "each transformation is applied to latents and anchors together.\n\n",
                           o.normalize, o.tolerance);
  print_table(std::cout, header, rows);
  std::cout << "\nyes/no: measured.  !: disagrees with the declaration.  +: added by the normalisation.\n";
  for (const auto& r : reports)
    for (const auto& m : r.rows)
      if (r.disagrees(m))
        std::cout << fmt::format("DISAGREES {}: {} {} invariant but measured {} (deviation {:.3g}).\n", r.similarity,
                                 m.declared ? "declared" : "not declared", to_string(m.invariance),
                                 m.invariant ? "invariant" : "not invariant", m.deviation);
  if (agree) std::cout << "Every measurement agrees with the declarations.\n";
  if (!failures.empty()) std::cout << fmt::format("{} similarities could not be measured (see the errors).\n", failures.size());
}

}  // namespace

void add_invariances_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<InvarianceOptions>();
  auto* cmd = app.add_subcommand("invariances", "Measure each similarity's invariances beside what it declares");
  cmd->footer(
      "Applies isotropic scaling, a random orthogonal map, a translation, a permutation of dimensions, a\n"
      "random affine and a random linear map to random latents and anchors together, and reports which\n"
      "leave the relative representation unchanged. Exit code 1 when a measurement disagrees with a\n"
      "declaration.");
  cmd->add_option("--similarity,-s", o->similarities,
                  "similarities to measure, comma separated or JSON specs (default: every similarity found)");
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
