// How the four built-in kernels' cost grows with the number of samples n
// (1e3 to 1e6, k = 1280) and of anchors k (16 to 4096, n = 10000), d = 768,
// float32, 2 threads, and what fraction of the machine's AVX2 FMA peak they
// reach. Linear cost shows as a constant time per sample-anchor pair.
//
//   build/release/bin/bench_scaling                  # about 3 min, 9 GB of memory at n = 1e6
//   BRIDGES_BENCH_MAX_N=100000 build/release/bin/bench_scaling
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/randn.h>
#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "bridges/relative/kernels.hpp"
#include "bridges/tensor.hpp"
#include "bridges/util/runtime.hpp"

namespace {

using bridges::Tensor;

struct Kernel {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> run;
  double flops_per_element_pair;  // 2 for a multiply-add; 3 for |x - a| accumulated (subtract, abs, add or max)
};

const std::vector<Kernel>& kernels() {
  static const std::vector<Kernel> all{
      {"cosine", [](const Tensor& x, const Tensor& a) { return bridges::kernels::cosine(x, a); }, 2},
      {"euclidean", [](const Tensor& x, const Tensor& a) { return bridges::kernels::euclidean(x, a); }, 2},
      {"l1", [](const Tensor& x, const Tensor& a) { return bridges::kernels::l1(x, a); }, 3},
      {"linf", [](const Tensor& x, const Tensor& a) { return bridges::kernels::linf(x, a); }, 3}};
  return all;
}

// Best of as many runs as fit in about half a second (at least one).
double best_seconds(const Kernel& kernel, const Tensor& x, const Tensor& a) {
  double best = 1e30, spent = 0;
  for (int run = 0; run < 20 && (run < 2 || spent < 0.5); ++run) {
    const double s = bench::seconds([&] { kernel.run(x, a); });
    best = std::min(best, s);
    spent += s;
  }
  return best;
}

void row(const Kernel& kernel, int64_t n, int64_t k, int64_t d, double s, double peak) {
  const double pairs = static_cast<double>(n) * static_cast<double>(k);
  const double gflops = pairs * static_cast<double>(d) * kernel.flops_per_element_pair / s / 1e9;
  fmt::print("  {:<10} {:>8} {:>6} {:>11.4f} {:>14.3f} {:>10.1f} {:>9.0f}%\n", kernel.name, n, k, s, s / pairs * 1e9,
             gflops, 100 * gflops / peak);
}

}  // namespace

int main() {
  const int threads = bench::use_bench_threads();
  bridges::keep_freed_memory();
  const char* max_env = std::getenv("BRIDGES_BENCH_MAX_N");
  const int64_t max_n = max_env ? std::atoll(max_env) : 1'000'000;
  const int64_t d = 768;
  const double ghz = bench::measured_clock_ghz();
  const double peak = bench::avx2_fma_peak_gflops(threads, ghz);
  fmt::print("bridges kernel scaling: d = {}, float32, {} threads, engine {}; clock {:.2f} GHz (measured), "
             "AVX2 FMA peak {:.1f} GFLOP/s\n",
             d, threads, bridges::kernels::isa(), ghz, peak);
  fmt::print("(flops: 2 per element pair for cosine and Euclidean, a multiply-add; 3 for L1 and L-inf: subtract, "
             "abs, add or max)\n");

  at::Generator gen = at::detail::createCPUGenerator(0);
  const Tensor x = at::randn({max_n, d}, gen);
  const Tensor anchors = at::randn({4096, d}, gen);
  const auto header = [] {
    fmt::print("  {:<10} {:>8} {:>6} {:>11} {:>14} {:>10} {:>10}\n", "kernel", "n", "k", "seconds", "ns per n*k",
               "GFLOP/s", "of peak");
  };

  fmt::print("\nn from 1e3 to {:.0e}, k = 1280:\n", static_cast<double>(max_n));
  header();
  for (const Kernel& kernel : kernels())
    for (int64_t n = 1000; n <= max_n; n *= 10)
      row(kernel, n, 1280, d, best_seconds(kernel, x.narrow(0, 0, n), anchors.narrow(0, 0, 1280)), peak);

  fmt::print("\nk from 16 to 4096, n = 10000:\n");
  header();
  for (const Kernel& kernel : kernels())
    for (int64_t k = 16; k <= 4096; k *= 4)
      row(kernel, 10000, k, d, best_seconds(kernel, x.narrow(0, 0, 10000), anchors.narrow(0, 0, k)), peak);
  return 0;
}
