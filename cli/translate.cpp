// bridges translate: carry latents of one model into another's latent
// space with a map estimated from paired anchors (latent-space translation).
#include <ATen/TensorOperators.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/ones.h>
#include <fmt/format.h>

#include <iostream>
#include <optional>

#include "bridges/error.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/translator.hpp"
#include "bridges/util/messages.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

namespace fs = std::filesystem;

struct TranslateOptions {
  std::string translator = "orthogonal";
  fs::path source_anchors, target_anchors;  // anchor latents of each space
  fs::path source, target, anchors;         // or: paired latent files and anchor rows into both
  fs::path input, out;
  bool json = false;
};

Tensor read_latents(const fs::path& file, std::string_view option) {
  const Tensor x = read_npy(file);
  if (x.dim() != 2 || !x.is_floating_point())
    throw ShapeError(fmt::format("{}: {} must hold latents [n, d] float32 or float64, found {}.", file.string(), option,
                                 describe(x)));
  require_finite(x, file.string(), kFixNonFiniteLatents);
  return x;
}

// |a - b|_F / |b|_F, in float64.
double relative_error(const Tensor& a, const Tensor& b) {
  const Tensor x = a.to(at::kDouble), y = b.to(at::kDouble);
  return (x - y).norm().item<double>() / std::max(y.norm().item<double>(), 1e-300);
}

void run(Context& context, const TranslateOptions& o) {
  const bool paired = !o.anchors.empty();
  if (paired ? o.source.empty() || o.target.empty() : o.source_anchors.empty() || o.target_anchors.empty())
    throw ConfigError(
        "give the anchors one way: --source-anchors SA.npy and --target-anchors TA.npy (anchor latents [k, d1] "
        "and [k, d2], row i of both the same sample), or --anchors IDX.npy (rows [k] int64) with --source S.npy "
        "and --target T.npy (latents of the same samples, row by row, from each model).");
  Tensor source_anchors, target_anchors, source_all, target_all;
  if (paired) {
    source_all = read_latents(o.source, "--source");
    target_all = read_latents(o.target, "--target");
    if (source_all.size(0) != target_all.size(0))
      throw ShapeError(fmt::format("{} has {} rows and {} has {}: --source and --target must encode the same samples, "
                                   "row by row.",
                                   o.source.string(), source_all.size(0), o.target.string(), target_all.size(0)));
    const Tensor idx = read_npy(o.anchors);
    if (idx.scalar_type() != at::kLong || idx.dim() != 1 || idx.numel() == 0)
      throw ShapeError(fmt::format("{}: --anchors must hold anchor rows [k] int64 (k >= 1) into --source and --target, "
                                   "found {}.",
                                   o.anchors.string(), describe(idx)));
    if (idx.lt(0).logical_or(idx.ge(source_all.size(0))).any().item<bool>())
      throw ShapeError(fmt::format("{}: anchor rows must lie in [0, {}) (the rows of {}).", o.anchors.string(),
                                   source_all.size(0), o.source.string()));
    source_anchors = at::index_select(source_all, 0, idx);
    target_anchors = at::index_select(target_all, 0, idx);
  } else {
    source_anchors = read_latents(o.source_anchors, "--source-anchors");
    target_anchors = read_latents(o.target_anchors, "--target-anchors");
  }
  const fs::path input_file = !o.input.empty() ? o.input : o.source;
  if (input_file.empty())
    throw ConfigError("--input: give the source latents to translate (-i X.npy, [n, d1]).");
  const Tensor x = !o.input.empty() ? read_latents(o.input, "--input") : source_all;
  if (x.size(1) != source_anchors.size(1))
    throw ShapeError(fmt::format("{}: the latents have d = {}, but the source anchors have d = {}; both must come from "
                                 "the source model.",
                                 input_file.string(), x.size(1), source_anchors.size(1)));

  if (source_anchors.size(0) <= source_anchors.size(1) + 1)
    std::cerr << fmt::format("note: {} anchor pairs for {} source dimensions: least squares (linear, affine) is "
                             "underdetermined and interpolates the anchors (its minimum-norm answer); use more anchors "
                             "than dimensions, or \"lambda\" > 0.\n",
                             source_anchors.size(0), source_anchors.size(1));
  // The output over one of the inputs would replace latents the user still needs.
  for (const fs::path& in : {o.input, o.source, o.target, o.source_anchors, o.target_anchors}) {
    std::error_code ec;
    if (!in.empty() && fs::equivalent(o.out, in, ec))
      throw ConfigError(fmt::format("{}: --out is the input file {}; writing there would destroy those latents. Choose "
                                    "another output path.",
                                    o.out.string(), in.string()));
  }
  const auto translator = make_component<Translator>(context, o.translator, "--translator");
  translator->fit(source_anchors, target_anchors);
  const Tensor y = translator->translate(x);
  write_npy(o.out, y);

  // How well the map fits: on the anchors it was fitted on, and, with
  // paired files, on every row that is not an anchor (held out).
  const double on_anchors = relative_error(translator->translate(source_anchors), target_anchors);
  std::optional<double> held_out;
  if (paired && o.input.empty()) {
    Tensor rest = at::ones({source_all.size(0)}, at::kBool);
    rest.index_fill_(0, read_npy(o.anchors), false);
    const Tensor rows = rest.nonzero().squeeze(1);
    if (rows.numel() > 0)
      held_out = relative_error(at::index_select(y, 0, rows), at::index_select(target_all, 0, rows));
  }
  if (o.json) {
    nlohmann::json doc{{"translator", translator->to_json()},
                       {"anchors", source_anchors.size(0)},
                       {"out", o.out.string()},
                       {"shape", {y.size(0), y.size(1)}},
                       {"relative_error_anchors", on_anchors},
                       {"relative_error_held_out", held_out ? nlohmann::json(*held_out) : nlohmann::json()}};
    std::cout << doc.dump(2) << '\n';
    return;
  }
  std::cout << fmt::format("wrote {} {} [{}, {}] ({} fitted on {} anchor pairs, [{}, {}] -> [{}, {}])\n",
                           o.out.string(), dtype_name(y.scalar_type()), y.size(0), y.size(1), translator->to_json().dump(),
                           source_anchors.size(0), source_anchors.size(0), source_anchors.size(1),
                           target_anchors.size(0), target_anchors.size(1));
  std::cout << fmt::format("relative error |T(source) - target| / |target|: {:.4g} on the anchors{}\n", on_anchors,
                           held_out ? fmt::format(", {:.4g} on the other rows (held out)", *held_out) : "");
}

}  // namespace

void add_translate_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<TranslateOptions>();
  auto* cmd = app.add_subcommand("translate", description_of("translate"));
  cmd->footer(
      "Estimates a map from the source model's latent space to the target's on paired anchors (the same\n"
      "samples encoded by both models), then translates --input. Anchors are given as two files of anchor\n"
      "latents, or as rows of two paired latent files. Prints the map's relative error on the anchors and,\n"
      "with paired files, on the rows that are not anchors. `bridges plugins list` shows the translators.\n"
      "The inputs are read whole into memory (`bridges project` streams; translation does not yet).\n\n"
      "Examples:\n"
      "  bridges translate -t orthogonal --source-anchors sa.npy --target-anchors ta.npy -i x.npy -o y.npy\n"
      "  bridges translate -t affine --source za.npy --target zb.npy --anchors idx.npy -o za_in_b.npy");
  cmd->add_option("--translator,-t", o->translator,
                  "translator: a name (orthogonal, linear, affine) or a JSON spec ('{\"type\":\"linear\",\"lambda\":0.1}')")
      ->capture_default_str();
  auto* sa = cmd->add_option("--source-anchors", o->source_anchors, "anchor latents of the source model [k, d1] (.npy)")
                 ->check(CLI::ExistingFile);
  auto* ta = cmd->add_option("--target-anchors", o->target_anchors, "the same anchors' latents in the target [k, d2]")
                 ->check(CLI::ExistingFile);
  auto* s = cmd->add_option("--source", o->source, "latents of the source model [n, d1], paired row by row with --target")
                ->check(CLI::ExistingFile);
  auto* t = cmd->add_option("--target", o->target, "latents of the target model [n, d2], the same samples")
                ->check(CLI::ExistingFile);
  auto* a = cmd->add_option("--anchors,-a", o->anchors, "anchor rows [k] int64 (.npy) into --source and --target")
                ->check(CLI::ExistingFile);
  for (auto* paired : {s, t, a})
    for (auto* given : {sa, ta}) paired->excludes(given);
  cmd->add_option("--input,-i", o->input, "source latents to translate [n, d1] (.npy); default: --source")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", o->out, "output .npy [n, d2], the input's dtype")->required();
  cmd->add_flag("--json", o->json, "print JSON");
  cmd->callback([&context, o] { run(context, *o); });
}

}  // namespace bridges::cli
