// Every measure of the measures plugin and every translator, timed at the
// sizes researchers compare (d = 768), beside the LibTorch formula a Python
// user would write for the same number. Each line runs in its own process
// (the program runs itself with --one), so one measurement's freed memory
// cannot hide the next one's peak; "extra memory" is the peak resident size
// above the size before the call (inputs excluded).
//
//   build/release/bin/bench_measures          # about 10 minutes on 2 cores
//   build/release/bin/bench_measures --quick  # n = 2000 only
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "bridges/measure.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/translator.hpp"
#include "bench_support.hpp"

namespace {

constexpr int64_t kDim = 768;

// Two related spaces of n samples: y is half x's directions plus noise.
std::pair<at::Tensor, at::Tensor> spaces(int64_t n) {
  at::manual_seed(0);
  const at::Tensor x = at::randn({n, kDim});
  return {x, x.narrow(1, 0, kDim / 2).repeat({1, 2}) + at::randn({n, kDim})};
}

at::Tensor centred(const at::Tensor& t) { return t - t.mean(0, true); }

// What a user would write with LibTorch (or NumPy) for the same number: the
// textbook dense form. Empty when there is no such one-liner.
std::function<double(const at::Tensor&, const at::Tensor&)> reference(const std::string& name) {
  if (name == "cka_linear")  // Gram form: n x n
    return [](const at::Tensor& x, const at::Tensor& y) {
      const at::Tensor k = centred(centred(x.mm(x.t())).t()), l = centred(centred(y.mm(y.t())).t());
      return ((k * l).sum() / (k.norm() * l.norm())).item<double>();
    };
  if (name == "procrustes")  // float32, as written in a notebook
    return [](const at::Tensor& x, const at::Tensor& y) {
      at::Tensor a = centred(x), b = centred(y);
      a = a / a.norm();
      b = b / b.norm();
      return std::sqrt(std::max(0.0, 2 - 2 * at::linalg_svdvals(a.t().mm(b)).sum().item<double>()));
    };
  if (name == "mutual_knn")  // dense n x n similarities, topk
    return [](const at::Tensor& x, const at::Tensor& y) {
      const auto knn = [](const at::Tensor& t) {
        const at::Tensor u = t / t.norm(2, 1, true);
        return std::get<1>(u.mm(u.t()).fill_diagonal_(-1e8).topk(10, 1));
      };
      const at::Tensor a = knn(x), b = knn(y);
      const int64_t n = x.size(0);
      const at::Tensor ma = at::zeros({n, n}).scatter_(1, a, 1), mb = at::zeros({n, n}).scatter_(1, b, 1);
      return ((ma * mb).sum(1) / 10).mean().item<double>();
    };
  if (name == "cknna")  // the platonic-representation code: dense masks, and K~ L~, an n x n x n product
    return [](const at::Tensor& x, const at::Tensor& y) {
      const int64_t n = x.size(0);
      const at::Tensor ux = x / x.norm(2, 1, true), uy = y / y.norm(2, 1, true);
      const at::Tensor K = ux.mm(ux.t()), L = uy.mm(uy.t());
      const auto mask = [&](const at::Tensor& g) {
        return at::zeros({n, n}).scatter_(1, std::get<1>(g.clone().fill_diagonal_(-INFINITY).topk(10, 1)), 1);
      };
      const at::Tensor mk = mask(K), ml = mask(L);
      const auto hsic = [&](const at::Tensor& k0, const at::Tensor& l0) {
        const at::Tensor k = k0.clone().fill_diagonal_(0), l = l0.clone().fill_diagonal_(0);
        const double m = static_cast<double>(n);
        return ((k * l.t()).sum().item<double>() + k.sum().item<double>() * l.sum().item<double>() / ((m - 1) * (m - 2)) -
                2 * k.mm(l).sum().item<double>() / (m - 2)) /
               (m * (m - 3));
      };
      return hsic(mk * ml * K, mk * ml * L) / std::sqrt(hsic(mk * K, mk * K) * hsic(ml * L, ml * L));
    };
  if (name == "rsa")  // cdist-free correlation RDMs, ranks by double argsort
    return [](const at::Tensor& x, const at::Tensor& y) {
      const int64_t n = x.size(0);
      const at::Tensor iu = at::triu_indices(n, n, 1);
      const auto rdm = [&](const at::Tensor& t) {
        at::Tensor z = t - t.mean(1, true);
        z = z / z.norm(2, 1, true);
        const at::Tensor d = 1 - z.mm(z.t());
        return d.index({iu[0], iu[1]}).argsort().argsort().to(at::kDouble);
      };
      const at::Tensor a = centred(rdm(x).unsqueeze(1)), b = centred(rdm(y).unsqueeze(1));
      return ((a * b).sum() / (a.norm() * b.norm())).item<double>();
    };
  return {};
}

// One measurement: `what` is "measure NAME", "reference NAME" or "translator NAME".
int one(const std::string& what, const std::string& name, int64_t n) {
  bridges::Registry registry({BRIDGES_BENCH_PLUGIN_DIR});
  const auto [x, y] = spaces(n);
  std::function<double()> call;
  std::string label = name;
  if (what == "measure") {
    auto m = registry.make<bridges::Measure>(name, name == "rsa" ? nlohmann::json{{"max_samples", n}} : nlohmann::json::object());
    call = [&, m] { return m->compare(x, y); };
  } else if (what == "reference") {
    const auto f = reference(name);
    call = [&, f] { return f(x, y); };
    label = name + " (LibTorch formula)";
  } else {  // translator: fit on 1280 anchor pairs, translate n latents
    auto t = registry.make<bridges::Translator>(name);
    const at::Tensor sa = x.narrow(0, 0, 1280), ta = y.narrow(0, 0, 1280);
    call = [&x, t, sa, ta] {
      t->fit(sa, ta);
      return t->translate(x).abs().mean().item<double>();
    };
    label = "translator " + name;
  }
  std::ofstream("/proc/self/clear_refs") << "5";  // reset the peak
  const double before = bench::rss_mb("VmRSS:");
  double value = 0;
  const double t = bench::seconds([&] { value = call(); });
  fmt::print("  {:<34} {:>7} {:>9.3f} {:>10.0f} MB {:>10.5f}\n", label, n, t, bench::rss_mb("VmHWM:") - before, value);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bench::use_bench_threads();
  if (argc == 5 && std::string(argv[1]) == "--one") return one(argv[2], argv[3], std::atoll(argv[4]));
  const bool quick = argc == 2 && std::string(argv[1]) == "--quick";
  fmt::print("bridges measures and translators, d = {}, {} threads\n\n", kDim, at::get_num_threads());
  fmt::print("  {:<34} {:>7} {:>9} {:>13} {:>10}\n", "measure", "n", "time (s)", "extra memory", "value");
  std::fflush(stdout);
  const auto run = [&](const std::string& what, const std::string& name, int64_t n) {
    std::fflush(stdout);  // the parent's lines first: the child writes to the same stdout
    if (std::system(fmt::format("'{}' --one {} {} {}", argv[0], what, name, n).c_str()) != 0)
      fmt::print("  {:<34} {:>7} failed\n", name, n);
    std::fflush(stdout);
  };
  // O(n d^2) measures at n = 10000 and 100000; those of O(n^2) time (kNN,
  // RBF, CKNNA) at 10000; RSA (n^2 memory) at 5000.
  const std::vector<std::string> feature_space{"cka_linear", "cka_debiased", "svcca", "pwcca", "procrustes",
                                               "angular_shape", "pearson", "spearman", "pearson_per_sample",
                                               "spearman_per_sample", "knn_cosine"};
  const std::vector<std::string> quadratic{"cka_rbf", "knn_jaccard", "knn_cross_jaccard", "knn_mrr", "mutual_knn", "cknna"};
  const std::vector<int64_t> small = quick ? std::vector<int64_t>{2000} : std::vector<int64_t>{10000};
  const std::vector<int64_t> sizes = quick ? std::vector<int64_t>{2000} : std::vector<int64_t>{10000, 100000};
  for (const int64_t n : sizes)
    for (const auto& name : feature_space) run("measure", name, n);
  for (const int64_t n : small)
    for (const auto& name : quadratic) run("measure", name, n);
  run("measure", "rsa", quick ? 2000 : 5000);
  fmt::print("\n  beside the LibTorch formula a user would write:\n");
  for (const int64_t n : small)
    for (const char* name : {"cka_linear", "procrustes", "mutual_knn", "cknna"}) {
      run("measure", name, n);
      run("reference", name, n);
    }
  run("measure", "rsa", quick ? 2000 : 5000);
  run("reference", "rsa", quick ? 2000 : 5000);
  fmt::print("\n  translators: fit on 1280 anchor pairs [1280, 768] -> [1280, 768], translate n latents:\n");
  for (const char* name : {"orthogonal", "linear", "affine"}) run("translator", name, quick ? 2000 : 10000);
}
