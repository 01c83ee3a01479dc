// bridges project: relative representations of a .npy of latents.
#include <ATen/ops/index_select.h>
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "bridges/error.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/util/progress.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/relative/streaming.hpp"
#include "cli.hpp"

namespace bridges::cli {

namespace {

namespace fs = std::filesystem;

struct ProjectOptions {
  std::vector<std::string> similarities{"cosine"};
  fs::path anchors, input, out;
  std::string normalize = "none";
  bool stack = false;
  int64_t chunk_rows = 0;
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
  if (o.chunk_rows < 0) throw ConfigError(fmt::format("--chunk-rows: expected a positive number of rows or 0 "
                                                      "(automatic), found {}.", o.chunk_rows));
  const SubspaceNorm norm = parse_subspace_norm(o.normalize);
  std::vector<std::shared_ptr<const Similarity>> similarities;
  for (const auto& name : names) similarities.push_back(make_similarity(context, name));
  for (std::size_t i = 0; i < similarities.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (similarities[i]->to_json() == similarities[j]->to_json())
        throw ConfigError(fmt::format("--similarity: {} is given twice ({} and {}); name each similarity once.",
                                      similarities[i]->to_json().dump(), names[j], names[i]));

  // The input is mapped, never read whole: it may be larger than memory (the
  // mapping reads only the rows that anchor indices pick).
  const MappedNpy x(o.input);
  if (x.header().shape.size() != 2 || (x.dtype() != at::kFloat && x.dtype() != at::kDouble))
    throw ShapeError(fmt::format("{}: --input must hold latents [n, d] float32 or float64, found {} ({}).",
                                 o.input.string(), dtype_name(x.dtype()), fmt::join(x.header().shape, ", ")));
  Tensor anchors = read_npy(o.anchors);
  require_finite(anchors, o.anchors.string(), kFixNonFiniteLatents);
  if (anchors.scalar_type() == at::kLong) {
    // Anchor indices: rows of the input.
    if (anchors.dim() != 1)
      throw ShapeError(fmt::format("{}: anchor indices must be [k] int64, found {}.", o.anchors.string(),
                                   describe(anchors)));
    const auto bad = anchors.lt(0).logical_or(anchors.ge(x.rows()));
    if (bad.any().item<bool>())
      throw ShapeError(fmt::format("{}: anchor indices must lie in [0, {}) (the rows of {}).", o.anchors.string(),
                                   x.rows(), o.input.string()));
    anchors = at::index_select(x.slice(0, x.rows()), 0, anchors);
  } else if (anchors.dim() != 2) {
    throw ShapeError(fmt::format("{}: --anchors must hold anchor latents [k, d] (float) or anchor indices [k] "
                                 "(int64), found {}.",
                                 o.anchors.string(), describe(anchors)));
  } else if (anchors.size(1) != x.header().shape[1]) {
    throw ShapeError(fmt::format("{}: anchor latents have d = {}, but the latents in {} have d = {}; both must come "
                                 "from the same encoder.",
                                 o.anchors.string(), anchors.size(1), o.input.string(), x.header().shape[1]));
  }
  anchors = anchors.to(x.dtype());

  const RelativeProjector projector(anchors, similarities, norm);
  const bool stacked = o.stack && similarities.size() > 1;
  std::vector<fs::path> files;
  if (stacked || similarities.size() == 1)
    files.push_back(o.out);
  else
    for (const auto& similarity : similarities) files.push_back(per_similarity(o.out, similarity->type()));

  Progress progress("project", x.rows(), "rows");
  StreamingOptions options;
  options.chunk_rows = o.chunk_rows;
  options.progress = [&](int64_t done, int64_t) { progress.update(done); };
  const StreamingReport report = project_npy(projector, o.input, files, stacked, options);
  progress.finish();
  const int64_t k = projector.num_anchors();
  const auto s = static_cast<int64_t>(similarities.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string shape = stacked ? fmt::format("[{}, {}, {}]", report.rows, s, k)
                                      : fmt::format("[{}, {}]", report.rows, k);
    std::cout << fmt::format("wrote {} {} {} ({})\n", files[i].string(), dtype_name(x.dtype()), shape,
                             stacked ? fmt::format("{}", fmt::join(names, ", ")) : names[i]);
  }
  for (std::size_t i = 0; i < report.flat_rows.size(); ++i)
    if (report.flat_rows[i] > 0)
      std::cerr << fmt::format("warning: {}: {} of {} rows are the same at every anchor (a zero vector under cosine, "
                               "or distances that underflowed): those samples carry no information in this "
                               "subspace.\n",
                               similarities[i]->type(), report.flat_rows[i], report.rows);
  std::cout << fmt::format("projected {} rows in {} chunks of {} in {:.2f} s ({:.0f} rows/s), then {:.2f} s "
                           "waiting for the disk\n",
                           report.rows, report.chunks, report.chunk_rows, report.project_seconds,
                           report.rows / std::max(report.project_seconds, 1e-9), report.sync_seconds);
}

}  // namespace

void add_project_command(CLI::App& app, Context& context) {
  auto o = std::make_shared<ProjectOptions>();
  auto* cmd = app.add_subcommand("project", description_of("project"));
  cmd->footer(
      "One similarity writes OUT. Several write one file each, OUT with the similarity's name before the\n"
      "extension (R.npy -> R.cosine.npy, R.l1.npy), or, with --stack, one file OUT of shape [n, s, k] in\n"
      "the order given.\n\n"
      "The input is read a few chunks ahead and results are written behind while a chunk is projected,\n"
      "straight between disk and memory where the file system allows it (O_DIRECT), so the input may be\n"
      "larger than memory; outputs appear complete or not at all.\n\n"
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
  cmd->add_option("--chunk-rows", o->chunk_rows,
                  "rows projected at a time (0: about 32 MiB of output per chunk); memory stays at a few chunks "
                  "whatever the input's size")
      ->capture_default_str();
  cmd->callback([&context, o] { run(context, *o); });
}

}  // namespace bridges::cli
