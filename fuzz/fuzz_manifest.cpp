// Plugin manifests, read without loading any library.
#include "bridges/error.hpp"
#include "bridges/registry/manifest.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)bridges::read_manifest(bridges::fuzz::input_file(data, size, "x.plugin.json"));
  } catch (const bridges::Error&) {
  }
  return 0;
}
