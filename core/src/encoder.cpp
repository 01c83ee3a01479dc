// The Encoder interface's defaults: an encoder that is not trainable, has
// no state or no end-to-end task says so when asked.
#include "bridges/encoder.hpp"

#include <fmt/format.h>

#include "bridges/error.hpp"

namespace bridges {

void Encoder::fit(const Examples&) {
  throw NotImplemented(fmt::format("encoder/{}: fit (this encoder is not trainable)", type()));
}

void Encoder::save(std::ostream&) const {
  throw NotImplemented(fmt::format("encoder/{}: save (this encoder has no trained state)", type()));
}

void Encoder::load(std::istream&) {
  throw NotImplemented(fmt::format("encoder/{}: load (this encoder has no trained state)", type()));
}

nlohmann::json Encoder::quality(const Examples&) {
  throw NotImplemented(fmt::format("encoder/{}: quality (this encoder has no end-to-end task)", type()));
}

}  // namespace bridges
