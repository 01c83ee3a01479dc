// Graph encoders trained from scratch, full-batch and transductive: a
// 2-layer GCN and a 2-layer GraphSAGE (mean aggregator). Both see the whole
// graph the samples come from (Examples::graph) and return the latents of
// the sample nodes; a linear head on the latent makes them node classifiers.
#include <torch/torch.h>

#include <fmt/format.h>

#include <bridges/graph/graph.hpp>
#include <bridges/util/progress.hpp>
#include <bridges/util/random.hpp>
#include <bridges/sdk/plugin.hpp>
#include <bridges/sdk/training.hpp>
#include <bridges/util/runtime.hpp>

namespace graph_encoders {

using bridges::Tensor;
using nlohmann::json;

namespace {

// What the layers read: the node features (dense, or sparse in compressed
// rows) and the graph's propagation matrix.
struct Inputs {
  Tensor x;
  bridges::SparseRows sparse_x, propagation;

  /// features [N, f] @ w [f, h]
  Tensor features_times(const Tensor& w) const { return x.is_sparse() ? sparse_x.times(w) : x.matmul(w); }
};

// The seeded classifier both architectures share: two propagation layers
// to the latent, then ReLU -> dropout -> Linear(classes). Training is
// full-batch Adam on the training nodes' cross-entropy.
// The options (both encoders have all of them; named like the manifest's).
struct GraphOptions {
  int64_t latent_dim;
  int64_t hidden;
  int64_t epochs;
  double lr;
  double weight_decay;
  double dropout;
  uint64_t seed;
  int64_t threads;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GraphOptions, latent_dim, hidden, epochs, lr, weight_decay, dropout, seed, threads)

class GraphEncoder : public bridges::sdk::WithOptions<bridges::Encoder, GraphOptions> {
 public:
  using WithOptions::WithOptions;
  bool trainable() const override { return true; }
  int64_t dim() const override { return options_.latent_dim; }

  void fit(const bridges::Examples& train) override {
    const bridges::GraphView g = bridges::graph_of(train, "encoder/" + type());
    if (!train.labels.defined() || train.size() == 0)
      throw bridges::ConfigError(fmt::format("encoder/{}: training needs labelled nodes.", type()));
    const Tensor labels = train.labels.to(at::kLong);
    if (labels.min().item<int64_t>() < 0)
      throw bridges::ConfigError(fmt::format("encoder/{}: every training node needs a label (found -1).", type()));
    const bridges::ThreadScope threads(options_.threads);
    const auto seed = options_.seed;
    {
      std::lock_guard lock(bridges::torch_rng_mutex());
      torch::manual_seed(seed);
      features_ = g.x.size(1);
      classes_ = std::max<int64_t>(2, labels.max().item<int64_t>() + 1);
      build_all();
    }
    draws_ = 0;
    const Inputs inputs = inputs_of(g);
    torch::optim::Adam optimizer(net_.parameters(), torch::optim::AdamOptions(options_.lr)
                                                        .weight_decay(options_.weight_decay));
    const int64_t epochs = options_.epochs;
    bridges::Progress progress(fmt::format("{} training ({} nodes, {} for the loss)", type(), g.num_nodes, train.size()),
                               epochs, "epochs");
    net_.train();
    double loss_value = 0;
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      optimizer.zero_grad();
      const Tensor z = layers(inputs, true).index_select(0, g.nodes);
      const Tensor loss = torch::cross_entropy_loss(head(z, true), labels);
      loss.backward();
      optimizer.step();
      loss_value = loss.item<double>();
      progress.update(epoch + 1, {{"loss", loss_value}});
    }
    progress.finish({{"loss", loss_value}});
    net_.eval();
    memo_ = {};
  }

  Tensor encode(const bridges::Examples& examples) override {
    const bridges::GraphView g = bridges::graph_of(examples, "encoder/" + type());
    return all_latents(g).index_select(0, g.nodes);
  }

  json quality(const bridges::Examples& test) override {
    const bridges::GraphView g = bridges::graph_of(test, "encoder/" + type());
    torch::NoGradGuard no_grad;
    const Tensor predicted = head(all_latents(g).index_select(0, g.nodes), false).argmax(1);
    const auto correct = predicted.eq(test.labels.to(at::kLong)).sum().item<int64_t>();
    return {{"accuracy", test.size() ? static_cast<double>(correct) / static_cast<double>(test.size()) : 0.0}};
  }

  void save(std::ostream& out) const override {
    require_built();
    bridges::sdk::save_module(net_, {{"encoder", to_json()}, {"classes", classes_}, {"features", features_}}, out);
  }

  void load(std::istream& in) override {
    torch::serialize::InputArchive archive;
    const json meta = bridges::sdk::load_module_meta(in, archive, to_json(), type());
    {
      std::lock_guard lock(bridges::torch_rng_mutex());
      classes_ = meta.at("classes").get<int64_t>();
      features_ = meta.at("features").get<int64_t>();
      build_all();
    }
    net_.load(archive);
    net_.eval();
    memo_ = {};
  }

 protected:
  /// Registers the two layers' parameters under net_ (features_ is set).
  virtual void build() = 0;
  /// The propagation matrix of the graph (sparse COO [N, N]).
  virtual Tensor propagation_of(const bridges::GraphView& g) const = 0;
  /// Latents of every node, [N, latent_dim].
  virtual Tensor layers(const Inputs& in, bool training) = 0;

  Tensor weight(const std::string& name, int64_t in, int64_t out) {
    return net_.register_parameter(name, torch::nn::init::xavier_uniform_(torch::empty({in, out})));
  }
  Tensor bias(const std::string& name, int64_t size) { return net_.register_parameter(name, torch::zeros({size})); }
  // Inverted dropout. The mask of element i in draw t is a hash of (seed,
  // t, i): training repeats bit for bit whatever else the process does and
  // however many threads run, and the mask is made in parallel (LibTorch's
  // bernoulli_ draws serially: 6% of a full-graph epoch).
  Tensor dropout(const Tensor& h, bool training) {
    const double p = options_.dropout;
    if (!training || p <= 0) return h;
    Tensor mask = at::empty(h.sizes(), at::kFloat);
    float* m = mask.data_ptr<float>();
    // One 64-bit hash gives 4 elements 16 random bits each (p to 1/65536).
    const auto threshold = static_cast<uint64_t>(std::llround(p * 65536.0));
    const auto keep = static_cast<float>(1.0 / (1.0 - p));
    const uint64_t stream = splitmix(options_.seed ^ splitmix(++draws_));
    const int64_t n = mask.numel();
    at::parallel_for(0, (n + 3) / 4, 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t g = begin; g < end; ++g) {
        const uint64_t bits = splitmix(stream + static_cast<uint64_t>(g));
        for (int64_t j = 0; j < 4 && 4 * g + j < n; ++j) m[4 * g + j] = ((bits >> (16 * j)) & 0xffff) >= threshold ? keep : 0.0f;
      }
    });
    return h * mask;
  }
  static uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  int64_t features_ = 0;
  torch::nn::Module net_;

 private:
  Tensor head(const Tensor& z, bool training) { return head_->forward(dropout(torch::relu(z), training)); }

  // Every node's latent, computed once per graph: the runner encodes the
  // train nodes, the test nodes and the anchors of one graph in turn.
  Tensor all_latents(const bridges::GraphView& g) {
    require_built();
    if (g.x.size(1) != features_)
      throw bridges::ShapeError(fmt::format("encoder/{}: the graph has {} node features, the encoder was trained on {}.",
                                            type(), g.x.size(1), features_));
    if (memo_.z.defined() && memo_.x.is_same(g.x) && memo_.edge_index.is_same(g.edge_index)) return memo_.z;
    torch::NoGradGuard no_grad;
    net_.eval();
    memo_ = {g.x, g.edge_index, layers(inputs_of(g), false)};
    return memo_.z;
  }
  Inputs inputs_of(const bridges::GraphView& g) const {
    return {g.x, g.x.is_sparse() ? bridges::SparseRows(g.x) : bridges::SparseRows(),
            bridges::SparseRows(propagation_of(g))};
  }
  void build_all() {
    net_ = torch::nn::Module();
    build();
    head_ = net_.register_module("head", torch::nn::Linear(options_.latent_dim, classes_));
    built_ = true;
  }
  void require_built() const {
    if (!built_) throw bridges::ConfigError(fmt::format("encoder/{}: not trained yet: fit it (or load a trained one) first.", type()));
  }

  torch::nn::Linear head_{nullptr};
  int64_t classes_ = 0;
  bool built_ = false;
  uint64_t draws_ = 0;  // dropout masks drawn since fit() began
  struct Memo {
    Tensor x, edge_index, z;
  } memo_;
};

// Kipf & Welling: h = ReLU(Â X W1 + b1), z = Â h W2 + b2, with
// Â = D^-1/2 (A + I) D^-1/2.
class Gcn final : public GraphEncoder {
 public:
  using GraphEncoder::GraphEncoder;
  std::string type() const override { return "gcn"; }

 protected:
  void build() override {
    w1_ = weight("w1", features_, options_.hidden);
    b1_ = bias("b1", options_.hidden);
    w2_ = weight("w2", options_.hidden, options_.latent_dim);
    b2_ = bias("b2", options_.latent_dim);
  }
  Tensor propagation_of(const bridges::GraphView& g) const override { return bridges::gcn_adjacency(g.edge_index, g.num_nodes); }
  Tensor layers(const Inputs& in, bool training) override {
    const Tensor h = dropout(torch::relu(in.propagation.times(in.features_times(w1_)) + b1_), training);
    return in.propagation.times(h.matmul(w2_)) + b2_;
  }

 private:
  Tensor w1_, b1_, w2_, b2_;
};

// Hamilton et al., mean aggregator: h = ReLU(X Ws1 + mean_N(X) Wn1 + b1),
// z = h Ws2 + mean_N(h) Wn2 + b2.
class GraphSage final : public GraphEncoder {
 public:
  using GraphEncoder::GraphEncoder;
  std::string type() const override { return "graphsage"; }

 protected:
  void build() override {
    self1_ = weight("self1", features_, options_.hidden);
    neigh1_ = weight("neigh1", features_, options_.hidden);
    b1_ = bias("b1", options_.hidden);
    self2_ = weight("self2", options_.hidden, options_.latent_dim);
    neigh2_ = weight("neigh2", options_.hidden, options_.latent_dim);
    b2_ = bias("b2", options_.latent_dim);
  }
  Tensor propagation_of(const bridges::GraphView& g) const override { return bridges::mean_adjacency(g.edge_index, g.num_nodes); }
  Tensor layers(const Inputs& in, bool training) override {
    // mean_N(X) W = M (X W): the neighbours' mean is taken after the product.
    const Tensor h = dropout(
        torch::relu(in.features_times(self1_) + in.propagation.times(in.features_times(neigh1_)) + b1_), training);
    return h.matmul(self2_) + in.propagation.times(h.matmul(neigh2_)) + b2_;
  }

 private:
  Tensor self1_, neigh1_, b1_, self2_, neigh2_, b2_;
};

}  // namespace

}  // namespace graph_encoders

BRIDGES_PLUGIN(bridges::sdk::component<graph_encoders::Gcn>("gcn"),
               bridges::sdk::component<graph_encoders::GraphSage>("graphsage"))
