#pragma once
// Graph utilities that graph data sets and graph encoders share.
//
// A graph travels in `Examples::graph`: graph["x"] [N, f] float32 node
// features (dense, or sparse COO for bags of words) and graph["edge_index"]
// [2, E] int64, every undirected edge listed in both directions. Samples are
// nodes: fields["node"] [n] int64 holds each sample's node id. Encoders see
// the whole graph (transductive), so a subset of nodes keeps its neighbours.

#include <cstdint>
#include <memory>

#include "bridges/examples.hpp"
#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// Throws ShapeError unless `edge_index` is [2, E] int64 with every id in
/// [0, num_nodes); `what` names the source in the message.
BRIDGES_API void check_edge_index(const Tensor& edge_index, int64_t num_nodes, const std::string& what);

/// Both directions of every edge, without self loops or duplicates, sorted
/// by (source, target): [2, E'] int64.
BRIDGES_API Tensor undirected(const Tensor& edge_index, int64_t num_nodes);

/// GCN propagation D^-1/2 (A + I) D^-1/2, a coalesced sparse COO [N, N]
/// float32, where A has a 1 for every listed edge (duplicates and listed self
/// loops are counted once) and D is the degree of A + I.
BRIDGES_API Tensor gcn_adjacency(const Tensor& edge_index, int64_t num_nodes);

/// GraphSAGE mean aggregation D^-1 A, a coalesced sparse COO [N, N] float32:
/// row i averages node i's neighbours (a node without any gets zeros).
BRIDGES_API Tensor mean_adjacency(const Tensor& edge_index, int64_t num_nodes);

/// The connected component of every node, [N] int64, numbered by size:
/// 0 is the largest (ties: the one holding the smaller node id).
BRIDGES_API Tensor connected_components(const Tensor& edge_index, int64_t num_nodes);

/// The edges among `nodes` ([m] int64, distinct ids), renumbered so that
/// nodes[i] becomes i.
BRIDGES_API Tensor induced_subgraph(const Tensor& edge_index, const Tensor& nodes, int64_t num_nodes);

/// A sparse matrix in compressed rows, with its transpose, for products
/// with dense matrices that autograd can differentiate. LibTorch 1.13's
/// sparse COO and CSR products run on one thread and were measured 10-20x
/// slower than this on WordNet's noun graph (bench/bench_graph).
///
/// Example:
///   const bridges::SparseRows a(bridges::gcn_adjacency(edge_index, n));
///   Tensor h = a.times(x.matmul(w));   // gradients flow back to w
class BRIDGES_API SparseRows {
 public:
  SparseRows() = default;
  /// From a sparse COO [n, m] matrix (coalesced or not; float32).
  explicit SparseRows(const Tensor& coo);
  int64_t rows() const;
  int64_t cols() const;
  /// this [n, m] @ dense [m, h] -> [n, h] float32, differentiable with
  /// respect to `dense` (its gradient is this^T @ grad).
  Tensor times(const Tensor& dense) const;

  struct Csr;

 private:
  std::shared_ptr<const Csr> a_, transpose_;
};

/// The graph of `examples` checked: graph["x"] [N, f] float32 (dense or
/// sparse), graph["edge_index"] [2, E] with ids below N, fields["node"] [n]
/// with ids below N. Throws ConfigError (no graph: names `component`) or
/// ShapeError.
struct GraphView {
  Tensor x, edge_index, nodes;
  int64_t num_nodes = 0;
};
BRIDGES_API GraphView graph_of(const Examples& examples, const std::string& component);

}  // namespace bridges
