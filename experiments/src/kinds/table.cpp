// The experiment kinds a pipeline can run, in the order the reports show
// them. Adding a kind: one file in this folder (see stitching.cpp; list it
// in experiments/CMakeLists.txt) and one line here.
#include "experiment.hpp"

namespace bridges {

const Experiment& stitching_experiment();
const Experiment& ablation_experiment();
const Experiment& finetune_experiment();
const Experiment& latent_similarity_experiment();
const Experiment& reconstruction_experiment();

const std::vector<const Experiment*>& experiment_table() {
  static const std::vector<const Experiment*> table{
      &stitching_experiment(),
      &ablation_experiment(),
      &finetune_experiment(),
      &latent_similarity_experiment(),
      &reconstruction_experiment(),
  };
  return table;
}

}  // namespace bridges
