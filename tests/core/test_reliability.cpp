// Numbers bridges prints must be right or refused: non-finite inputs,
// precision far from the origin, overflow, degenerate measures (issue 16).
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <vector>

#include <unistd.h>

#include "bridges/error.hpp"
#include "bridges/component_source.hpp"
#include "bridges/util/io.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/report.hpp"
#include "bridges/text/word_vectors.hpp"
#include "bridges/relative/kernels.hpp"
#include "bridges/relative/latent_similarity.hpp"
#include "bridges/tensor.hpp"
#include "plugin_registry.hpp"
#include "testing.hpp"

using namespace bridges;

namespace {

// Euclidean distances from direct differences, in float64: the reference.
Tensor direct_euclidean(const Tensor& x, const Tensor& a) {
  const Tensor xd = x.to(at::kDouble), ad = a.to(at::kDouble);
  return (xd.unsqueeze(1) - ad.unsqueeze(0)).pow(2).sum(2).sqrt();
}

double max_relative_error(const Tensor& got, const Tensor& reference) {
  return ((got.to(at::kDouble) - reference).abs() / reference.abs().clamp_min(1e-12)).max().item<double>();
}

// Each instruction set the processor runs, then back to the best.
template <class F>
void for_each_isa(F&& f) {
  for (const char* isa : {"avx512", "avx2", "generic"}) {
    try {
      kernels::set_isa(isa);
    } catch (const ConfigError&) {
      continue;
    }
    INFO("isa " << isa);
    f();
  }
  kernels::set_isa("auto");
}

}  // namespace

TEST_CASE("find_nonfinite reports the first NaN or infinity by row and column, and nothing for finite data") {
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    Tensor x = testing::randn({300, 257}, 1, dtype);
    CHECK_FALSE(find_nonfinite(x).has_value());
    x[250][3] = std::numeric_limits<double>::infinity();
    x[120][200] = std::numeric_limits<double>::quiet_NaN();
    const auto bad = find_nonfinite(x);
    REQUIRE(bad.has_value());
    CHECK(bad->row == 120);
    CHECK(bad->column == 200);
    CHECK(std::isnan(bad->value));
    // The largest finite value is finite.
    Tensor big = at::full({5, 5}, std::numeric_limits<float>::max(), at::TensorOptions(dtype));
    CHECK_FALSE(find_nonfinite(big).has_value());
    big[4][4] = -std::numeric_limits<double>::infinity();
    CHECK(find_nonfinite(big)->row == 4);
  }
  CHECK_FALSE(find_nonfinite(at::arange(10, at::kLong)).has_value());
  // One bad value anywhere: at the edges of the screened blocks (4096
  // values), in the partial last block, and past the first thread's share.
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    const int64_t n = 20 * 4096 + 100;
    for (const int64_t at_index : {int64_t{0}, int64_t{4095}, int64_t{4096}, int64_t{8191}, int64_t{20 * 4096 - 1},
                                   int64_t{20 * 4096}, n - 1}) {
      for (const double bad_value : {std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::infinity()}) {
        Tensor x = at::full({n}, -0.0, at::TensorOptions(dtype));
        x[0] = std::numeric_limits<double>::denorm_min();
        x[n - 2] = dtype == at::kFloat ? std::numeric_limits<float>::lowest() : std::numeric_limits<double>::lowest();
        CHECK_FALSE(find_nonfinite(x).has_value());
        x[at_index] = bad_value;
        const auto found = find_nonfinite(x);
        REQUIRE(found.has_value());
        CHECK(found->column == at_index);
      }
    }
  }
  CHECK_THROWS_WITH_ALL(require_finite(at::full({4, 2}, NAN), "z.npy", "drop them", 1000), NonFiniteError, "z.npy",
                        "row 1000, column 0", "NaN", "drop them");
}

TEST_CASE("Euclidean distances are accurate far from the origin and zero between a point and itself") {
  for_each_isa([] {
    for (const auto dtype : {at::kFloat, at::kDouble}) {
      INFO(dtype_name(dtype));
      // 5 + 0.01 N(0, 1): the GEMM form without centring had 17% error here.
      const Tensor x = (5 + 0.01 * testing::randn({1000, 256}, 4, at::kDouble)).to(dtype);
      const Tensor anchors = x.narrow(0, 0, 64);
      const Tensor got = kernels::euclidean(x, anchors);
      const Tensor reference = direct_euclidean(x, anchors);
      // d(x_i, x_i) is exactly 0 for the anchors' own rows.
      CHECK(got.narrow(0, 0, 64).diagonal().abs().max().item<double>() == 0.0);
      const Tensor off = reference > 0;
      const double error = max_relative_error(got.masked_select(off), reference.masked_select(off));
      CHECK(error < (dtype == at::kFloat ? 1e-4 : 1e-12));
      // N(0, 1) at d = 768: d(x, x) was 0.04.
      const Tensor y = testing::randn({200, 768}, 5, dtype);
      CHECK(kernels::euclidean(y, y.narrow(0, 0, 50)).narrow(0, 0, 50).diagonal().abs().max().item<double>() == 0.0);
      // Near duplicates: 1e-3 apart, relative to coordinates of size 1.
      const Tensor near = y.narrow(0, 0, 50) + 1e-3 * testing::randn({50, 768}, 6, dtype);
      const Tensor close = kernels::euclidean(near, y.narrow(0, 0, 50)).diagonal();
      const Tensor close_ref = direct_euclidean(near, y.narrow(0, 0, 50)).diagonal();
      CHECK(max_relative_error(close, close_ref) < (dtype == at::kFloat ? 1e-3 : 1e-9));
    }
  });
}

TEST_CASE("the p-norm approximation of L-inf neither overflows nor underflows for large p") {
  // Differences of 5 (5^100 overflows float32) and of 0.01 (0.01^100
  // underflows): cdist gave inf and 0.
  const Tensor x = at::tensor({0.0f, 0.0f, 0.0f, 0.0f}).reshape({2, 2});
  const Tensor anchors = at::tensor({5.0f, 1.0f, 0.01f, 0.005f}).reshape({2, 2});
  for (const double p : {1.0, 2.0, 20.0, 100.0, 1000.0}) {
    INFO("p = " << p);
    const Tensor got = kernels::pnorm(x, anchors, p).to(at::kDouble);
    const Tensor ad = anchors.to(at::kDouble).abs();
    const Tensor m = std::get<0>(ad.max(1, true));
    const Tensor expected = (m * (ad / m).pow(p).sum(1, true).pow(1.0 / p)).reshape({1, 2}).expand({2, 2});
    CHECK(find_nonfinite(got) == std::nullopt);
    CHECK(testing::max_abs_diff(got / expected, at::ones_like(got)) < 1e-5);
  }
  CHECK_THROWS_AS(kernels::pnorm(x, anchors, INFINITY), ConfigError);
}

TEST_CASE("cosine of very large finite values is right, not 0") {
  const Tensor x = 1e20 * testing::randn({30, 16}, 7);
  const Tensor anchors = 1e20 * testing::randn({5, 16}, 8);
  const Tensor got = kernels::cosine(x, anchors);
  const Tensor xd = x.to(at::kDouble), ad = anchors.to(at::kDouble);
  const Tensor expected = (xd / xd.norm(2, 1, true)).mm((ad / ad.norm(2, 1, true)).t());
  CHECK(testing::max_abs_diff(got, expected) < 1e-5);
}

TEST_CASE("measures of a space with zero variance are undefined, never a plausible score") {
  const Tensor x = testing::randn({50, 8}, 9);
  const Tensor constant = at::ones({50, 8});
  for (const char* m : {"cka_linear", "cka_debiased", "cka_rbf", "svcca", "knn_jaccard", "knn_mrr", "pearson",
                        "pearson_per_sample", "spearman_per_sample"}) {
    INFO(m);
    CHECK_THROWS_AS(testing::measure(m, x, constant), UndefinedMeasureError);
    CHECK_THROWS_AS(testing::measure(m, constant, x), UndefinedMeasureError);
  }
  // Too few samples: undefined, with the reason; a measure that needs fewer still answers.
  const Tensor three = x.narrow(0, 0, 3);
  CHECK(testing::measure("cka_linear", three, three * 2) == doctest::Approx(1.0));
  CHECK_THROWS_WITH_ALL(testing::measure("cka_debiased", three, three * 2), UndefinedMeasureError,
                        "debiased linear CKA: needs at least 4 samples, found 3");
  CHECK_THROWS_WITH_ALL(testing::measure("knn_jaccard", three, three * 2, {{"knn", 10}}), UndefinedMeasureError,
                        "need at least k + 1 = 11 samples, found 3");
}

TEST_CASE("kNN retrieval scores an exact isometry 1 and breaks ties by sample index") {
  // An exact rotation in float64.
  const Tensor x = testing::randn({2000, 64}, 10, at::kDouble);
  const Tensor q = std::get<0>(at::linalg_qr(testing::randn({64, 64}, 11, at::kDouble)));
  CHECK(knn_retrieval(x, x.mm(q), 300).jaccard == 1.0);
  // The cross measures pair a_i with b_j directly: 1 for the same space.
  const RetrievalScores s = knn_retrieval(x, x * 3, 300);
  CHECK(s.jaccard == 1.0);
  CHECK(s.cross_jaccard == 1.0);
  CHECK(s.mrr == 1.0);
  // Ties: four points on two spots. Sample 0's nearest other sample is 1
  // (same spot); with k = 2 the tie between 2 and 3 goes to 2.
  const Tensor tied = at::tensor({1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0}, at::kDouble).reshape({4, 2});
  const Tensor other = at::tensor({1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.6, 0.8}, at::kDouble).reshape({4, 2});
  // In `tied`, 0's neighbours are {1, 2}; in `other`, 0's are {1, 3} (3 is
  // closer to 0 than 2 is): Jaccard 1/3 for sample 0.
  const RetrievalScores t = knn_retrieval(tied, other, 2);
  const RetrievalScores u = knn_retrieval(tied, other, 2);
  CHECK(t.jaccard == u.jaccard);
  // MRR with ties: b_1 ties with b_0 for query a_1 and b_0 has the lower
  // index, so b_1 ranks 2nd (1/2), not 1st.
  const RetrievalScores same = knn_retrieval(tied, tied, 1);
  CHECK(same.mrr == doctest::Approx((1.0 + 0.5 + 1.0 + 0.5) / 4));
}

namespace {

// kNN retrieval by its definition, on dense float64 cosines and an explicit
// sort by (similarity descending, index ascending): the reference the fast
// path (float32 candidates, settled in float64) must equal exactly.
RetrievalScores brute_force_retrieval(const Tensor& a, const Tensor& b, int64_t k) {
  const auto unit = [](const Tensor& t) {
    const Tensor f = t.to(at::kDouble);
    return f / f.norm(2, 1, true).clamp_min(1e-300);
  };
  const Tensor ua = unit(a), ub = unit(b);
  const auto cosines = [](const Tensor& x, const Tensor& y) { return (x.unsqueeze(1) * y.unsqueeze(0)).sum(2); };
  const Tensor saa = cosines(ua, ua), sbb = cosines(ub, ub), sab = cosines(ua, ub);
  const int64_t n = a.size(0);
  const auto nearest = [&](const Tensor& s, int64_t i, bool exclude_self) {
    std::vector<std::pair<double, int64_t>> row;
    for (int64_t j = 0; j < n; ++j)
      if (!exclude_self || j != i) row.emplace_back(-s[i][j].item<double>(), j);
    std::sort(row.begin(), row.end());
    std::vector<int64_t> set;
    for (int64_t t = 0; t < k; ++t) set.push_back(row[t].second);
    std::sort(set.begin(), set.end());
    return set;
  };
  const auto common = [](const std::vector<int64_t>& x, const std::vector<int64_t>& y) {
    std::vector<int64_t> both;
    std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(both));
    return static_cast<double>(both.size());
  };
  RetrievalScores r;
  for (int64_t i = 0; i < n; ++i) {
    const double own = common(nearest(saa, i, true), nearest(sbb, i, true));
    r.jaccard += own / (2.0 * k - own);
    r.mutual += own / k;
    const double cross = common(nearest(sab, i, false), nearest(sbb, i, false));
    r.cross_jaccard += cross / (2.0 * k - cross);
    const double match = sab[i][i].item<double>();
    int64_t ahead = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double v = sab[i][j].item<double>();
      ahead += j != i && (v > match || (v == match && j < i));
    }
    r.mrr += 1.0 / static_cast<double>(ahead + 1);
  }
  r.jaccard /= n;
  r.mutual /= n;
  r.cross_jaccard /= n;
  r.mrr /= n;
  return r;
}

}  // namespace

TEST_CASE("kNN retrieval equals the float64 definition where float32 would rank differently") {
  // Float32 finds the candidates, float64 decides (knn_retrieval's fast
  // path). Three kinds of space that catch a wrong decision: plain random;
  // exact duplicates (every decision a tie, broken by index, with more tied
  // neighbours than float32 candidates, so rows are settled on their whole
  // float64 row); near-duplicates 1e-5 apart (cosines 1e-10 apart: equal in
  // float32, ordered in float64).
  const Tensor base = testing::randn({12, 24}, 30, at::kDouble);
  const Tensor copies = base.repeat({25, 1});                                   // 300 rows, 25 copies each
  const Tensor perm = testing::randn({300}, 35).argsort();  // a second arrangement
  const Tensor near = copies + 1e-5 * testing::randn({300, 24}, 31, at::kDouble);
  const Tensor near_b = copies.index_select(0, perm) + 1e-5 * testing::randn({300, 24}, 32, at::kDouble);
  const Tensor plain = testing::randn({300, 24}, 33, at::kDouble);
  struct Case {
    const char* name;
    Tensor a, b;
  };
  for (const Case& c : {Case{"random", plain, plain.mm(testing::randn({24, 24}, 34, at::kDouble))},
                        Case{"duplicates", copies, copies.index_select(0, perm)}, Case{"near-duplicates", near, near_b},
                        Case{"near-duplicates, float32 input", near.to(at::kFloat), near_b.to(at::kFloat)}})
    for (const int64_t k : {1, 5, 30}) {
      const std::string name = c.name;
      CAPTURE(name);
      CAPTURE(k);
      const RetrievalScores got = knn_retrieval(c.a, c.b, k), want = brute_force_retrieval(c.a, c.b, k);
      CHECK(got.jaccard == doctest::Approx(want.jaccard).epsilon(1e-12));
      CHECK(got.mutual == doctest::Approx(want.mutual).epsilon(1e-12));
      CHECK(got.cross_jaccard == doctest::Approx(want.cross_jaccard).epsilon(1e-12));
      CHECK(got.mrr == doctest::Approx(want.mrr).epsilon(1e-12));
      // Asked for one score, it is the same; the others are not computed.
      const RetrievalScores only = knn_retrieval(c.a, c.b, k, retrieve_mutual);
      CHECK(only.mutual == got.mutual);
      CHECK(std::isnan(only.jaccard));
      CHECK(std::isnan(only.mrr));
    }
}

TEST_CASE("measures of huge finite values are finite and equal those of the scaled-down space") {
  const Tensor x = testing::randn({200, 16}, 12), y = testing::randn({200, 16}, 13) + x;
  for (const char* m : {"cka_linear", "cka_debiased", "svcca", "pearson", "knn_jaccard"}) {
    INFO(m);
    const double small = testing::measure(m, x, y), huge = testing::measure(m, x * 1e20f, y * 1e20f);
    CHECK(std::isfinite(huge));
    CHECK(huge == doctest::Approx(small).epsilon(1e-4));
  }
}

TEST_CASE("a folder lock admits one holder at a time and names the holder's pid") {
  testing::TempDir dir;
  {
    const FolderLock first(dir / "run");
    CHECK_THROWS_WITH_ALL(FolderLock(dir / "run"), IoError, "another process (pid " + std::to_string(::getpid()) + ")",
                          "--out");
  }
  CHECK_NOTHROW(FolderLock(dir / "run"));  // released with its holder
  const FolderLock cache(dir / "cache");
  CHECK_THROWS_WITH_ALL(FolderLock(dir / "cache", "Give this run a cache of its own (--cache)."), IoError,
                        "another process (pid", "Give this run a cache of its own (--cache).");
}

TEST_CASE("temporaries of dead processes are swept; those of live ones stay") {
  testing::TempDir dir;
  // A pid that does not exist: above the kernel's pid_max (4194304 at most).
  testing::write_bytes(dir / ".r.npy.tmp-99999999-0", "partial");
  const std::string live = ".r.npy.tmp-" + std::to_string(::getppid()) + "-3";
  testing::write_bytes(dir / live, "someone's");
  testing::write_bytes(dir / ".notes.tmp-x-1", "not ours");
  CHECK(remove_stale_temporaries(dir.path()) == 1);
  CHECK(testing::list_folder(dir.path()) == std::vector<std::string>{".notes.tmp-x-1", live});
}

TEST_CASE("parse_json bounds the nesting depth and reads a folder as an error") {
  CHECK(parse_json(std::string(100, '[') + std::string(100, ']'), "ok.json").is_array());
  CHECK_THROWS_WITH_ALL(parse_json(std::string(100000, '[') + std::string(100000, ']'), "deep.json"), FormatError,
                        "deep.json: JSON nested deeper than 128 levels");
  testing::TempDir dir;
  CHECK_THROWS_WITH_ALL(read_text(dir.path()), IoError, "is a folder, expected a file");
}

// --- found by the fuzz targets (scripts/fuzz); each input is also a seed in fuzz/corpus ---

TEST_CASE("fuzz_npy: a shape with a zero after huge dimensions is refused, not an overflow") {
  testing::TempDir dir;
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1644638353669272, 37606, 0), }";
  header += std::string(117 - header.size(), ' ') + "\n";
  testing::write_bytes(dir / "z.npy", std::string("\x93NUMPY\x01\x00", 8) + std::string(1, char(118)) +
                                          std::string(1, '\0') + header);
  // Refused: LibTorch and row strides multiply the non-zero dimensions too.
  CHECK_THROWS_WITH_ALL(inspect_npy(dir / "z.npy"), FormatError, "z.npy", "is too large");
  CHECK_THROWS_WITH_ALL(read_npy(dir / "z.npy"), FormatError, "z.npy", "is too large");
}

TEST_CASE("fuzz_word_vectors: a .vec header's count never sizes an allocation beyond the file") {
  testing::TempDir dir;
  // count * dim overflowed (and reserve() threw std::length_error, not a bridges error).
  testing::write_bytes(dir / "v.vec", "18446744073709551615 3\nking 1 2 3\n");
  const WordVectors v = read_word_vectors(dir / "v.vec");
  CHECK(v.size() == 1);
  testing::write_bytes(dir / "w.vec", "266666666333353333333333330230 3\nking 1 2 3\n");
  CHECK(read_word_vectors(dir / "w.vec").size() == 1);
}

TEST_CASE("fuzz_results: reports of a results.json missing fields throw, never read freed memory") {
  // The const operator[] of a missing key was undefined behaviour (ASan: heap use after free).
  const nlohmann::json broken = nlohmann::json::parse(
      R"({"encoDers": 1, "dataset": "d", "samples": 10, "clas0ses": 2, "anchorVs": {"count": 3}, "encoders": {}})");
  CHECK_THROWS_AS(markdown_report(broken), nlohmann::json::exception);
  CHECK_THROWS_AS(html_report(broken), nlohmann::json::exception);
  CHECK_NOTHROW(latent_similarity_comparison({broken, nlohmann::json::array()}));  // no latent_similarity: nothing to read
}

TEST_CASE("fuzz_pipeline, fuzz_manifest: a number out of range is invalid JSON naming the file, not a raw exception") {
  testing::TempDir dir;
  testing::write_bytes(dir / "p.json", "675567576532e22222");
  InProcessSource source;
  CHECK_THROWS_WITH_ALL(Pipeline::load(dir / "p.json", source), FormatError, "p.json: not valid JSON",
                        "number overflow");
  CHECK_THROWS_WITH_ALL(parse_json("[1e999]", "spec"), FormatError, "spec: not valid JSON");
}

TEST_CASE("fuzz_word_vectors: wink JSON with \"dimensions\" 0 or a huge \"size\" is an error or ignored, never a leak") {
  testing::TempDir dir;
  testing::write_bytes(dir / "zero.json", R"({"dimensions": 0, "vectors": {"the": [0.1, 0.2], "king": [1, 2]}})");
  CHECK_THROWS_WITH_ALL(read_word_vectors(dir / "zero.json"), FormatError, "zero.json",
                        "\"dimensions\" must be a whole number from 1 to 1000000, found 0");
  // "size" only sizes a reservation, bounded by the file's own size.
  testing::write_bytes(dir / "size.json", R"({"dimensions": 2, "size": 1e18, "vectors": {"the": [0.1, 0.2]}})");
  CHECK(read_word_vectors(dir / "size.json").size() == 1);
}

TEST_CASE("kNN retrieval scores 1 for float32 relative spaces of an exactly rotated float32 space") {
  // The probe's case: n = 2000, d = 768, k = 300, Euclidean relative
  // spaces of x and x Q in float32 (they differ by rounding, ~1e-5). Ranked
  // in float32 the neighbour sets disagreed (Jaccard 0.9917); in float64 the
  // rounding no longer reorders neighbours here.
  const Tensor x = testing::randn({2000, 768}, 10);
  const Tensor q = std::get<0>(at::linalg_qr(testing::randn({768, 768}, 11, at::kDouble))).to(at::kFloat);
  const Tensor y = x.mm(q);
  const Tensor anchors = at::arange(0, 2000, 7, at::TensorOptions().dtype(at::kLong));
  const Tensor rx = kernels::euclidean(x, x.index_select(0, anchors));
  const Tensor ry = kernels::euclidean(y, y.index_select(0, anchors));
  CHECK((rx.scalar_type() == at::kFloat));
  CHECK_FALSE(at::equal(rx, ry));
  const RetrievalScores s = knn_retrieval(rx, ry, 300);
  CHECK(s.jaccard == 1.0);
  CHECK(s.mrr == 1.0);
  CHECK(knn_retrieval(x, y, 300).jaccard == 1.0);
}
