#include "bridges/streaming.hpp"

#include <ATen/ops/stack.h>
#include <fmt/format.h>

#include <chrono>
#include <future>
#include <memory>

#include "bridges/error.hpp"
#include "bridges/interrupt.hpp"
#include "bridges/npy.hpp"

namespace bridges {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

StreamingReport project_npy(const RelativeProjector& projector, const fs::path& input,
                            const std::vector<fs::path>& outputs, bool stacked, const StreamingOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const MappedNpy in(input);
  const Tensor& anchors = projector.anchors();
  const int64_t d = anchors.size(1), k = anchors.size(0);
  const auto s = static_cast<int64_t>(projector.similarities().size());
  const auto& shape = in.header().shape;
  if (shape.size() != 2 || (in.dtype() != at::kFloat && in.dtype() != at::kDouble) || shape[1] != d)
    throw ShapeError(fmt::format("{}: expected latents [n, {}] float32 or float64 (the anchors' dimension d = {}), "
                                 "found {} ({}).",
                                 input.string(), d, d, dtype_name(in.dtype()), fmt::join(shape, ", ")));
  const std::size_t wanted = stacked ? 1 : static_cast<std::size_t>(s);
  if (outputs.size() != wanted)
    throw ConfigError(fmt::format("project_npy: {} output file(s) given for {} similarit{}{}; give {}.",
                                  outputs.size(), s, s == 1 ? "y" : "ies", stacked ? ", stacked" : "", wanted));

  const int64_t n = shape[0];
  const at::ScalarType dtype = anchors.scalar_type();
  const auto item = static_cast<int64_t>(c10::elementSize(dtype));
  StreamingReport report;
  report.rows = n;
  report.chunk_rows = options.chunk_rows > 0 ? options.chunk_rows
                                             : std::max<int64_t>(1, (int64_t{64} << 20) / std::max<int64_t>(1, s * k * item));

  std::vector<std::unique_ptr<NpyWriter>> writers;
  for (std::size_t i = 0; i < outputs.size(); ++i)
    writers.push_back(std::make_unique<NpyWriter>(
        outputs[i], dtype, stacked ? std::vector<int64_t>{n, s, k} : std::vector<int64_t>{n, k}));

  // Double buffering: chunk c is written by another thread while chunk c + 1
  // is projected. The future's destructor waits, so on an error nothing
  // outlives the writers (whose destructors remove their temporary files).
  std::future<void> writing;
  for (int64_t begin = 0; begin < n; begin += report.chunk_rows) {
    throw_if_interrupted();
    const int64_t m = std::min(report.chunk_rows, n - begin);
    in.prefetch(begin + m, report.chunk_rows);
    std::vector<Tensor> spaces = projector.project(in.slice(begin, m).to(dtype));
    if (stacked) spaces = {at::stack(spaces, 1)};
    in.release(begin, m);
    const auto wait_start = std::chrono::steady_clock::now();
    if (writing.valid()) writing.get();  // rethrows a write error
    report.wait_seconds += seconds_since(wait_start);
    writing = std::async(std::launch::async, [&writers, spaces = std::move(spaces)] {
      for (std::size_t i = 0; i < writers.size(); ++i) writers[i]->append(spaces[i]);
    });
    ++report.chunks;
    if (options.progress) options.progress(begin + m, n);
  }
  if (writing.valid()) writing.get();
  report.project_seconds = seconds_since(start);
  const auto sync_start = std::chrono::steady_clock::now();
  for (auto& writer : writers) writer->commit();
  report.sync_seconds = seconds_since(sync_start);
  return report;
}

}  // namespace bridges
