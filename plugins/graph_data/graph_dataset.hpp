#pragma once
// What every graph data set of this plugin shares: lazy loading, keeping the
// largest connected component, a seeded subgraph of N nodes, and seeded
// stratified train/val/test node sets. Samples are nodes; every split
// carries the whole graph (see bridges/graph.hpp).

#include <bridges/sdk/plugin.hpp>

#include <optional>
#include <string>
#include <vector>

namespace graph_data {

using bridges::Tensor;
using nlohmann::json;

/// A whole graph as its source describes it.
struct Graph {
  Tensor x;           ///< [N, f] float32, dense or sparse COO
  Tensor edge_index;  ///< [2, E] int64, both directions of every edge
  Tensor labels;      ///< [N] int64, -1 where unknown
  std::vector<std::string> class_names;
  /// The split of every node when the source defines one ([N] int64: 0
  /// train, 1 val, 2 test, -1 none); undefined to draw a seeded split.
  Tensor split_of;
};

/// The options every graph data set has (named like the manifest's).
struct Sampling {
  std::string component;
  std::optional<int64_t> nodes;
  uint64_t subgraph_seed;
  double val_fraction, test_fraction;
  uint64_t split_seed;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Sampling, component, nodes, subgraph_seed, val_fraction, test_fraction, split_seed)

class GraphDataset : public bridges::sdk::Family<bridges::Dataset, Sampling> {
 public:
  bridges::Examples split(const std::string& name) override;
  bridges::DatasetInfo info() const override;

 protected:
  /// The graph as the source has it.
  virtual Graph load() const = 0;

 private:
  /// load(), then the component and subgraph options, then the split.
  const Graph& graph() const;
  mutable std::optional<Graph> graph_;
};

/// A data set with its typed Options, which extend Sampling.
template <class Options>
using Model = bridges::sdk::Member<GraphDataset, Options>;

/// The nodes of a seeded "snowball" sample: breadth-first search from
/// max(1, count / 100) random start nodes at once, neighbours in random
/// order, a new random start whenever the search runs dry. Local structure
/// survives (a node keeps most of its neighbours), unlike a uniform sample
/// of nodes. Sorted ids, [min(count, N)] int64.
Tensor snowball_sample(const Tensor& edge_index, int64_t num_nodes, int64_t count, uint64_t seed);

/// The subgraph of `g` on `nodes` (sorted distinct ids), renumbered.
Graph subgraph(const Graph& g, const Tensor& nodes);

}  // namespace graph_data
