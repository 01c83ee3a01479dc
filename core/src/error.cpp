#include "bridges/error.hpp"

namespace bridges {

// Out of line so that Error's type_info and vtable live in libbridges_core
// only: exceptions thrown in a plugin are caught by type in the host.
Error::~Error() = default;

}  // namespace bridges
