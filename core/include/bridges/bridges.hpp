#pragma once
// The bridges contract (bridges::core): the component interfaces a plugin
// implements and a host program calls, their options, invariances, errors
// and the tensor helpers. aggregator.hpp (which pulls in torch::nn) is left
// out; include it where needed. The other libraries have their own umbrella:
//   <bridges/formats/formats.hpp>          .npy files
//   <bridges/relative/relative.hpp>        relative projection, kernels, anchors, measures
//   <bridges/text/text.hpp>                tokenizer, word vectors
//   <bridges/graph/graph.hpp>              graph utilities
//   <bridges/experiments/experiments.hpp>  stitching, pipelines, runner, report

#include "bridges/build_info.hpp"
#include "bridges/component.hpp"
#include "bridges/component_source.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/error.hpp"
#include "bridges/examples.hpp"
#include "bridges/invariance.hpp"
#include "bridges/measure.hpp"
#include "bridges/options.hpp"
#include "bridges/similarity.hpp"
#include "bridges/tensor.hpp"
#include "bridges/translator.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/io.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/util/paths.hpp"
#include "bridges/util/progress.hpp"
#include "bridges/util/random.hpp"
#include "bridges/util/runtime.hpp"
#include "bridges/util/subsets.hpp"
