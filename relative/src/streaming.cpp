#include "bridges/relative/streaming.hpp"

#include <ATen/ops/stack.h>
#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <numeric>

#include "bridges/error.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/util/runtime.hpp"
#include "chunk_io.hpp"

namespace bridges {

namespace fs = std::filesystem;

namespace {

// Chunks read ahead, and chunks' results that may wait for the disk: room
// for the disk's pauses (with 3 ahead, cosine waited 0.76 s for its input in
// one run of bench_streaming).
constexpr std::size_t kChunksAhead = 4, kChunksWaiting = 3;

// About 32 MiB per chunk, of output or of input, whichever is larger per
// row; rounded to a whole number of the writers' blocks where that costs
// little, so that the chunks' results go to the disk without a copy (see
// NpyWriter). Rounded up, so that a result of 32 MiB stays in the blocks
// keep_freed_memory() hands out again without faulting their pages in.
int64_t default_chunk_rows(int64_t input_row_bytes, int64_t output_row_bytes, int64_t outputs_per_row) {
  const int64_t bytes_per_row = std::max<int64_t>({1, input_row_bytes, outputs_per_row * output_row_bytes});
  const int64_t rows = ((int64_t{32} << 20) + bytes_per_row - 1) / bytes_per_row;
  const auto block = static_cast<int64_t>(NpyWriter::kAlignment);
  const int64_t unit = block / std::gcd(std::max<int64_t>(1, output_row_bytes), block);
  return rows >= 4 * unit ? (rows + unit - 1) / unit * unit : rows;
}

}  // namespace

StreamingReport project_npy(const RelativeProjector& projector, const fs::path& input,
                            const std::vector<fs::path>& outputs, bool stacked, const StreamingOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const NpyHeader in = inspect_npy(input);
  const Tensor& anchors = projector.anchors();
  const int64_t d = anchors.size(1), k = anchors.size(0);
  const auto s = static_cast<int64_t>(projector.similarities().size());
  const auto& shape = in.shape;
  if (shape.size() != 2 || (in.dtype() != at::kFloat && in.dtype() != at::kDouble) || shape[1] != d)
    throw ShapeError(fmt::format("{}: expected latents [n, {}] float32 or float64 (the anchors' dimension d = {}), "
                                 "found {} ({}).",
                                 input.string(), d, d, dtype_name(in.dtype()), fmt::join(shape, ", ")));
  const std::size_t wanted = stacked ? 1 : static_cast<std::size_t>(s);
  if (outputs.size() != wanted)
    throw ConfigError(fmt::format("project_npy: {} output file(s) given for {} similarit{}{}; give {}.",
                                  outputs.size(), s, s == 1 ? "y" : "ies", stacked ? ", stacked" : "", wanted));

  // An output over the input would replace the latents being read; two
  // outputs on one path would keep only the last.
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    std::error_code ec;
    if (fs::equivalent(outputs[i], input, ec))
      throw ConfigError(fmt::format("{}: this output is the input file ({}); writing there would destroy the latents. "
                                    "Choose another output path.",
                                    outputs[i].string(), input.string()));
    for (std::size_t j = 0; j < i; ++j)
      if (fs::weakly_canonical(outputs[i], ec) == fs::weakly_canonical(outputs[j], ec))
        throw ConfigError(fmt::format("{}: given as output {} and {}; each output needs its own path (is a similarity "
                                      "named twice?).",
                                      outputs[i].string(), j + 1, i + 1));
  }

  const int64_t n = shape[0];
  const at::ScalarType dtype = anchors.scalar_type();
  const auto item = static_cast<int64_t>(c10::elementSize(dtype));
  StreamingReport report;
  report.rows = n;
  const int64_t automatic = stacked ? default_chunk_rows(d * in.item_size, s * k * item, 1)
                                    : default_chunk_rows(d * in.item_size, k * item, s);
  // No chunk larger than the input: the reader's buffers have its size.
  report.chunk_rows = std::min(options.chunk_rows > 0 ? options.chunk_rows : automatic, std::max<int64_t>(n, 1));

  std::vector<std::unique_ptr<NpyWriter>> writers;
  for (std::size_t i = 0; i < outputs.size(); ++i)
    writers.push_back(std::make_unique<NpyWriter>(
        outputs[i], dtype, stacked ? std::vector<int64_t>{n, s, k} : std::vector<int64_t>{n, k}));

  // Declared after the writers: destroyed first, so no chunk is written
  // once they have removed their temporary files (on an error).
  detail::ChunkReader reading(input, in, report.chunk_rows, kChunksAhead);
  detail::ChunkWriter writing(writers, kChunksWaiting);
  for (int64_t begin = 0; begin < n; begin += report.chunk_rows) {
    throw_if_interrupted();
    // The input chunk dies here, so its buffer is read into again. Checked
    // here, where the row in the file is known.
    const Tensor chunk = reading.next(report.read_wait_seconds);
    require_finite(chunk, input.string(), kFixNonFiniteLatents, begin);
    std::vector<Tensor> spaces = projector.project(chunk.to(dtype));
    report.flat_rows.resize(spaces.size(), 0);
    for (std::size_t i = 0; i < spaces.size(); ++i) report.flat_rows[i] += flat_rows(spaces[i]);
    if (stacked) spaces = {at::stack(spaces, 1)};
    writing.push(std::move(spaces), report.write_wait_seconds);
    ++report.chunks;
    if (options.progress) options.progress(std::min(n, begin + report.chunk_rows), n);
  }
  writing.finish();
  report.project_seconds = detail::seconds_since(start);
  const auto sync_start = std::chrono::steady_clock::now();
  // All or nothing: every file reaches the disk before any appears.
  for (auto& writer : writers) writer->finish();
  for (auto& writer : writers) writer->publish();
  report.sync_seconds = detail::seconds_since(sync_start);
  return report;
}

}  // namespace bridges
