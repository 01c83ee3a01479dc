#include "bridges/experiments/report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

#include "experiment.hpp"
#include "report_format.hpp"

// Every function here works on a mutable copy of the results: see
// report_format.hpp for why. Each experiment kind writes its own section
// (kinds/); this file writes what every run has and puts them in order.
namespace bridges {

using nlohmann::json;

namespace {

// The anchor sweep: one column per (strategy, count), each cell the mean ±
// std over the anchor seeds; rows are the stitching runs (stitched accuracy
// and index) and each latent-similarity group's representation and measure.
std::string sweep_section(json sweep) {
  std::vector<std::pair<std::string, int64_t>> settings;
  std::map<std::pair<std::string, int64_t>, std::vector<json*>> runs;  // setting -> results, one per seed
  std::set<int64_t> seeds;
  for (auto& entry : sweep) {
    const std::pair<std::string, int64_t> setting{entry["strategy"].get<std::string>(), integer(entry["count"])};
    if (!runs.count(setting)) settings.push_back(setting);
    runs[setting].push_back(&entry["results"]);
    seeds.insert(integer(entry["seed"]));
  }
  const auto cell = [](const std::vector<double>& v) {
    if (v.empty()) return std::string("–");
    double mean = 0, var = 0;
    for (double x : v) mean += x / static_cast<double>(v.size());
    for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size());
    return v.size() == 1 ? num(mean) : fmt::format("{} ± {}", num(mean), num(std::sqrt(var)));
  };
  const auto header = [&](const std::string& first) {
    std::string h = fmt::format("| {} |", first);
    for (auto& [strategy, count] : settings) h += fmt::format(" {} · {} |", strategy, count);
    h += "\n|---|";
    for (std::size_t i = 0; i < settings.size(); ++i) h += "---|";
    return h + "\n";
  };
  std::string out = fmt::format(
      "\n## Anchor sweep\n\nColumns: anchor strategy · count. Each cell: the mean ± std over the anchor seeds {} "
      "(one seed: its value). Every run's full results are in results.json (\"sweep\"); the other sections are for "
      "the last.\n",
      fmt::join(seeds, ", "));
  json& first = *runs[settings[0]][0];
  if (first.contains("stitching")) {
    out += "\n### Stitching: stitched accuracy (stitching index)\n\n" + header("projections · aggregator");
    for (auto& run0 : stitching_runs(first)) {
      const std::string name = run_name(run0);
      out += fmt::format("| {} |", name);
      for (auto& setting : settings) {
        std::vector<double> accuracy, index;
        for (json* results : runs[setting])
          for (auto& run : stitching_runs(*results))
            if (run_name(run) == name) {
              accuracy.push_back(run["summary"]["stitched"]["accuracy"]["mean"].get<double>());
              index.push_back(run["summary"]["index"]["mean"].get<double>());
            }
        out += fmt::format(" {} ({}) |", cell(accuracy), cell(index));
      }
      out += "\n";
    }
  }
  if (first.contains("latent_similarity")) {
    json& ls = first["latent_similarity"];
    for (auto& [group, reps] : ls["summary"].items()) {
      out += fmt::format("\n### Latent similarity: {}\n\n", group) + header("representation · measure");
      for (auto& rep : ls["representations"])
        for (auto& m : ls["measures"]) {
          if (!reps.contains(rep) || !reps[rep].contains(m)) continue;
          out += fmt::format("| {} · {} |", rep.get<std::string>(), m.get<std::string>());
          for (auto& setting : settings) {
            std::vector<double> values;
            for (json* results : runs[setting]) {
              json& s = (*results)["latent_similarity"]["summary"];
              if (s.contains(group) && s[group].contains(rep) && s[group][rep].contains(m))
                values.push_back(s[group][rep][m]["mean"].get<double>());
            }
            out += fmt::format(" {} |", cell(values));
          }
          out += "\n";
        }
    }
  }
  return out;
}

// A provenance field as text: strings as they are, anything else as JSON,
// "–" when absent.
std::string field(json& p, const char* key) {
  if (!p.is_object() || !p.contains(key) || p[key].is_null()) return "–";
  return p[key].is_string() ? p[key].get<std::string>() : p[key].dump();
}

// One run's provenance as a table of two columns, one field a row: as seven
// columns (the first layout) the build, BLAS and command strings ran off
// the right edge of the HTML page.
std::string provenance_table(json p) {
  std::string out = "| what | value |\n|---|---|\n";
  const auto row = [&](const std::string& what, std::string value) {
    for (std::size_t b = value.find('|'); b != std::string::npos; b = value.find('|', b + 2)) value.insert(b, "\\");
    out += fmt::format("| {} | {} |\n", what, value);
  };
  row("bridges", fmt::format("{} (commit {})", field(p, "bridges"), field(p, "commit")));
  row("build", field(p, "build"));
  row("kernels", fmt::format("{}; bridges {}", field(p, "blas"), field(p, "kernels")));
  row("machine", fmt::format("{} threads on {} ({} cores)", field(p, "threads"), field(p, "cpu"), field(p, "cores")));
  row("started (UTC)", field(p, "started"));
  row("wall time", fmt::format("{} s", field(p, "seconds")));
  row("command", fmt::format("`{}`", field(p, "command")));
  // The longest steps (a step ends at its run.log line).
  if (p.contains("steps") && p["steps"].is_array() && !p["steps"].empty()) {
    std::vector<std::pair<double, std::string>> steps;
    for (auto& step : p["steps"])
      if (step.is_object() && step.contains("seconds") && step["seconds"].is_number())
        steps.emplace_back(step["seconds"].get<double>(), step.value("step", std::string("?")));
    std::stable_sort(steps.begin(), steps.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    if (steps.size() > 5) steps.resize(5);
    std::string longest;
    for (std::size_t i = 0; i < steps.size(); ++i)
      longest += fmt::format("{}{} ({:.1f} s)", i ? "; " : "", steps[i].second, steps[i].first);
    if (!longest.empty()) row("longest steps", longest);
  }
  return out;
}

// What made the numbers: the run's provenance, or each part's for a merge.
std::string provenance_section(json& r) {
  std::vector<std::pair<std::string, json>> runs;
  if (r.contains("provenance") && r["provenance"].is_object()) runs.emplace_back("", r["provenance"]);
  if (r.contains("parts") && r["parts"].is_array())
    for (auto& part : r["parts"])
      if (part.is_object() && part.contains("provenance") && part["provenance"].is_object())
        runs.emplace_back(part.value("pipeline", std::string("?")), part["provenance"]);
  if (runs.empty()) return "";
  std::string out = "\n## Provenance\n\nWhat made these numbers (results.json, \"provenance\").\n";
  for (auto& [name, p] : runs) out += (name.empty() ? "\n" : fmt::format("\nPart `{}`:\n\n", name)) + provenance_table(p);
  return out;
}

}  // namespace

std::string markdown_report(const json& results) {
  json r = results;  // a mutable copy: see the note at the top
  std::string out = fmt::format("# {}\n\n", r.value("pipeline", "pipeline"));
  if (r.contains("parts") && r["parts"].is_array()) {  // a merge (bridges report --merge)
    std::string parts;
    for (auto& part : r["parts"])
      parts += fmt::format("{}`{}` ({})", parts.empty() ? "" : ", ", part.value("pipeline", "?"), part.value("run", "?"));
    out += fmt::format("The results of {} parts, each run into its own folder and merged: {}.\n\n", r["parts"].size(), parts);
  }
  std::string anchors = fmt::format("{} {} anchors, shared by every encoder.", integer(r["anchors"]["count"]),
                                    r["anchors"]["strategy"].get<std::string>());
  if (r.value("orientation", "raw") == "closer_is_larger")
    anchors += " Distances are negated, so that a larger value means closer in every subspace.";
  if (integer(r["classes"]) > 0) {
    // Under early stopping the decoders train on the rest of the training samples.
    // A hand-edited count outside (0, train) is not believed: the header then gives the split's size alone.
    const int64_t train = integer(r["samples"]["train"]);
    const int64_t held = r["samples"]["validation"].is_number() ? integer(r["samples"]["validation"]) : 0;
    const std::string trained =
        held > 0 && held < train ? fmt::format("{} samples ({} more held out for early stopping)", integer(r["samples"]["train"]) - held, held)
                 : fmt::format("{} samples", integer(r["samples"]["train"]));
    out += fmt::format("Data set `{}`: decoders trained on {}, evaluated on {} test samples, {} classes. {}\n\n",
                       r["dataset"].value("type", "?"), trained, integer(r["samples"]["test"]), integer(r["classes"]),
                       anchors);
  }
  else  // unlabelled samples (e.g. words): nothing is classified
    out += fmt::format("Data set `{}`: {} samples, unlabelled. {}\n\n", r["dataset"].value("type", "?"),
                       integer(r["samples"]["test"]), anchors);
  if (r.contains("warnings") && r["warnings"].is_array() && !r["warnings"].empty()) {
    out += "**Warnings** (the pipeline is valid, but probably not what was meant):\n\n";
    for (const auto& warning : r["warnings"]) out += fmt::format("- {}\n", warning.is_string() ? warning.get<std::string>() : warning.dump());
    out += "\n";
  }
  out += "## Encoders\n\n| encoder | spec | latent | own quality (test) |\n|---|---|---|---|\n";
  for (auto& [name, e] : r["encoders"].items()) {
    std::string quality = "–";
    if (e["quality"].is_object())
      for (auto& [metric, value] : e["quality"].items()) quality = fmt::format("{} {}", metric, num(value, 4));
    out += fmt::format("| {} | `{}` | {} | {} |\n", name, e["spec"].dump(), e.value("dim", int64_t{0}), quality);
  }
  for (const Experiment* kind : experiment_table()) out += kind->markdown(r);
  // Every anchor setting's summary, after the sections of the last setting.
  if (r.contains("sweep")) out += sweep_section(r["sweep"]);
  out += provenance_section(r);
  return out;
}

namespace {

// The Markdown the reports write inside a line, as HTML: **strong**,
// *emphasis* and `code`. A marker counts only when it opens before a
// non-space and closes after one, so "a * b" stays as it is.
std::string inline_markup(const std::string& s) {  // s: already escaped
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    bool replaced = false;
    for (const auto& [mark, tag] : {std::pair{std::string("**"), std::string("strong")}, std::pair{std::string("`"), std::string("code")},
                                    std::pair{std::string("*"), std::string("em")}}) {
      if (s.compare(i, mark.size(), mark) != 0 || i + mark.size() >= s.size() || s[i + mark.size()] == ' ') continue;
      const std::size_t close = s.find(mark, i + mark.size());
      if (close == std::string::npos || s[close - 1] == ' ') continue;
      const std::string inner = s.substr(i + mark.size(), close - i - mark.size());
      out += "<" + tag + ">" + (tag == "code" ? inner : inline_markup(inner)) + "</" + tag + ">";
      i = close + mark.size();
      replaced = true;
      break;
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

std::string inline_markdown(const std::string& text) { return inline_markup(escape(text)); }

}  // namespace

std::string html_report(const json& results) {
  json r = results;  // a mutable copy: see the note at the top
  std::string out = R"svg(<!DOCTYPE html><html><head><meta charset="utf-8"><title>)svg" + escape(r.value("pipeline", "bridges")) +
                    R"(</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;white-space:nowrap}
th{background:#f4f6fa;white-space:normal}td:first-child,th:first-child{text-align:left}code{font-size:90%}
td.code{text-align:left;white-space:normal;word-break:break-all}td.text{text-align:left;white-space:normal}.maps{display:flex;flex-wrap:wrap;gap:1em}
.map{border:1px solid #eee;padding:.5em}svg{max-width:100%;height:auto}</style></head><body>)";
  // The tables of the Markdown report, rendered simply: each "|"-row becomes an HTML row.
  std::string md = markdown_report(r);
  std::string body;
  bool in_table = false, in_list = false;
  std::size_t pos = 0;
  while (pos < md.size()) {
    std::size_t end = md.find('\n', pos);
    if (end == std::string::npos) end = md.size();
    std::string line = md.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line[0] == '|') {
      if (line.find("|---") == 0) continue;
      if (!in_table) body += "<table>";
      const bool header = !in_table;
      in_table = true;
      body += "<tr>";
      std::size_t a = 1;
      while (a < line.size()) {
        std::size_t b = line.find('|', a);
        while (b != std::string::npos && line[b - 1] == '\\') b = line.find('|', b + 1);  // "\|": a '|' inside a cell
        if (b == std::string::npos) break;
        std::string cell = line.substr(a, b - a);
        for (std::size_t e = cell.find("\\|"); e != std::string::npos; e = cell.find("\\|", e)) cell.erase(e, 1);
        cell.erase(0, cell.find_first_not_of(' '));
        cell.erase(cell.find_last_not_of(' ') + 1);
        const std::string html = inline_markdown(cell);
        // Numbers stay on one line; code and prose (a sentence-long cell, as
        // in the provenance) wrap, or the table runs off the page.
        const bool code = html.rfind("<code>", 0) == 0;
        const bool prose = !code && cell.size() > 60;
        body += fmt::format("<{0}{1}>{2}</{0}>", header ? "th" : "td",
                            code ? " class=\"code\"" : prose ? " class=\"text\"" : "", html);
        a = b + 1;
      }
      body += "</tr>";
      continue;
    }
    if (in_table) {
      body += "</table>";
      in_table = false;
    }
    const bool item = line.rfind("- ", 0) == 0;
    if (in_list && !item) {
      body += "</ul>";
      in_list = false;
    }
    if (item) {
      if (!in_list) body += "<ul>";
      in_list = true;
      body += "<li>" + inline_markdown(line.substr(2)) + "</li>";
    } else if (line.rfind("### ", 0) == 0) {
      body += "<h3>" + inline_markdown(line.substr(4)) + "</h3>";
    } else if (line.rfind("## ", 0) == 0) {
      body += "<h2>" + inline_markdown(line.substr(3)) + "</h2>";
    } else if (line.rfind("# ", 0) == 0) {
      body += "<h1>" + inline_markdown(line.substr(2)) + "</h1>";
    } else if (!line.empty()) {
      body += "<p>" + inline_markdown(line) + "</p>";
    }
  }
  if (in_table) body += "</table>";
  if (in_list) body += "</ul>";

  // Figures after the tables they illustrate.
  std::string figures;
  for (const Experiment* kind : experiment_table()) figures += kind->html_figures(r);
  return out + body + figures + "</body></html>\n";
}

namespace {

// "euclidean 0.912 (+0.004 over l1)": the winner's mean and its margin over
// the runner-up among the relative representations, so near-ties show; "≈"
// marks a margin smaller than the winner's spread (std) over the pairs.
std::string winner_cell(json group_summary, const std::string& winner, const std::string& measure) {
  const auto mean = [&](const std::string& rep) { return group_summary[rep][measure]["mean"].get<double>(); };
  std::string runner_up;
  for (auto& [rep, by_measure] : group_summary.items())
    if (rep != winner && rep != "absolute" && by_measure.contains(measure) && (runner_up.empty() || mean(rep) > mean(runner_up)))
      runner_up = rep;
  if (runner_up.empty()) return fmt::format("{} {:.3f}", winner, mean(winner));
  const double margin = mean(winner) - mean(runner_up);
  const bool tie = margin < group_summary[winner][measure].value("std", 0.0);
  return fmt::format("{} {:.3f} (+{:.3f} over {}){}", winner, mean(winner), margin, runner_up, tie ? " ≈" : "");
}

}  // namespace

std::string latent_similarity_comparison(const std::vector<json>& runs_in) {
  std::vector<json> all_runs = runs_in;  // a mutable copy: see the note at the top
  std::vector<json> runs;
  for (auto& r : all_runs)
    if (r.contains("latent_similarity")) runs.push_back(r);
  // Columns are named by data set, or by pipeline where two runs share one.
  std::vector<std::string> columns;
  std::map<std::string, int> datasets;
  for (auto& r : runs) ++datasets[r["dataset"].value("type", "?")];
  for (auto& r : runs) {
    const std::string dataset = r["dataset"].value("type", "?");
    columns.push_back(datasets[dataset] > 1 ? r.value("pipeline", dataset) : dataset);
  }
  // measure -> architecture -> column -> winner, and each winner's mean.
  std::map<std::string, std::map<std::string, std::map<std::string, std::string>>> table;
  for (std::size_t c = 0; c < runs.size(); ++c) {
    json& ls = runs[c]["latent_similarity"];
    for (auto& [measure, by_architecture] : cross_seed_winners(ls))
      for (auto& [architecture, rep] : by_architecture)
        table[measure][architecture][columns[c]] = winner_cell(ls["summary"][architecture + std::string(kAcrossSeeds)], rep, measure);
  }
  std::string out = "# Latent similarity across runs\n\nThe most similar relative representation between encoders of one "
                    "architecture trained with different seeds, per architecture and run: the mean of the measure over "
                    "the pairs, and its margin over the runner-up.\n";
  for (auto& [measure, by_architecture] : table) {
    out += fmt::format("\n## {}\n\n| architecture |", measure);
    for (auto& c : columns) out += fmt::format(" {} |", c);
    out += "\n|---|";
    for (std::size_t c = 0; c < columns.size(); ++c) out += "---|";
    out += "\n";
    std::set<std::string> everywhere;
    for (auto& [architecture, by_column] : by_architecture) {
      out += fmt::format("| {} |", architecture);
      for (auto& c : columns) {
        const auto it = by_column.find(c);
        out += fmt::format(" {} |", it == by_column.end() ? "–" : it->second);
        if (it != by_column.end()) everywhere.insert(it->second.substr(0, it->second.find(' ')));
      }
      out += "\n";
    }
    out += "\nDoes the choice change with the architecture?\n\n";
    for (auto& c : columns) {
      std::map<std::string, std::string> by_name;
      for (auto& [architecture, by_column] : by_architecture)
        if (by_column.count(c)) by_name[architecture] = by_column.at(c).substr(0, by_column.at(c).find(' '));
      if (!by_name.empty()) out += fmt::format("- {}: {}\n", c, choice_statement(by_name));
    }
    out += "\nDoes it change with the data set?\n\n";
    for (auto& [architecture, by_column] : by_architecture) {
      std::map<std::string, std::string> by_name;
      for (auto& [c, cell] : by_column) by_name[c] = cell.substr(0, cell.find(' '));
      out += fmt::format("- {}: {}\n", architecture, choice_statement(by_name));
    }
    std::size_t ties = 0, cells = 0;
    for (auto& [architecture, by_column] : by_architecture)
      for (auto& [c, cell] : by_column) {
        ++cells;
        ties += cell.find(" ≈") != std::string::npos;
      }
    out += everywhere.size() == 1
               ? fmt::format("\n**{}**: {} is the most similar everywhere; no dependence on architecture or data set "
                             "was found.\n",
                             measure, *everywhere.begin())
               : fmt::format("\n**{}**: no single representation is the most similar everywhere ({} differ), as the "
                             "method claims.\n",
                             measure, fmt::join(everywhere, ", "));
    if (ties > 0)
      out += fmt::format("{} of the {} choices (≈) win by less than the spread over the pairs: there the runner-up is "
                         "as good.\n",
                         ties, cells);
  }
  return out;
}

}  // namespace bridges
