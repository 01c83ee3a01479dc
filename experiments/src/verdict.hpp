#pragma once
// The verdict of a stitching experiment: each relative run's stitched
// accuracy over the encoder pairs, ranked, and its paired difference to the
// best single projection on the same pairs. The stitching report and the
// claims report (claims.cpp) both read it.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace bridges {

struct VerdictRow {
  std::string name;
  bool single = false;                // one projection
  bool baseline = false;              // a latent-space translation, not a relative run
  std::string aggregator;             // its aggregator's type
  std::vector<std::string> projections;
  double mean = NAN;                  // over pairs
  double pair_std = NAN;              // spread over pairs
  double seed_std = NAN;              // spread over decoder seeds (of the mean over pairs)
  double diff = NAN, diff_std = NAN;  // minus the best single, over pairs
  int wins = 0, pairs = 0;            // pairs where it beats the best single
  std::vector<double> cells;          // stitched accuracy per ordered pair (NaN: none)
};

double mean_of(const std::vector<double>& v);
/// The sample standard deviation (0 for fewer than two values).
double std_of(const std::vector<double>& v);

/// The two-sided sign test: the chance of a split at least as uneven as
/// `wins` of `n` when either side is as likely (exact binomial, p = 1/2).
double sign_test_p(int wins, int n);
/// "sign test p = 0.362", or "sign test p < 0.001" (never "p = 0.000").
std::string sign_test_text(int wins, int n);

/// The relative runs of results["stitching"] and its translation baselines,
/// best first, against the best single projection; empty when no run has a
/// single projection.
std::vector<VerdictRow> verdict(nlohmann::json results);

}  // namespace bridges
