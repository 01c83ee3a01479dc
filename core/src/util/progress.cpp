#include "bridges/util/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "bridges/util/interrupt.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace bridges {

std::string format_duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
}

namespace {

std::string metrics_text(const Progress::Metrics& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics) out += fmt::format("  {} {:.4g}", name, value);
  return out;
}

}  // namespace

Progress::Progress(std::string label, int64_t total, std::string unit, std::ostream* out)
    : Progress(std::move(label), total, std::move(unit), out, Pace{}) {}

Progress::Progress(std::string label, int64_t total, std::string unit, std::ostream* out, Pace pace)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), out_(out ? out : &std::cerr), pace_(pace) {
  const char* quiet = std::getenv("BRIDGES_QUIET");
  quiet_ = quiet && *quiet && std::string(quiet) != "0";
  interactive_ = out == nullptr && ::isatty(STDERR_FILENO) == 1;
  start_ = last_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (interactive_ && !finished_ && !quiet_) *out_ << '\n' << std::flush;  // leave the bar's line
}

std::string Progress::line(int64_t done, const Metrics& metrics, bool final) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double fraction = total_ > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total_)) : 1.0;
  std::string text = label_;
  if (interactive_ && !final) {
    const int width = 24, filled = static_cast<int>(fraction * width);
    text += fmt::format(" [{}{}]", std::string(static_cast<std::size_t>(filled), '#'),
                        std::string(static_cast<std::size_t>(width - filled), '.'));
  }
  text += fmt::format(" {:3.0f}% {}/{} {}", fraction * 100, done, total_, unit_);
  text += metrics_text(metrics);
  text += fmt::format("  {:.0f} {}/s", rate, unit_);
  if (final)
    text += fmt::format("  in {}", format_duration(elapsed));
  else if (rate > 0 && done < total_)
    text += fmt::format("  ETA {}", format_duration(static_cast<double>(total_ - done) / rate));
  return text;
}

void Progress::update(int64_t done, const Metrics& metrics) {
  throw_if_interrupted();
  if (quiet_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (interactive_) {
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    *out_ << '\r' << line(done, metrics, false) << "\033[K" << std::flush;
    return;
  }
  if (now - last_ >= pace_.heartbeat && done < total_) {
    last_ = now;
    *out_ << line(done, metrics, false) << '\n' << std::flush;
  }
}

void Progress::finish(const Metrics& metrics, int64_t done) {
  if (quiet_ || finished_) return;
  finished_ = true;
  if (!interactive_ && std::chrono::steady_clock::now() - start_ < pace_.logged_from) return;
  *out_ << (interactive_ ? "\r" : "") << line(done >= 0 ? done : total_, metrics, true) << (interactive_ ? "\033[K\n" : "\n") << std::flush;
}

}  // namespace bridges
