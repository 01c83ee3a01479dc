#include "bridges/util/thread_count.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "bridges/error.hpp"

namespace bridges {

int max_threads() { return 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

int checked_thread_count(int64_t threads) {
  if (threads > max_threads())
    throw ConfigError(fmt::format("threads: at most {} (4 x the {} cores of this machine), found {}. Use 0 for one "
                                  "thread per core.",
                                  max_threads(), max_threads() / 4, threads));
  return static_cast<int>(threads);
}

}  // namespace bridges
