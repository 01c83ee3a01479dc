#pragma once
// A source of labelled samples.

#include <string>
#include <vector>

#include "bridges/component.hpp"
#include "bridges/examples.hpp"

namespace bridges {

enum class Modality { vision, text, graph, embeddings };
BRIDGES_API std::string_view to_string(Modality modality);

/// A per-sample field a dataset provides: name, dtype and shape without the
/// sample dimension ("image", "float32", {1, 28, 28}).
struct BRIDGES_API FieldInfo {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
};

struct BRIDGES_API DatasetInfo {
  Modality modality = Modality::vision;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  ///< empty or of size num_classes
  std::vector<FieldInfo> fields;
  std::vector<std::string> splits;       ///< e.g. {"train", "test"}
};

/// Example:
///   auto data = source.make<bridges::Dataset>("fashion_mnist");
///   bridges::Examples train = data->split("train");
class BRIDGES_API Dataset : public Component {
 public:
  static constexpr ComponentKind kind = ComponentKind::dataset;

  /// The samples of split `name` (one of info().splits). Throws
  /// UnknownNameError for another name.
  virtual Examples split(const std::string& name) = 0;

  virtual DatasetInfo info() const = 0;
};

}  // namespace bridges
