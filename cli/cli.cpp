#include "cli.hpp"

#include <iostream>

namespace bridges::cli {

Registry& Context::registry() {
  if (!registry_) {
    registry_ = std::make_shared<Registry>(search_path());
    for (const auto& warning : registry_->warnings()) std::cerr << "warning: " << warning << '\n';
  }
  return *registry_;
}

}  // namespace bridges::cli
