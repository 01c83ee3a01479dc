#pragma once
// bridges::experiments: stitching, pipelines and their runner, reports, and
// the encoder cache (with the Aggregator interface the decoders take).
#include "bridges/aggregator.hpp"
#include "bridges/experiments/adam.hpp"
#include "bridges/experiments/claims.hpp"
#include "bridges/experiments/encoder_cache.hpp"
#include "bridges/experiments/fingerprint.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/experiments/report.hpp"
#include "bridges/experiments/runner.hpp"
#include "bridges/experiments/stitching.hpp"
#include "bridges/experiments/stitching_matrix.hpp"
