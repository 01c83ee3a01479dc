// bridges encode: train an encoder (or load it from the cache), report its
// quality, and write the latents of a split.
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/experiments/encoder_cache.hpp"
#include "bridges/error.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/util/paths.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

using nlohmann::json;

struct EncodeOptions {
  std::string dataset = "fashion_mnist", encoder = "cnn", split = "test";
  std::string out, cache;
  bool no_cache = false, json_output = false;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run(Context& context, const EncodeOptions& o) {
  auto dataset = make_component<Dataset>(context, o.dataset, "--dataset");
  auto encoder = make_component<Encoder>(context, o.encoder, "--encoder");
  json summary{{"dataset", dataset->to_json()}, {"encoder", encoder->to_json()}};

  if (encoder->trainable()) {
    const Examples train = dataset->split("train");
    const auto start = std::chrono::steady_clock::now();
    if (o.no_cache) {
      encoder->fit(train);
      summary["training"] = {{"trained", true}, {"seconds", seconds_since(start)}};
    } else {
      const auto folder = o.cache.empty() ? cache_dir() / "encoders" : std::filesystem::path(o.cache);
      const CachedFit fit = fit_cached(*encoder, train, folder);
      if (!fit.warning.empty()) std::cerr << "warning: " << fit.warning << '\n';
      summary["training"] = {{"trained", fit.trained}, {"seconds", seconds_since(start)}, {"cache_file", fit.file.string()}};
    }
    if (!o.json_output)
      std::cout << fmt::format("{} {} ({:.1f} s): {}\n", encoder->type(),
                               summary["training"]["trained"] ? "trained" : "loaded from the cache",
                               summary["training"]["seconds"].get<double>(),
                               summary["training"].value("cache_file", std::string("not cached")));
  }

  const Examples examples = dataset->split(o.split);
  try {
    summary["quality"] = encoder->quality(examples);
    if (!o.json_output)
      for (const auto& [name, value] : summary["quality"].items())
        std::cout << fmt::format("{} on {} ({} samples): {:.4f}\n", name, o.split, examples.size(), value.get<double>());
  } catch (const NotImplemented&) {
    // an encoder without an end-to-end task (precomputed latents, TorchScript)
  }

  const auto start = std::chrono::steady_clock::now();
  const Tensor z = encoder->encode(examples);
  summary["encode"] = {{"split", o.split}, {"shape", z.sizes().vec()}, {"seconds", seconds_since(start)}};
  if (!o.out.empty()) {
    write_npy(o.out, z);
    summary["encode"]["file"] = o.out;
  }
  if (o.json_output) {
    std::cout << summary.dump(2) << '\n';
    return;
  }
  std::cout << fmt::format("encoded {} {} in {:.2f} s{}\n", o.split, describe(z), summary["encode"]["seconds"].get<double>(),
                           o.out.empty() ? "" : " -> " + o.out);
}

}  // namespace

void add_encode_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<EncodeOptions>();
  auto* cmd = app.add_subcommand("encode", description_of("encode"));
  cmd->footer(
      "A trainable encoder is trained on the data set's train split, or loaded from the cache when the same\n"
      "encoder (type and every option, seed included) was trained on the same data before. The cache is\n"
      "$BRIDGES_CACHE/encoders (default ~/.cache/bridges/cache/encoders). Its quality (accuracy or\n"
      "reconstruction MSE) is measured on --split, which is then encoded.\n\n"
      "Example:\n"
      "  bridges encode --dataset fashion_mnist --encoder '{\"type\": \"cnn\", \"seed\": 1}' --out z.npy");
  cmd->add_option("--dataset,-d", o->dataset, "data set: a name or a JSON spec")->capture_default_str();
  cmd->add_option("--encoder,-e", o->encoder, "encoder: a name or a JSON spec")->capture_default_str();
  cmd->add_option("--split", o->split, "split to measure and encode")->capture_default_str();
  cmd->add_option("--out,-o", o->out, ".npy file for the latents [n, dim]");
  cmd->add_option("--cache", o->cache, "cache folder for trained encoders");
  cmd->add_flag("--no-cache", o->no_cache, "train without reading or writing the cache");
  cmd->add_flag("--json", o->json_output, "print a JSON summary");
  cmd->callback([&context, o] { run(context, *o); });
}

}  // namespace bridges::cli
