#include "verdict.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "report_format.hpp"

namespace bridges {

using nlohmann::json;

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? NAN : sum / static_cast<double>(v.size());
}

double std_of(const std::vector<double>& v) {  // sample standard deviation
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double sum = 0;
  for (double x : v) sum += (x - m) * (x - m);
  return std::sqrt(sum / static_cast<double>(v.size() - 1));
}

double sign_test_p(int wins, int n) {
  if (n <= 0) return 1.0;
  const int k = std::min(wins, n - wins);
  // P(X <= k) for X ~ Binomial(n, 1/2), by log-gamma: no overflow for large n.
  double tail = 0;
  for (int i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
  return std::min(1.0, 2 * tail);
}

std::string sign_test_text(int wins, int n) {
  const double p = sign_test_p(wins, n);
  return p < 0.001 ? std::string("sign test p < 0.001") : fmt::format("sign test p = {:.3f}", p);
}

namespace {

// The off-diagonal cells of a run's mean accuracy matrix (NaN where absent).
std::vector<double> stitched_cells(json run) {
  std::vector<double> out;
  json& mean = run["accuracy"]["mean"];
  if (!mean.is_array()) return out;
  for (std::size_t i = 0; i < mean.size(); ++i)
    for (std::size_t j = 0; j < mean[i].size(); ++j)
      if (i != j) out.push_back(mean[i][j].is_number() ? mean[i][j].get<double>() : NAN);
  return out;
}

}  // namespace

std::vector<VerdictRow> verdict(json results) {
  std::vector<VerdictRow> rows;
  std::vector<std::vector<double>> cells;
  if (!results.contains("stitching")) return rows;
  json runs = results["stitching"]["runs"];
  for (auto& t : results["stitching"].value("translations", json::array())) runs.push_back(t);
  for (auto& run : runs) {
    VerdictRow row;
    row.name = run_name(run);
    row.baseline = run.contains("translator");
    row.single = run["projections"].is_array() && run["projections"].size() == 1;
    if (run["aggregator"].is_string()) row.aggregator = run["aggregator"].get<std::string>();
    if (run["projections"].is_array())
      for (auto& p : run["projections"])
        if (p.is_string()) row.projections.push_back(p.get<std::string>());
    cells.push_back(stitched_cells(run));
    row.cells = cells.back();
    std::vector<double> finite;
    for (double x : cells.back())
      if (std::isfinite(x)) finite.push_back(x);
    row.mean = mean_of(finite);
    row.pair_std = std_of(finite);
    row.seed_std = ms_pair(run["summary"]["stitched"]["accuracy"]).second;
    rows.push_back(row);
  }
  std::size_t best = rows.size();
  for (std::size_t r = 0; r < rows.size(); ++r)
    if (rows[r].single && (best == rows.size() || rows[r].mean > rows[best].mean)) best = r;
  if (best == rows.size()) return {};
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::vector<double> d;
    for (std::size_t c = 0; c < cells[r].size() && c < cells[best].size(); ++c)
      if (std::isfinite(cells[r][c]) && std::isfinite(cells[best][c])) d.push_back(cells[r][c] - cells[best][c]);
    rows[r].diff = mean_of(d);
    rows[r].diff_std = std_of(d);
    rows[r].pairs = static_cast<int>(d.size());
    rows[r].wins = static_cast<int>(std::count_if(d.begin(), d.end(), [](double x) { return x > 0; }));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const VerdictRow& a, const VerdictRow& b) { return a.mean > b.mean; });
  return rows;
}


}  // namespace bridges
