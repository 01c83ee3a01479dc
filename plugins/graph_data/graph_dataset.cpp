#include "graph_dataset.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <bridges/graph/graph.hpp>
#include <bridges/util/random.hpp>
#include <bridges/util/subsets.hpp>
#include <bridges/util/messages.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <random>

namespace graph_data {

namespace {

const std::vector<std::string> kSplits = {"train", "val", "test"};

// Row positions `rows` of `subset` mapped back to the ids they hold.
Tensor ids_at(const Tensor& subset, const Tensor& rows) { return subset.index_select(0, rows); }

// Node ids per split, [N] int64 codes (0 train, 1 val, 2 test, -1 none):
// the labelled nodes split stratified by label, seeded.
Tensor draw_split(const Tensor& labels, double val_fraction, double test_fraction, uint64_t seed, const std::string& who) {
  const int64_t n = labels.size(0);
  Tensor code = at::full({n}, -1, at::kLong);
  const Tensor labelled = labels.ge(0).nonzero().flatten();
  const int64_t m = labelled.size(0);
  const auto test_count = static_cast<int64_t>(std::llround(test_fraction * static_cast<double>(m)));
  const auto val_count = static_cast<int64_t>(std::llround(val_fraction * static_cast<double>(m)));
  if (m < 3 || test_count < 1 || test_count + val_count >= m)
    throw bridges::ConfigError(fmt::format("{}: {} labelled nodes cannot be split into test_fraction {} and val_fraction "
                                           "{} with training nodes left; lower the fractions or use more nodes.",
                                           who, m, test_fraction, val_fraction));
  const auto [rest, test] = bridges::stratified_split(labels.index_select(0, labelled), test_count, seed);
  code.index_fill_(0, ids_at(labelled, test), 2);
  const Tensor rest_ids = ids_at(labelled, rest);
  code.index_fill_(0, rest_ids, 0);
  if (val_count > 0) {
    const auto [train, val] = bridges::stratified_split(labels.index_select(0, rest_ids), val_count, seed + 1);
    code.index_fill_(0, ids_at(rest_ids, val), 1);
  }
  return code;
}

}  // namespace

Tensor snowball_sample(const Tensor& edge_index, int64_t num_nodes, int64_t count, uint64_t seed) {
  count = std::min(count, num_nodes);
  // Neighbour lists (CSR) of the listed edges.
  const Tensor e = edge_index.to(at::kLong).contiguous();
  const int64_t m = e.size(1);
  const int64_t* src = e.data_ptr<int64_t>();
  const int64_t* dst = src + m;
  std::vector<int64_t> start(static_cast<std::size_t>(num_nodes) + 1, 0), neighbours(static_cast<std::size_t>(m));
  for (int64_t i = 0; i < m; ++i) ++start[static_cast<std::size_t>(src[i]) + 1];
  for (std::size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < m; ++i) neighbours[static_cast<std::size_t>(fill[static_cast<std::size_t>(src[i])]++)] = dst[i];

  std::mt19937_64 rng(seed);
  const Tensor order = bridges::permutation(num_nodes, rng);
  const int64_t* next_start = order.data_ptr<int64_t>();
  int64_t starts_used = 0, taken = 0;
  std::vector<char> in(static_cast<std::size_t>(num_nodes), 0);
  std::deque<int64_t> queue;
  const auto take = [&](int64_t v) {
    in[static_cast<std::size_t>(v)] = 1;
    ++taken;
    queue.push_back(v);
  };
  const auto new_start = [&] {
    while (starts_used < num_nodes && in[static_cast<std::size_t>(next_start[starts_used])]) ++starts_used;
    if (starts_used < num_nodes) take(next_start[starts_used++]);
  };
  for (int64_t s = 0; s < std::max<int64_t>(1, count / 100) && taken < count; ++s) new_start();
  while (taken < count) {
    if (queue.empty()) {
      new_start();
      continue;
    }
    const int64_t v = queue.front();
    queue.pop_front();
    std::vector<int64_t> around(neighbours.begin() + start[static_cast<std::size_t>(v)],
                                neighbours.begin() + start[static_cast<std::size_t>(v) + 1]);
    std::shuffle(around.begin(), around.end(), rng);
    for (const int64_t w : around) {
      if (taken >= count) break;
      if (!in[static_cast<std::size_t>(w)]) take(w);
    }
  }
  return at::from_blob(in.data(), {num_nodes}, at::kChar).nonzero().flatten();
}

Graph subgraph(const Graph& g, const Tensor& nodes) {
  Graph out;
  out.x = g.x.index_select(0, nodes);
  if (out.x.is_sparse()) out.x = out.x.coalesce();
  out.edge_index = bridges::induced_subgraph(g.edge_index, nodes, g.x.size(0));
  out.labels = g.labels.index_select(0, nodes);
  out.class_names = g.class_names;
  if (g.split_of.defined()) out.split_of = g.split_of.index_select(0, nodes);
  return out;
}

const Graph& GraphDataset::graph() const {
  if (graph_) return *graph_;
  Graph g = load();
  const std::string who = fmt::format("dataset/{}", type());
  const Sampling& o = shared_options();
  if (o.component == "largest") {
    const Tensor component = bridges::connected_components(g.edge_index, g.x.size(0));
    if (component.numel() > 0 && component.max().item<int64_t>() > 0)
      g = subgraph(g, component.eq(0).nonzero().flatten());
  }
  if (o.nodes && *o.nodes < g.x.size(0)) g = subgraph(g, snowball_sample(g.edge_index, g.x.size(0), *o.nodes, o.subgraph_seed));
  if (!g.split_of.defined())
    g.split_of = draw_split(g.labels, o.val_fraction, o.test_fraction, o.split_seed, who);
  graph_ = std::move(g);
  return *graph_;
}

bridges::Examples GraphDataset::split(const std::string& name) {
  const auto it = std::find(kSplits.begin(), kSplits.end(), name);
  if (it == kSplits.end()) bridges::throw_unknown_name(fmt::format("split of dataset/{}", type()), name, kSplits);
  const Graph& g = graph();
  const Tensor nodes = g.split_of.eq(it - kSplits.begin()).nonzero().flatten();
  bridges::Examples out;
  out.fields["node"] = nodes;
  out.labels = g.labels.index_select(0, nodes);
  out.indices = at::arange(nodes.size(0), at::kLong);
  out.graph = {{"x", g.x}, {"edge_index", g.edge_index}};
  out.split = name;
  out.split_size = nodes.size(0);
  return out;
}

bridges::DatasetInfo GraphDataset::info() const {
  const Graph& g = graph();
  bridges::DatasetInfo info;
  info.modality = bridges::Modality::graph;
  info.class_names = g.class_names;
  info.num_classes = static_cast<int64_t>(g.class_names.size());
  info.fields = {{"node", "int64", {}}};
  info.splits = kSplits;
  return info;
}

}  // namespace graph_data
