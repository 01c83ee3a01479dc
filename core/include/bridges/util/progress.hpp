#pragma once
// Progress of long steps: a redrawn bar on a terminal, a few plain lines
// otherwise (logs, CI), nothing when BRIDGES_QUIET=1.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "bridges/export.hpp"

namespace bridges {

/// Example:
///   bridges::Progress progress("cnn epoch 1/2", 60000, "img");
///   for (...) progress.update(done, {{"loss", loss}});
///   progress.finish({{"loss", loss}});
class BRIDGES_API Progress {
 public:
  using Metrics = std::vector<std::pair<std::string, double>>;

  /// `total` units of work named `unit`; writes to stderr unless `out` is given.
  Progress(std::string label, int64_t total, std::string unit = "items", std::ostream* out = nullptr);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `done` units so far. Redraws at most 10 times a second on a terminal;
  /// elsewhere writes a line at each further 25% or every 30 s. Throws
  /// Interrupted when an interruption was requested (interrupt.hpp).
  void update(int64_t done, const Metrics& metrics = {});
  /// The final line, with the elapsed time and the rate; `done` when the
  /// work stopped short of the total (e.g. early stopping), else the total.
  void finish(const Metrics& metrics = {}, int64_t done = -1);

  /// Whether progress goes to a terminal (then redrawn in place).
  bool interactive() const { return interactive_; }

 private:
  std::string line(int64_t done, const Metrics& metrics, bool final) const;

  std::string label_, unit_;
  int64_t total_;
  std::ostream* out_;
  bool interactive_ = false, quiet_ = false, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
  int64_t last_quarter_ = 0;
};

}  // namespace bridges
