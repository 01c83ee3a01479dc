#pragma once
// The bound on thread counts (no LibTorch: the front end checks --threads
// with it too).

#include <cstdint>

#include "bridges/export.hpp"

namespace bridges {

/// The largest thread count bridges accepts: 4 x the machine's cores. More
/// threads than cores only slow a compute-bound kernel down, and a typo such
/// as 100000 would start that many threads.
BRIDGES_API int max_threads();

/// `threads` as an int when it is at most max_threads() (0 and below mean
/// "every core" to the callers); throws ConfigError naming the bound.
BRIDGES_API int checked_thread_count(int64_t threads);

}  // namespace bridges
