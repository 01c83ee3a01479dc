#pragma once
// Out-of-core relative projection: a .npy of any size, read chunk by chunk,
// projected, and written into .npy files as it goes.

#include <filesystem>
#include <functional>
#include <vector>

#include "bridges/export.hpp"
#include "bridges/relative/projector.hpp"

namespace bridges {

struct StreamingOptions {
  /// Rows per chunk; 0 chooses about 32 MiB of output per chunk.
  int64_t chunk_rows = 0;
  /// Called after each chunk with the rows done so far and the total.
  std::function<void(int64_t done, int64_t total)> progress;
};

struct StreamingReport {
  int64_t rows = 0;
  int64_t chunks = 0;
  int64_t chunk_rows = 0;
  double project_seconds = 0;     ///< reading, projecting and handing every row to the operating system
  double sync_seconds = 0;        ///< then waiting for the data to reach the disk
  double read_wait_seconds = 0;   ///< of project_seconds, projecting waited for input rows (bound by the disk)
  double write_wait_seconds = 0;  ///< of project_seconds, projecting waited for the writer (bound by the disk)
  std::vector<int64_t> flat_rows;  ///< per similarity: rows equal at every anchor (flat_rows())
};

/// Projects every row of `input` (.npy [n, d], float32 or float64; converted
/// to the anchors' dtype) through `projector` and writes the result to
/// `outputs`: one file [n, k] per similarity, in order, or with `stacked`
/// one file [n, s, k]. One thread reads the input a few chunks ahead and
/// another writes results behind while the projector works on a chunk, both
/// straight between disk and memory where the file system allows it
/// (O_DIRECT, see NpyWriter). Memory stays at a few chunks whatever n is.
/// The outputs appear complete or not at all (also on an error or an
/// interruption). The result equals projector.project() of the whole input.
///
/// Throws ShapeError naming the file for an input that is not [n, d] float
/// with the anchors' d, ConfigError for a wrong number of outputs, IoError
/// and FormatError from reading and writing, Interrupted.
BRIDGES_API StreamingReport project_npy(const RelativeProjector& projector, const std::filesystem::path& input,
                                        const std::vector<std::filesystem::path>& outputs, bool stacked,
                                        const StreamingOptions& options = {});

}  // namespace bridges
