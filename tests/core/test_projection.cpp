#include <c10/core/CPUAllocator.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/tensor.h>
#include <ATen/core/grad_mode.h>

#include <cstdlib>
#include <functional>
#include <limits>
#include <tuple>

#include "bridges/error.hpp"
#include "bridges/options.hpp"
#include "bridges/relative/invariance_check.hpp"
#include "bridges/relative/kernels.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/relative/streaming.hpp"
#include "bridges/util/runtime.hpp"
#include "naive.hpp"
#include "testing.hpp"

using namespace bridges;
using nlohmann::json;
using testing::Metric;
namespace fs = std::filesystem;

namespace {

struct Shape {
  int64_t n, k, d;
};
// Awkward on purpose: d not a multiple of the vector width, k = 1, n = 1,
// n = 0, row counts that leave micro-tile remainders, k wider than one tile
// (AVX-512's float tile is 64 anchors wide) with a partial last tile, n over
// one 96-row block (threads split it).
const std::vector<Shape> kShapes{{1, 1, 1},     {0, 3, 4},     {7, 3, 5},   {33, 17, 9}, {5, 1, 31},
                                 {4, 16, 8},    {130, 19, 67}, {67, 40, 3}, {13, 150, 11}};

Tensor run(Metric metric, const Tensor& x, const Tensor& a) {
  switch (metric) {
    case Metric::cosine: return kernels::cosine(x, a);
    case Metric::euclidean: return kernels::euclidean(x, a);
    case Metric::l1: return kernels::l1(x, a);
    case Metric::linf: return kernels::linf(x, a);
  }
  return {};
}

// Runs `body` under each instruction set this processor supports, then goes
// back to the best; returns the names tried.
std::vector<std::string> for_each_isa(const std::function<void(const std::string&)>& body) {
  std::vector<std::string> tried;
  for (const char* isa : {"avx512", "avx2", "generic"}) {
    try {
      kernels::set_isa(isa);
    } catch (const ConfigError&) {
      continue;  // this processor lacks it
    }
    tried.emplace_back(kernels::isa());
    body(isa);
  }
  kernels::set_isa("auto");
  return tried;
}

// A dot product: declared (wrongly) invariant to translation, to prove the
// checker finds disagreements.
class Dot final : public Similarity {
 public:
  std::string type() const override { return "dot"; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& a) const override { return x.mm(a.t()); }
};

}  // namespace

TEST_CASE("every kernel matches the naive definition on awkward shapes, in float32 and float64") {
  for (Metric metric : {Metric::cosine, Metric::euclidean, Metric::l1, Metric::linf}) {
    for (auto dtype : {at::kFloat, at::kDouble}) {
      for (const Shape& s : kShapes) {
        CAPTURE(static_cast<int>(metric));
        CAPTURE(s.n);
        CAPTURE(s.k);
        CAPTURE(s.d);
        const Tensor x = testing::randn({s.n, s.d}, 1, dtype) * 3;
        const Tensor a = testing::randn({s.k, s.d}, 2, dtype) * 3;
        const Tensor r = run(metric, x, a);
        CHECK((r.scalar_type() == dtype));
        CHECK(r.sizes() == at::IntArrayRef{s.n, s.k});
        const Tensor expected = testing::naive_pairwise(x, a, metric);
        const double scale = expected.numel() ? expected.abs().max().item<double>() + 1 : 1;
        // float32 GEMM forms round; the L1/Linf kernels and float64 are near exact.
        const double tolerance = dtype == at::kDouble ? 1e-10 : 1e-4;
        CHECK(testing::max_abs_diff(r, expected) / scale < tolerance);
      }
    }
  }
}

TEST_CASE("every instruction-set variant of every kernel matches the naive definition") {
  const auto tried = for_each_isa([](const std::string& isa) {
    // Cosine and Euclidean run the variant's fused GEMM (AVX-512) or BLAS.
    for (Metric metric : {Metric::l1, Metric::linf, Metric::cosine, Metric::euclidean})
      for (auto dtype : {at::kFloat, at::kDouble})
        for (const Shape& s : kShapes) {
          CAPTURE(isa);
          CAPTURE(static_cast<int>(metric));
          CAPTURE(s.n);
          CAPTURE(s.k);
          CAPTURE(s.d);
          const Tensor x = testing::randn({s.n, s.d}, 5, dtype), a = testing::randn({s.k, s.d}, 6, dtype);
          const Tensor expected = testing::naive_pairwise(x, a, metric);
          const double scale = expected.numel() ? expected.abs().max().item<double>() + 1 : 1;
          const bool gemm = metric == Metric::cosine || metric == Metric::euclidean;
          const double tolerance = dtype == at::kDouble ? 1e-12 : gemm ? 1e-4 : 1e-5;
          CHECK(testing::max_abs_diff(run(metric, x, a), expected) / scale < tolerance);
        }
  });
  CHECK(std::find(tried.begin(), tried.end(), "generic") != tried.end());  // always available
  CHECK_THROWS_WITH_ALL(kernels::set_isa("neon"), UnknownNameError, "kernel instruction set 'neon'");
}

TEST_CASE("large results are backed by huge-page-aligned memory and behave like any tensor") {
  const Tensor big = empty_large({1024, 1024}, at::TensorOptions().dtype(at::kFloat));  // 4 MiB
  CHECK(reinterpret_cast<uintptr_t>(big.data_ptr()) % (2u << 20) == 0);
  big.fill_(2.0);
  CHECK(big.sum().item<double>() == 2.0 * 1024 * 1024);
  const Tensor small = empty_large({3, 4}, at::TensorOptions().dtype(at::kDouble));
  CHECK((small.scalar_type() == at::kDouble));
  CHECK(small.sizes() == at::IntArrayRef{3, 4});
}

TEST_CASE("keep_freed_memory: a freed block of 32 MiB or more is handed out again; raw allocations still work") {
  keep_freed_memory();  // process-wide, as the bridges programs do at start
  keep_freed_memory();  // and idempotent
  void* first = nullptr;
  {
    const Tensor a = at::empty({40 << 20}, at::kByte);  // 40 MiB
    a.fill_(7);
    first = a.data_ptr();
    CHECK(reinterpret_cast<uintptr_t>(first) % (2u << 20) == 0);
  }
  const Tensor b = at::empty({39 << 20}, at::kByte);  // within a quarter: the same block
  CHECK(b.data_ptr() == first);
  b.fill_(1);
  CHECK(b.sum().item<int64_t>() == int64_t{39} << 20);
  const Tensor c = at::empty({40 << 20}, at::kByte);  // the block is taken: another one
  CHECK(c.data_ptr() != first);
  c10::Allocator* allocator = c10::GetCPUAllocator();
  for (const std::size_t bytes : {std::size_t{64}, std::size_t{33} << 20}) {
    void* raw = allocator->raw_allocate(bytes);
    REQUIRE(raw != nullptr);
    static_cast<char*>(raw)[bytes - 1] = 1;
    allocator->raw_deallocate(raw);
  }
}

TEST_CASE("GemmBoundScope: one LibTorch thread inside when the BLAS has its own threads; restored after") {
  const int before = at::get_num_threads();
  REQUIRE(before >= 1);
  {
    const GemmBoundScope scope;
    CHECK(at::get_num_threads() == (blas_has_own_threads() ? 1 : before));
    {
      const GemmBoundScope nested;
      CHECK(at::get_num_threads() == (blas_has_own_threads() ? 1 : before));
    }
    CHECK(at::get_num_threads() == (blas_has_own_threads() ? 1 : before));
  }
  CHECK(at::get_num_threads() == before);
  // The BLAS the project installs (Debian's libopenblas0-pthread) has its own
  // threads; a test machine with another BLAS skips this check.
  const std::string blas = blas_kernels();
  if (blas.find("OpenBLAS") != std::string::npos && blas.find("USE_OPENMP") == std::string::npos &&
      blas.find("SINGLE_THREADED") == std::string::npos)
    CHECK(blas_has_own_threads());
}

TEST_CASE("kernels handle large values, negative zeros and non-contiguous inputs") {
  const Tensor x = testing::randn({9, 11}, 3) * 1000;
  const Tensor a = testing::randn({5, 11}, 4) * 1000;
  for (Metric metric : {Metric::l1, Metric::linf, Metric::euclidean, Metric::cosine}) {
    const Tensor expected = testing::naive_pairwise(x, a, metric);
    CHECK(testing::max_abs_diff(run(metric, x, a), expected) / (expected.abs().max().item<double>() + 1) < 1e-4);
    // Transposed views are not contiguous.
    const Tensor xt = x.t().contiguous().t(), at_ = a.t().contiguous().t();
    CHECK_FALSE(xt.is_contiguous());
    CHECK(testing::max_abs_diff(run(metric, xt, at_), expected) / (expected.abs().max().item<double>() + 1) < 1e-4);
  }
  const Tensor pz = at::zeros({1, 3}), nz = pz * -1.0;
  CHECK(kernels::l1(pz, nz).item<float>() == 0.0f);
  CHECK(kernels::linf(nz, pz).item<float>() == 0.0f);
}

TEST_CASE("cosine of a zero vector is 0, never NaN") {
  const Tensor x = at::cat({at::zeros({1, 4}), testing::randn({2, 4}, 1)});
  const Tensor a = at::cat({testing::randn({2, 4}, 2), at::zeros({1, 4})});
  const Tensor r = kernels::cosine(x, a);
  CHECK(at::isfinite(r).all().item<bool>());
  CHECK(r[0].abs().max().item<float>() == 0.0f);
  CHECK(r.select(1, 2).abs().max().item<float>() == 0.0f);
}

TEST_CASE("euclidean distance of a point to itself is 0, not the root of a rounding error") {
  const Tensor x = testing::randn({50, 33}, 5) * 10;
  const Tensor r = kernels::euclidean(x, x);
  CHECK(at::isfinite(r).all().item<bool>());
  CHECK(r.min().item<float>() >= 0.0f);
  CHECK(r.diagonal().max().item<float>() < 0.05f);  // |x| ~ 57: sqrt of float32 cancellation error
}

TEST_CASE("gradients flow through every kernel, and are 0 at zero distance") {
  const Tensor x = testing::randn({6, 4}, 1, at::kDouble).requires_grad_(true);
  const Tensor a = testing::randn({3, 4}, 2, at::kDouble);
  for (Metric metric : {Metric::cosine, Metric::euclidean, Metric::l1, Metric::linf}) {
    x.mutable_grad() = Tensor();
    run(metric, x, a).sum().backward();
    REQUIRE(x.grad().defined());
    CHECK(at::isfinite(x.grad()).all().item<bool>());
  }
  // d/dx sum_j |x - a_j|_1 = sum_j sign(x - a_j), compared with the formula.
  x.mutable_grad() = Tensor();
  kernels::l1(x, a).sum().backward();
  const Tensor expected = (x.detach().unsqueeze(1) - a.unsqueeze(0)).sign().sum(1);
  CHECK(testing::max_abs_diff(x.grad(), expected) < 1e-12);

  const Tensor same = a.clone().requires_grad_(true);
  kernels::euclidean(same, a).sum().backward();
  CHECK(at::isfinite(same.grad()).all().item<bool>());
}

// The reference formulas in LibTorch operations, differentiated by LibTorch's
// own autograd; no code shared with the kernels.
Tensor reference(Metric metric, const Tensor& x, const Tensor& a) {
  const Tensor diff = x.unsqueeze(1) - a.unsqueeze(0);  // [n, k, d]
  switch (metric) {
    case Metric::cosine:
      return x.mm(a.t()) / (x.norm(2, {1}, true) * a.norm(2, {1}).unsqueeze(0));
    case Metric::euclidean: return diff.pow(2).sum(2).sqrt();
    case Metric::l1: return diff.abs().sum(2);
    case Metric::linf: return diff.abs().amax(2);
  }
  return {};
}

TEST_CASE("gradcheck in float64: every projection, with respect to the latents and the anchors") {
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> f;
  };
  const std::vector<Case> cases{{"cosine", [](auto& x, auto& a) { return kernels::cosine(x, a); }},
                                {"euclidean", [](auto& x, auto& a) { return kernels::euclidean(x, a); }},
                                {"l1", [](auto& x, auto& a) { return kernels::l1(x, a); }},
                                {"linf", [](auto& x, auto& a) { return kernels::linf(x, a); }},
                                {"pnorm 3", [](auto& x, auto& a) { return kernels::pnorm(x, a, 3); }}};
  for (const Case& c : cases)
    for (const Shape& s : std::vector<Shape>{{1, 1, 1}, {4, 3, 5}, {3, 2, 19}, {2, 1, 33}}) {
      CAPTURE(c.name);
      CAPTURE(s.n);
      CAPTURE(s.k);
      CAPTURE(s.d);
      const Tensor x = testing::randn({s.n, s.d}, 11, at::kDouble) * 2;
      const Tensor a = testing::randn({s.k, s.d}, 12, at::kDouble) * 2;
      const double error = testing::gradcheck([&](const std::vector<Tensor>& in) { return c.f(in[0], in[1]); }, {x, a});
      CHECK(error < 1e-6);
    }
}

TEST_CASE("gradients match LibTorch autograd on the reference formulas, for every instruction-set variant") {
  for_each_isa([](const std::string& isa) {
    for (auto dtype : {at::kFloat, at::kDouble})
      for (Metric metric : {Metric::cosine, Metric::euclidean, Metric::l1, Metric::linf})
        for (const Shape& s : std::vector<Shape>{{33, 17, 70}, {130, 3, 9}, {1, 40, 1}}) {
          CAPTURE(isa);
          CAPTURE(static_cast<int>(metric));
          CAPTURE(s.n);
          CAPTURE(s.k);
          CAPTURE(s.d);
          const Tensor x0 = testing::randn({s.n, s.d}, 21, dtype), a0 = testing::randn({s.k, s.d}, 22, dtype);
          const Tensor weights = testing::randn({s.n, s.k}, 23, dtype);
          const Tensor x = x0.clone().requires_grad_(true), a = a0.clone().requires_grad_(true);
          (run(metric, x, a) * weights).sum().backward();
          const Tensor rx = x0.clone().requires_grad_(true), ra = a0.clone().requires_grad_(true);
          (reference(metric, rx, ra) * weights).sum().backward();
          const double scale = rx.grad().abs().max().item<double>() + ra.grad().abs().max().item<double>() + 1;
          const double tolerance = dtype == at::kDouble ? 1e-10 : 1e-4;
          CHECK(testing::max_abs_diff(x.grad(), rx.grad()) / scale < tolerance);
          CHECK(testing::max_abs_diff(a.grad(), ra.grad()) / scale < tolerance);
        }
  });
}

TEST_CASE("L1 and L-inf subgradients: 0 for an equal coordinate, the first of tied largest coordinates, 0 at distance 0") {
  const auto grads = [](Metric metric, const Tensor& x0, const Tensor& a0) {
    const Tensor x = x0.clone().requires_grad_(true), a = a0.clone().requires_grad_(true);
    run(metric, x, a).sum().backward();
    return std::make_pair(x.grad(), a.grad());
  };
  const auto row = [](std::vector<double> v) { return at::tensor(v, at::kDouble).unsqueeze(0); };
  // L1: the middle coordinate is equal, so it carries no gradient.
  auto [gx, ga] = grads(Metric::l1, row({2, 5, -1}), row({1, 5, 3}));
  CHECK(testing::max_abs_diff(gx, row({1, 0, -1})) == 0);
  CHECK(testing::max_abs_diff(ga, row({-1, 0, 1})) == 0);
  // L-inf: |diff| = (1, 1, 0.5) ties between the first two; the first takes it.
  std::tie(gx, ga) = grads(Metric::linf, row({1, -1, 0.5}), row({0, 0, 0}));
  CHECK(testing::max_abs_diff(gx, row({1, 0, 0})) == 0);
  CHECK(testing::max_abs_diff(ga, row({-1, 0, 0})) == 0);
  for (Metric metric : {Metric::l1, Metric::linf}) {
    std::tie(gx, ga) = grads(metric, row({0.5, -2}), row({0.5, -2}));
    CHECK(gx.abs().max().item<double>() == 0);
    CHECK(ga.abs().max().item<double>() == 0);
  }
}

TEST_CASE("a model trains through a relative layer: an encoder learns to match L1 relative representations") {
  // Targets come from a hidden linear encoder; a second one, started
  // elsewhere, learns through the L1 projection against anchors it encodes
  // itself (so gradients flow into both kernel arguments).
  const Tensor data = testing::randn({64, 6}, 31, at::kDouble);
  const Tensor truth = testing::randn({6, 8}, 32, at::kDouble);
  const Tensor target = kernels::l1(data.mm(truth), data.narrow(0, 0, 10).mm(truth));
  Tensor w = testing::randn({6, 8}, 33, at::kDouble).requires_grad_(true);
  const auto loss = [&] {
    const Tensor z = data.mm(w);
    return (kernels::l1(z, z.narrow(0, 0, 10)) - target).pow(2).mean();
  };
  const double initial = loss().item<double>();
  for (int step = 0; step < 300; ++step) {
    w.mutable_grad() = Tensor();
    loss().backward();
    at::NoGradGuard no_grad;
    w.sub_(w.grad() * 0.01);
  }
  const double final_loss = loss().item<double>();
  CAPTURE(initial);
  CAPTURE(final_loss);
  CHECK(final_loss < initial * 0.05);
}

TEST_CASE("the smooth p-norm approaches the exact L-infinity distance") {
  const Tensor x = testing::randn({8, 16}, 1, at::kDouble);
  const Tensor a = testing::randn({4, 16}, 2, at::kDouble);
  const Tensor exact = kernels::linf(x, a);
  CHECK(testing::max_abs_diff(kernels::pnorm(x, a, 3), testing::naive_pairwise(x, a, Metric::linf, 3)) < 1e-10);
  const double err20 = testing::max_abs_diff(kernels::pnorm(x, a, 20), exact);
  const double err200 = testing::max_abs_diff(kernels::pnorm(x, a, 200), exact);
  CHECK(err200 < err20);
  CHECK(err200 < 0.05);
  CHECK_THROWS_WITH_ALL(kernels::pnorm(x, a, 0.5), ConfigError, "p must be >= 1");
}

TEST_CASE("kernels and similarities reject mismatched inputs with the shapes found") {
  CHECK_THROWS_WITH_ALL(kernels::l1(testing::randn({3, 4}, 0), testing::randn({2, 5}, 0)), ShapeError,
                        "float32 [3, 4]", "float32 [2, 5]");
  Dot dot;
  CHECK_THROWS_WITH_ALL(dot.project(testing::randn({3}, 0), testing::randn({2, 3}, 0)), ShapeError, "similarity/dot",
                        "x must be [n, d]", "float32 [3]");
  CHECK_THROWS_WITH_ALL(dot.project(testing::randn({3, 2}, 0), testing::randn({2, 3}, 0)), ShapeError,
                        "same dimension d");
  CHECK_THROWS_WITH_ALL(dot.project(testing::randn({3, 2}, 0), testing::randn({2, 2}, 0, at::kDouble)), ShapeError,
                        "must both be float32 or both float64");
  CHECK_THROWS_WITH_ALL(dot.project(testing::randn({3, 2}, 0), testing::randn({0, 2}, 0)), ShapeError, "k >= 1");
}

TEST_CASE("subspace normalisations work row by row") {
  const Tensor r = testing::randn({5, 7}, 3, at::kDouble) * 4 + 2;
  const Tensor l2 = normalize_subspace(r, SubspaceNorm::l2);
  CHECK(testing::max_abs_diff(l2.norm(2, {1}), at::ones({5}, at::kDouble)) < 1e-12);
  const Tensor st = normalize_subspace(r, SubspaceNorm::standardize);
  CHECK(st.mean({1}).abs().max().item<double>() < 1e-12);
  CHECK(testing::max_abs_diff(st.pow(2).mean({1}), at::ones({5}, at::kDouble)) < 1e-12);
  // A sample's row does not depend on the other samples in the batch.
  CHECK(testing::max_abs_diff(normalize_subspace(r.narrow(0, 2, 1), SubspaceNorm::standardize), st.narrow(0, 2, 1)) < 1e-12);
  // Constant and zero rows give zeros, not NaN.
  const Tensor flat = at::ones({2, 4}, at::kDouble);
  CHECK(normalize_subspace(flat, SubspaceNorm::standardize).abs().max().item<double>() == 0.0);
  CHECK(normalize_subspace(flat * 0, SubspaceNorm::l2).abs().max().item<double>() == 0.0);
  // Rows whose deviation is below the floor (1e-6 in float32) are divided
  // by the floor, not by their deviation; the other rows are standardised.
  Tensor mixed = testing::randn({4, 6}, 5) * 3 + 1;
  mixed[1] = testing::randn({6}, 6) * 1e-7f + 0.5f;
  const Tensor near_constant = mixed[1].clone();
  REQUIRE(near_constant.std().item<double>() > 0);  // not rounded to one value
  REQUIRE(near_constant.std().item<double>() < 1e-6);
  const Tensor mixed_st = normalize_subspace(mixed, SubspaceNorm::standardize);
  // Within one float32 step of 0.5 (6e-8) divided by the floor: the two
  // means may round differently.
  CHECK(testing::max_abs_diff(mixed_st[1], (near_constant - near_constant.mean()) / 1e-6) < 0.061);
  CHECK(mixed_st[1].abs().max().item<double>() < 0.5);  // not blown up to unit deviation
  const Tensor rows = mixed.index_select(0, at::tensor({0, 2, 3}, at::kLong));
  const Tensor centred = rows - rows.mean({1}, true);
  CHECK(testing::max_abs_diff(mixed_st.index_select(0, at::tensor({0, 2, 3}, at::kLong)),
                              centred / centred.pow(2).mean({1}, true).sqrt()) < 1e-5);
  // NaN stays NaN (the finite checks downstream name it); no rows, no error.
  Tensor with_nan = mixed.clone();
  with_nan[2][3] = NAN;
  const Tensor nan_st = normalize_subspace(with_nan, SubspaceNorm::standardize);
  CHECK(nan_st[2].isnan().all().item<bool>());
  CHECK(testing::max_abs_diff(nan_st[0], mixed_st[0]) == 0.0);
  CHECK(normalize_subspace(at::zeros({0, 6}), SubspaceNorm::standardize).size(0) == 0);
  CHECK(normalize_subspace(r, SubspaceNorm::none).equal(r));
  CHECK(parse_subspace_norm("standardize") == SubspaceNorm::standardize);
  CHECK_THROWS_WITH_ALL(parse_subspace_norm("l2norm"), UnknownNameError, "Did you mean 'l2'?");
}

TEST_CASE("the relative projector returns one normalised subspace per similarity, in order") {
  auto dot = std::make_shared<Dot>();
  struct Neg final : Similarity {
    std::string type() const override { return "neg"; }
    Tensor compute(const Tensor& x, const Tensor& a) const override { return -x.mm(a.t()); }
  };
  const Tensor anchors = testing::randn({6, 3}, 1);
  const Tensor x = testing::randn({10, 3}, 2);
  const RelativeProjector projector(anchors, {dot, std::make_shared<Neg>()}, SubspaceNorm::l2);
  const auto spaces = projector.project(x);
  REQUIRE(spaces.size() == 2);
  CHECK(projector.num_anchors() == 6);
  CHECK(spaces[0].sizes() == at::IntArrayRef{10, 6});
  CHECK(testing::max_abs_diff(spaces[0], normalize_subspace(x.mm(anchors.t()), SubspaceNorm::l2)) < 1e-6);
  CHECK(testing::max_abs_diff(spaces[1], -spaces[0]) < 1e-6);
  CHECK_THROWS_WITH_ALL(RelativeProjector(anchors, {}), ConfigError, "at least one similarity");
  CHECK_THROWS_WITH_ALL(RelativeProjector(testing::randn({3}, 0), {dot}), ShapeError, "anchors must be [k, d]");
}

TEST_CASE("the invariance checker measures a dot product and flags a false declaration") {
  Dot dot;
  auto report = measure_invariances(dot, {Invariance::orthogonal});
  CHECK(report.measured() == InvarianceSet{Invariance::orthogonal, Invariance::permutation});
  CHECK_FALSE(report.agrees());  // permutation is measured but not declared
  report = measure_invariances(dot, {Invariance::orthogonal, Invariance::permutation, Invariance::translation});
  CHECK_FALSE(report.agrees());  // translation is declared but not measured
  for (const auto& m : report.rows)
    if (m.invariance == Invariance::translation) {
      CHECK(report.disagrees(m));
      CHECK(m.deviation > 1e-3);
      CHECK(m.tolerance == 1e-6);
    }
  CHECK(measure_invariances(dot, {Invariance::orthogonal, Invariance::permutation}).agrees());
  // manifold_isometry is measured on a sheet and its Swiss roll: a dot
  // product changes completely.
  const auto& manifold = report.rows.back();
  CHECK((manifold.invariance == Invariance::manifold_isometry));
  CHECK(manifold.measurable);
  CHECK_FALSE(manifold.invariant);
  CHECK(manifold.deviation > 0.5);
  CHECK(manifold.tolerance == 0.05);
}

TEST_CASE("an approximate claim is judged by its own tolerance, a conditional one only where its options say") {
  Dot dot;
  const OptionSchema schema = OptionSchema::parse(
      {{"shift", {{"type", "number"}, {"default", 0}}}, {"mode", {{"type", "string"}, {"default", "a"}}}}, "dot");
  const auto with = [&](json extra) {
    json all = json::array({"orthogonal", "permutation"});
    all.push_back(std::move(extra));
    return InvarianceDeclaration::parse(all, schema, "similarity/dot");
  };
  // Translation changes a dot product by a few times its size: a claim with
  // a loose enough tolerance agrees, a tight one does not.
  const double deviation = [&] {
    for (const auto& m : measure_invariances(dot, {}).rows)
      if (m.invariance == Invariance::translation) return m.deviation;
    return 0.0;
  }();
  REQUIRE(deviation > 0.01);
  auto loose = measure_invariances(dot, with({{"invariance", "translation"}, {"tolerance", deviation * 2}}));
  CHECK(loose.agrees());
  CHECK(loose.measured().contains(Invariance::translation));
  CHECK_FALSE(measure_invariances(dot, with({{"invariance", "translation"}, {"tolerance", deviation / 2}})).agrees());

  // "when": the claim applies only to matching options (the dot's to_json() has no options: shift is null).
  const InvarianceDeclaration conditional = with({{"invariance", "translation"}, {"when", {{"mode", "b"}}}});
  CHECK(conditional.holds({{"mode", "a"}}) == InvarianceSet{Invariance::orthogonal, Invariance::permutation});
  CHECK(conditional.holds({{"mode", "b"}}).contains(Invariance::translation));
  CHECK(measure_invariances(dot, conditional).agrees());  // mode is not "b": translation not claimed
  const InvarianceDeclaration ranged = with({{"invariance", "isotropic_scaling"}, {"when", {{"shift", {{"minimum", 1}, {"maximum", 2}}}}}});
  CHECK_FALSE(ranged.holds({{"shift", 0.5}}).contains(Invariance::isotropic_scaling));
  CHECK(ranged.holds({{"shift", 1.5}}).contains(Invariance::isotropic_scaling));
  CHECK_FALSE(ranged.holds({{"shift", 2.5}}).contains(Invariance::isotropic_scaling));
  CHECK_FALSE(ranged.holds({{"shift", "x"}}).contains(Invariance::isotropic_scaling));
  CHECK(ranged.describe() == "orthogonal, permutation, isotropic_scaling if 1 <= shift <= 2");
  CHECK(with({{"invariance", "translation"}, {"tolerance", 0.05}}).describe() ==
        "orthogonal, permutation, translation (approximate, 0.05)");
  // to_json() is what parse() reads.
  CHECK(InvarianceDeclaration::parse(ranged.to_json(), schema, "x").to_json() == ranged.to_json());
  CHECK(ranged.to_json()[0] == "orthogonal");

  // Malformed declarations name the entry, what was expected and what was found.
  CHECK_THROWS_WITH_ALL(with("rotation"), ConfigError, "similarity/dot", "\"invariances\"[2]",
                        "\"rotation\" is not an invariance", "Known: isotropic_scaling");
  CHECK_THROWS_WITH_ALL(with({{"invariance", "translation"}, {"tolerance", 0}}), ConfigError, "[2]",
                        "\"tolerance\" must be a positive number");
  CHECK_THROWS_WITH_ALL(with({{"invariance", "translation"}, {"tolerance", "1e-3"}}), ConfigError, "positive number");
  CHECK_THROWS_WITH_ALL(with({{"invariance", "translation"}, {"when", {{"shfit", 1}}}}), ConfigError,
                        "names option 'shfit', which is not declared", "Did you mean 'shift'?");
  CHECK_THROWS_WITH_ALL(with({{"invariance", "translation"}, {"when", {{"shift", {{"least", 1}}}}}}), ConfigError,
                        "must be a range");
  CHECK_THROWS_WITH_ALL(with({{"invariance", "translation"}, {"when", {{"shift", {{"minimum", "1"}}}}}}), ConfigError,
                        "when\".shift.minimum must be a number");
  CHECK_THROWS_WITH_ALL(with({{"invariance", "translation"}, {"tolerence", 1}}), ConfigError,
                        "unknown key \"tolerence\"", "Did you mean 'tolerance'?");
  CHECK_THROWS_WITH_ALL(with({{"when", {{"shift", 1}}}}), ConfigError, "a missing \"invariance\"");
  CHECK_THROWS_WITH_ALL(InvarianceDeclaration::parse("translation", schema, "similarity/dot"), ConfigError,
                        "must be an array");
}

TEST_CASE("the relative projector prepares each similarity once per anchor set, not per chunk") {
  // Prepares by fixing the anchors' mean norm as a divisor: counts how often.
  struct Scaled final : Similarity {
    std::shared_ptr<int> prepares = std::make_shared<int>(0);
    double divisor = 0;  // 0: not prepared
    std::string type() const override { return "scaled"; }
    std::shared_ptr<const Similarity> prepare(const Tensor& anchors) const override {
      if (divisor != 0) return nullptr;
      ++*prepares;
      auto prepared = std::make_shared<Scaled>();
      prepared->prepares = prepares;
      prepared->divisor = anchors.norm(2, {1}).mean().item<double>();
      return prepared;
    }
    Tensor compute(const Tensor& x, const Tensor& a) const override {
      REQUIRE(divisor != 0);  // project() always computes through the prepared one
      return x.mm(a.t()) / divisor;
    }
  };
  auto scaled = std::make_shared<Scaled>();
  const Tensor anchors = testing::randn({6, 3}, 1), x = testing::randn({10, 3}, 2);
  const Tensor whole = scaled->project(x, anchors);
  CHECK(*scaled->prepares == 1);
  CHECK(testing::max_abs_diff(whole, x.mm(anchors.t()) / anchors.norm(2, {1}).mean()) < 1e-6);
  const RelativeProjector projector(anchors, {scaled});
  CHECK(*scaled->prepares == 2);
  for (int64_t start = 0; start < 10; start += 3)
    CHECK(projector.project(x.narrow(0, start, std::min<int64_t>(3, 10 - start)))[0].equal(
        whole.narrow(0, start, std::min<int64_t>(3, 10 - start))));
  CHECK(*scaled->prepares == 2);  // four chunks, no new preparation
}

namespace {

// A similarity over one of the core kernels; `fail_after` calls it throws
// (to test errors in the middle of a stream).
class KernelSimilarity final : public Similarity {
 public:
  KernelSimilarity(Metric metric, int fail_after = -1) : metric_(metric), fail_after_(fail_after) {}
  std::string type() const override { return "kernel" + std::to_string(static_cast<int>(metric_)); }

 protected:
  Tensor compute(const Tensor& x, const Tensor& a) const override {
    if (fail_after_ >= 0 && calls_++ >= fail_after_) throw IoError("failing on purpose");
    return run(metric_, x, a);
  }

 private:
  Metric metric_;
  int fail_after_;
  mutable int calls_ = 0;
};

std::vector<std::shared_ptr<const Similarity>> all_kernels() {
  return {std::make_shared<KernelSimilarity>(Metric::cosine), std::make_shared<KernelSimilarity>(Metric::euclidean),
          std::make_shared<KernelSimilarity>(Metric::l1), std::make_shared<KernelSimilarity>(Metric::linf)};
}

}  // namespace

TEST_CASE("streaming projection writes exactly what the in-memory projection computes, for any chunk size") {
  testing::TempDir dir;
  const Tensor x = testing::randn({203, 19}, 7) * 3;
  write_npy(dir / "x.npy", x);
  for (auto dtype : {at::kFloat, at::kDouble})
    for (SubspaceNorm norm : {SubspaceNorm::none, SubspaceNorm::standardize}) {
      const RelativeProjector projector(testing::randn({13, 19}, 8, dtype), all_kernels(), norm);
      const std::vector<Tensor> expected = projector.project(x.to(dtype));
      for (int64_t chunk : {int64_t{1}, int64_t{7}, int64_t{96}, int64_t{202}, int64_t{203}, int64_t{5000}, int64_t{0}}) {
        CAPTURE(chunk);
        CAPTURE(dtype);
        std::vector<fs::path> files;
        for (int i = 0; i < 4; ++i) files.push_back(dir / ("r" + std::to_string(i) + ".npy"));
        int64_t last_done = 0, calls = 0;
        StreamingOptions options;
        options.chunk_rows = chunk;
        options.progress = [&](int64_t done, int64_t total) {
          CHECK(done > last_done);
          CHECK(total == 203);
          last_done = done;
          ++calls;
        };
        const StreamingReport report = project_npy(projector, dir / "x.npy", files, false, options);
        CHECK(report.rows == 203);
        CHECK(last_done == 203);
        CHECK(report.chunks == calls);
        if (chunk > 0) CHECK(report.chunks == (203 + chunk - 1) / chunk);
        for (int i = 0; i < 4; ++i) {
          const Tensor streamed = read_npy(files[i]);
          CHECK((streamed.scalar_type() == dtype));
          // Each row is computed by the same code whatever rows share its chunk.
          CHECK(at::equal(streamed, expected[static_cast<std::size_t>(i)]));
        }
        options.progress = nullptr;
        project_npy(projector, dir / "x.npy", {dir / "stacked.npy"}, true, options);
        CHECK(at::equal(read_npy(dir / "stacked.npy"), at::stack(expected, 1)));
      }
    }
}

TEST_CASE("streaming projection rejects bad inputs and leaves no file behind on an error or an interruption") {
  testing::TempDir dir;
  write_npy(dir / "x.npy", testing::randn({50, 4}, 1));
  write_npy(dir / "cube.npy", testing::randn({5, 2, 2}, 1));
  write_npy(dir / "ids.npy", at::arange(5, at::TensorOptions().dtype(at::kLong)));
  const RelativeProjector projector(testing::randn({3, 4}, 2), all_kernels());
  const RelativeProjector wide(testing::randn({3, 5}, 2), all_kernels());
  const std::vector<fs::path> four{dir / "a.npy", dir / "b.npy", dir / "c.npy", dir / "d.npy"};
  CHECK_THROWS_WITH_ALL(project_npy(wide, dir / "x.npy", four, false), ShapeError, "x.npy",
                        "expected latents [n, 5]", "found float32 (50, 4)");
  CHECK_THROWS_WITH_ALL(project_npy(projector, dir / "cube.npy", four, false), ShapeError, "cube.npy", "(5, 2, 2)");
  CHECK_THROWS_WITH_ALL(project_npy(projector, dir / "ids.npy", four, false), ShapeError, "ids.npy", "int64");
  CHECK_THROWS_WITH_ALL(project_npy(projector, dir / "x.npy", {dir / "a.npy"}, false), ConfigError,
                        "1 output file(s) given for 4 similarities; give 4");
  // The third chunk fails: no output and no temporary file remain.
  const RelativeProjector failing(testing::randn({3, 4}, 2),
                                  {std::make_shared<KernelSimilarity>(Metric::l1),
                                   std::make_shared<KernelSimilarity>(Metric::linf, 2)});
  StreamingOptions options;
  options.chunk_rows = 10;
  CHECK_THROWS_WITH_ALL(project_npy(failing, dir / "x.npy", {dir / "a.npy", dir / "b.npy"}, false, options), IoError,
                        "failing on purpose");
  // An interruption requested during the stream stops it at the next chunk.
  options.progress = [](int64_t done, int64_t) {
    if (done >= 20) request_interrupt();
  };
  CHECK_THROWS_AS(project_npy(projector, dir / "x.npy", four, false, options), Interrupted);
  clear_interrupt();
  CHECK(testing::list_folder(dir.path()) == std::vector<std::string>{"cube.npy", "ids.npy", "x.npy"});

  // Writing fails in the writer's thread (here: files may not grow past
  // 1 MiB, as on a full disk; each chunk's result is 4 MB a file): the error
  // reaches the caller, and no output nor temporary file remains.
  write_npy(dir / "long.npy", testing::randn({20000, 4}, 1));
  const RelativeProjector many(testing::randn({1024, 4}, 2), all_kernels());
  options = {};
  options.chunk_rows = 1000;
  int64_t projected = 0;
  options.progress = [&](int64_t done, int64_t) { projected = done; };
  {
    const testing::FileSizeLimit full_disk(1 << 20);
    CHECK_THROWS_WITH_ALL(project_npy(many, dir / "long.npy", four, false, options), IoError, "a.npy",
                          "writing failed");
  }
  CHECK(projected < 20000);  // it stopped mid-stream, not at the end
  CHECK(testing::list_folder(dir.path()) == std::vector<std::string>{"cube.npy", "ids.npy", "long.npy", "x.npy"});
}

TEST_CASE("streaming projection sizes chunks by the input's rows where they are wider than the output's") {
  testing::TempDir dir;
  // 64 KiB in per row, 4 bytes out: 32 MiB chunks hold 512 rows (by the
  // output alone they would hold 8 million).
  const int64_t n = 1000, d = 16384;
  const Tensor x = testing::randn({n, d}, 4);
  write_npy(dir / "wide.npy", x);
  const RelativeProjector projector(testing::randn({1, d}, 5), {std::make_shared<KernelSimilarity>(Metric::l1)});
  const StreamingReport report = project_npy(projector, dir / "wide.npy", {dir / "r.npy"}, false);
  CHECK(report.chunk_rows == 512);
  CHECK(report.chunks == 2);
  CHECK(at::equal(read_npy(dir / "r.npy"), projector.project(x)[0]));
}

TEST_CASE("streaming projection reads any .npy layout: NumPy's header, a block-sized one, an unaligned one") {
  testing::TempDir dir;
  const Tensor x = testing::randn({301, 19}, 9, at::kDouble);
  const RelativeProjector projector(testing::randn({13, 19}, 8, at::kDouble), all_kernels());
  const std::vector<Tensor> expected = projector.project(x);
  write_npy(dir / "numpy.npy", x);  // data at byte 128
  {
    NpyWriter writer(dir / "block.npy", at::kDouble, {301, 19});  // at byte 4096 where written directly
    writer.append(x);
    writer.commit();
  }
  // Two more spaces in the header: the data starts at byte 130, where no
  // float64 is aligned.
  std::string bytes = testing::read_file(dir / "numpy.npy");
  const std::size_t header_end = bytes.find('\n');
  bytes.insert(header_end, "  ");
  bytes[8] = static_cast<char>(bytes[8] + 2);
  testing::write_bytes(dir / "odd.npy", bytes);
  REQUIRE(inspect_npy(dir / "odd.npy").data_offset == 130);
  // Direct I/O where the file system has it, and through the page cache.
  for (const char* direct_io : {"1", "0"}) {
    ::setenv("BRIDGES_DIRECT_IO", direct_io, 1);
    CHECK(direct_io_enabled() == (direct_io[0] == '1'));
    for (const char* input : {"numpy.npy", "block.npy", "odd.npy"})
      for (int64_t chunk : {int64_t{1}, int64_t{100}, int64_t{0}}) {
        CAPTURE(direct_io);
        CAPTURE(input);
        CAPTURE(chunk);
        StreamingOptions options;
        options.chunk_rows = chunk;
        project_npy(projector, dir / input, {dir / "stacked.npy"}, true, options);
        CHECK(at::equal(read_npy(dir / "stacked.npy"), at::stack(expected, 1)));
      }
  }
  ::unsetenv("BRIDGES_DIRECT_IO");
}
