#include "bridges/examples.hpp"

#include <ATen/ops/index_select.h>
#include <fmt/format.h>

#include "bridges/error.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

int64_t Examples::size() const {
  if (labels.defined()) return labels.size(0);
  if (indices.defined()) return indices.size(0);
  if (!texts.empty()) return static_cast<int64_t>(texts.size());
  for (const auto& [name, t] : fields)
    if (t.defined() && t.dim() > 0) return t.size(0);
  return 0;
}

const Tensor& Examples::field(const std::string& name) const {
  auto it = fields.find(name);
  if (it == fields.end()) {
    std::vector<std::string> names;
    for (const auto& [n, t] : fields) names.push_back(n);
    throw ConfigError(fmt::format("these examples have no field '{}'.{} Fields: {}.", name,
                                  did_you_mean(name, names), join(names)));
  }
  return it->second;
}

void Examples::validate() const {
  const int64_t n = size();
  const auto check = [&](const Tensor& t, std::string_view what) {
    if (t.defined() && (t.dim() == 0 || t.size(0) != n))
      throw ShapeError(fmt::format("examples: {} is {}, expected first dimension {} (the number of samples).",
                                   what, describe(t), n));
  };
  check(labels, "labels");
  check(indices, "indices");
  for (const auto& [name, t] : fields) check(t, fmt::format("field '{}'", name));
  if (!texts.empty() && static_cast<int64_t>(texts.size()) != n)
    throw ShapeError(fmt::format("examples: {} texts for {} samples.", texts.size(), n));
}

Examples Examples::select(const Tensor& rows) const {
  validate();
  if (!rows.defined() || rows.dim() != 1 || rows.scalar_type() != at::kLong)
    throw ShapeError(fmt::format("examples: rows to select must be [m] int64, found {}.", describe(rows)));
  const Tensor idx = rows.contiguous();
  const int64_t n = size();
  const int64_t* p = idx.data_ptr<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i)
    if (p[i] < 0 || p[i] >= n)
      throw ShapeError(fmt::format("examples: row {} out of range for {} samples.", p[i], n));

  Examples out;
  out.graph = graph;
  out.split = split;
  out.split_size = split_size;
  for (const auto& [name, t] : fields) out.fields[name] = at::index_select(t, 0, idx);
  if (labels.defined()) out.labels = at::index_select(labels, 0, idx);
  if (indices.defined()) out.indices = at::index_select(indices, 0, idx);
  if (!texts.empty()) {
    out.texts.reserve(static_cast<std::size_t>(idx.numel()));
    for (int64_t i = 0; i < idx.numel(); ++i) out.texts.push_back(texts[static_cast<std::size_t>(p[i])]);
  }
  return out;
}

}  // namespace bridges
