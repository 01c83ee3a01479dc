#pragma once
// How similar two latent spaces are: the arithmetic of the measures over two
// representations of the same samples (row i of each is sample i). They
// compare absolute latents (any widths) or relative representations (same
// anchors, so same width), and answer the method's first question: which
// similarity makes two encoders' spaces most alike. By name, through the
// registry, they are the `measures` plugin's components (bridges::Measure):
//
//   auto cka = registry.make<bridges::Measure>("cka_linear");
//   double s = cka->compare(a, b);

#include <cstdint>
#include <string>

#include "bridges/error.hpp"
#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

struct BRIDGES_API MeasureOptions {
  double rbf_sigma = 1.0;       ///< RBF width as a fraction of the median pairwise distance
  double svcca_variance = 0.99; ///< fraction of variance SVCCA keeps in each space
  uint64_t seed = 0;            ///< samples used to estimate the median distance when n is large
};

/// Linear CKA (Kornblith et al., 2019) computed in feature space:
/// ||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) with column-centred X, Y.
/// O(n d^2) time and O(d^2) memory: never an n x n matrix. `debiased` uses
/// the unbiased HSIC estimator (Song et al., 2012; needs n >= 4), which
/// stays near 0 for independent spaces where the biased one does not.
/// Wider than long (n < (dx + dy) / 2), the Gram form is cheaper and used.
BRIDGES_API double linear_cka(const Tensor& x, const Tensor& y, bool debiased = false);

/// The same through n x n Gram matrices: the textbook form, O(n^2) memory.
/// For tests and the benchmark.
BRIDGES_API double linear_cka_gram(const Tensor& x, const Tensor& y, bool debiased = false);

/// CKA with Gaussian kernels exp(-|xi - xj|^2 / (2 sigma^2)), sigma =
/// options.rbf_sigma x the median pairwise distance (estimated on at most
/// 4096 samples, seeded). The Gram matrices are built and reduced in blocks
/// of rows, so memory stays O(block x n).
BRIDGES_API double rbf_cka(const Tensor& x, const Tensor& y, const MeasureOptions& options = {});

/// SVCCA (Raghu et al., 2017): each space reduced to the top singular
/// directions that keep options.svcca_variance of its variance, then the
/// mean canonical correlation between the two reduced spaces.
BRIDGES_API double svcca(const Tensor& x, const Tensor& y, const MeasureOptions& options = {});

/// Pearson correlation over all entries of two tensors of the same shape.
BRIDGES_API double pearson(const Tensor& a, const Tensor& b);
/// Spearman correlation over all entries: Pearson of the ranks, tied values
/// sharing their average rank.
BRIDGES_API double spearman(const Tensor& a, const Tensor& b);
/// The mean over rows of the row-wise Pearson / Spearman correlation (rows
/// of zero variance count 0; all rows constant is undefined).
BRIDGES_API double pearson_per_sample(const Tensor& a, const Tensor& b);
BRIDGES_API double spearman_per_sample(const Tensor& a, const Tensor& b);
/// Ranks of the entries of each row (1-based, ties averaged), float64.
BRIDGES_API Tensor rank_rows(const Tensor& a);

/// Retrieval between two spaces over the same samples, after the relative
/// representations paper's word-embedding experiment. Neighbours by cosine
/// similarity, decided in float64 (an exact isometry scores 1): candidates
/// are found on a float32 product and every decision the float32 rounding
/// could change is settled on float64 values. Ties are broken by sample
/// index: among equally similar samples the lower index is nearer, both for
/// the k-neighbour sets and for b_i's rank in knn_mrr (an equally similar
/// b_j with j < i counts as ahead of b_i).
struct BRIDGES_API RetrievalScores {
  double jaccard = 0;        ///< mean Jaccard of sample i's k nearest neighbours in each space (itself excluded)
  double mutual = 0;         ///< mean |N_a(i) & N_b(i)| / k over the same neighbour sets (Huh et al., 2024)
  double cross_jaccard = 0;  ///< mean Jaccard of the k nearest b_j of a_i and of b_i (same width only; the paper's Jaccard)
  double mrr = 0;            ///< mean reciprocal rank of b_i among all b_j when queried with a_i (same width only)
  double mean_cosine = 0;    ///< mean cos(a_i, b_i) (same width only)
};
/// The scores knn_retrieval computes: each costs n x n products (jaccard and
/// mutual: a a' and b b'; cross_jaccard: a b' and b b'; mrr and mean_cosine:
/// a b'), so a caller asks only for those it reports.
enum RetrievalScore : unsigned {
  retrieve_jaccard = 1u,
  retrieve_mutual = 2u,
  retrieve_cross_jaccard = 4u,
  retrieve_mrr = 8u,
  retrieve_mean_cosine = 16u,
  retrieve_all = 31u,
};
/// For a and b of different widths, cross_jaccard, mrr and mean_cosine are
/// NaN, as is every score not in `wanted`.
/// Throws UndefinedMeasureError when n <= k or a space has zero variance.
BRIDGES_API RetrievalScores knn_retrieval(const Tensor& a, const Tensor& b, int64_t k = 10,
                                          unsigned wanted = retrieve_all);

/// PWCCA (Morcos et al., NeurIPS 2018): the canonical correlations rho_i of
/// the two centred spaces, weighted by how much of the narrower space's
/// activity each canonical variate h_i accounts for: alpha_i proportional
/// to sum_j |<h_i, a_j>| over that space's centred neurons a_j (x when the
/// widths tie). A similarity in [0, 1]; O(n d^2), float64 copies of both.
BRIDGES_API double pwcca(const Tensor& x, const Tensor& y);

/// The orthogonal Procrustes distance (Williams et al., NeurIPS 2021; Ding
/// et al., 2021): both spaces centred and scaled to unit Frobenius norm,
/// sqrt(2 - 2 ||X~' Y~||_*), the distance left after the best orthogonal
/// alignment (widths may differ: zero padding changes nothing). 0 for the
/// same shape, at most sqrt(2).
BRIDGES_API double procrustes_distance(const Tensor& x, const Tensor& y);
/// The angular shape metric (Williams et al., 2021, netrep's LinearMetric
/// with alpha = 1, "angular"): arccos ||X~' Y~||_*, in [0, pi/2].
BRIDGES_API double angular_shape_distance(const Tensor& x, const Tensor& y);

/// CKNNA (Huh et al., ICML 2024, "The platonic representation hypothesis"):
/// centred kernel alignment restricted to mutual nearest neighbours. Cosine
/// kernels K, L; a pair (i, j), j != i, counts when j is among i's k
/// nearest others in both spaces; HSIC (unbiased) of the kernels masked so,
/// over the square root of each space's HSIC masked by its own neighbours.
/// Memory O(n k): the kernels are visited in row blocks, never kept n x n.
BRIDGES_API double cknna(const Tensor& a, const Tensor& b, int64_t k = 10);

struct BRIDGES_API RsaOptions {
  std::string distance = "correlation";  ///< correlation (1 - Pearson of two samples' patterns), euclidean, cosine
  std::string compare = "spearman";      ///< spearman or pearson, between the two matrices' upper triangles
  int64_t max_samples = 5000;            ///< n x n matrices: refused above this
};
/// Representational similarity analysis (Kriegeskorte et al., 2008): the
/// correlation between the two representational dissimilarity matrices
/// (their upper triangles, i < j). O(n^2) memory: refused (ConfigError)
/// above options.max_samples.
BRIDGES_API double rsa(const Tensor& x, const Tensor& y, const RsaOptions& options = {});

}  // namespace bridges
