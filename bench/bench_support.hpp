#pragma once
// What every bench program shares: its thread count, a stopwatch, memory
// and the machine's measured clock.
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

namespace bench {

/// The integer in environment variable `name`, or `fallback` when unset.
inline int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

/// LibTorch threads: BRIDGES_BENCH_THREADS, else 2 (the target machine).
inline int use_bench_threads() {
  const char* env = std::getenv("BRIDGES_BENCH_THREADS");
  at::set_num_threads(env ? std::atoi(env) : 2);
  return at::get_num_threads();
}

/// Wall-clock seconds `f` takes.
inline double seconds(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// A memory figure of /proc/self/status in MB ("VmRSS:" now, "VmHWM:" the
/// peak since the last reset through /proc/self/clear_refs).
inline double rss_mb(const char* field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field, 0) == 0) return std::stod(line.substr(std::string(field).size())) / 1024.0;
  return 0;
}

/// The most this process has had resident since it started, in MiB.
inline double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

/// What this process has resident now, in MiB.
inline double current_rss_mib() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

/// The core clock in GHz, measured: a chain of dependent integer additions
/// retires one per cycle on every x86-64 core, so additions per second is
/// the clock (best of 5 runs of 0.1 s; turbo included, as the kernels see it).
/// The added value is a register the compiler cannot see: recent Intel cores
/// fold chains of immediate additions (`add $1`) at rename, which measured
/// a 14 GHz clock on a Xeon.
inline double measured_clock_ghz() {
  double best = 0;
  volatile unsigned long opaque_one = 1;
  for (int run = 0; run < 5; ++run) {
    unsigned long x = 0;
    const unsigned long one = opaque_one;
    constexpr long kIterations = 100'000'000;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < kIterations; ++i) {
#if defined(__x86_64__)
      __asm__ volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0" : "+r"(x) : "r"(one));
#else
      __asm__ volatile("" : "+r"(x));
      x += 4 * one;
#endif
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 4.0 * kIterations / s / 1e9);
  }
  return best;
}

/// The machine's AVX2 peak in GFLOP/s on `cores` cores at `ghz`: two 8-lane
/// fused multiply-adds (16 flops) per cycle per core.
inline double avx2_fma_peak_gflops(int cores, double ghz) { return cores * 2.0 * 8.0 * 2.0 * ghz; }

}  // namespace bench
