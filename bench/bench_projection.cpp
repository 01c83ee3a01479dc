// Times each built-in similarity at n = 10000, k = 1280, d = 768 beside
// LibTorch's own torch::mm and torch::cdist (p = 1, 2, inf) on the same data,
// then checks the speed targets and prints them with PASS or FAIL.
//
//   build/release/bin/bench_projection                 # 2 threads, the size
//   BRIDGES_BENCH_THREADS=1 BRIDGES_BENCH_N=2000 build/release/bin/bench_projection
//
// Each case reports the best of its iterations (the least disturbed run).
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/cdist.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/randn.h>
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <cstdlib>
#include <limits>
#include <map>

#include "bench_support.hpp"
#include "bridges/relative/kernels.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/similarity.hpp"
#include "bridges/tensor.hpp"
#include "bridges/util/runtime.hpp"

namespace {

using bridges::Tensor;

const int64_t kN = bench::env_int("BRIDGES_BENCH_N", 10000);
const int64_t kK = bench::env_int("BRIDGES_BENCH_K", 1280);
const int64_t kD = bench::env_int("BRIDGES_BENCH_D", 768);

struct Data {
  Tensor x, anchors;
  Data() {
    at::Generator gen = at::detail::createCPUGenerator(0);
    x = at::randn({kN, kD}, gen);
    anchors = at::randn({kK, kD}, gen);
  }
};
const Data& data() {
  static const Data d;
  return d;
}

bridges::Registry& registry() {
  static bridges::Registry r({BRIDGES_BENCH_PLUGIN_DIR});
  return r;
}

std::map<std::string, double> best_seconds;

void timed(benchmark::State& state, const std::string& name, const std::function<Tensor()>& run) {
  double best = std::numeric_limits<double>::infinity();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    Tensor r = run();
    benchmark::DoNotOptimize(r.data_ptr());
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  best_seconds[name] = best;
  state.counters["pairs/s"] = benchmark::Counter(static_cast<double>(kN * kK), benchmark::Counter::kIsIterationInvariantRate);
}

void similarity(benchmark::State& state, const std::string& name) {
  const auto s = registry().make<bridges::Similarity>(name);
  timed(state, name, [&] { return s->project(data().x, data().anchors); });
}

// What Similarity::project adds to every projection: a scan of x for NaN
// and infinity, and one of the [n, k] result (issue 16).
void finite_checks(benchmark::State& state) {
  static const Tensor result = data().x.mm(data().anchors.t());
  timed(state, "finite checks", [] {
    const bool bad = bridges::find_nonfinite(data().x).has_value() || bridges::find_nonfinite(result).has_value();
    return bad ? Tensor() : result;
  });
}

void torch_mm(benchmark::State& state) {
  timed(state, "torch::mm", [] { return data().x.mm(data().anchors.t()); });
}

// The GEMM alone: into an output allocated (and faulted in) once, outside the
// timing. The floor for cosine and euclidean, which also avoid the page
// faults of a fresh output (see bridges::empty_large).
void torch_mm_out(benchmark::State& state) {
  Tensor out = data().x.mm(data().anchors.t());
  timed(state, "torch::mm_out", [&] { return at::mm_out(out, data().x, data().anchors.t()); });
}

void torch_cdist(benchmark::State& state, double p, const std::string& name) {
  timed(state, name, [p] { return at::cdist(data().x, data().anchors, p); });
}

// Forward and backward with respect to both x and the anchors, for a
// weighted sum of the distances (what training through a relative layer
// costs per batch of this size).
void with_backward(benchmark::State& state, const std::string& name,
                   const std::function<Tensor(const Tensor&, const Tensor&)>& f) {
  const Tensor weights = at::randn({kN, kK});
  timed(state, name, [&] {
    const Tensor x = data().x.detach().requires_grad_(true), a = data().anchors.detach().requires_grad_(true);
    (f(x, a) * weights).sum().backward();
    return x.grad();
  });
}

void ratio_line(const std::string& what, double value, const std::string& target, bool pass) {
  fmt::print("  {:<44} {:>8.2f}   target {:<8} {}\n", what, value, target, pass ? "PASS" : "FAIL");
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = static_cast<int>(bench::env_int("BRIDGES_BENCH_THREADS", 2));
  at::set_num_threads(threads);
  bridges::keep_freed_memory();  // as the bridges programs do
  fmt::print("bridges projection benchmark: n = {}, k = {}, d = {}, float32, {} threads, L1/Linf kernels: {}\n", kN,
             kK, kD, at::get_num_threads(), bridges::kernels::isa());
  data();

  const double inf = std::numeric_limits<double>::infinity();
  const auto ms = benchmark::kMillisecond;
  benchmark::RegisterBenchmark("torch::mm", torch_mm)->Unit(ms)->Iterations(5);
  benchmark::RegisterBenchmark("torch::mm_out (reused output)", torch_mm_out)->Unit(ms)->Iterations(5);
  benchmark::RegisterBenchmark("bridges cosine", similarity, std::string("cosine"))->Unit(ms)->Iterations(5);
  benchmark::RegisterBenchmark("bridges euclidean", similarity, std::string("euclidean"))->Unit(ms)->Iterations(5);
  benchmark::RegisterBenchmark("bridges l1", similarity, std::string("l1"))->Unit(ms)->Iterations(3);
  using Kernel = std::function<Tensor(const Tensor&, const Tensor&)>;
  const auto kernel = [](benchmark::State& state, const std::string& name, const Kernel& f) {
    timed(state, name, [&] { return f(data().x, data().anchors); });
  };
  // The engine alone, without Similarity::project's finite checks.
  benchmark::RegisterBenchmark("kernels::cosine", kernel, std::string("kernel cosine"),
                               Kernel([](const Tensor& x, const Tensor& a) { return bridges::kernels::cosine(x, a); }))
      ->Unit(ms)->Iterations(5);
  benchmark::RegisterBenchmark("kernels::euclidean", kernel, std::string("kernel euclidean"),
                               Kernel([](const Tensor& x, const Tensor& a) { return bridges::kernels::euclidean(x, a); }))
      ->Unit(ms)->Iterations(5);
  benchmark::RegisterBenchmark("find_nonfinite(x) + find_nonfinite(result)", finite_checks)->Unit(ms)->Iterations(5);
  benchmark::RegisterBenchmark("bridges linf", similarity, std::string("linf"))->Unit(ms)->Iterations(3);
  benchmark::RegisterBenchmark("torch::cdist p=2", torch_cdist, 2.0, std::string("cdist p=2"))->Unit(ms)->Iterations(2);
  benchmark::RegisterBenchmark("torch::cdist p=1", torch_cdist, 1.0, std::string("cdist p=1"))->Unit(ms)->Iterations(1);
  benchmark::RegisterBenchmark("torch::cdist p=inf", torch_cdist, inf, std::string("cdist p=inf"))->Unit(ms)->Iterations(1);
  using Pairwise = std::function<Tensor(const Tensor&, const Tensor&)>;
  benchmark::RegisterBenchmark("bridges l1 forward+backward", with_backward, std::string("l1 grad"),
                               Pairwise([](const Tensor& x, const Tensor& a) { return bridges::kernels::l1(x, a); }))
      ->Unit(ms)->Iterations(1);
  benchmark::RegisterBenchmark("torch::cdist p=1 forward+backward", with_backward, std::string("cdist p=1 grad"),
                               Pairwise([](const Tensor& x, const Tensor& a) { return at::cdist(x, a, 1.0); }))
      ->Unit(ms)->Iterations(1);
  benchmark::RegisterBenchmark("bridges linf forward+backward", with_backward, std::string("linf grad"),
                               Pairwise([](const Tensor& x, const Tensor& a) { return bridges::kernels::linf(x, a); }))
      ->Unit(ms)->Iterations(1);
  benchmark::RegisterBenchmark("torch::cdist p=inf forward+backward", with_backward, std::string("cdist p=inf grad"),
                               Pairwise([inf](const Tensor& x, const Tensor& a) { return at::cdist(x, a, inf); }))
      ->Unit(ms)->Iterations(1);

  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  const auto t = [](const char* name) { return best_seconds.count(name) ? best_seconds[name] : 0.0; };
  if (best_seconds.size() < 14) return 0;  // a --benchmark_filter run: no summary
  fmt::print("\nTargets (best of each case's iterations):\n");
  const double flops = 2.0 * static_cast<double>(kN) * static_cast<double>(kK) * static_cast<double>(kD);
  fmt::print("  torch::mm: {:.1f} ms, {:.1f} GFLOP/s\n", t("torch::mm") * 1e3, flops / t("torch::mm") / 1e9);
  ratio_line("cosine time / torch::mm time", t("cosine") / t("torch::mm"), "<= 1.05",
             t("cosine") / t("torch::mm") <= 1.05);
  ratio_line("euclidean time / torch::mm time", t("euclidean") / t("torch::mm"), "<= 1.05",
             t("euclidean") / t("torch::mm") <= 1.05);
  ratio_line("torch::cdist p=1 time / l1 time", t("cdist p=1") / t("l1"), ">= 25", t("cdist p=1") / t("l1") >= 25);
  ratio_line("torch::cdist p=inf time / linf time", t("cdist p=inf") / t("linf"), ">= 25",
             t("cdist p=inf") / t("linf") >= 25);
  ratio_line("torch::cdist p=2 time / euclidean time", t("cdist p=2") / t("euclidean"), "(info)", true);
  ratio_line("finite checks / cosine time (included in it)", t("finite checks") / t("cosine"), "(info)", true);
  fmt::print("  against the GEMM alone (torch::mm_out into a reused output, {:.1f} ms):\n", t("torch::mm_out") * 1e3);
  ratio_line("cosine time / torch::mm_out time", t("cosine") / t("torch::mm_out"), "(info)", true);
  ratio_line("euclidean time / torch::mm_out time", t("euclidean") / t("torch::mm_out"), "(info)", true);
  const double pairs = static_cast<double>(kN) * static_cast<double>(kK) * static_cast<double>(kD);
  fmt::print("  l1: {:.2f} G element-pairs/s; linf: {:.2f} G element-pairs/s\n", pairs / t("l1") / 1e9,
             pairs / t("linf") / 1e9);
  ratio_line("cdist p=1 forward+backward / l1's", t("cdist p=1 grad") / t("l1 grad"), "(info)", true);
  ratio_line("cdist p=inf forward+backward / linf's", t("cdist p=inf grad") / t("linf grad"), "(info)", true);
  const double ghz = bench::measured_clock_ghz();
  const double peak = bench::avx2_fma_peak_gflops(threads, ghz);
  fmt::print("\nFraction of the machine's AVX2 FMA peak ({} cores x 16 flops per cycle at {:.2f} GHz, measured: "
             "{:.1f} GFLOP/s);\n  2 flops per element pair for a multiply-add, 3 for |x - a| accumulated "
             "(subtract, abs, add or max):\n",
             threads, ghz, peak);
  for (const char* name : {"torch::mm_out", "cosine", "euclidean", "l1", "linf"}) {
    const double per_pair = std::string(name) == "l1" || std::string(name) == "linf" ? 3 : 2;
    const double gflops = pairs * per_pair / t(name) / 1e9;
    fmt::print("  {:<16} {:>7.1f} GFLOP/s  {:>5.0f}% of peak\n", name, gflops, 100 * gflops / peak);
  }
  return 0;
}
