// Every input in fuzz/corpus (the seeds, and each input a fuzz target found a
// fault with, named regression-*) goes through the entry points its target
// calls. A parser may refuse an input only with a bridges::Error; under the
// asan preset this also replays each memory fault the fuzzers found.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>

#include "bridges/component_source.hpp"
#include "bridges/error.hpp"
#include "idx.hpp"
#include "bridges/util/io.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/registry/manifest.hpp"
#include "bridges/experiments/report.hpp"
#include "bridges/text/word_vectors.hpp"
#include "testing.hpp"

using namespace bridges;
namespace fs = std::filesystem;

TEST_CASE("every fuzz corpus input is parsed or refused with a bridges error") {
  InProcessSource source;
  const std::map<std::string, std::function<void(const fs::path&)>> targets{
      {"npy",
       [](const fs::path& f) {
         try {
           (void)read_npy(f);
         } catch (const Error&) {
         }
         const MappedNpy mapped(f);
         if (mapped.rows() > 0) (void)mapped.slice(0, std::min<int64_t>(mapped.rows(), 3));
       }},
      {"idx", [](const fs::path& f) { (void)read_idx(f); }},
      {"word_vectors", [](const fs::path& f) { (void)read_word_vectors(f); }},
      {"manifest", [](const fs::path& f) { (void)read_manifest(f); }},
      {"pipeline", [&](const fs::path& f) { (void)Pipeline::load(f, source); }},
      {"results",
       [](const fs::path& f) {
         const nlohmann::json j = parse_json(read_text(f), f.string());
         for (const auto& render : std::vector<std::function<void()>>{
                  [&] { (void)markdown_report(j); }, [&] { (void)html_report(j); },
                  [&] { (void)latent_similarity_comparison({j, j}); }}) {
           try {
             render();
           } catch (const nlohmann::json::exception&) {  // `bridges report` names the file for these
           }
         }
       }},
  };
  int inputs = 0, regressions = 0;
  for (const auto& [target, parse] : targets) {
    for (const auto& entry : fs::directory_iterator(fs::path(BRIDGES_TEST_SOURCE_DIR) / "fuzz" / "corpus" / target)) {
      CAPTURE(entry.path().string());
      ++inputs;
      regressions += entry.path().filename().string().rfind("regression-", 0) == 0;
      try {
        parse(entry.path());
      } catch (const Error&) {
      } catch (const std::exception& e) {
        FAIL_CHECK("not a bridges::Error: " << e.what());
      }
    }
  }
  CHECK(inputs > 20);
  CHECK(regressions >= 8);
}
