// results.json as `bridges report` reads it: both reports of one run, and the
// comparison of several. Reading a field of the wrong type is a json
// exception, which the report command turns into a FormatError naming the
// file; what must never happen is a crash or undefined behaviour.
#include "bridges/error.hpp"
#include "bridges/util/io.hpp"
#include "bridges/experiments/report.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const nlohmann::json j =
        bridges::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "results.json");
    try {
      (void)bridges::markdown_report(j);
    } catch (const nlohmann::json::exception&) {
    }
    try {
      (void)bridges::html_report(j);
    } catch (const nlohmann::json::exception&) {
    }
    try {
      (void)bridges::latent_similarity_comparison({j, j});
    } catch (const nlohmann::json::exception&) {
    }
  } catch (const nlohmann::json::exception&) {
  } catch (const bridges::Error&) {
  }
  return 0;
}
