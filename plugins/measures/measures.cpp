// The built-in similarity measures between two representations of the same
// samples. The arithmetic lives in bridges::relative (latent_similarity.hpp),
// shared with host programs; this plugin gives each measure its name,
// options and prepared form.
#include <bridges/relative/latent_similarity.hpp>
#include <bridges/sdk/plugin.hpp>

namespace {

using bridges::Tensor;
using nlohmann::json;

// A measure with no options: a function of the two prepared spaces. `Name`
// is its type (a string with static storage), `F` its arithmetic.
template <const char* Name, double (*F)(const Tensor&, const Tensor&)>
class Plain final : public bridges::Measure {
 public:
  explicit Plain(const json&) {}
  std::string type() const override { return Name; }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override { return F(a, b); }
};

double cka_linear(const Tensor& a, const Tensor& b) { return bridges::linear_cka(a, b, false); }
double cka_debiased(const Tensor& a, const Tensor& b) { return bridges::linear_cka(a, b, true); }

constexpr char kCkaLinear[] = "cka_linear", kCkaDebiased[] = "cka_debiased", kPearson[] = "pearson",
               kPearsonPerSample[] = "pearson_per_sample", kPwcca[] = "pwcca", kProcrustes[] = "procrustes",
               kAngularShape[] = "angular_shape";
using CkaLinear = Plain<kCkaLinear, cka_linear>;
using CkaDebiased = Plain<kCkaDebiased, cka_debiased>;
using Pearson = Plain<kPearson, bridges::pearson>;
using PearsonPerSample = Plain<kPearsonPerSample, bridges::pearson_per_sample>;
using Pwcca = Plain<kPwcca, bridges::pwcca>;
using Procrustes = Plain<kProcrustes, bridges::procrustes_distance>;
using AngularShape = Plain<kAngularShape, bridges::angular_shape_distance>;

struct RbfOptions {
  double sigma;
  uint64_t seed;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RbfOptions, sigma, seed)

class CkaRbf final : public bridges::sdk::WithOptions<bridges::Measure, RbfOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "cka_rbf"; }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override {
    bridges::MeasureOptions o;
    o.rbf_sigma = options_.sigma;
    o.seed = options_.seed;
    return bridges::rbf_cka(a, b, o);
  }
};

struct SvccaOptions {
  double variance;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SvccaOptions, variance)

class Svcca final : public bridges::sdk::WithOptions<bridges::Measure, SvccaOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "svcca"; }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override {
    bridges::MeasureOptions o;
    o.svcca_variance = options_.variance;
    return bridges::svcca(a, b, o);
  }
};

// Ranks in float32 where they are exact (up to 2^24 entries): half the memory
// of float64 for the same numbers.
Tensor compact(const Tensor& ranks) { return ranks.numel() < (int64_t{1} << 24) ? ranks.to(at::kFloat) : ranks; }

// Spearman is Pearson on ranks: the ranks are the prepared form, so a space
// compared with many others is ranked once.
class Spearman final : public bridges::Measure {
 public:
  explicit Spearman(const json&) {}
  std::string type() const override { return "spearman"; }

 protected:
  Tensor do_prepare(const Tensor& x) const override {
    return compact(bridges::rank_rows(x.reshape({1, -1})).reshape(x.sizes()));
  }
  double compute(const Tensor& a, const Tensor& b) const override { return bridges::pearson(a, b); }
};

class SpearmanPerSample final : public bridges::Measure {
 public:
  explicit SpearmanPerSample(const json&) {}
  std::string type() const override { return "spearman_per_sample"; }

 protected:
  Tensor do_prepare(const Tensor& x) const override { return compact(bridges::rank_rows(x)); }
  double compute(const Tensor& a, const Tensor& b) const override { return bridges::pearson_per_sample(a, b); }
};

// The retrieval measures that pair a_i with b_i need one width.
void require_same_width(const std::string& type, const Tensor& a, const Tensor& b) {
  if (a.size(1) != b.size(1))
    throw bridges::ShapeError(fmt::format(
        "measure/{}: compares a_i with b_i and needs representations of the same width, found {} and {}. Compare "
        "relative representations (the same anchors give the same width), or use knn_jaccard.",
        type, bridges::describe(a), bridges::describe(b)));
}

struct KnnOptions {
  int64_t knn;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(KnnOptions, knn)

// Two of the retrieval scores of bridges::knn_retrieval, one per measure
// (knn_mrr, which needs no neighbour count, is KnnMrr below).
enum class Retrieval { jaccard, cross_jaccard };

template <Retrieval R>
class Knn final : public bridges::sdk::WithOptions<bridges::Measure, KnnOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override {
    switch (R) {
      case Retrieval::jaccard: return "knn_jaccard";
      case Retrieval::cross_jaccard: return "knn_cross_jaccard";
    }
    return "";
  }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override {
    if (R != Retrieval::jaccard) require_same_width(type(), a, b);
    constexpr unsigned wanted = R == Retrieval::jaccard ? bridges::retrieve_jaccard : bridges::retrieve_cross_jaccard;
    const bridges::RetrievalScores s = bridges::knn_retrieval(a, b, options_.knn, wanted);
    return R == Retrieval::jaccard ? s.jaccard : s.cross_jaccard;
  }
};

// The mean reciprocal rank of b_i among all b_j when queried with a_i. It
// ranks among every sample, so it has no "knn" option (one declared would
// change nothing); it needs two samples.
class KnnMrr final : public bridges::Measure {
 public:
  explicit KnnMrr(const json&) {}
  std::string type() const override { return "knn_mrr"; }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override {
    require_same_width(type(), a, b);
    return bridges::knn_retrieval(a, b, /*k=*/1, bridges::retrieve_mrr).mrr;
  }
};

// The mean cos(a_i, b_i), in float64 (a zero row counts 0). No neighbours:
// kept with the retrieval measures it was reported beside.
class KnnCosine final : public bridges::Measure {
 public:
  explicit KnnCosine(const json&) {}
  std::string type() const override { return "knn_cosine"; }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override {
    require_same_width(type(), a, b);
    const auto unit = [](const Tensor& t) {
      const Tensor f = t.to(at::kDouble);
      return f / f.norm(2, 1, true).clamp_min(1e-300);
    };
    return (unit(a) * unit(b)).sum(1).mean().item<double>();
  }
};

class MutualKnn final : public bridges::sdk::WithOptions<bridges::Measure, KnnOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "mutual_knn"; }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override {
    return bridges::knn_retrieval(a, b, options_.knn, bridges::retrieve_mutual).mutual;
  }
};

class Cknna final : public bridges::sdk::WithOptions<bridges::Measure, KnnOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "cknna"; }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override { return bridges::cknna(a, b, options_.knn); }
};

struct RsaOptions {
  std::string distance, compare;
  int64_t max_samples;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RsaOptions, distance, compare, max_samples)

class Rsa final : public bridges::sdk::WithOptions<bridges::Measure, RsaOptions> {
 public:
  using WithOptions::WithOptions;
  std::string type() const override { return "rsa"; }

 protected:
  double compute(const Tensor& a, const Tensor& b) const override {
    bridges::RsaOptions o;
    o.distance = options_.distance;
    o.compare = options_.compare;
    o.max_samples = options_.max_samples;
    return bridges::rsa(a, b, o);
  }
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<CkaLinear>("cka_linear"), bridges::sdk::component<CkaDebiased>("cka_debiased"),
               bridges::sdk::component<CkaRbf>("cka_rbf"), bridges::sdk::component<Svcca>("svcca"),
               bridges::sdk::component<Pearson>("pearson"),
               bridges::sdk::component<PearsonPerSample>("pearson_per_sample"),
               bridges::sdk::component<Spearman>("spearman"),
               bridges::sdk::component<SpearmanPerSample>("spearman_per_sample"),
               bridges::sdk::component<Knn<Retrieval::jaccard>>("knn_jaccard"),
               bridges::sdk::component<Knn<Retrieval::cross_jaccard>>("knn_cross_jaccard"),
               bridges::sdk::component<KnnMrr>("knn_mrr"),
               bridges::sdk::component<KnnCosine>("knn_cosine"), bridges::sdk::component<Pwcca>("pwcca"),
               bridges::sdk::component<Procrustes>("procrustes"),
               bridges::sdk::component<AngularShape>("angular_shape"),
               bridges::sdk::component<MutualKnn>("mutual_knn"), bridges::sdk::component<Cknna>("cknna"),
               bridges::sdk::component<Rsa>("rsa"))
