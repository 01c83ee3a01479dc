// Out-of-line parts of the Dataset interface.
#include "bridges/dataset.hpp"

namespace bridges {

std::string_view to_string(Modality modality) {
  switch (modality) {
    case Modality::vision: return "vision";
    case Modality::text: return "text";
    case Modality::graph: return "graph";
    case Modality::embeddings: return "embeddings";
  }
  return "unknown";
}

}  // namespace bridges
