#pragma once
// Cooperative interruption: a signal handler requests it, long loops check it.

#include "bridges/error.hpp"
#include "bridges/export.hpp"

namespace bridges {

/// Thrown at the next check after an interruption was requested.
class BRIDGES_API Interrupted : public Error {
 public:
  using Error::Error;
};

/// Requests an interruption. Async-signal-safe: call it from a SIGINT handler.
BRIDGES_API void request_interrupt() noexcept;
/// Clears a request (for tests, or a program that goes on after one).
BRIDGES_API void clear_interrupt() noexcept;
BRIDGES_API bool interrupt_requested() noexcept;
/// Throws Interrupted when an interruption was requested. Progress::update
/// calls it, so every long step with progress stops promptly.
BRIDGES_API void throw_if_interrupted();

}  // namespace bridges
