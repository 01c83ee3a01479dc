// idx image and label files, plain or gzip-compressed.
#include "bridges/error.hpp"
#include "idx.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)bridges::read_idx(bridges::fuzz::input_file(data, size, "x-idx")).numel();
  } catch (const bridges::Error&) {
  }
  return 0;
}
