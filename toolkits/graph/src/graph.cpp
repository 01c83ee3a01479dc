#include "bridges/graph/graph.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

#include "bridges/error.hpp"

namespace bridges {

namespace {

using Edges = std::vector<std::pair<int64_t, int64_t>>;

void drop_self_loops(Edges& edges) {
  edges.erase(std::remove_if(edges.begin(), edges.end(), [](const auto& e) { return e.first == e.second; }),
              edges.end());
}

Edges edge_list(const Tensor& edge_index) {
  const Tensor e = edge_index.to(at::kLong).contiguous();
  const int64_t m = e.size(1);
  const int64_t* src = e.data_ptr<int64_t>();
  const int64_t* dst = src + m;
  Edges out(static_cast<std::size_t>(m));
  for (int64_t i = 0; i < m; ++i) out[static_cast<std::size_t>(i)] = {src[i], dst[i]};
  return out;
}

Tensor to_edge_index(const Edges& edges) {
  const auto m = static_cast<int64_t>(edges.size());
  Tensor out = at::empty({2, m}, at::kLong);
  int64_t* src = out.data_ptr<int64_t>();
  int64_t* dst = src + m;
  for (int64_t i = 0; i < m; ++i) std::tie(src[i], dst[i]) = edges[static_cast<std::size_t>(i)];
  return out;
}

// Distinct (source, target) pairs of both directions, sorted, without self loops.
Edges symmetric_edges(const Tensor& edge_index) {
  Edges edges = edge_list(edge_index);
  const std::size_t m = edges.size();
  edges.reserve(2 * m);
  for (std::size_t i = 0; i < m; ++i) edges.emplace_back(edges[i].second, edges[i].first);
  drop_self_loops(edges);
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  return edges;
}

// Distinct listed pairs, sorted (the direction is kept as listed).
Edges distinct_edges(const Tensor& edge_index) {
  Edges edges = edge_list(edge_index);
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  return edges;
}

Tensor sparse(const Edges& edges, const std::vector<float>& values, int64_t n) {
  Tensor v = at::empty({static_cast<int64_t>(values.size())}, at::kFloat);
  std::copy(values.begin(), values.end(), v.data_ptr<float>());
  // The pairs are sorted and distinct: coalesced by construction, no sort needed.
  Tensor out = at::_sparse_coo_tensor_unsafe(to_edge_index(edges), v, {n, n});
  out._coalesced_(true);
  return out;
}

}  // namespace

// ---------------------------------------------------------------- SparseRows

struct SparseRows::Csr {
  Tensor rowptr, col, val;  // [rows + 1] int64, [nnz] int64, [nnz] float32
  int64_t rows = 0, cols = 0;
};

namespace {

std::shared_ptr<const SparseRows::Csr> csr_of(const Tensor& coo) {
  if (!coo.defined() || !coo.is_sparse() || coo.sparse_dim() != 2 || coo.dense_dim() != 0)
    throw ShapeError(fmt::format("SparseRows: expected a 2-d sparse COO matrix, found {}.", describe(coo)));
  const Tensor c = coo.coalesce();  // sorted by (row, column)
  auto out = std::make_shared<SparseRows::Csr>();
  out->rows = c.size(0);
  out->cols = c.size(1);
  const Tensor index = c.indices().contiguous();
  out->col = index[1].contiguous();
  out->val = c.values().to(at::kFloat).contiguous();
  out->rowptr = at::zeros({out->rows + 1}, at::kLong);
  const int64_t* row = index.data_ptr<int64_t>();
  int64_t* ptr = out->rowptr.data_ptr<int64_t>();
  for (int64_t k = 0; k < index.size(1); ++k) ++ptr[row[k] + 1];
  for (int64_t r = 0; r < out->rows; ++r) ptr[r + 1] += ptr[r];
  return out;
}

// o += v * s over h floats, compiled for AVX2+FMA and for a portable
// baseline and chosen from the processor; -O2's cost model would leave the
// loop scalar. (Not target_clones: GCC 12's resolver picked the baseline
// clone on this AMD processor even for "avx2", so the AVX2 version had never
// run here.)
inline __attribute__((always_inline)) void add_scaled_impl(float* __restrict o, const float* __restrict s, float v,
                                                           int64_t h) {
  for (int64_t j = 0; j < h; ++j) o[j] += v * s[j];
}
__attribute__((target("avx2,fma"), optimize("tree-vectorize", "vect-cost-model=dynamic"))) void add_scaled_avx2(
    float* o, const float* s, float v, int64_t h) {
  add_scaled_impl(o, s, v, h);
}
__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic"))) void add_scaled_generic(float* o,
                                                                                               const float* s, float v,
                                                                                               int64_t h) {
  add_scaled_impl(o, s, v, h);
}
using AddScaled = void (*)(float*, const float*, float, int64_t);
AddScaled add_scaled_for_this_cpu() {
  static const AddScaled chosen =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &add_scaled_avx2 : &add_scaled_generic;
  return chosen;
}

// a [n, m] @ b [m, h]: rows in parallel, each row a sum of scaled rows of b.
Tensor csr_times(const Tensor& rowptr, const Tensor& col, const Tensor& val, int64_t rows, const Tensor& dense) {
  const Tensor b = dense.to(at::kFloat).contiguous();
  const int64_t h = b.size(1);
  Tensor out = at::empty({rows, h}, at::kFloat);
  const int64_t* ptr = rowptr.data_ptr<int64_t>();
  const int64_t* cols = col.data_ptr<int64_t>();
  const float* vals = val.data_ptr<float>();
  const float* src = b.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const AddScaled add_scaled = add_scaled_for_this_cpu();
  at::parallel_for(0, rows, 256, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* o = dst + r * h;
      std::fill(o, o + h, 0.0f);
      for (int64_t k = ptr[r]; k < ptr[r + 1]; ++k) add_scaled(o, src + cols[k] * h, vals[k], h);
    }
  });
  return out;
}

// y = A x with dy/dx = A^T: the transpose's arrays ride in the context.
class SparseTimes : public torch::autograd::Function<SparseTimes> {
 public:
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& dense, const SparseRows::Csr* a,
                        const SparseRows::Csr* transpose) {
    ctx->saved_data["rowptr"] = transpose->rowptr;
    ctx->saved_data["col"] = transpose->col;
    ctx->saved_data["val"] = transpose->val;
    ctx->saved_data["rows"] = transpose->rows;
    return csr_times(a->rowptr, a->col, a->val, a->rows, dense);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto& d = ctx->saved_data;
    return {csr_times(d.at("rowptr").toTensor(), d.at("col").toTensor(), d.at("val").toTensor(), d.at("rows").toInt(),
                      grad[0]),
            Tensor(), Tensor()};
  }
};

}  // namespace

SparseRows::SparseRows(const Tensor& coo) {
  a_ = csr_of(coo);  // checks coo
  const Tensor c = coo.coalesce();  // coo itself when coalesced, as every matrix built here is
  transpose_ = csr_of(at::_sparse_coo_tensor_unsafe(c.indices().flip(0), c.values(), {c.size(1), c.size(0)}));
}

int64_t SparseRows::rows() const { return a_ ? a_->rows : 0; }
int64_t SparseRows::cols() const { return a_ ? a_->cols : 0; }

Tensor SparseRows::times(const Tensor& dense) const {
  if (!a_) throw ShapeError("SparseRows: the matrix is empty (default-constructed).");
  if (dense.dim() != 2 || dense.size(0) != a_->cols)
    throw ShapeError(fmt::format("SparseRows: cannot multiply [{}, {}] by {}.", a_->rows, a_->cols, describe(dense)));
  return SparseTimes::apply(dense, a_.get(), transpose_.get());
}

// ---------------------------------------------------------------- edges

void check_edge_index(const Tensor& edge_index, int64_t num_nodes, const std::string& what) {
  if (!edge_index.defined() || edge_index.dim() != 2 || edge_index.size(0) != 2)
    throw ShapeError(fmt::format("{}: edge_index must be [2, E] (one column per edge: source, target), not {}.", what,
                                 describe(edge_index)));
  if (edge_index.scalar_type() != at::kLong && edge_index.scalar_type() != at::kInt)
    throw ShapeError(fmt::format("{}: edge_index must hold integers (int64 or int32), not {}.", what, describe(edge_index)));
  if (edge_index.numel() == 0) return;
  const int64_t lo = edge_index.min().item<int64_t>(), hi = edge_index.max().item<int64_t>();
  if (lo < 0 || hi >= num_nodes)
    throw ShapeError(fmt::format("{}: edge_index has node ids from {} to {}, but the graph has {} nodes (ids 0 to {}).",
                                 what, lo, hi, num_nodes, num_nodes - 1));
}

Tensor undirected(const Tensor& edge_index, int64_t num_nodes) {
  check_edge_index(edge_index, num_nodes, "undirected");
  return to_edge_index(symmetric_edges(edge_index));
}

Tensor gcn_adjacency(const Tensor& edge_index, int64_t num_nodes) {
  check_edge_index(edge_index, num_nodes, "gcn_adjacency");
  Edges edges = distinct_edges(edge_index);
  drop_self_loops(edges);
  for (int64_t i = 0; i < num_nodes; ++i) edges.emplace_back(i, i);
  std::sort(edges.begin(), edges.end());
  std::vector<double> degree(static_cast<std::size_t>(num_nodes), 0.0);
  for (const auto& [s, t] : edges) degree[static_cast<std::size_t>(s)] += 1.0;
  std::vector<float> values;
  values.reserve(edges.size());
  for (const auto& [s, t] : edges)
    values.push_back(static_cast<float>(1.0 / std::sqrt(degree[static_cast<std::size_t>(s)] * degree[static_cast<std::size_t>(t)])));
  return sparse(edges, values, num_nodes);
}

Tensor mean_adjacency(const Tensor& edge_index, int64_t num_nodes) {
  check_edge_index(edge_index, num_nodes, "mean_adjacency");
  Edges edges = distinct_edges(edge_index);
  drop_self_loops(edges);
  std::vector<double> degree(static_cast<std::size_t>(num_nodes), 0.0);
  for (const auto& [s, t] : edges) degree[static_cast<std::size_t>(s)] += 1.0;
  std::vector<float> values;
  values.reserve(edges.size());
  for (const auto& [s, t] : edges) values.push_back(static_cast<float>(1.0 / degree[static_cast<std::size_t>(s)]));
  return sparse(edges, values, num_nodes);
}

Tensor connected_components(const Tensor& edge_index, int64_t num_nodes) {
  check_edge_index(edge_index, num_nodes, "connected_components");
  std::vector<int64_t> parent(static_cast<std::size_t>(num_nodes));
  std::iota(parent.begin(), parent.end(), 0);
  const auto root = [&](int64_t x) {
    while (parent[static_cast<std::size_t>(x)] != x) {
      parent[static_cast<std::size_t>(x)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(x)])];
      x = parent[static_cast<std::size_t>(x)];
    }
    return x;
  };
  for (const auto& [s, t] : edge_list(edge_index)) {
    const int64_t a = root(s), b = root(t);
    if (a != b) parent[static_cast<std::size_t>(std::max(a, b))] = std::min(a, b);  // the root is the smallest id
  }
  std::vector<int64_t> size(static_cast<std::size_t>(num_nodes), 0);
  for (int64_t i = 0; i < num_nodes; ++i) ++size[static_cast<std::size_t>(root(i))];
  std::vector<int64_t> roots;
  for (int64_t i = 0; i < num_nodes; ++i)
    if (root(i) == i) roots.push_back(i);
  std::stable_sort(roots.begin(), roots.end(),
                   [&](int64_t a, int64_t b) { return size[static_cast<std::size_t>(a)] > size[static_cast<std::size_t>(b)]; });
  std::vector<int64_t> number(static_cast<std::size_t>(num_nodes), -1);
  for (std::size_t c = 0; c < roots.size(); ++c) number[static_cast<std::size_t>(roots[c])] = static_cast<int64_t>(c);
  Tensor out = at::empty({num_nodes}, at::kLong);
  int64_t* p = out.data_ptr<int64_t>();
  for (int64_t i = 0; i < num_nodes; ++i) p[i] = number[static_cast<std::size_t>(root(i))];
  return out;
}

Tensor induced_subgraph(const Tensor& edge_index, const Tensor& nodes, int64_t num_nodes) {
  check_edge_index(edge_index, num_nodes, "induced_subgraph");
  std::vector<int64_t> renumber(static_cast<std::size_t>(num_nodes), -1);
  const Tensor kept = nodes.to(at::kLong).contiguous();
  const int64_t* k = kept.data_ptr<int64_t>();
  for (int64_t i = 0; i < kept.numel(); ++i) {
    if (k[i] < 0 || k[i] >= num_nodes || renumber[static_cast<std::size_t>(k[i])] >= 0)
      throw ShapeError(fmt::format("induced_subgraph: node {} is out of range (0 to {}) or listed twice.", k[i], num_nodes - 1));
    renumber[static_cast<std::size_t>(k[i])] = i;
  }
  Edges out;
  for (const auto& [s, t] : edge_list(edge_index)) {
    const int64_t a = renumber[static_cast<std::size_t>(s)], b = renumber[static_cast<std::size_t>(t)];
    if (a >= 0 && b >= 0) out.emplace_back(a, b);
  }
  return to_edge_index(out);
}

GraphView graph_of(const Examples& examples, const std::string& component) {
  const auto x = examples.graph.find("x");
  const auto e = examples.graph.find("edge_index");
  if (x == examples.graph.end() || e == examples.graph.end() || !examples.fields.count("node"))
    throw ConfigError(fmt::format("{}: the samples are not nodes of a graph (it needs graph[\"x\"], graph[\"edge_index\"] "
                                  "and the field \"node\"); use a graph data set (wordnet_nouns, graph_npy).",
                                  component));
  GraphView g{x->second, e->second, examples.fields.at("node"), 0};
  if (g.x.dim() != 2 || g.x.scalar_type() != at::kFloat)
    throw ShapeError(fmt::format("{}: graph[\"x\"] must be [N, f] float32 node features, not {}.", component, describe(g.x)));
  g.num_nodes = g.x.size(0);
  check_edge_index(g.edge_index, g.num_nodes, component);
  if (g.nodes.dim() != 1 || g.nodes.scalar_type() != at::kLong)
    throw ShapeError(fmt::format("{}: field \"node\" must be [n] int64 node ids, not {}.", component, describe(g.nodes)));
  if (g.nodes.numel() > 0 && (g.nodes.min().item<int64_t>() < 0 || g.nodes.max().item<int64_t>() >= g.num_nodes))
    throw ShapeError(fmt::format("{}: field \"node\" has ids outside 0..{}.", component, g.num_nodes - 1));
  return g;
}

}  // namespace bridges
