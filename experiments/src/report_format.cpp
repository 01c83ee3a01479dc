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
  if (run["name"].is_string()) return run["name"];  // a translation baseline names itself
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

std::string md_matrix(json names, json stats, int digits, bool spread) {
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
                                      : spread ? fmt::format("{} ± {}", num(stats["mean"][i][j], digits), num(stats["std"][i][j], digits))
                                               : num(stats["mean"][i][j], digits));
    out += "\n";
  }
  return out;
}

// ---- SVG -------------------------------------------------------------------
//
// Every figure sizes itself from its labels: text is 11 px sans-serif, whose
// characters are at most about 0.6 em (6.6 px) wide on average, so a label's
// width is estimated as 6.6 px per character, and margins grow to hold the
// longest label, rotated ones included. The SVGs carry a viewBox, so a page
// may scale them without cutting anything off (tests check both).

namespace {

constexpr double kCharWidth = 6.6, kPi = 3.14159265358979323846;

// Characters, not bytes: "·", "±" and "↔" are one character each.
double text_width(const std::string& s) {
  double chars = 0;
  for (const unsigned char c : s) chars += (c & 0xC0) != 0x80 ? 1 : 0;
  return kCharWidth * chars;
}

double text_width(const json& v) { return v.is_string() ? text_width(v.get<std::string>()) : 0.0; }

std::string svg_open(int width, int height) {
  return fmt::format(
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="sans-serif" font-size="11">)svg",
      width, height);
}

// White -> deep blue for values in [lo, hi]; grey for missing.
std::string color(double v, double lo, double hi) {
  if (!std::isfinite(v)) return "#eeeeee";
  const double t = std::clamp((v - lo) / std::max(hi - lo, 1e-12), 0.0, 1.0);
  const auto mix = [&](int a, int b) { return static_cast<int>(std::lround(a + (b - a) * t)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(247, 8), mix(251, 48), mix(255, 107));
}

double number_or_nan(const json& v) { return v.is_number() ? v.get<double>() : NAN; }

// Round ticks within [lo, hi]: integer multiples of a step of 1, 2 or 5
// times a power of ten, about `count` of them, and the decimals they need.
struct Ticks {
  std::vector<double> values;
  int decimals = 0;
};

Ticks round_ticks(double lo, double hi, int count) {
  Ticks t;
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(hi > lo)) {  // no range to divide: one tick, no endless loop
    if (std::isfinite(lo)) t.values.push_back(lo);
    t.decimals = 3;
    return t;
  }
  const double raw = (hi - lo) / count, power = std::pow(10.0, std::floor(std::log10(raw)));
  const double ratio = raw / power;
  const double step = ratio < 1.5 ? power : ratio < 3.5 ? 2 * power : ratio < 7.5 ? 5 * power : 10 * power;
  t.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  for (auto i = static_cast<int64_t>(std::ceil(lo / step - 1e-9)); static_cast<double>(i) * step <= hi + 1e-9 * step; ++i)
    t.values.push_back(static_cast<double>(i) * step);
  return t;
}

}  // namespace

std::pair<double, double> fitted_range(const std::vector<json>& matrices) {
  double lo = INFINITY, hi = -INFINITY;
  for (const json& m : matrices)
    if (m.is_array())
      for (const json& row : m)
        if (row.is_array())
          for (const json& v : row)
            if (v.is_number() && std::isfinite(v.get<double>())) {
              lo = std::min(lo, v.get<double>());
              hi = std::max(hi, v.get<double>());
            }
  if (!std::isfinite(lo)) return {0.0, 1.0};
  if (hi - lo < 1e-9) return {lo - 0.005, hi + 0.005};
  return {lo, hi};
}

std::vector<std::pair<double, double>> colour_ranges(const std::vector<json>& matrices, const std::vector<bool>& own) {
  std::vector<json> shared_matrices;
  for (std::size_t i = 0; i < matrices.size(); ++i)
    if (!own[i]) shared_matrices.push_back(matrices[i]);
  const auto shared = fitted_range(shared_matrices);
  std::vector<std::pair<double, double>> ranges;
  for (std::size_t i = 0; i < matrices.size(); ++i) ranges.push_back(own[i] ? fitted_range({matrices[i]}) : shared);
  return ranges;
}

std::string svg_heatmap(json names, json mean, double lo, double hi, int digits, const HeatmapTitles& titles) {
  // Cells of 64 px up to 11 encoders, smaller beyond so that the map fits the
  // page (20 encoders at 64 px ran 1400 px wide, off a 1100 px page).
  const int n = static_cast<int>(names.size()), cell = std::clamp(720 / std::max(n, 1), 36, 64);
  double longest = 0;
  for (const json& name : names) longest = std::max(longest, text_width(name));
  // Row title (rotated) | row labels | cells | colour bar | its ticks | its title (rotated).
  const int left = 22 + static_cast<int>(std::ceil(longest)) + 8;
  // Column labels rise at 45 degrees from each column's top; the column title sits above them.
  const double rise = longest * std::sin(kPi / 4);
  const int top = 24 + static_cast<int>(std::ceil(rise)) + 10;
  const int grid = n * cell;
  const int bar_x = left + grid + 18, bar_width = 12;
  const Ticks ticks = round_ticks(lo, hi, 4);
  double tick_width = 0;
  for (double v : ticks.values) tick_width = std::max(tick_width, text_width(fmt::format("{:.{}f}", v, ticks.decimals)));
  const int bar_title_x = bar_x + bar_width + 6 + static_cast<int>(std::ceil(tick_width)) + 14;
  // The last column's label may reach past the grid.
  const double last_label_right = n > 0 ? left + (n - 1) * cell + cell / 2.0 + rise + 4 : 0;
  const int width = std::max(bar_title_x + 8, static_cast<int>(std::ceil(last_label_right)) + 4);
  const int height = top + grid + 12;
  std::string out = svg_open(width, height);
  out += fmt::format(R"svg(<text x="{}" y="14" text-anchor="middle" font-weight="bold">{}</text>)svg", left + grid / 2,
                     escape(titles.columns));
  out += fmt::format(R"svg(<text transform="translate(14,{}) rotate(-90)" text-anchor="middle" font-weight="bold">{}</text>)svg",
                     top + grid / 2, escape(titles.rows));
  for (int j = 0; j < n; ++j)
    out += fmt::format(R"svg(<text transform="translate({},{}) rotate(-45)">{}</text>)svg", left + j * cell + cell / 2, top - 6,
                       escape(names[j]));
  for (int i = 0; i < n; ++i) {
    out += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="end">{}</text>)svg", left - 6, top + i * cell + cell / 2 + 4,
                       escape(names[i]));
    for (int j = 0; j < n; ++j) {
      const double v = number_or_nan(mean[i][j]);
      const bool dark = std::isfinite(v) && (v - lo) / std::max(hi - lo, 1e-12) > 0.55;
      out += fmt::format(R"svg(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="white"/>)svg", left + j * cell,
                         top + i * cell, cell, cell, color(v, lo, hi));
      out += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>)svg", left + j * cell + cell / 2,
                         top + i * cell + cell / 2 + 4, dark ? "white" : "#222", num(mean[i][j], digits));
    }
  }
  // The colour bar: hi at the top, lo at the bottom, in 32 steps.
  constexpr int kSteps = 32;
  for (int step = 0; step < kSteps; ++step) {
    const double v = hi - (hi - lo) * (step + 0.5) / kSteps;
    const int y0 = top + grid * step / kSteps, y1 = top + grid * (step + 1) / kSteps;
    out += fmt::format(R"svg(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>)svg", bar_x, y0, bar_width, y1 - y0,
                       color(v, lo, hi));
  }
  for (double v : ticks.values) {
    const int y = top + static_cast<int>(std::lround(grid * (hi - v) / std::max(hi - lo, 1e-12)));
    out += fmt::format(R"svg(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="#333"/><text x="{3}" y="{4}">{5:.{6}f}</text>)svg",
                       bar_x + bar_width, bar_x + bar_width + 4, y, bar_x + bar_width + 6, y + 4, v, ticks.decimals);
  }
  out += fmt::format(R"svg(<text transform="translate({},{}) rotate(-90)" text-anchor="middle">{}</text>)svg", bar_title_x,
                     top + grid / 2, escape(titles.values));
  return out + "</svg>";
}

std::string svg_bars(const std::vector<std::string>& labels, const std::vector<std::string>& series,
                     const std::vector<std::vector<std::pair<double, double>>>& values, double hi, const BarAxes& axes) {
  // Tall enough for the value axis's title, written along it.
  const int group = 26 * static_cast<int>(series.size()) + 18, top = 20,
            height = std::max(220, static_cast<int>(std::ceil(text_width(axes.values))) + 16);
  const double angle = 40 * kPi / 180;
  // Group labels are rotated by 40 degrees and end under their group: the
  // plot starts far enough right that the first ones do not leave the
  // picture, and the bottom margin holds the longest.
  double left_needed = 58, longest = 0;
  for (std::size_t g = 0; g < labels.size(); ++g) {
    const double w = text_width(labels[g]);
    longest = std::max(longest, w);
    left_needed = std::max(left_needed, w * std::cos(angle) - static_cast<double>(g * group) - group / 2.0 + 8);
  }
  const int left = static_cast<int>(std::ceil(left_needed));
  const int bottom = 24 + static_cast<int>(std::ceil(longest * std::sin(angle)));
  std::vector<std::string> legend = series;
  if (std::isfinite(axes.reference)) legend.push_back(axes.reference_label);
  double legend_width = 0;
  for (const auto& l : legend) legend_width = std::max(legend_width, text_width(l));
  const int plot_right = left + group * static_cast<int>(labels.size());
  const int width = plot_right + 24 + 16 + static_cast<int>(std::ceil(legend_width)) + 8;
  const char* palette[] = {"#3b6ea8", "#e08a2c", "#5aa05a", "#b04a5a"};
  const auto y_of = [&](double v) { return top + height - static_cast<int>(std::lround(height * std::clamp(v / hi, 0.0, 1.0))); };
  std::string out = svg_open(width, top + height + bottom);
  for (int t = 0; t <= 4; ++t) {
    const double v = hi * t / 4;
    out += fmt::format(R"svg(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="#ddd"/><text x="{3}" y="{4}" text-anchor="end">{5:.2f}</text>)svg",
                       left, plot_right, y_of(v), left - 4, y_of(v) + 4, v);
  }
  out += fmt::format(R"svg(<text transform="translate(12,{}) rotate(-90)" text-anchor="middle">{}</text>)svg",
                     top + height / 2, escape(axes.values));
  for (std::size_t g = 0; g < labels.size(); ++g) {
    const int x0 = left + static_cast<int>(g) * group + 9;
    for (std::size_t s = 0; s < series.size(); ++s) {
      const auto [mean, sd] = values[g][s];
      if (std::isnan(mean)) continue;
      const int x = x0 + static_cast<int>(s) * 26;
      out += fmt::format(R"svg(<rect x="{}" y="{}" width="22" height="{}" fill="{}"><title>{}: {:.4f} ± {:.4f}</title></rect>)svg", x,
                         y_of(mean), top + height - y_of(mean), palette[s % 4], escape(series[s]), mean, sd);
      if (sd > 0)
        out += fmt::format(R"svg(<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="black"/><line x1="{3}" x2="{4}" y1="{1}" y2="{1}" stroke="black"/><line x1="{3}" x2="{4}" y1="{2}" y2="{2}" stroke="black"/>)svg",
                           x + 11, y_of(mean + sd), y_of(mean - sd), x + 7, x + 15);
    }
    out += fmt::format(R"svg(<text transform="translate({},{}) rotate(-40)" text-anchor="end">{}</text>)svg", x0 + group / 2 - 9,
                       top + height + 14, escape(labels[g]));
  }
  const int legend_x = plot_right + 24;
  if (std::isfinite(axes.reference))
    out += fmt::format(R"svg(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="#b04a5a" stroke-dasharray="5 3"/>)svg", left,
                       plot_right, y_of(axes.reference));
  for (std::size_t s = 0; s < legend.size(); ++s) {
    const int y = top + 16 * static_cast<int>(s);
    out += s < series.size()
               ? fmt::format(R"svg(<rect x="{}" y="{}" width="12" height="12" fill="{}"/>)svg", legend_x, y, palette[s % 4])
               : fmt::format(R"svg(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="#b04a5a" stroke-dasharray="5 3"/>)svg",
                             legend_x, legend_x + 12, y + 6);
    out += fmt::format(R"svg(<text x="{}" y="{}">{}</text>)svg", legend_x + 16, y + 10, escape(legend[s]));
  }
  return out + "</svg>";
}

std::string svg_dots(const std::vector<DotRow>& rows, const std::string& axis_title, double reference,
                     const std::string& reference_label) {
  if (rows.empty()) return "";
  // A fitted scale: the smallest range holding every error bar and the
  // reference, padded by 5 %, so that 0.78 and 0.81 do not look alike.
  double lo = reference, hi = reference;
  double longest = 0;
  for (const auto& r : rows) {
    if (!std::isfinite(r.mean)) continue;
    lo = std::isfinite(lo) ? std::min(lo, r.mean - r.spread) : r.mean - r.spread;
    hi = std::isfinite(hi) ? std::max(hi, r.mean + r.spread) : r.mean + r.spread;
    longest = std::max(longest, text_width(r.label));
  }
  if (!std::isfinite(lo) || !std::isfinite(hi)) return "";
  if (hi - lo < 1e-6) hi = lo + 0.01;
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  // Labels sit left of the plot, right-aligned.
  const int left = 12 + static_cast<int>(std::ceil(longest)), plot = 420, row_height = 22, top = 14;
  // The axis title and the reference's caption are centred under the plot and may be wider than it.
  const double caption = std::max(text_width(axis_title), text_width("dashed line: " + reference_label));
  const int width = std::max(left + plot + 20, left + plot / 2 + static_cast<int>(std::ceil(caption / 2)) + 8),
            height = top + row_height * static_cast<int>(rows.size()) + 64;
  const auto x_of = [&](double v) { return left + static_cast<int>(std::lround(plot * (v - lo) / (hi - lo))); };
  std::string out = svg_open(width, height);
  const int axis_y = top + row_height * static_cast<int>(rows.size());
  const Ticks ticks = round_ticks(lo, hi, 5);
  for (double v : ticks.values) {
    const int x = x_of(v);
    out += fmt::format(R"svg(<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#e4e4e4"/><text x="{0}" y="{3}" text-anchor="middle">{4:.{5}f}</text>)svg",
                       x, top - 4, axis_y, axis_y + 14, v, ticks.decimals);
  }
  out += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle">{}</text>)svg", left + plot / 2, axis_y + 34,
                     escape(axis_title));
  if (std::isfinite(reference))
    out += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle" fill="#b04a5a">dashed line: {}</text>)svg", left + plot / 2,
                       axis_y + 50, escape(reference_label));
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
  for (auto& t : results["stitching"].value("translations", json::array())) runs.push_back(t);
  if (results["stitching"].contains("absolute")) runs.push_back(results["stitching"]["absolute"]);
  return runs;
}

}  // namespace bridges
