// WordNet's data.noun reader of the wordnet_nouns data set, compiled from the
// plugin's own source so its internal reader can be called directly.
#include "../plugins/graph_data/datasets.cpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto synsets = graph_data::read_data_noun(bridges::fuzz::input_file(data, size, "data.noun"));
    (void)synsets.edges.size();
  } catch (const bridges::Error&) {
  }
  return 0;
}
