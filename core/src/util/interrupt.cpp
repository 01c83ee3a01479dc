#include "bridges/util/interrupt.hpp"

#include <atomic>

namespace bridges {

namespace {
// Lock-free, so that setting it from a signal handler is safe.
std::atomic<bool> requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);
}  // namespace

void request_interrupt() noexcept { requested.store(true); }
void clear_interrupt() noexcept { requested.store(false); }
bool interrupt_requested() noexcept { return requested.load(); }

void throw_if_interrupted() {
  if (requested.load()) throw Interrupted("interrupted: the files written so far are complete; run again to resume from the caches.");
}

}  // namespace bridges
