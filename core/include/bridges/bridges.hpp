#pragma once
// Everything a host program needs to use the bridges core, except
// aggregator.hpp (which pulls in torch::nn; include it where needed).

#include "bridges/anchors.hpp"
#include "bridges/build_info.hpp"
#include "bridges/component.hpp"
#include "bridges/component_source.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/error.hpp"
#include "bridges/examples.hpp"
#include "bridges/invariance.hpp"
#include "bridges/invariance_check.hpp"
#include "bridges/io.hpp"
#include "bridges/kernels.hpp"
#include "bridges/npy.hpp"
#include "bridges/options.hpp"
#include "bridges/projector.hpp"
#include "bridges/similarity.hpp"
#include "bridges/tensor.hpp"
#include "bridges/text.hpp"
