#include "testing.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <ATen/core/grad_mode.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <sstream>

namespace bridges::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() / ("bridges-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

FileSizeLimit::FileSizeLimit(uint64_t bytes) {
  rlimit limit{};
  ::getrlimit(RLIMIT_FSIZE, &limit);
  saved_current_ = limit.rlim_cur;
  limit.rlim_cur = std::min<rlim_t>(bytes, limit.rlim_max);
  saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // else the signal ends the process
  ::setrlimit(RLIMIT_FSIZE, &limit);
}

FileSizeLimit::~FileSizeLimit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_FSIZE, &limit);
  limit.rlim_cur = saved_current_;
  ::setrlimit(RLIMIT_FSIZE, &limit);
  std::signal(SIGXFSZ, saved_handler_);
}

Tensor randn(std::vector<int64_t> sizes, uint64_t seed, at::ScalarType dtype) {
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return at::randn(sizes, gen, at::TensorOptions().dtype(dtype));
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<std::string> list_folder(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(folder)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool library_mapped(const std::string& name) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find(name) != std::string::npos) return true;
  return false;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.numel() == 0 && b.numel() == 0) return 0.0;
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

double gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs_in,
                 double eps) {
  std::vector<Tensor> inputs;
  for (const Tensor& t : inputs_in) inputs.push_back(t.detach().clone().contiguous().requires_grad_(true));
  const Tensor out = f(inputs);
  const int64_t m = out.numel();
  // Autograd: row o of each input's Jacobian from a backward of one-hot o.
  std::vector<Tensor> analytical;
  for (const Tensor& t : inputs) analytical.push_back(at::zeros({m, t.numel()}, at::kDouble));
  for (int64_t o = 0; o < m; ++o) {
    for (Tensor& t : inputs) t.mutable_grad() = Tensor();
    Tensor one_hot = at::zeros_like(out);
    one_hot.view({-1})[o] = 1;
    out.backward(one_hot, /*retain_graph=*/true);
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].grad().defined()) analytical[i][o].copy_(inputs[i].grad().reshape({-1}));
  }
  // Central differences, one input element at a time.
  at::NoGradGuard no_grad;
  double worst = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    double* value = inputs[i].data_ptr<double>();
    for (int64_t e = 0; e < inputs[i].numel(); ++e) {
      const double saved = value[e];
      value[e] = saved + eps;
      const Tensor plus = f(inputs).reshape({-1}).clone();
      value[e] = saved - eps;
      const Tensor minus = f(inputs).reshape({-1}).clone();
      value[e] = saved;
      const Tensor numerical = (plus - minus) / (2 * eps);
      worst = std::max(worst, max_abs_diff(numerical, analytical[i].select(1, e)));
    }
  }
  return worst;
}

}  // namespace bridges::testing
