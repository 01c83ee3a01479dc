#pragma once
// What every trained encoder plugin shares: the seeded epoch loop with its
// progress bar, and its weights saved with bridges metadata. Include it in
// the .cpp that already includes <torch/torch.h>.
//
// Example (in an Encoder):
//   std::mt19937_64 rng(seed);
//   bridges::sdk::train_epochs(type(), n, epochs, batch, rng, "img", [&](const Tensor& rows) {
//     optimizer.zero_grad();
//     Tensor loss = ...;  // on the batch at `rows`
//     loss.backward();
//     optimizer.step();
//     return loss.item<double>();
//   });
//   bridges::sdk::save_module(net_, {{"encoder", to_json()}, ...}, out);

#include <torch/torch.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <istream>
#include <ostream>
#include <random>
#include <string>

#include "bridges/error.hpp"
#include "bridges/util/progress.hpp"
#include "bridges/util/random.hpp"

namespace bridges::sdk {

/// `epochs` passes over n samples, each in a fresh random order drawn from
/// `rng`, in batches of at most `batch` rows. `step(rows)` trains on the
/// samples at `rows` ([b] int64) and returns their mean loss. A progress bar
/// "<what> epoch e/E" counts `unit`s and shows the running mean loss.
inline void train_epochs(const std::string& what, int64_t n, int64_t epochs, int64_t batch, std::mt19937_64& rng,
                         const std::string& unit, const std::function<double(const Tensor& rows)>& step) {
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    Progress progress(fmt::format("{} epoch {}/{}", what, epoch + 1, epochs), n, unit);
    const Tensor order = permutation(n, rng);
    double loss_sum = 0;
    int64_t seen = 0;
    for (int64_t begin = 0; begin < n; begin += batch) {
      const Tensor rows = order.narrow(0, begin, std::min(batch, n - begin));
      loss_sum += step(rows) * static_cast<double>(rows.size(0));
      seen += rows.size(0);
      progress.update(seen, {{"loss", loss_sum / static_cast<double>(seen)}});
    }
    progress.finish({{"loss", loss_sum / static_cast<double>(seen)}});
  }
}

/// Writes `net`'s parameters and buffers, and `meta` (which should hold
/// {"encoder": to_json()}) under "bridges_meta".
inline void save_module(const torch::nn::Module& net, const nlohmann::json& meta, std::ostream& out) {
  torch::serialize::OutputArchive archive;
  net.save(archive);
  archive.write("bridges_meta", c10::IValue(meta.dump()));
  archive.save_to(out);
}

/// Reads what save_module wrote into `archive` and returns its metadata,
/// checked to describe the encoder `spec` (of type `type`). The caller
/// rebuilds its module from the metadata, then calls net.load(archive).
inline nlohmann::json load_module_meta(std::istream& in, torch::serialize::InputArchive& archive,
                                       const nlohmann::json& spec, const std::string& type) {
  archive.load_from(in);
  c10::IValue value;
  if (!archive.try_read("bridges_meta", value) || !value.isString())
    throw FormatError(fmt::format("encoder/{}: the saved state has no bridges metadata.", type));
  nlohmann::json meta = nlohmann::json::parse(value.toStringRef());
  if (meta.at("encoder") != spec)
    throw ConfigError(fmt::format("encoder/{}: the saved state is of {}, not of {}.", type, meta.at("encoder").dump(),
                                  spec.dump()));
  return meta;
}

}  // namespace bridges::sdk
