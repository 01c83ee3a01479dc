#include "bridges/relative/latent_similarity.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "bridges/relative/anchors.hpp"
#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/util/runtime.hpp"

namespace bridges {

namespace {

// Rows per block when a pass over n x n similarities is cut into blocks:
// at most ~8 M entries (32 MB of float32) per block.
int64_t block_rows(int64_t n) { return std::max<int64_t>(1, std::min<int64_t>(n, (int64_t{1} << 23) / std::max<int64_t>(1, n))); }

void check_pair(std::string_view what, const Tensor& a, const Tensor& b, int64_t min_rows) {
  for (const Tensor* t : {&a, &b})
    if (!t->defined() || t->dim() != 2 || !t->is_floating_point())
      throw ShapeError(fmt::format("{}: each representation must be [n, d] floating point, found {} and {}.", what,
                                   describe(a), describe(b)));
  if (a.size(0) != b.size(0))
    throw ShapeError(fmt::format("{}: both representations must hold the same samples (row i = sample i); found {} "
                                 "and {} rows.",
                                 what, a.size(0), b.size(0)));
  if (a.size(0) < min_rows)
    throw UndefinedMeasureError(fmt::format("{}: needs at least {} samples, found {}.", what, min_rows, a.size(0)));
  if (a.size(1) == 0 || b.size(1) == 0) throw ShapeError(fmt::format("{}: a representation has no columns.", what));
  for (const auto& [t, name] : {std::pair{&a, "first"}, std::pair{&b, "second"}})
    if (const auto bad = find_nonfinite(*t))
      throw ShapeError(fmt::format("{}: the {} representation holds {} at row {}, column {}; every value must be "
                                   "finite.",
                                   what, name, std::isnan(bad->value) ? "NaN" : "an infinity", bad->row, bad->column));
}

// Every measure here is invariant to scaling a space as a whole; float32
// squares overflow from about 1e19, so a space with entries that large is
// divided by its largest magnitude first (others are left bit for bit as
// they are).
Tensor tame(const Tensor& t) {
  if (t.numel() == 0) return t;
  // max |t| from the extremes: t.abs() would be a copy of the whole space
  // (two 307 MB copies, most of `bridges compare`'s time at n = 100000).
  const double largest = std::max(t.max().item<double>(), -t.min().item<double>());
  return largest > 1e15 ? t / largest : t;
}

// Whether every row of t is the same point: then no measure of how samples
// relate to each other is defined.
bool constant_rows(const Tensor& t) {
  return t.size(0) < 2 || at::equal(t, t.narrow(0, 0, 1).expand_as(t));
}

void require_variance(std::string_view what, const Tensor& a, const Tensor& b) {
  for (const auto& [t, name] : {std::pair{&a, "first"}, std::pair{&b, "second"}})
    if (constant_rows(*t))
      throw UndefinedMeasureError(fmt::format("{}: undefined, every sample of the {} representation is the same "
                                              "point (zero variance).",
                                              what, name));
}

void check_same_shape(std::string_view what, const Tensor& a, const Tensor& b) {
  check_pair(what, a, b, 1);
  if (a.numel() < 2) throw ShapeError(fmt::format("{}: needs at least 2 entries, found {}.", what, a.numel()));
  if (a.sizes() != b.sizes())
    throw ShapeError(fmt::format("{}: compares entry by entry and needs the same shape, found {} and {}. Compare "
                                 "relative representations (the same anchors give the same width), or use CKA.",
                                 what, describe(a), describe(b)));
}

// The statistics of two n x n kernel matrices K, L that both HSIC
// estimators need: sums of K*L, K*K, L*L, the row sums and the diagonals.
struct GramStats {
  double n = 0;
  double kl = 0, kk = 0, ll = 0;
  Tensor row_k, row_l, diag_k, diag_l;  // [n] float64
};

// HSIC up to a factor that cancels in CKA. Biased: tr(K H L H). Unbiased
// (Song et al., 2012): on K~, L~ with zeroed diagonals,
// tr(K~L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1.
double hsic(double kl, const Tensor& row_k, const Tensor& row_l, const Tensor& diag_k, const Tensor& diag_l, double n,
            bool debiased) {
  if (!debiased) return kl - 2.0 / n * row_k.dot(row_l).item<double>() + row_k.sum().item<double>() * row_l.sum().item<double>() / (n * n);
  const Tensor rk = row_k - diag_k, rl = row_l - diag_l;
  const double trace = kl - diag_k.dot(diag_l).item<double>();
  return trace + rk.sum().item<double>() * rl.sum().item<double>() / ((n - 1) * (n - 2)) -
         2.0 / (n - 2) * rk.dot(rl).item<double>();
}

double cka_from(std::string_view what, const GramStats& s, bool debiased) {
  const double xy = hsic(s.kl, s.row_k, s.row_l, s.diag_k, s.diag_l, s.n, debiased);
  const double xx = hsic(s.kk, s.row_k, s.row_k, s.diag_k, s.diag_k, s.n, debiased);
  const double yy = hsic(s.ll, s.row_l, s.row_l, s.diag_l, s.diag_l, s.n, debiased);
  // A space with no variance has HSIC 0 with itself: CKA is 0 / 0 there.
  if (!(xx > 0) || !(yy > 0))
    throw UndefinedMeasureError(fmt::format("{}: undefined, HSIC of the {} representation with itself is {:g} (a "
                                            "space with zero variance{}).",
                                            what, xx > 0 ? "second" : "first", xx > 0 ? yy : xx,
                                            debiased ? ", or too few samples for the debiased estimate" : ""));
  const double value = xy / std::sqrt(xx * yy);
  if (!std::isfinite(value))
    throw UndefinedMeasureError(fmt::format("{}: the value is not finite (HSIC {:g}, {:g}, {:g}).", what, xy, xx, yy));
  return value;
}

// Column means as float64 [d], accumulated in float64 without a float64
// copy of x.
Tensor column_means(const Tensor& x) {
  // (sum(dtype = double) would first copy all of x to float64: 600 MB and
  // ~2 s of page faults at n = 100000, d = 768.) Block sums, added in float64.
  Tensor total = at::zeros({x.size(1)}, at::kDouble);
  for (int64_t begin = 0; begin < x.size(0); begin += 8192)
    total.add_(x.narrow(0, begin, std::min<int64_t>(8192, x.size(0) - begin)).sum(0));
  return total / static_cast<double>(x.size(0));
}

// Z'Z for a row-major block Z [rows, D] into out [D, D] (zeros below the
// diagonal, contiguous), upper triangle only.
// Z'Z is symmetric, so the BLAS routine syrk computes one triangle for half
// the FLOPs of a product. LibTorch has no syrk; it is looked up in the BLAS
// that LibTorch already loaded (OpenBLAS here), with a plain product when
// there is none.
using SyrkS = void(const char*, const char*, const int*, const int*, const float*, const float*, const int*,
                   const float*, float*, const int*);
using SyrkD = void(const char*, const char*, const int*, const int*, const double*, const double*, const int*,
                   const double*, double*, const int*);

void gram_upper(const Tensor& z, Tensor& out) {
  static auto* ssyrk = reinterpret_cast<SyrkS*>(dlsym(RTLD_DEFAULT, "ssyrk_"));
  static auto* dsyrk = reinterpret_cast<SyrkD*>(dlsym(RTLD_DEFAULT, "dsyrk_"));
  const Tensor c = z.contiguous();
  const int64_t rows = c.size(0), d = c.size(1);
  const bool is_float = c.scalar_type() == at::kFloat;
  const bool fits = rows <= std::numeric_limits<int>::max() && d <= std::numeric_limits<int>::max();
  if (!fits || (is_float ? ssyrk == nullptr : dsyrk == nullptr)) {
    at::mm_out(out, c.t(), c).triu_();
    return;
  }
  // Row-major [rows, D] is column-major [D, rows] = A: syrk("N") gives A A'
  // = Z'Z; its column-major lower triangle ("L") is the row-major upper one.
  // The other triangle of `out` is left as it is (zeros).
  const int n = static_cast<int>(d), k = static_cast<int>(rows);
  if (is_float) {
    const float one = 1, zero = 0;
    ssyrk("L", "N", &n, &k, &one, c.data_ptr<float>(), &n, &zero, out.data_ptr<float>(), &n);
  } else {
    const double one = 1, zero = 0;
    dsyrk("L", "N", &n, &k, &one, c.data_ptr<double>(), &n, &zero, out.data_ptr<double>(), &n);
  }
}

// |S|_F^2 of a symmetric matrix from its upper triangle.
double symmetric_frobenius_squared(const Tensor& upper) {
  return 2 * upper.pow(2).sum().item<double>() - upper.diagonal().pow(2).sum().item<double>();
}

double median_distance(const Tensor& x, uint64_t seed) {
  const int64_t n = x.size(0), m = std::min<int64_t>(n, 4096);
  const Tensor rows = m < n ? x.index_select(0, random_anchors(n, m, seed)) : x;
  const Tensor d = at::cdist(rows.to(at::kDouble), rows.to(at::kDouble));
  const Tensor upper = d.masked_select(at::ones({m, m}, at::kBool).triu(1));
  if (upper.numel() == 0) return 1.0;
  const double median = upper.median().item<double>();
  return median > 0 ? median : 1.0;
}

}  // namespace

namespace {

// Z'Z for Z = [Xc Yc], the column-centred spaces side by side: [X'X X'Y;
// Y'X Y'Y] in float64, upper triangle only (the blocks above the diagonal
// are filled). One symmetric product (syrk) gives all three, 4 n d^2 FLOPs
// against 6 n d^2 for three separate products; products are taken in
// blocks of rows in the inputs' precision and summed in float64, with no
// float64 copy of either space. With diag_x / diag_y, also each centred
// row's squared norm.
Tensor centred_gram(const Tensor& x, const Tensor& y, Tensor* diag_x, Tensor* diag_y) {
  const auto dtype = x.scalar_type() == at::kDouble || y.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const int64_t n = x.size(0), dx = x.size(1), dy = y.size(1), block = 8192;
  const Tensor mx = column_means(x).to(dtype), my = column_means(y).to(dtype);
  // Buffers are allocated once: a fresh 50 MB block per iteration costs
  // more in page faults than its product.
  const int64_t width = dx + dy;
  Tensor zz = at::zeros({width, width}, at::kDouble), part = at::zeros({width, width}, at::TensorOptions(dtype));
  Tensor buffer = empty_large({std::min(block, n), width}, at::TensorOptions(dtype));
  for (int64_t begin = 0; begin < n; begin += block) {
    const int64_t rows = std::min(block, n - begin);
    Tensor z = buffer.narrow(0, 0, rows);
    Tensor zx = z.narrow(1, 0, dx), zy = z.narrow(1, dx, dy);
    at::sub_out(zx, x.narrow(0, begin, rows), mx);
    at::sub_out(zy, y.narrow(0, begin, rows), my);
    gram_upper(z, part);
    zz.add_(part);
    if (diag_x) diag_x->narrow(0, begin, rows).copy_(at::linalg_vector_norm(zx, 2, {1}).pow(2));
    if (diag_y) diag_y->narrow(0, begin, rows).copy_(at::linalg_vector_norm(zy, 2, {1}).pow(2));
  }
  return zz;
}

// The three blocks of centred_gram(), each whole (the symmetric ones
// mirrored from their upper triangle).
struct CentredBlocks {
  Tensor xx, yy, xy;
};

CentredBlocks centred_blocks(const Tensor& x, const Tensor& y) {
  const int64_t dx = x.size(1), dy = y.size(1);
  const Tensor zz = centred_gram(x, y, nullptr, nullptr);
  const auto mirrored = [](const Tensor& upper) { return upper.triu() + upper.triu(1).t(); };
  return {mirrored(zz.narrow(0, 0, dx).narrow(1, 0, dx)), mirrored(zz.narrow(0, dx, dy).narrow(1, dx, dy)),
          zz.narrow(0, 0, dx).narrow(1, dx, dy).clone()};
}

// Xc'Y c (float64 [dx, dy]) and the traces of Xc'Xc and Yc'Yc (the squared
// Frobenius norms of the centred spaces): all the shape metrics need. Half
// the products of centred_gram(), whose symmetric blocks they would only
// take the traces of; blocks of rows in the inputs' precision, summed in
// float64.
struct CentredCross {
  Tensor xy;
  double xx_trace = 0, yy_trace = 0;
};

CentredCross centred_cross(const Tensor& x, const Tensor& y) {
  const auto dtype = x.scalar_type() == at::kDouble || y.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const int64_t n = x.size(0), dx = x.size(1), dy = y.size(1), block = 8192;
  const Tensor mx = column_means(x).to(dtype), my = column_means(y).to(dtype);
  CentredCross out;
  out.xy = at::zeros({dx, dy}, at::kDouble);
  Tensor part = at::empty({dx, dy}, at::TensorOptions(dtype));
  Tensor zx_buffer = empty_large({std::min(block, n), dx}, at::TensorOptions(dtype));
  Tensor zy_buffer = empty_large({std::min(block, n), dy}, at::TensorOptions(dtype));
  for (int64_t begin = 0; begin < n; begin += block) {
    const int64_t rows = std::min(block, n - begin);
    Tensor zx = zx_buffer.narrow(0, 0, rows), zy = zy_buffer.narrow(0, 0, rows);
    at::sub_out(zx, x.narrow(0, begin, rows), mx);
    at::sub_out(zy, y.narrow(0, begin, rows), my);
    at::mm_out(part, zx.t(), zy);
    out.xy.add_(part);
    out.xx_trace += zx.pow(2).sum(at::kDouble).item<double>();
    out.yy_trace += zy.pow(2).sum(at::kDouble).item<double>();
  }
  return out;
}

}  // namespace

double linear_cka(const Tensor& x_in, const Tensor& y_in, bool debiased) {
  const char* what = debiased ? "debiased linear CKA" : "linear CKA";
  check_pair(what, x_in, y_in, debiased ? 4 : 2);
  const Tensor x = tame(x_in), y = tame(y_in);
  // Wider than long (e.g. 1000 relative representations over 1280 anchors):
  // the n x n Gram form costs n^2 (dx + dy) against n (dx + dy)^2 / 2 here,
  // and its n^2 memory is then below the feature form's (dx + dy)^2.
  if (2 * x.size(0) < x.size(1) + y.size(1)) return linear_cka_gram(x, y, debiased);
  require_variance(what, x, y);
  // In feature space: with column-centred X and Y, sum(K*L) = |X'Y|_F^2,
  // the row sums of K are 0 and its diagonal is |x_i|^2.
  const int64_t n = x.size(0), dx = x.size(1), dy = y.size(1);
  // Only the debiased estimate reads the diagonals (two more passes per block).
  Tensor diag_k, diag_l;
  if (debiased) diag_k = at::empty({n}, at::kDouble), diag_l = at::empty({n}, at::kDouble);
  const Tensor zz = centred_gram(x, y, debiased ? &diag_k : nullptr, debiased ? &diag_l : nullptr);
  GramStats s;
  s.n = static_cast<double>(n);
  s.kl = zz.narrow(0, 0, dx).narrow(1, dx, dy).pow(2).sum().item<double>();  // X'Y, above the diagonal blocks
  s.kk = symmetric_frobenius_squared(zz.narrow(0, 0, dx).narrow(1, 0, dx));
  s.ll = symmetric_frobenius_squared(zz.narrow(0, dx, dy).narrow(1, dx, dy));
  s.row_k = at::zeros({n}, at::kDouble);
  s.row_l = s.row_k;
  s.diag_k = diag_k;
  s.diag_l = diag_l;
  return cka_from(what, s, debiased);
}

double linear_cka_gram(const Tensor& x, const Tensor& y, bool debiased) {
  const char* what = debiased ? "debiased linear CKA" : "linear CKA";
  check_pair(what, x, y, debiased ? 4 : 2);
  require_variance(what, x, y);
  const Tensor xd = tame(x).to(at::kDouble), yd = tame(y).to(at::kDouble);
  const Tensor k = at::mm(xd, xd.t()), l = at::mm(yd, yd.t());
  GramStats s;
  s.n = static_cast<double>(x.size(0));
  s.kl = (k * l).sum().item<double>();
  s.kk = (k * k).sum().item<double>();
  s.ll = (l * l).sum().item<double>();
  s.row_k = k.sum(1);
  s.row_l = l.sum(1);
  s.diag_k = k.diagonal().clone();
  s.diag_l = l.diagonal().clone();
  return cka_from(what, s, debiased);
}

double rbf_cka(const Tensor& x, const Tensor& y, const MeasureOptions& options) {
  check_pair("RBF CKA", x, y, 2);
  require_variance("RBF CKA", x, y);
  if (!(options.rbf_sigma > 0)) throw ConfigError(fmt::format("RBF CKA: sigma must be positive, found {}.", options.rbf_sigma));
  const int64_t n = x.size(0);
  // Kernels in the inputs' precision (float32 products are twice as fast),
  // every sum in float64.
  const auto dtype = x.scalar_type() == at::kDouble || y.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const Tensor xd = tame(x).to(dtype), yd = tame(y).to(dtype);
  const double sx = options.rbf_sigma * median_distance(xd, options.seed);
  const double sy = options.rbf_sigma * median_distance(yd, options.seed);
  const Tensor nx = xd.pow(2).sum(1), ny = yd.pow(2).sum(1);  // |x_i|^2
  GramStats s;
  s.n = static_cast<double>(n);
  s.row_k = at::empty({n}, at::kDouble);
  s.row_l = at::empty({n}, at::kDouble);
  s.diag_k = at::ones({n}, at::kDouble);
  s.diag_l = at::ones({n}, at::kDouble);
  const auto gram = [](const Tensor& block, const Tensor& all, const Tensor& block_norms, const Tensor& norms, double sigma) {
    const Tensor d2 = (block_norms.unsqueeze(1) + norms.unsqueeze(0) - 2 * at::mm(block, all.t())).clamp_min(0);
    return at::exp(d2 / (-2 * sigma * sigma));
  };
  const int64_t block = block_rows(n);
  for (int64_t begin = 0; begin < n; begin += block) {
    const int64_t rows = std::min(block, n - begin);
    const Tensor k = gram(xd.narrow(0, begin, rows), xd, nx.narrow(0, begin, rows), nx, sx);
    const Tensor l = gram(yd.narrow(0, begin, rows), yd, ny.narrow(0, begin, rows), ny, sy);
    s.kl += at::sum(k * l, at::kDouble).item<double>();
    s.kk += at::sum(k * k, at::kDouble).item<double>();
    s.ll += at::sum(l * l, at::kDouble).item<double>();
    s.row_k.narrow(0, begin, rows).copy_(at::sum(k, {1}, false, at::kDouble));
    s.row_l.narrow(0, begin, rows).copy_(at::sum(l, {1}, false, at::kDouble));
  }
  return cka_from("RBF CKA", s, false);
}

namespace {

// A centred space's principal directions: the eigenvectors V [d, r] and
// eigenvalues (variances times n) [r] of its Gram X'X, largest first, above
// the rank tolerance (eigenvalue > largest x d x epsilon), and then only as
// many as keep `variance` of the total. Through the d x d Gram, not an SVD
// of the n x d data: the same subspace, in O(n d^2) GEMM time (LAPACK's SVD
// took 3 s for 2000 x 768 here, the Gram and its eigh 0.4 s).
struct Principal {
  Tensor vectors, values;
};

Principal principal(const Tensor& gram, double variance = 1.0) {
  const auto [values_up, vectors_up] = at::linalg_eigh(gram);
  const Tensor values = values_up.flip(0), vectors = vectors_up.flip(1);
  const double largest = values.numel() ? values[0].item<double>() : 0.0;
  const double tol = largest * static_cast<double>(gram.size(0)) * std::numeric_limits<double>::epsilon();
  int64_t r = (values > tol).sum().item<int64_t>();
  if (r > 0 && variance < 1) {
    const Tensor kept = values.narrow(0, 0, r);
    const Tensor share = kept.cumsum(0) / kept.sum();
    r = std::min<int64_t>(r, (share < variance - 1e-12).sum().item<int64_t>() + 1);
  }
  return {vectors.narrow(1, 0, r), values.narrow(0, 0, r)};
}

// The canonical correlations of two centred spaces given their principal
// directions: the singular values of Ux' Uy = Lx^-1/2 Vx' (X'Y) Vy Ly^-1/2,
// from the eigenvalues of its smaller Gram; also that matrix.
Tensor whitened_cross(const Principal& px, const Principal& py, const Tensor& cross) {
  return px.vectors.t().mm(cross).mm(py.vectors) / px.values.sqrt().unsqueeze(1) / py.values.sqrt().unsqueeze(0);
}

}  // namespace

double svcca(const Tensor& x, const Tensor& y, const MeasureOptions& options) {
  check_pair("SVCCA", x, y, 2);
  require_variance("SVCCA", x, y);
  if (!(options.svcca_variance > 0 && options.svcca_variance <= 1))
    throw ConfigError(fmt::format("SVCCA: the variance kept must be in (0, 1], found {}.", options.svcca_variance));
  // Each space cut to its top principal directions keeping the asked-for
  // variance; the canonical correlations are then the singular values of
  // the whitened cross-covariance.
  const CentredBlocks c = centred_blocks(tame(x), tame(y));
  const Principal px = principal(c.xx, options.svcca_variance), py = principal(c.yy, options.svcca_variance);
  if (px.values.numel() == 0 || py.values.numel() == 0) throw UndefinedMeasureError("SVCCA: undefined, a space has no variance.");
  const Tensor m = whitened_cross(px, py, c.xy);
  const Tensor small = m.size(0) <= m.size(1) ? m.mm(m.t()) : m.t().mm(m);
  return at::linalg_eigvalsh(small).clamp(0, 1).sqrt().mean().item<double>();
}

namespace {

double pearson_of(std::string_view what, const Tensor& a, const Tensor& b) {
  const Tensor ac = a - a.mean(), bc = b - b.mean();
  const double aa = ac.dot(ac).item<double>(), bb = bc.dot(bc).item<double>();
  if (!(aa > 0) || !(bb > 0))
    throw UndefinedMeasureError(fmt::format("{}: undefined, every entry of the {} representation is the same value.",
                                            what, aa > 0 ? "second" : "first"));
  return ac.dot(bc).item<double>() / std::sqrt(aa * bb);
}

// Row-wise Pearson of two [n, d] float64 matrices, [n]; 0 for a constant row.
// The mean of each row's Pearson correlation. A row constant on either side
// has no correlation (0 / 0): it is left out of the mean, as NaN-skipping
// means do, rather than counted as 0, which would pull the mean towards 0.
// With no row left the measure is undefined.
double mean_row_correlation(std::string_view what, const Tensor& a, const Tensor& b) {
  const Tensor ac = a - a.mean(1, true), bc = b - b.mean(1, true);
  const Tensor denominator = (ac.pow(2).sum(1) * bc.pow(2).sum(1)).sqrt();
  const Tensor defined = denominator > 0;
  const int64_t rows = defined.sum().item<int64_t>();
  if (rows == 0)
    throw UndefinedMeasureError(fmt::format("{}: undefined, no sample varies in both representations (each of the {} "
                                            "rows is constant in one of them).",
                                            what, a.size(0)));
  const Tensor r = (ac * bc).sum(1) / denominator.clamp_min(1e-300);
  return r.masked_select(defined).sum().item<double>() / static_cast<double>(rows);
}

}  // namespace

Tensor rank_rows(const Tensor& a) {
  if (!a.defined() || a.dim() != 2) throw ShapeError(fmt::format("ranks: expected [n, d], found {}.", describe(a)));
  const Tensor values = a.to(at::kDouble).contiguous();
  // (c10::optional<bool> spells out the stable overload: a plain `true` would
  // pick sort(dim, descending).)
  const auto [sorted, order] = at::sort(values, c10::optional<bool>(true), /*dim=*/1, /*descending=*/false);
  Tensor ranks = at::empty_like(values);
  const int64_t n = values.size(0), d = values.size(1);
  const double* sp = sorted.data_ptr<double>();
  const int64_t* op = order.data_ptr<int64_t>();
  double* rp = ranks.data_ptr<double>();
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const double* s = sp + r * d;
      const int64_t* o = op + r * d;
      double* out = rp + r * d;
      for (int64_t i = 0; i < d;) {
        int64_t j = i + 1;
        while (j < d && s[j] == s[i]) ++j;
        const double average = 0.5 * static_cast<double>(i + 1 + j);  // mean of ranks i+1 .. j
        for (int64_t t = i; t < j; ++t) out[o[t]] = average;
        i = j;
      }
    }
  });
  return ranks;
}

double pearson(const Tensor& a, const Tensor& b) {
  check_same_shape("Pearson correlation", a, b);
  return pearson_of("Pearson correlation", tame(a).to(at::kDouble).flatten(), tame(b).to(at::kDouble).flatten());
}

double spearman(const Tensor& a, const Tensor& b) {
  check_same_shape("Spearman correlation", a, b);
  return pearson_of("Spearman correlation", rank_rows(a.reshape({1, -1})).flatten(),
                    rank_rows(b.reshape({1, -1})).flatten());
}

double pearson_per_sample(const Tensor& a, const Tensor& b) {
  check_same_shape("per-sample Pearson correlation", a, b);
  return mean_row_correlation("per-sample Pearson correlation", tame(a).to(at::kDouble), tame(b).to(at::kDouble));
}

double spearman_per_sample(const Tensor& a, const Tensor& b) {
  check_same_shape("per-sample Spearman correlation", a, b);
  return mean_row_correlation("per-sample Spearman correlation", rank_rows(a), rank_rows(b));
}

namespace {

// The k nearest neighbours of each row as a mask [rows, n] over a row block
// of similarities sim [rows, n]: the k largest, ties at the k-th value
// broken by the lower sample index, so the choice never depends on the
// order a sort happens to leave equal values in.
Tensor nearest_mask(const Tensor& sim, int64_t k) {
  const Tensor kth = std::get<0>(sim.topk(k, 1)).narrow(1, k - 1, 1);  // [rows, 1]
  const Tensor above = sim > kth;
  const Tensor tied = sim == kth;
  const Tensor room = k - above.sum(1, /*keepdim=*/true);               // how many ties get in
  return above.logical_or(tied.logical_and(tied.cumsum(1) <= room));
}

// Rows scaled to unit norm, float64 (a zero row stays zero).
Tensor unit_rows(const Tensor& t) {
  const Tensor f = tame(t).to(at::kDouble);
  return f / f.norm(2, 1, true).clamp_min(1e-300);
}

// A space's unit rows twice: `exact` (float64) decides every neighbour and
// gives every reported value; `fast` (float32) finds the candidates, in a
// product that takes half the time of float64's (the n x n products are
// the kNN measures' cost). `error` bounds |fast_i . fast_j - exact_i .
// exact_j| for every pair and any summation order: Higham's gamma_d for a
// d-term dot product of vectors of norm <= 1, plus the rounding of the
// rows to float32 (2u), with 1% to spare (which also covers the exact
// values' own rounding, ~d 2^-53). `exact_error` bounds how far a float64
// product may be from the exact values: both are within gamma_d(2^-53) of
// the true dot product, so twice that.
struct UnitRows {
  Tensor exact, fast;
  double error = 0, exact_error = 0;
};

double dot_error(double d, double unit) {
  const double gamma = d * unit < 0.5 ? d * unit / (1 - d * unit) : std::numeric_limits<double>::infinity();
  return 1.01 * (gamma * (1 + unit) * (1 + unit) + 2 * unit + unit * unit);
}

UnitRows unit_rows_twice(const Tensor& t) {
  UnitRows u;
  u.exact = unit_rows(t).contiguous();
  u.fast = u.exact.to(at::kFloat);
  const double d = static_cast<double>(t.size(1));
  u.error = dot_error(d, std::ldexp(1.0, -24)) + 1e-30;       // 1e-30: subnormal products
  u.exact_error = 2 * dot_error(d, std::ldexp(1.0, -53)) + 1e-300;
  return u;
}

// q[r[e]] . t[j[e]] for every pair e, float64 [m]. One fixed summation
// order for every pair, so equal vectors give equal values wherever they
// sit: a GEMM does not promise that (its edge tiles sum in another order;
// duplicated rows came out 1 ulp apart, and ties went by rounding, not by
// index). No [m, d] copy either.
using Lanes = double __attribute__((vector_size(32)));  // 4 doubles (two SSE2 registers without AVX)

Tensor exact_dots(const Tensor& q, const Tensor& r, const Tensor& t, const Tensor& j) {
  const Tensor rows = r.to(at::kLong).contiguous(), columns = j.to(at::kLong).contiguous();
  const int64_t m = rows.numel(), d = q.size(1);
  Tensor out = at::empty({m}, at::kDouble);
  const double* qp = q.data_ptr<double>();
  const double* tp = t.data_ptr<double>();
  const int64_t* rp = rows.data_ptr<int64_t>();
  const int64_t* jp = columns.data_ptr<int64_t>();
  double* op = out.data_ptr<double>();
  at::parallel_for(0, m, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const double* x = qp + rp[e] * d;
      const double* y = tp + jp[e] * d;
      // Eight partial sums in vector registers, then a fixed tree.
      Lanes s0{}, s1{};
      int64_t i = 0;
      for (; i + 8 <= d; i += 8) {
        Lanes a0, a1, b0, b1;
        std::memcpy(&a0, x + i, sizeof a0);
        std::memcpy(&a1, x + i + 4, sizeof a1);
        std::memcpy(&b0, y + i, sizeof b0);
        std::memcpy(&b1, y + i + 4, sizeof b1);
        s0 += a0 * b0;
        s1 += a1 * b1;
      }
      const Lanes sum = s0 + s1;
      double tail = 0;
      for (; i < d; ++i) tail += x[i] * y[i];
      op[e] = ((sum[0] + sum[1]) + (sum[2] + sum[3])) + tail;
    }
  });
  return out;
}

// The k nearest targets of a block of queries, by exact cosine, ties broken
// by the lower index: the k chosen columns of each row with their exact
// values, [rows, k] each (in no particular order).
// `fast` [rows, n] is the float32 product of the queries' and the targets'
// fast rows; the queries are rows begin .. begin + rows of `queries`; with
// exclude_self, query r (sample begin + r) is not its own neighbour (its
// entry in `fast` is overwritten: -inf).
//
// The c = 2k + 8 largest float32 values of a row are rescored exactly and
// the k nearest chosen among them. That is the exact answer when the c-th
// float32 value plus the error bound is below the exact k-th value: no
// other target can reach it then. A row where it is not (ties or near-ties
// beyond the candidates) is decided on its whole row: a float64 product
// bounds which targets can be among the k, and those are rescored exactly.
struct Nearest {
  Tensor columns, values;
};

// The chosen columns as a mask [rows, n].
Tensor mask_of(const Nearest& near, int64_t n) {
  return at::zeros({near.columns.size(0), n}, at::kBool).scatter_(1, near.columns, true);
}

// How many of each row's k in `x` are also in `y`, float64 [rows].
Tensor shared_count(const Nearest& x, const Nearest& y, int64_t n) {
  return mask_of(y, n).gather(1, x.columns).sum(1).to(at::kDouble);
}

Nearest settle_nearest(Tensor& fast, const UnitRows& queries, const UnitRows& targets, int64_t begin, int64_t k,
                       bool exclude_self) {
  constexpr double minus_infinity = -std::numeric_limits<double>::infinity();
  const int64_t rows = fast.size(0), n = fast.size(1);
  const Tensor self = at::arange(begin, begin + rows, at::kLong).unsqueeze(1);
  if (exclude_self) fast.scatter_(1, self, -std::numeric_limits<float>::infinity());
  const int64_t available = n - (exclude_self ? 1 : 0);
  const int64_t c = std::min(available, 2 * k + 8);
  const auto [fast_top, candidates] = fast.topk(c, 1);  // [rows, c], descending
  // The candidates by exact value, descending, equal values by index.
  const auto [by_index, order] = candidates.sort(1);
  const Tensor exact = exact_dots(queries.exact, self.expand({rows, c}).flatten(), targets.exact, by_index.flatten())
                           .view({rows, c});
  const auto [values, rank] = at::sort(exact, c10::optional<bool>(true), 1, /*descending=*/true);
  Tensor columns = by_index.gather(1, rank).narrow(1, 0, k).contiguous();
  Tensor chosen = values.narrow(1, 0, k).contiguous();
  if (c < available) {
    const Tensor kth = chosen.select(1, k - 1);
    const Tensor unsettled = (fast_top.select(1, c - 1).to(at::kDouble) + targets.error >= kth).nonzero().flatten();
    if (unsettled.numel() > 0) {
      const Tensor own = self.index_select(0, unsettled);  // [m, 1]
      Tensor full = queries.exact.index_select(0, own.flatten()).mm(targets.exact.t());  // [m, n]
      if (exclude_self) full.scatter_(1, own, minus_infinity);
      // Every target whose float64 value is within twice the bound of the
      // k-th can be among the k; the rest cannot. Those are rescored.
      const Tensor kth_full = std::get<0>(full.topk(k, 1)).narrow(1, k - 1, 1);
      const Tensor where = (full >= kth_full - 2 * targets.exact_error).nonzero();  // [p, 2]
      const Tensor r = where.select(1, 0), j = where.select(1, 1);
      Tensor settled = at::full_like(full, minus_infinity);
      settled.index_put_({r, j}, exact_dots(queries.exact, own.flatten().index_select(0, r), targets.exact, j));
      const Tensor picked = nearest_mask(settled, k).nonzero().select(1, 1).reshape({-1, k});  // row-major: k per row
      columns.index_copy_(0, unsettled, picked);
      chosen.index_copy_(0, unsettled, settled.gather(1, picked));
    }
  }
  return {std::move(columns), std::move(chosen)};
}

// Rows begin .. begin + rows of q times every row of t, float32 [rows, n],
// written into `buffer` (allocated by the first block, reused by the next:
// a fresh 33 MB block per product cost page faults on every block).
Tensor block_product(Tensor& buffer, const Tensor& q, int64_t begin, int64_t rows, const Tensor& t) {
  if (!buffer.defined()) buffer = at::empty({rows, t.size(0)}, q.options());
  Tensor out = buffer.narrow(0, 0, rows);
  at::mm_out(out, q.narrow(0, begin, rows), t.t());
  return out;
}

// The rank of b_i among every b_j queried with a_i (1 = first), ties by the
// lower index, for a block of queries: `fast` [rows, n] the float32
// products, `match` [rows] the exact a_i . b_i. Only the b_j whose float32
// value is within the error bound of the match are rescored exactly.
Tensor rank_of_match(const Tensor& fast, const Tensor& match, const UnitRows& queries, const UnitRows& targets,
                     int64_t begin) {
  const int64_t rows = fast.size(0), n = fast.size(1);
  // match -/+ the bound, rounded outwards to float32: comparing float32
  // values to them decides "surely ahead" and "close" without a float64
  // copy of the block (rounding outwards only adds close ones).
  const Tensor low = (match - targets.error).to(at::kFloat), high = (match + targets.error).to(at::kFloat);
  const Tensor lower = at::nextafter(low, at::full_like(low, -std::numeric_limits<float>::infinity())).unsqueeze(1);
  const Tensor upper = at::nextafter(high, at::full_like(high, std::numeric_limits<float>::infinity())).unsqueeze(1);
  Tensor ahead = (fast > upper).sum(1).to(at::kDouble);
  const Tensor self = at::arange(begin, begin + rows, at::kLong);
  Tensor close = (fast >= lower).logical_and_(fast <= upper);
  close.view({-1}).index_fill_(0, at::arange(rows, at::kLong) * n + self, false);  // b_i is not ahead of itself
  const Tensor where = close.nonzero();  // [m, 2]
  if (where.size(0) > 0) {
    const Tensor r = where.select(1, 0), j = where.select(1, 1);
    const Tensor exact = exact_dots(queries.exact, r + begin, targets.exact, j);
    const Tensor m = match.index_select(0, r);
    const Tensor is_ahead = (exact > m).logical_or((exact == m).logical_and(j < r + begin));
    ahead.index_add_(0, r, is_ahead.to(at::kDouble));
  }
  return ahead + 1;
}

}  // namespace

RetrievalScores knn_retrieval(const Tensor& a_in, const Tensor& b_in, int64_t k, unsigned wanted) {
  check_pair("kNN retrieval", a_in, b_in, 2);
  const int64_t n = a_in.size(0);
  if (k < 1)
    throw ConfigError(fmt::format("kNN retrieval: k must be at least 1 neighbour, found {}.", k));
  if (k >= n)
    throw UndefinedMeasureError(fmt::format("kNN retrieval: k = {} neighbours need at least k + 1 = {} samples, found "
                                            "{}; lower --knn (the \"knn\" option) below the number of samples.",
                                            k, k + 1, n));
  require_variance("kNN retrieval", a_in, b_in);
  // Decided in float64: float32 rounding reorders near-ties, so an exact
  // rotation scored knn_jaccard 0.9917 (n = 2000, k = 300) instead of 1 when
  // ranked on float32 values alone.
  const UnitRows ua = unit_rows_twice(a_in), ub = unit_rows_twice(b_in);
  const bool same_width = a_in.size(1) == b_in.size(1);
  const bool own = wanted & (retrieve_jaccard | retrieve_mutual);
  const bool cross = same_width && (wanted & (retrieve_cross_jaccard | retrieve_mrr | retrieve_mean_cosine));
  const bool cross_sets = same_width && (wanted & retrieve_cross_jaccard);
  const int64_t block = block_rows(n);
  double jaccard = 0, mutual = 0, cross_jaccard = 0, mrr = 0, cosine = 0;
  const auto jaccard_sum = [k](const Tensor& common) {
    return (common / (2.0 * static_cast<double>(k) - common)).sum().item<double>();
  };
  Tensor buffer_aa, buffer_bb, buffer_ab;
  for (int64_t begin = 0; begin < n; begin += block) {
    const int64_t rows = std::min(block, n - begin);
    Tensor fast_bb = own || cross_sets ? block_product(buffer_bb, ub.fast, begin, rows, ub.fast) : Tensor();
    if (cross) {
      Tensor fast_ab = block_product(buffer_ab, ua.fast, begin, rows, ub.fast);  // query a_i against every b_j
      const Tensor self = at::arange(begin, begin + rows, at::kLong);
      const Tensor match = exact_dots(ua.exact, self, ub.exact, self);  // a_i . b_i
      mrr += (1.0 / rank_of_match(fast_ab, match, ua, ub, begin)).sum().item<double>();
      cosine += match.sum().item<double>();
      // The k nearest b_j of a_i against those of b_i (itself included: a
      // perfect match retrieves b_i first).
      if (cross_sets)
        cross_jaccard += jaccard_sum(shared_count(settle_nearest(fast_ab, ua, ub, begin, k, false),
                                                  settle_nearest(fast_bb, ub, ub, begin, k, false), n));
    }
    if (own) {  // after the cross sets: excluding itself overwrites fast_bb's diagonal
      Tensor fast_aa = block_product(buffer_aa, ua.fast, begin, rows, ua.fast);
      const Tensor common = shared_count(settle_nearest(fast_aa, ua, ua, begin, k, true),
                                         settle_nearest(fast_bb, ub, ub, begin, k, true), n);
      jaccard += jaccard_sum(common);
      mutual += common.sum().item<double>() / static_cast<double>(k);
    }
  }
  const double count = static_cast<double>(n), nan = std::numeric_limits<double>::quiet_NaN();
  RetrievalScores s;
  s.jaccard = wanted & retrieve_jaccard ? jaccard / count : nan;
  s.mutual = wanted & retrieve_mutual ? mutual / count : nan;
  s.cross_jaccard = cross && (wanted & retrieve_cross_jaccard) ? cross_jaccard / count : nan;
  s.mrr = cross && (wanted & retrieve_mrr) ? mrr / count : nan;
  s.mean_cosine = cross && (wanted & retrieve_mean_cosine) ? cosine / count : nan;
  return s;
}


// ---- the peers' measures: PWCCA, shape metrics, mutual kNN, CKNNA, RSA ----

namespace {

// ||X~' Y~||_* for X, Y centred and scaled to unit Frobenius norm: the cosine
// of the angle between the two shapes after the best orthogonal alignment.
double aligned_cosine(std::string_view what, const Tensor& x, const Tensor& y) {
  check_pair(what, x, y, 2);
  require_variance(what, x, y);
  // Centred X'Y, scaled by the two Frobenius norms (the square roots of the
  // traces of X'X and Y'Y: only their traces, no d x d products for them);
  // its nuclear norm from the eigenvalues of the smaller of M'M and M M'
  // (LAPACK's SVD of 768 x 768 took 0.16 s here, eigvalsh of M'M 0.03 s).
  const CentredCross c = centred_cross(tame(x), tame(y));
  const Tensor m = c.xy / std::sqrt(c.xx_trace * c.yy_trace);
  const Tensor small = m.size(0) <= m.size(1) ? m.mm(m.t()) : m.t().mm(m);
  // Eigenvalues within rounding of 0 (below the largest x size x epsilon)
  // are 0: their square roots would add noise of ~1e-8 each.
  const Tensor values = at::linalg_eigvalsh(small);
  const double tol = values.max().item<double>() * static_cast<double>(small.size(0)) * std::numeric_limits<double>::epsilon();
  return std::clamp(at::where(values > tol, values, at::zeros_like(values)).sqrt().sum().item<double>(), 0.0, 1.0);
}

// A kernel restricted to a sparse support: entry (row[e], col[e]) = value[e].
struct SparseKernel {
  Tensor row, col, a, b;  // [m] int64, int64, float64, float64: two kernels on one support
};

// HSIC of two kernels A, B that share a sparse support with no diagonal
// entries, unbiased (Song et al., 2012), as the platonic-representation
// code computes it on masked dense matrices:
// [sum(A o B') + sum(A) sum(B) / ((n-1)(n-2)) - 2 / (n-2) 1'AB1] / (n(n-3)).
double sparse_hsic_unbiased(const SparseKernel& k, int64_t n) {
  const double nd = static_cast<double>(n);
  // sum_ij A_ij B_ji: B at the transposed positions, found by binary search
  // among the support's sorted linear positions.
  const Tensor key = k.row * n + k.col;
  const auto [sorted, order] = key.sort();
  const Tensor b_sorted = k.b.index_select(0, order);
  const Tensor transposed = k.col * n + k.row;
  // (side given: a defaulted c10::optional<string_view> trips -Wmaybe-uninitialized under ASan)
  const Tensor at_pos = at::searchsorted(sorted, transposed, /*out_int32=*/false, /*right=*/false, "left").clamp_max(std::max<int64_t>(0, sorted.numel() - 1));
  const Tensor found = sorted.numel() ? sorted.index_select(0, at_pos) == transposed : at::zeros_like(transposed, at::kBool);
  const Tensor b_t = at::where(found, b_sorted.index_select(0, at_pos), at::zeros_like(k.b));
  const double trace = (k.a * b_t).sum().item<double>();
  const Tensor col_a = at::zeros({n}, at::kDouble).index_add_(0, k.col, k.a);
  const Tensor row_b = at::zeros({n}, at::kDouble).index_add_(0, k.row, k.b);
  const double total = k.a.sum().item<double>() * k.b.sum().item<double>() / ((nd - 1) * (nd - 2));
  return (trace + total - 2.0 / (nd - 2) * col_a.dot(row_b).item<double>()) / (nd * (nd - 3));
}

}  // namespace

double pwcca(const Tensor& x, const Tensor& y) {
  check_pair("PWCCA", x, y, 2);
  require_variance("PWCCA", x, y);
  // The narrower space weighs the correlations, as Morcos et al.'s code
  // does (x when the widths tie).
  const bool swap = y.size(1) < x.size(1);
  const CentredBlocks c = centred_blocks(tame(swap ? y : x), tame(swap ? x : y));
  const Principal pa = principal(c.xx), pb = principal(c.yy);
  if (pa.values.numel() == 0 || pb.values.numel() == 0) throw UndefinedMeasureError("PWCCA: undefined, a space has no variance.");
  // Canonical correlations rho_i and a's canonical directions u_i: the
  // eigenpairs of M M', M = Ua' Ub (whitened), the largest min(ra, rb).
  const Tensor m = whitened_cross(pa, pb, c.xy);
  const auto [values_up, vectors_up] = at::linalg_eigh(m.mm(m.t()));
  const int64_t count = std::min(m.size(0), m.size(1));
  const Tensor rho = values_up.flip(0).narrow(0, 0, count).clamp(0, 1).sqrt();
  const Tensor u = vectors_up.flip(1).narrow(1, 0, count);
  // The variates h_i = Ua u_i, and <h_i, a_j> over a's centred neurons a_j:
  // h' A = u' La^-1/2 Va' A'A = u' La^1/2 Va' (no n x d product needed).
  const Tensor projections = u.t().mm(pa.values.sqrt().unsqueeze(1) * pa.vectors.t());  // [count, da]
  const Tensor weights = projections.abs().sum(1);
  return ((weights * rho).sum() / weights.sum()).item<double>();
}

double procrustes_distance(const Tensor& x, const Tensor& y) {
  return std::sqrt(std::max(0.0, 2.0 - 2.0 * aligned_cosine("Procrustes distance", x, y)));
}

double angular_shape_distance(const Tensor& x, const Tensor& y) {
  return std::acos(aligned_cosine("angular shape metric", x, y));
}

double cknna(const Tensor& a_in, const Tensor& b_in, int64_t k) {
  check_pair("CKNNA", a_in, b_in, 4);
  const int64_t n = a_in.size(0);
  if (k < 1) throw ConfigError(fmt::format("CKNNA: k must be at least 1 neighbour, found {}.", k));
  if (k >= n)
    throw UndefinedMeasureError(fmt::format("CKNNA: k = {} neighbours need at least k + 1 = {} samples, found {}; "
                                            "lower the \"knn\" option below the number of samples.",
                                            k, k + 1, n));
  require_variance("CKNNA", a_in, b_in);
  const UnitRows ua = unit_rows_twice(a_in), ub = unit_rows_twice(b_in);
  // Per row block: each sample's k nearest others in each space (cosine,
  // decided in float64 as for knn_retrieval), and the kernels' values
  // there. Memory O(n k), never n x n.
  std::vector<Tensor> rows_k, cols_k, vals_k, rows_l, cols_l, vals_l, rows_kl, cols_kl, kl_k, kl_l;
  const int64_t block = block_rows(n);
  Tensor buffer;
  for (int64_t begin = 0; begin < n; begin += block) {
    const int64_t rows = std::min(block, n - begin);
    const auto neighbours = [&](const UnitRows& u) {
      Tensor fast = block_product(buffer, u.fast, begin, rows, u.fast);
      Nearest near = settle_nearest(fast, u, u, begin, k, true);
      // Each row's neighbours by column, so that the entries are row-major
      // as a mask's would be, and the two spaces' shared ones line up.
      const auto [columns, order] = near.columns.sort(1);
      near.values = near.values.gather(1, order);
      near.columns = columns;
      return near;
    };
    const Nearest nk = neighbours(ua), nl = neighbours(ub);
    const Tensor row = at::arange(begin, begin + rows, at::kLong).unsqueeze(1).expand({rows, k});
    rows_k.push_back(row.flatten());
    cols_k.push_back(nk.columns.flatten());
    vals_k.push_back(nk.values.flatten());
    rows_l.push_back(row.flatten());
    cols_l.push_back(nl.columns.flatten());
    vals_l.push_back(nl.values.flatten());
    // The neighbours in both spaces, with each kernel's value there.
    const Tensor k_in_l = mask_of(nl, n).gather(1, nk.columns), l_in_k = mask_of(nk, n).gather(1, nl.columns);
    rows_kl.push_back(row.masked_select(k_in_l));
    cols_kl.push_back(nk.columns.masked_select(k_in_l));
    kl_k.push_back(nk.values.masked_select(k_in_l));
    kl_l.push_back(nl.values.masked_select(l_in_k));
  }
  const SparseKernel kk{at::cat(rows_k), at::cat(cols_k), at::cat(vals_k), at::cat(vals_k)};
  const SparseKernel ll{at::cat(rows_l), at::cat(cols_l), at::cat(vals_l), at::cat(vals_l)};
  const SparseKernel kl{at::cat(rows_kl), at::cat(cols_kl), at::cat(kl_k), at::cat(kl_l)};
  const double xx = sparse_hsic_unbiased(kk, n), yy = sparse_hsic_unbiased(ll, n), xy = sparse_hsic_unbiased(kl, n);
  if (!(xx > 0) || !(yy > 0))
    throw UndefinedMeasureError(fmt::format("CKNNA: undefined, the neighbourhood HSIC of the {} representation with "
                                            "itself is {:g} (not positive): its neighbourhoods carry no signal here.",
                                            xx > 0 ? "second" : "first", xx > 0 ? yy : xx));
  return xy / std::sqrt(xx * yy);
}

double rsa(const Tensor& x, const Tensor& y, const RsaOptions& options) {
  check_pair("RSA", x, y, 3);
  const int64_t n = x.size(0);
  if (n > options.max_samples)
    throw ConfigError(fmt::format("RSA: {} samples make dissimilarity matrices of {} pairs each ({:.1f} GB in float64 "
                                  "with their ranks); the limit is max_samples = {}. Compare a random subset of the "
                                  "samples, or raise max_samples if the memory is there.",
                                  n, n * (n - 1) / 2, 3.0 * 8.0 * static_cast<double>(n) * (n - 1) / 2 / 1e9,
                                  options.max_samples));
  require_variance("RSA", x, y);
  // The representational dissimilarity matrix's upper triangle (i < j).
  const Tensor upper = at::triu_indices(n, n, 1);
  const auto rdm = [&](const Tensor& t, const char* side) {
    const Tensor f = tame(t).to(at::kDouble);
    Tensor d;
    if (options.distance == "euclidean") {
      d = at::cdist(f, f);
    } else if (options.distance == "cosine") {
      const Tensor u = unit_rows(f);
      d = 1 - u.mm(u.t());
    } else {  // correlation: 1 - Pearson between the samples' patterns
      const Tensor c = f - f.mean(1, true);
      const Tensor norms = c.norm(2, 1, true);
      if ((norms == 0).any().item<bool>())
        throw UndefinedMeasureError(fmt::format("RSA: undefined with the correlation distance, a sample of the {} "
                                                "representation has all its entries equal (no pattern to correlate); "
                                                "use distance \"euclidean\".",
                                                side));
      const Tensor z = c / norms;
      d = 1 - z.mm(z.t());
    }
    return d.index({upper[0], upper[1]});
  };
  const Tensor da = rdm(x, "first"), db = rdm(y, "second");
  if (options.compare == "pearson") return pearson_of("RSA", da, db);
  return pearson_of("RSA", rank_rows(da.unsqueeze(0)).squeeze(0), rank_rows(db.unsqueeze(0)).squeeze(0));
}

}  // namespace bridges
