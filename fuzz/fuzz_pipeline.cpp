// Pipelines, ${ENV} expansion included, validated against the shipped
// plugins' manifests (no plugin is loaded: parsing never makes components).
#include <cstdlib>

#include "bridges/component_source.hpp"
#include "bridges/error.hpp"
#include "bridges/experiments/pipeline.hpp"
#include "bridges/registry/manifest.hpp"
#include "fuzz_support.hpp"

namespace {

// The components of every manifest under plugins/, as the registry lists them.
class ManifestSource final : public bridges::ComponentSource {
 public:
  ManifestSource() {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(BRIDGES_SOURCE_DIR "/plugins"))
      if (entry.path().filename().string().find(bridges::kManifestSuffix) != std::string::npos)
        for (auto& info : bridges::read_manifest(entry.path()).provides) infos_.push_back(std::move(info));
  }
  std::vector<bridges::ComponentInfo> components() const override { return infos_; }
  std::shared_ptr<bridges::Component> create(bridges::ComponentKind, std::string_view name,
                                             const nlohmann::json&) override {
    throw bridges::NotImplemented(std::string(name) + ": not made while fuzzing");
  }

 private:
  std::vector<bridges::ComponentInfo> infos_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ManifestSource source;
  static const int env = setenv("BRIDGES_FUZZ_DIR", "/tmp/${NOT_EXPANDED_TWICE}", 1);
  (void)env;
  try {
    const bridges::Pipeline p = bridges::Pipeline::load(bridges::fuzz::input_file(data, size, "p.json"), source);
    (void)p.to_json().dump();
  } catch (const bridges::Error&) {
  }
  return 0;
}
