// Linear CKA at n = 100000, d = 768 in at most 5 s on 2 cores with O(d^2)
// memory, beside the Gram form (n x n matrices), which cannot even be held
// at that size. 2 threads unless BRIDGES_BENCH_THREADS says otherwise.
//
//   build/release/bin/bench_cka
//
// Each measurement runs in its own process (the program runs itself with
// --one FORM N), so memory one form freed cannot hide the next one's peak.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bridges/relative/latent_similarity.hpp"
#include "bridges/tensor.hpp"
#include "bench_support.hpp"

namespace {

const std::vector<std::string> kForms{"linear", "linear_gram", "debiased", "debiased_gram", "rbf"};

std::string title(const std::string& form) {
  if (form == "linear") return "linear, feature space";
  if (form == "linear_gram") return "linear, Gram form (n x n)";
  if (form == "debiased") return "debiased, feature space";
  if (form == "debiased_gram") return "debiased, Gram form (n x n)";
  return "RBF (Gram in row blocks)";
}

// One measurement: inputs made first, then the timed call; "extra memory"
// is the peak resident size above the size before the call. Prints the
// seconds on the last line.
int one(const std::string& form, int64_t n) {
  const int64_t d = 768;
  at::manual_seed(0);
  const bridges::Tensor x = at::randn({n, d}), y = x.narrow(1, 0, d / 2).repeat({1, 2}) + at::randn({n, d});
  std::ofstream("/proc/self/clear_refs") << "5";  // reset the peak
  const double before = bench::rss_mb("VmRSS:");
  const auto start = std::chrono::steady_clock::now();
  const double value = form == "linear"          ? bridges::linear_cka(x, y)
                       : form == "linear_gram"   ? bridges::linear_cka_gram(x, y)
                       : form == "debiased"      ? bridges::linear_cka(x, y, true)
                       : form == "debiased_gram" ? bridges::linear_cka_gram(x, y, true)
                                                 : bridges::rbf_cka(x, y);
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("  {:<30} {:>8} {:>5} {:>9.3f} {:>10.0f} MB {:>8.4f}\n", title(form), n, d, t, bench::rss_mb("VmHWM:") - before, value);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bench::use_bench_threads();
  if (argc == 4 && std::string(argv[1]) == "--one") return one(argv[2], std::atoll(argv[3]));

  fmt::print("bridges CKA benchmark, {} threads\n\n", at::get_num_threads());
  fmt::print("  {:<30} {:>8} {:>5} {:>9} {:>13} {:>8}\n", "form", "n", "d", "time (s)", "extra memory", "CKA");
  std::fflush(stdout);
  const auto run = [&](const std::string& form, int64_t n) {
    return std::system(fmt::format("'{}' --one {} {}", argv[0], form, n).c_str());
  };
  for (const int64_t n : {int64_t{5000}, int64_t{10000}})
    for (const auto& form : kForms) run(form, n);
  run("linear", 100000);
  run("debiased", 100000);
  fmt::print("  {:<30} {:>8} {:>5} {:>9} {:>10.0f} GB {:>8}\n", title("linear_gram"), 100000, 768, "-",
             2.0 * 1e5 * 1e5 * 8 / 1e9, "-");
  fmt::print("\nTarget: linear CKA at n = 100000, d = 768 in at most 5 s, with O(d^2) memory (above).\n");
}
