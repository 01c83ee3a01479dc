// Every word-vector format: the binary form, wink JSON, GloVe .txt / fastText .vec.
#include "bridges/error.hpp"
#include "bridges/text/word_vectors.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const bridges::WordVectors v = bridges::read_word_vectors(bridges::fuzz::input_file(data, size, "vectors"));
    (void)v;
  } catch (const bridges::Error&) {
  }
  return 0;
}
