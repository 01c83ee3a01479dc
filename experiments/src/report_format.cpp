#include "report_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace bridges {

using nlohmann::json;

int64_t integer(const json& v) {
  if (!v.is_number_integer())
    throw json::type_error::create(302, fmt::format("expected an integer, found {}", v.dump()), &v);
  return v.get<int64_t>();
}

std::string num(json v, int digits) {
  return v.is_number() ? fmt::format("{:.{}f}", v.get<double>(), digits) : "–";
}

std::string pm(json ms, int digits) {
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

namespace {
// White -> deep blue for values in [lo, hi]; grey for missing.
std::string color(json v, double lo, double hi) {
  if (!v.is_number()) return "#eeeeee";
  const double t = std::clamp((v.get<double>() - lo) / std::max(hi - lo, 1e-12), 0.0, 1.0);
  const auto mix = [&](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * t)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(247, 8), mix(251, 48), mix(255, 107));
}

}  // namespace

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

std::string svg_dots(const std::vector<DotRow>& rows, const std::string& axis_title, double reference,
                     const std::string& reference_label) {
  if (rows.empty()) return "";
  // A fitted scale: the smallest range holding every error bar and the
  // reference, padded by 5 %, so that 0.78 and 0.81 do not look alike.
  double lo = reference, hi = reference;
  std::size_t longest = 0;
  for (const auto& r : rows) {
    if (!std::isfinite(r.mean)) continue;
    lo = std::isfinite(lo) ? std::min(lo, r.mean - r.spread) : r.mean - r.spread;
    hi = std::isfinite(hi) ? std::max(hi, r.mean + r.spread) : r.mean + r.spread;
    longest = std::max(longest, r.label.size());
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) return "";
  if (hi - lo < 1e-6) hi = lo + 0.01;
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  // Labels sit left of the plot, right-aligned: 6.6 px per character of 11 px sans-serif is generous.
  const int left = 12 + static_cast<int>(6.6 * static_cast<double>(longest)), plot = 420, row_height = 22, top = 14;
  const int width = left + plot + 20, height = top + row_height * static_cast<int>(rows.size()) + 48;
  const auto x_of = [&](double v) { return left + static_cast<int>(std::lround(plot * (v - lo) / (hi - lo))); };
  std::string out = fmt::format(
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="sans-serif" font-size="11">)svg",
      width, height);
  const int axis_y = top + row_height * static_cast<int>(rows.size());
  for (int t = 0; t <= 4; ++t) {  // ticks
    const double v = lo + (hi - lo) * t / 4;
    const int x = x_of(v);
    out += fmt::format(R"svg(<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#e4e4e4"/><text x="{0}" y="{3}" text-anchor="middle">{4:.3f}</text>)svg",
                       x, top - 4, axis_y, axis_y + 14, v);
  }
  out += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle">{}</text>)svg", left + plot / 2, axis_y + 34,
                     escape(axis_title));
  if (std::isfinite(reference))
    out += fmt::format(R"svg(<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#b04a5a" stroke-dasharray="4 3"><title>{3}</title></line>)svg",
                       x_of(reference), top - 4, axis_y, escape(reference_label));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const int y = top + row_height * static_cast<int>(i) + row_height / 2;
    out += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="end"{}>{}</text>)svg", left - 8, y + 4,
                       r.highlight ? R"( font-weight="bold")" : "", escape(r.label));
    if (!std::isfinite(r.mean)) continue;
    out += fmt::format(R"svg(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="#333"/>)svg", x_of(r.mean - r.spread),
                       x_of(r.mean + r.spread), y);
    out += fmt::format(R"svg(<circle cx="{}" cy="{}" r="4" fill="{}"><title>{}: {:.4f} ± {:.4f}</title></circle>)svg",
                       x_of(r.mean), y, r.highlight ? "#e08a2c" : "#3b6ea8", escape(r.label), r.mean, r.spread);
  }
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

}  // namespace bridges
