#include "bridges/experiments/report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string_view>

// The reports read results.json from disk, which may be hand-edited or
// foreign. nlohmann's const operator[] on a missing key or past an array's
// end is undefined behaviour (fuzz_results found a use after free), while
// the non-const one inserts null and the next get<>() throws type_error,
// which `bridges report` turns into an error naming the file. So every
// function here works on a mutable copy of the results (small: kilobytes).
namespace bridges {

using nlohmann::json;

namespace {

// get<int64_t>() casts a floating value, which is undefined past int64's
// range (fuzz_results: 4.4e21): integers are read checked.
int64_t integer(const json& v) {
  if (!v.is_number_integer())
    throw json::type_error::create(302, fmt::format("expected an integer, found {}", v.dump()), &v);
  return v.get<int64_t>();
}

std::string num(json v, int digits = 3) {
  return v.is_number() ? fmt::format("{:.{}f}", v.get<double>(), digits) : "–";
}

// "0.891 ± 0.002" from {"mean", "std"}.
std::string pm(json ms, int digits = 3) {
  if (!ms.is_object()) return "–";
  return fmt::format("{} ± {}", num(ms["mean"], digits), num(ms["std"], digits));
}

std::string run_name(json run) {
  std::string projections;
  for (auto& p : run["projections"]) projections += (projections.empty() ? "" : " + ") + p.get<std::string>();
  return run["aggregator"].is_string() ? fmt::format("{} · {}", projections, run["aggregator"].get<std::string>())
                                       : projections;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// The most similar relative representation of each cross-seed group, by
// measure: measure -> architecture -> representation. The runner names the
// group of the pairs of one architecture "<architecture> (across seeds)".
using Winners = std::map<std::string, std::map<std::string, std::string>>;
constexpr std::string_view kAcrossSeeds = " (across seeds)";

Winners cross_seed_winners(json latent_similarity) {
  Winners winners;
  for (auto& [group, by_measure] : latent_similarity["most_similar"].items()) {
    if (group.size() <= kAcrossSeeds.size() || group.compare(group.size() - kAcrossSeeds.size(), kAcrossSeeds.size(), kAcrossSeeds) != 0)
      continue;
    const std::string architecture = group.substr(0, group.size() - kAcrossSeeds.size());
    for (auto& [measure, rep] : by_measure.items()) winners[measure][architecture] = rep.get<std::string>();
  }
  return winners;
}

// "no: euclidean for every one of ae, vae" or "yes: cosine (ae, vae), l1 (lin_ae)"
// from the choice made under each name.
std::string choice_statement(const std::map<std::string, std::string>& choice_by_name) {
  std::map<std::string, std::string> names_by_choice;
  for (auto& [name, choice] : choice_by_name)
    names_by_choice[choice] += (names_by_choice[choice].empty() ? "" : ", ") + name;
  if (names_by_choice.size() == 1) {
    const auto& [choice, names] = *names_by_choice.begin();
    return choice_by_name.size() == 1 ? fmt::format("{} (only {})", choice, names)
                                      : fmt::format("no: {} for every one of {}", choice, names);
  }
  std::string out = "yes: ";
  for (auto& [choice, names] : names_by_choice)
    out += fmt::format("{}{} ({})", out.size() > 5 ? ", " : "", choice, names);
  return out;
}

// A matrix as a Markdown table: rows are the encoder a decoder was trained
// on, columns the encoder it was evaluated on.
std::string md_matrix(json names, json stats, int digits) {
  std::string out = "| trained on ↓ / evaluated on → |";
  for (auto& n : names) out += fmt::format(" {} |", n.get<std::string>());
  out += "\n|---|";
  for (std::size_t j = 0; j < names.size(); ++j) out += "---|";
  out += "\n";
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("| **{}** |", names[i].get<std::string>());
    for (std::size_t j = 0; j < names.size(); ++j)
      out += fmt::format(" {} |", stats["mean"][i][j].is_null()
                                      ? std::string("–")
                                      : fmt::format("{} ± {}", num(stats["mean"][i][j], digits), num(stats["std"][i][j], digits)));
    out += "\n";
  }
  return out;
}

// ---- SVG -------------------------------------------------------------------

// White -> deep blue for values in [lo, hi]; grey for missing.
std::string color(json v, double lo, double hi) {
  if (!v.is_number()) return "#eeeeee";
  const double t = std::clamp((v.get<double>() - lo) / std::max(hi - lo, 1e-12), 0.0, 1.0);
  const auto mix = [&](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * t)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(247, 8), mix(251, 48), mix(255, 107));
}

std::string svg_heatmap(json names, json mean, double lo, double hi, int digits) {
  const int n = static_cast<int>(names.size()), cell = 64, left = 110, top = 100;
  std::string out = fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">)svg",
                                left + n * cell + 10, top + n * cell + 10);
  for (int j = 0; j < n; ++j)
    out += fmt::format(R"svg(<text transform="translate({},{}) rotate(-45)">{}</text>)svg", left + j * cell + cell / 2, top - 6,
                       escape(names[j]));
  for (int i = 0; i < n; ++i) {
    out += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="end">{}</text>)svg", left - 6, top + i * cell + cell / 2 + 4,
                       escape(names[i]));
    for (int j = 0; j < n; ++j) {
      json& v = mean[i][j];
      const bool dark = v.is_number() && (v.get<double>() - lo) / std::max(hi - lo, 1e-12) > 0.55;
      out += fmt::format(R"svg(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="white"/>)svg", left + j * cell,
                         top + i * cell, cell, cell, color(v, lo, hi));
      out += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>)svg", left + j * cell + cell / 2,
                         top + i * cell + cell / 2 + 4, dark ? "white" : "#222", num(v, digits));
    }
  }
  return out + "</svg>";
}

// Grouped bars with error bars: one group per label, one bar per series.
std::string svg_bars(const std::vector<std::string>& labels, const std::vector<std::string>& series,
                     const std::vector<std::vector<std::pair<double, double>>>& values, double hi) {
  const int group = 26 * static_cast<int>(series.size()) + 18, left = 50, top = 20, height = 220, bottom = 130;
  const int width = left + group * static_cast<int>(labels.size()) + 160;
  const char* palette[] = {"#3b6ea8", "#e08a2c", "#5aa05a", "#b04a5a"};
  std::string out = fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">)svg",
                                width, top + height + bottom);
  for (int t = 0; t <= 4; ++t) {
    const double v = hi * t / 4;
    const int y = top + height - static_cast<int>(height * t / 4);
    out += fmt::format(R"svg(<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{:.2f}</text>)svg",
                       left, width - 160, y, y, left - 4, y + 4, v);
  }
  for (std::size_t g = 0; g < labels.size(); ++g) {
    const int x0 = left + static_cast<int>(g) * group + 9;
    for (std::size_t s = 0; s < series.size(); ++s) {
      const auto [mean, sd] = values[g][s];
      if (std::isnan(mean)) continue;
      const int x = x0 + static_cast<int>(s) * 26;
      const int h = static_cast<int>(height * std::clamp(mean / hi, 0.0, 1.0));
      out += fmt::format(R"svg(<rect x="{}" y="{}" width="22" height="{}" fill="{}"><title>{}: {:.4f} ± {:.4f}</title></rect>)svg", x,
                         top + height - h, h, palette[s % 4], escape(series[s]), mean, sd);
      const int e1 = top + height - static_cast<int>(height * std::clamp((mean + sd) / hi, 0.0, 1.0));
      const int e2 = top + height - static_cast<int>(height * std::clamp((mean - sd) / hi, 0.0, 1.0));
      out += fmt::format(R"svg(<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="black"/><line x1="{3}" x2="{4}" y1="{1}" y2="{1}" stroke="black"/><line x1="{3}" x2="{4}" y1="{2}" y2="{2}" stroke="black"/>)svg",
                         x + 11, e1, e2, x + 7, x + 15);
    }
    out += fmt::format(R"svg(<text transform="translate({},{}) rotate(-40)" text-anchor="end">{}</text>)svg", x0 + group / 2 - 9,
                       top + height + 14, escape(labels[g]));
  }
  for (std::size_t s = 0; s < series.size(); ++s)
    out += fmt::format(R"svg(<rect x="{}" y="{}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>)svg", width - 150,
                       top + 16 * static_cast<int>(s), palette[s % 4], width - 134, top + 16 * static_cast<int>(s) + 10,
                       escape(series[s]));
  return out + "</svg>";
}

std::pair<double, double> ms_pair(json ms) {
  if (!ms.is_object() || !ms["mean"].is_number()) return {NAN, 0};
  return {ms["mean"].get<double>(), ms["std"].get<double>()};
}

std::vector<json> stitching_runs(json results) {
  std::vector<json> runs;
  if (!results.contains("stitching")) return runs;
  for (auto& r : results["stitching"]["runs"]) runs.push_back(r);
  if (results["stitching"].contains("absolute")) runs.push_back(results["stitching"]["absolute"]);
  return runs;
}

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

}  // namespace

std::string markdown_report(const json& results) {
  json r = results;  // a mutable copy: see the note at the top
  std::string out = fmt::format("# {}\n\n", r.value("pipeline", "pipeline"));
  const std::string anchors = fmt::format("{} {} anchors, shared by every encoder.", integer(r["anchors"]["count"]),
                                          r["anchors"]["strategy"].get<std::string>());
  if (integer(r["classes"]) > 0)
    out += fmt::format("Data set `{}`: decoders trained on {} samples, evaluated on {} test samples, {} classes. {}\n\n",
                       r["dataset"].value("type", "?"), integer(r["samples"]["train"]),
                       integer(r["samples"]["test"]), integer(r["classes"]), anchors);
  else  // unlabelled samples (e.g. words): nothing is classified
    out += fmt::format("Data set `{}`: {} samples, unlabelled. {}\n\n", r["dataset"].value("type", "?"),
                       integer(r["samples"]["test"]), anchors);
  out += "## Encoders\n\n| encoder | spec | latent | own quality (test) |\n|---|---|---|---|\n";
  for (auto& [name, e] : r["encoders"].items()) {
    std::string quality = "–";
    if (e["quality"].is_object())
      for (auto& [metric, value] : e["quality"].items()) quality = fmt::format("{} {}", metric, num(value, 4));
    out += fmt::format("| {} | `{}` | {} | {} |\n", name, e["spec"].dump(), e.value("dim", int64_t{0}), quality);
  }
  if (r.contains("stitching")) {
    out += "\n## Zero-shot stitching\n\nA decoder is trained on one encoder's relative space and evaluated, untouched, "
           "on every encoder's. Accuracy, mean ± std over decoder seeds. *End to end*: evaluated on the encoder it was "
           "trained on; *stitched*: on the others; *stitching index*: stitched accuracy / the target's end-to-end "
           "accuracy. *absolute*: the same decoder on raw latents, stitched only where dimensions match.\n\n";
    out += "| projections · aggregator | end to end | stitched | stitching index | macro-F1 end to end | macro-F1 stitched |\n"
           "|---|---|---|---|---|---|\n";
    for (auto& run : stitching_runs(r)) {
      json& s = run["summary"];
      out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", run_name(run), pm(s["end_to_end"]["accuracy"]),
                         pm(s["stitched"]["accuracy"]), pm(s["index"]), pm(s["end_to_end"]["macro_f1"]),
                         pm(s["stitched"]["macro_f1"]));
    }
    // Pairs grouped by encoder entry: across seeds of one architecture, or across architectures.
    json groups0 = stitching_runs(r).front()["summary"].value("groups", json::object());
    if (!groups0.empty() && groups0.size() <= 12) {
      out += "\n### Stitched accuracy by pair group (stitching index)\n\n| projections · aggregator |";
      std::string rule = "|---|";
      for (auto& [group, g] : groups0.items()) {
        out += fmt::format(" {} ({} pairs) |", group, integer(g["pairs"]));
        rule += "---|";
      }
      out += "\n" + rule + "\n";
      for (auto& run : stitching_runs(r)) {
        out += fmt::format("| {} |", run_name(run));
        json groups = run["summary"].value("groups", json::object());
        for (auto& [group, g0] : groups0.items())
          out += groups.contains(group) ? fmt::format(" {} ({}) |", pm(groups[group]["stitched"]), num(groups[group]["index"]["mean"], 3))
                                        : std::string(" – |");
        out += "\n";
      }
    }
    for (auto& run : stitching_runs(r)) {
      out += fmt::format("\n### {}: accuracy\n\n", run_name(run));
      out += md_matrix(r["stitching"]["encoders"], run["accuracy"], 3);
    }
  }
  if (r.contains("sweep")) out += sweep_section(r["sweep"]);
  if (r.contains("ablation")) {
    out += "\n## Aggregation ablation\n\n| projections | aggregator | end to end | stitched | stitching index |\n|---|---|---|---|---|\n";
    for (auto& row : r["ablation"]["rows"]) {
      std::string projections;
      for (auto& p : row["projections"]) projections += (projections.empty() ? "" : " + ") + p.get<std::string>();
      out += fmt::format("| {} | {} | {} | {} | {} |\n", projections, row["aggregator"].get<std::string>(),
                         pm(row["summary"]["end_to_end"]["accuracy"]), pm(row["summary"]["stitched"]["accuracy"]),
                         pm(row["summary"]["index"]));
    }
  }
  for (json& f : r.value("finetune", json::array())) {
    out += fmt::format("\n## Stitch-time fine-tuning of {} ({} steps on {} labelled target samples, aggregator {})\n\n",
                       f["params"].get<std::string>(), integer(f["steps"]), integer(f["samples"]),
                       f["aggregator"].get<std::string>());
    out += "| source → target | accuracy before | after | mean attention per subspace before | after |\n|---|---|---|---|---|\n";
    for (auto& p : f["pairs"]) {
      const auto att = [](json& a) {
        if (!a.is_array()) return std::string("–");
        std::string s;
        for (auto& v : a) s += (s.empty() ? "" : ", ") + num(v, 3);
        return s;
      };
      out += fmt::format("| {} → {} | {} | {} | {} | {} |\n", p["source"].get<std::string>(), p["target"].get<std::string>(),
                         num(p["before"]["accuracy"], 4), num(p["after"]["accuracy"], 4), att(p["attention_before"]),
                         att(p["attention_after"]));
    }
  }
  if (r.contains("latent_similarity")) {
    json& ls = r["latent_similarity"];
    out += "\n## Latent similarity\n\nEach measure between every pair of encoders on the test samples, mean ± std over "
           "the pairs of each group; *product*: every projection side by side, each standardised per sample.\n";
    for (auto& [group, reps] : ls["summary"].items()) {
      out += fmt::format("\n### {}\n\n| representation |", group);
      for (auto& m : ls["measures"]) out += fmt::format(" {} |", m.get<std::string>());
      out += "\n|---|";
      for (std::size_t i = 0; i < ls["measures"].size(); ++i) out += "---|";
      out += "\n";
      for (auto& rep : ls["representations"]) {
        out += fmt::format("| {} |", rep.get<std::string>());
        for (auto& m : ls["measures"]) {
          const bool best = ls["most_similar"].contains(group) && ls["most_similar"][group].value(m.get<std::string>(), "") == rep;
          json cell = reps.contains(rep) && reps[rep].contains(m) ? reps[rep][m] : json();
          out += fmt::format(" {}{}{} |", best ? "**" : "", pm(cell), best ? "**" : "");
        }
        out += "\n";
      }
    }
    out += "\nMost similar relative representation (bold above):\n\n";
    for (auto& [group, by_measure] : ls["most_similar"].items()) {
      std::string picks;
      for (auto& [m, rep] : by_measure.items()) picks += fmt::format("{}{}: {}", picks.empty() ? "" : ", ", m, rep.get<std::string>());
      out += fmt::format("- {}: {}\n", group, picks);
    }
    const Winners winners = cross_seed_winners(ls);
    if (!winners.empty()) {
      out += "\nDoes the most similar representation across seeds change with the architecture?\n\n";
      for (auto& [measure, by_architecture] : winners) out += fmt::format("- {}: {}\n", measure, choice_statement(by_architecture));
    }
  }
  if (r.contains("reconstruction")) {
    out += "\n## Reconstruction stitching (MSE per pixel; index = end-to-end MSE of the target / stitched MSE)\n\n"
           "| projections · aggregator | end to end | stitched | index |\n|---|---|---|---|\n";
    for (auto& run : r["reconstruction"]["runs"])
      out += fmt::format("| {} | {} | {} | {} |\n", run_name(run), pm(run["summary"]["end_to_end"], 5),
                         pm(run["summary"]["stitched"], 5), pm(run["summary"]["index"]));
  }
  return out;
}

std::string html_report(const json& results) {
  json r = results;  // a mutable copy: see the note at the top
  std::string out = R"svg(<!DOCTYPE html><html><head><meta charset="utf-8"><title>)svg" + escape(r.value("pipeline", "bridges")) +
                    R"(</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f4f6fa}td:first-child,th:first-child{text-align:left}code{font-size:90%}.maps{display:flex;flex-wrap:wrap;gap:1em}
.map{border:1px solid #eee;padding:.5em}</style></head><body>)";
  // The tables of the Markdown report, rendered simply: each "|"-row becomes an HTML row.
  std::string md = markdown_report(r);
  std::string body;
  bool in_table = false;
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
        if (b == std::string::npos) break;
        std::string cell = line.substr(a, b - a);
        cell.erase(0, cell.find_first_not_of(' '));
        cell.erase(cell.find_last_not_of(' ') + 1);
        std::string html = escape(cell);
        for (const char* mark : {"**", "`"}) {
          while (html.find(mark) != std::string::npos) html.erase(html.find(mark), std::string(mark).size());
        }
        body += fmt::format("<{0}>{1}</{0}>", header ? "th" : "td", html);
        a = b + 1;
      }
      body += "</tr>";
      continue;
    }
    if (in_table) {
      body += "</table>";
      in_table = false;
    }
    if (line.rfind("### ", 0) == 0) body += "<h3>" + escape(line.substr(4)) + "</h3>";
    else if (line.rfind("## ", 0) == 0) body += "<h2>" + escape(line.substr(3)) + "</h2>";
    else if (line.rfind("# ", 0) == 0) body += "<h1>" + escape(line.substr(2)) + "</h1>";
    else if (!line.empty()) body += "<p>" + escape(line) + "</p>";
  }
  if (in_table) body += "</table>";

  // Figures after the tables they illustrate.
  std::string figures;
  auto runs = stitching_runs(r);
  if (!runs.empty()) {
    std::vector<std::string> labels;
    std::vector<std::vector<std::pair<double, double>>> values;
    for (auto& run : runs) {
      labels.push_back(run_name(run));
      values.push_back({ms_pair(run["summary"]["end_to_end"]["accuracy"]), ms_pair(run["summary"]["stitched"]["accuracy"])});
    }
    figures += "<h2>Accuracy per projection set and aggregator</h2>" +
               svg_bars(labels, {"end to end", "stitched"}, values, 1.0);
    figures += "<h2>Stitching matrices (accuracy; rows: trained on, columns: evaluated on)</h2><div class=\"maps\">";
    for (auto& run : runs)
      figures += "<div class=\"map\"><h3>" + escape(run_name(run)) + "</h3>" +
                 svg_heatmap(r["stitching"]["encoders"], run["accuracy"]["mean"], 0.0, 1.0, 2) + "</div>";
    figures += "</div>";
  }
  if (r.contains("latent_similarity")) {
    // One heatmap per measure and representation over every pair of encoders.
    json& ls = r["latent_similarity"];
    json names = json::array();
    std::map<std::string, std::size_t> index;
    for (auto& pair : ls["pairs"])
      for (const char* side : {"a", "b"})
        if (index.emplace(pair[side].get<std::string>(), names.size()).second) names.push_back(pair[side]);
    for (auto& m : ls["measures"]) {
      figures += "<h2>Latent similarity: " + escape(m.get<std::string>()) + " between encoders</h2><div class=\"maps\">";
      for (auto& rep : ls["representations"]) {
        json matrix = json::array();
        for (std::size_t i = 0; i < names.size(); ++i) matrix.push_back(json(std::vector<json>(names.size(), json())));
        for (auto& pair : ls["pairs"]) {
          json& values = pair["values"];
          if (!values.contains(rep) || !values[rep].contains(m)) continue;
          const std::size_t i = index[pair["a"]], j = index[pair["b"]];
          matrix[i][j] = matrix[j][i] = values[rep][m];
        }
        figures += "<div class=\"map\"><h3>" + escape(rep.get<std::string>()) + "</h3>" + svg_heatmap(names, matrix, 0.0, 1.0, 2) +
                   "</div>";
      }
      figures += "</div>";
    }
  }
  for (json& f : r.value("finetune", json::array())) {
    std::vector<std::string> labels;
    std::vector<std::vector<std::pair<double, double>>> values;
    for (auto& p : f["pairs"])
      if (p["attention_before"].is_array()) {
        for (std::size_t s = 0; s < p["attention_before"].size(); ++s) {
          labels.push_back(fmt::format("{}→{} · {}", p["source"].get<std::string>(), p["target"].get<std::string>(),
                                       f["projections"][s].get<std::string>()));
          values.push_back({{p["attention_before"][s].get<double>(), 0.0}, {p["attention_after"][s].get<double>(), 0.0}});
        }
      }
    if (!labels.empty())
      figures += "<h2>Mean attention per subspace, before and after fine-tuning " + escape(f["params"].get<std::string>()) + "</h2>" +
                 svg_bars(labels, {"before", "after"}, values, 1.0);
  }
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
