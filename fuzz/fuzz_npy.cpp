// .npy headers and data: read whole, inspected, mapped and sliced.
#include <algorithm>

#include "bridges/error.hpp"
#include "bridges/formats/npy.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = bridges::fuzz::input_file(data, size, "x.npy");
  try {
    const bridges::Tensor t = bridges::read_npy(file);
    (void)t.numel();
  } catch (const bridges::Error&) {
  }
  try {
    const bridges::NpyHeader h = bridges::inspect_npy(file);
    (void)h;
    const bridges::MappedNpy mapped(file);
    if (mapped.rows() > 0) (void)mapped.slice(0, std::min<int64_t>(mapped.rows(), 3)).sum();
  } catch (const bridges::Error&) {
  }
  return 0;
}
