#pragma once
// What every bench program shares: its thread count and a stopwatch.
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdlib>
#include <functional>

namespace bench {

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

}  // namespace bench
