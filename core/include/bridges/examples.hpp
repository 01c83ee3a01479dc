#pragma once
// A batch of samples of any modality.

#include <map>
#include <string>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/tensor.hpp"

namespace bridges {

/// Samples of one dataset split, for every modality:
/// - vision: fields["image"] [n, c, h, w] float32;
/// - tabular or precomputed latents: fields["x"] [n, f];
/// - text: `texts` (raw UTF-8, one per sample) and optionally token fields;
/// - graphs: samples are nodes, fields["node"] [n] int64 their ids, and the
///   whole graph travels in `graph` (graph["x"] [N, f] node features,
///   graph["edge_index"] [2, E] int64; see graph.hpp).
/// `labels` [n] int64 (-1 where unknown) and `indices` [n] int64 (the row of
/// each sample in its split) travel with the samples, so a subset remembers
/// where it came from; `split` and `split_size` name that split and its full
/// size (an encoder of precomputed latents checks its file against them).
struct BRIDGES_API Examples {
  std::map<std::string, Tensor> fields;  ///< per-sample tensors, first dim n
  std::map<std::string, Tensor> graph;   ///< graph-level tensors, not indexed by sample
  std::vector<std::string> texts;        ///< raw texts, empty or of size n
  Tensor labels;                         ///< [n] int64
  Tensor indices;                        ///< [n] int64
  std::string split;                     ///< "train", "test", ... ("" when unknown)
  int64_t split_size = -1;               ///< samples in the whole split (-1 when unknown)

  /// Number of samples n (from labels, indices, texts or any field).
  int64_t size() const;

  /// fields[name]; throws ConfigError naming the fields that exist.
  const Tensor& field(const std::string& name) const;

  /// The samples at `rows` ([m] int64, positions in this batch), in that
  /// order: per-sample fields, texts, labels and indices are indexed; graph
  /// tensors are kept as they are.
  Examples select(const Tensor& rows) const;

  /// Throws ShapeError when the per-sample parts disagree on n.
  void validate() const;
};

}  // namespace bridges
