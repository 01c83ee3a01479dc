// The geodesic similarity: distance from each sample to each anchor along
// the data manifold, approximated by shortest paths in a k-nearest-neighbour
// graph (as Isomap does). Rigid motions and permutations of the latent
// dimensions keep the graph and its edge lengths, and so does any map that
// preserves distances along the manifold (unrolling a Swiss roll): the
// representation is invariant to all of them.
//
// The graph is built over the samples of one call plus the anchors, so a
// split should be projected in one call; its cost is O((n + k)^2 d) for the
// neighbours and k Dijkstra runs over (n + k) nodes, run in parallel.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <bridges/error.hpp>
#include <bridges/sdk/plugin.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <queue>
#include <vector>

namespace {

using bridges::Invariance;
using bridges::InvarianceSet;
using bridges::Tensor;
using nlohmann::json;

// Adjacency in compressed rows: node i's edges are targets[offsets[i] ..
// offsets[i + 1]) with their lengths.
struct Graph {
  std::vector<int64_t> offsets, targets;
  std::vector<double> lengths;
  int64_t nodes() const { return static_cast<int64_t>(offsets.size()) - 1; }
};

// The k nearest other nodes of every node (Euclidean), in blocks of rows.
void nearest_neighbours(const Tensor& points, int64_t k, std::vector<int64_t>& index, std::vector<double>& distance) {
  const int64_t n = points.size(0);
  const Tensor norms = points.pow(2).sum(1);
  index.resize(static_cast<std::size_t>(n * k));
  distance.resize(static_cast<std::size_t>(n * k));
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 22) / n);
  for (int64_t begin = 0; begin < n; begin += block) {
    const int64_t rows = std::min(block, n - begin);
    Tensor d2 = (norms.narrow(0, begin, rows).unsqueeze(1) + norms.unsqueeze(0) -
                 2 * at::mm(points.narrow(0, begin, rows), points.t()))
                    .clamp_min(0);
    d2.scatter_(1, at::arange(begin, begin + rows, at::kLong).unsqueeze(1), std::numeric_limits<double>::infinity());
    const auto [values, which] = d2.topk(k, 1, /*largest=*/false, /*sorted=*/true);
    const Tensor v = values.sqrt().contiguous(), w = which.contiguous();
    std::copy_n(v.data_ptr<double>(), rows * k, distance.begin() + begin * k);
    std::copy_n(w.data_ptr<int64_t>(), rows * k, index.begin() + begin * k);
  }
}

Graph build_graph(const Tensor& points, int64_t k, bool mutual) {
  const int64_t n = points.size(0);
  std::vector<int64_t> index;
  std::vector<double> distance;
  nearest_neighbours(points, k, index, distance);
  const auto lists = [&](int64_t i, int64_t j) {
    const auto begin = index.begin() + i * k;
    return std::find(begin, begin + k, j) != begin + k;
  };
  std::vector<std::vector<std::pair<int64_t, double>>> edges(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < k; ++t) {
      const int64_t j = index[static_cast<std::size_t>(i * k + t)];
      const double length = distance[static_cast<std::size_t>(i * k + t)];
      if (mutual && !lists(j, i)) continue;
      edges[static_cast<std::size_t>(i)].emplace_back(j, length);
      if (!mutual) edges[static_cast<std::size_t>(j)].emplace_back(i, length);  // union: both directions
    }
  Graph g;
  g.offsets.push_back(0);
  for (const auto& list : edges) {
    for (const auto& [j, length] : list) {
      g.targets.push_back(j);
      g.lengths.push_back(length);
    }
    g.offsets.push_back(static_cast<int64_t>(g.targets.size()));
  }
  return g;
}

// Shortest-path lengths from `source` to every node (infinity if unreached).
void dijkstra(const Graph& g, int64_t source, std::vector<double>& out) {
  out.assign(static_cast<std::size_t>(g.nodes()), std::numeric_limits<double>::infinity());
  using Item = std::pair<double, int64_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
  out[static_cast<std::size_t>(source)] = 0;
  queue.emplace(0.0, source);
  while (!queue.empty()) {
    const auto [d, i] = queue.top();
    queue.pop();
    if (d > out[static_cast<std::size_t>(i)]) continue;  // a stale entry
    for (int64_t e = g.offsets[static_cast<std::size_t>(i)]; e < g.offsets[static_cast<std::size_t>(i) + 1]; ++e) {
      const int64_t j = g.targets[static_cast<std::size_t>(e)];
      const double next = d + g.lengths[static_cast<std::size_t>(e)];
      if (next < out[static_cast<std::size_t>(j)]) {
        out[static_cast<std::size_t>(j)] = next;
        queue.emplace(next, j);
      }
    }
  }
}

int64_t count_components(const Graph& g) {
  std::vector<int64_t> component(static_cast<std::size_t>(g.nodes()), -1);
  int64_t count = 0;
  for (int64_t start = 0; start < g.nodes(); ++start) {
    if (component[static_cast<std::size_t>(start)] >= 0) continue;
    std::vector<int64_t> stack{start};
    component[static_cast<std::size_t>(start)] = count;
    while (!stack.empty()) {
      const int64_t i = stack.back();
      stack.pop_back();
      for (int64_t e = g.offsets[static_cast<std::size_t>(i)]; e < g.offsets[static_cast<std::size_t>(i) + 1]; ++e) {
        const int64_t j = g.targets[static_cast<std::size_t>(e)];
        if (component[static_cast<std::size_t>(j)] < 0) {
          component[static_cast<std::size_t>(j)] = count;
          stack.push_back(j);
        }
      }
    }
    ++count;
  }
  return count;
}

struct GeodesicOptions {
  int64_t k;
  std::string symmetrize;   ///< "union" or "mutual"
  std::string unreachable;  ///< "error" or "penalty"
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GeodesicOptions, k, symmetrize, unreachable)

class Geodesic final : public bridges::sdk::WithOptions<bridges::Similarity, GeodesicOptions> {
 public:
  explicit Geodesic(const json& options)
      : WithOptions(options),
        k_(options_.k),
        mutual_(options_.symmetrize == "mutual"),
        penalty_(options_.unreachable == "penalty") {}
  std::string type() const override { return "geodesic"; }

 protected:
  Tensor compute(const Tensor& x, const Tensor& anchors) const override {
    const int64_t n = x.size(0), k = anchors.size(0), nodes = n + k;
    if (n == 0) return at::empty({0, k}, x.options());
    // With fewer nodes than k + 1, every node is every other's neighbour.
    const int64_t neighbours = std::min(k_, nodes - 1);
    const Tensor points = at::cat({x, anchors}).to(at::kDouble).contiguous();
    const Graph g = build_graph(points, neighbours, mutual_);
    Tensor out = at::empty({n, k}, at::kDouble);
    double* op = out.data_ptr<double>();
    std::vector<int64_t> unreached(static_cast<std::size_t>(k), 0);
    at::parallel_for(0, k, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> distance;
      for (int64_t a = begin; a < end; ++a) {
        dijkstra(g, n + a, distance);
        for (int64_t i = 0; i < n; ++i) {
          op[i * k + a] = distance[static_cast<std::size_t>(i)];
          if (!std::isfinite(distance[static_cast<std::size_t>(i)])) ++unreached[static_cast<std::size_t>(a)];
        }
      }
    });
    const auto worst = std::max_element(unreached.begin(), unreached.end());
    if (*worst > 0) {
      if (!penalty_)
        throw bridges::ConfigError(fmt::format(
            "similarity/geodesic: the {}-nearest-neighbour graph over {} samples and {} anchors falls into {} "
            "connected components; {} samples cannot reach anchor {}. Raise \"k\", or set \"unreachable\": "
            "\"penalty\" to give unreachable pairs twice the largest finite distance.",
            neighbours, n, k, count_components(g), *worst, worst - unreached.begin()));
      // Twice the largest finite distance: farther than anything reachable, and finite.
      const Tensor finite = at::isfinite(out);
      const double largest = finite.any().item<bool>() ? out.masked_select(finite).max().item<double>() : 1.0;
      out.masked_fill_(finite.logical_not(), 2 * std::max(largest, 1e-12));
    }
    return out.to(x.scalar_type());
  }

 private:
  int64_t k_;
  bool mutual_, penalty_;
};

}  // namespace

BRIDGES_PLUGIN(bridges::sdk::component<Geodesic>("geodesic"))
