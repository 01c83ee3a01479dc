#pragma once
// Progress of long steps: a redrawn bar on a terminal; in a file or a pipe
// (logs, CI) only what a reader of the log needs: a line for a step that
// took long, and a heartbeat with the ETA while one runs long; nothing when
// BRIDGES_QUIET=1.

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "bridges/export.hpp"

namespace bridges {

/// A duration for people: "42s", "3m05s", "2h10m".
BRIDGES_API std::string format_duration(double seconds);

/// Example:
///   bridges::Progress progress("cnn epoch 1/2", 60000, "img");
///   for (...) progress.update(done, {{"loss", loss}});
///   progress.finish({{"loss", loss}});
class BRIDGES_API Progress {
 public:
  using Metrics = std::vector<std::pair<std::string, double>>;

  /// What is written when not on a terminal: the final line of work that
  /// took at least `logged_from`, and a line every `heartbeat` meanwhile.
  /// (A decoder's 2-second epochs once filled 95% of a run's log.)
  struct Pace {
    std::chrono::milliseconds logged_from{10000};
    std::chrono::milliseconds heartbeat{60000};
  };

  /// `total` units of work named `unit`; writes to stderr unless `out` is given.
  Progress(std::string label, int64_t total, std::string unit = "items", std::ostream* out = nullptr);
  Progress(std::string label, int64_t total, std::string unit, std::ostream* out, Pace pace);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `done` units so far. Redraws at most 10 times a second on a terminal;
  /// elsewhere writes a line once per heartbeat. Throws Interrupted when an
  /// interruption was requested (interrupt.hpp).
  void update(int64_t done, const Metrics& metrics = {});
  /// The final line, with the elapsed time and the rate (not on a terminal:
  /// only when the work took at least pace.logged_from); `done` when the
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
  Pace pace_;
};

}  // namespace bridges
