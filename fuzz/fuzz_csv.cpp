// The text_csv data set's CSV reader (RFC 4180 quoting), compiled from the
// plugin's own source so its internal reader can be called directly.
#include "../plugins/text_data/datasets.cpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char delimiter = static_cast<char>(data[0]);  // the first byte picks the delimiter
  try {
    text_data::CsvReader csv(bridges::fuzz::input_file(data + 1, size - 1, "x.csv"), delimiter);
    std::vector<std::string> fields;
    for (int records = 0; records < 100000 && csv.next(fields); ++records) (void)csv.line();
  } catch (const bridges::Error&) {
  }
  return 0;
}
