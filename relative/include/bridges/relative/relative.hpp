#pragma once
// bridges::relative: relative projection and what it is built on (pairwise
// kernels, anchor selection), streaming projection of .npy files, latent
// similarity measures and the invariance check.
#include "bridges/relative/anchors.hpp"
#include "bridges/relative/invariance_check.hpp"
#include "bridges/relative/kernels.hpp"
#include "bridges/relative/latent_similarity.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/relative/streaming.hpp"
