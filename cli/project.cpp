// bridges project: relative representations of a .npy of latents.
#include <ATen/ops/index_select.h>
#include <ATen/ops/stack.h>
#include <fmt/format.h>

#include <iostream>

#include "bridges/error.hpp"
#include "bridges/npy.hpp"
#include "bridges/projector.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

namespace fs = std::filesystem;

struct ProjectOptions {
  std::vector<std::string> similarities{"cosine"};
  fs::path anchors, input, out;
  std::string normalize = "none";
  bool stack = false;
};

// "R.npy" + "l1" -> "R.l1.npy"
fs::path per_similarity(const fs::path& out, const std::string& name) {
  fs::path p = out;
  p.replace_filename(fmt::format("{}.{}{}", out.stem().string(), name, out.extension().string()));
  return p;
}

void run(Context& context, const ProjectOptions& o) {
  const auto names = list_values(o.similarities);
  if (names.empty()) throw ConfigError("--similarity: give at least one similarity, e.g. --similarity cosine,l1.");
  const SubspaceNorm norm = parse_subspace_norm(o.normalize);
  std::vector<std::shared_ptr<const Similarity>> similarities;
  for (const auto& name : names) similarities.push_back(make_similarity(context, name));

  const Tensor x = read_npy(o.input);
  if (x.dim() != 2 || !x.is_floating_point())
    throw ShapeError(fmt::format("{}: --input must hold latents [n, d] float32 or float64, found {}.",
                                 o.input.string(), describe(x)));
  Tensor anchors = read_npy(o.anchors);
  if (anchors.scalar_type() == at::kLong) {
    // Anchor indices: rows of the input.
    if (anchors.dim() != 1)
      throw ShapeError(fmt::format("{}: anchor indices must be [k] int64, found {}.", o.anchors.string(),
                                   describe(anchors)));
    const auto bad = anchors.lt(0).logical_or(anchors.ge(x.size(0)));
    if (bad.any().item<bool>())
      throw ShapeError(fmt::format("{}: anchor indices must lie in [0, {}) (the rows of {}).", o.anchors.string(),
                                   x.size(0), o.input.string()));
    anchors = at::index_select(x, 0, anchors);
  } else if (anchors.dim() != 2) {
    throw ShapeError(fmt::format("{}: --anchors must hold anchor latents [k, d] (float) or anchor indices [k] "
                                 "(int64), found {}.",
                                 o.anchors.string(), describe(anchors)));
  }
  anchors = anchors.to(x.scalar_type());

  const RelativeProjector projector(anchors, similarities, norm);
  const std::vector<Tensor> spaces = projector.project(x);
  if (o.stack || spaces.size() == 1) {
    const Tensor out = spaces.size() == 1 ? spaces[0] : at::stack(spaces, 1);
    write_npy(o.out, out);
    std::cout << fmt::format("wrote {} {} ({})\n", o.out.string(), describe(out), fmt::join(names, ", "));
    return;
  }
  for (std::size_t i = 0; i < spaces.size(); ++i) {
    const fs::path file = per_similarity(o.out, similarities[i]->type());
    write_npy(file, spaces[i]);
    std::cout << fmt::format("wrote {} {} ({})\n", file.string(), describe(spaces[i]), names[i]);
  }
}

}  // namespace

void add_project_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<ProjectOptions>();
  auto* cmd = app.add_subcommand("project", "Relative representations of latents (.npy) against anchors");
  cmd->footer(
      "One similarity writes OUT. Several write one file each, OUT with the similarity's name before the\n"
      "extension (R.npy -> R.cosine.npy, R.l1.npy), or, with --stack, one file OUT of shape [n, s, k] in\n"
      "the order given.\n\n"
      "Example:\n"
      "  bridges project -s cosine,l1 -a anchor_ids.npy -i latents.npy -o rel.npy --normalize l2");
  cmd->add_option("--similarity,-s", o->similarities,
                  "similarities, comma separated (cosine,l1) or a JSON spec ('{\"type\":\"linf\",\"p\":20}')")
      ->capture_default_str();
  cmd->add_option("--anchors,-a", o->anchors,
                  ".npy with anchor latents [k, d], or anchor indices [k] int64 into --input")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--input,-i", o->input, ".npy with latents [n, d], float32 or float64")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out,-o", o->out, "output .npy")->required();
  cmd->add_option("--normalize", o->normalize, "per-subspace normalisation: none, l2 or standardize")
      ->capture_default_str();
  cmd->add_flag("--stack", o->stack, "write one [n, s, k] file instead of one file per similarity");
  cmd->callback([&context, o] { run(context, *o); });
}

}  // namespace bridges::cli
