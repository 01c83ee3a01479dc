// Out-of-core projection: `bridges project`'s streaming path (project_npy)
// on a 1,000,000 x 768 float32 .npy (2.9 GiB) against 1280 anchors, one
// 4.8 GiB output per similarity, against the same projection of the whole
// input held in memory. Targets: streaming throughput at least 0.8x the
// in-memory kernel's, peak resident memory at most 1 GiB.
//
//   build/release/bin/bench_streaming                # about 2 min, 9 GB free disk and memory
//   BRIDGES_BENCH_ROWS=100000 BRIDGES_BENCH_SIMILARITIES=linf build/release/bin/bench_streaming
//   BRIDGES_BENCH_DIR=/scratch build/release/bin/bench_streaming   # where the files go (default /tmp)
//   BRIDGES_BENCH_CHUNK_ROWS=4096 build/release/bin/bench_streaming  # another chunk size
//
// Streaming runs first, so the process's peak resident memory (getrusage)
// after it is the streaming peak; the in-memory runs come after.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ops/randn.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "bridges/formats/npy.hpp"
#include "bridges/relative/projector.hpp"
#include "bridges/registry/registry.hpp"
#include "bridges/relative/streaming.hpp"
#include "bridges/util/messages.hpp"
#include "bridges/util/runtime.hpp"

namespace {

namespace fs = std::filesystem;
using bridges::Tensor;

void target(const std::string& what, double value, const std::string& unit, const std::string& goal, bool pass) {
  fmt::print("  {:<62} {:>9.2f} {:<6} target {:<7} {}\n", what, value, unit, goal, pass ? "PASS" : "FAIL");
}

// The disk's sequential write and read speed in MB/s, as streaming uses it:
// 1 GiB written straight to the disk (O_DIRECT) in 32 MiB pieces, then read
// back the same way. Falls back to the page cache where the file system has
// no direct I/O (then flushed, and dropped before reading).
std::pair<double, double> disk_speed(const fs::path& file) {
  const int64_t piece = int64_t{32} << 20, pieces = 32;
  void* memory = nullptr;
  if (::posix_memalign(&memory, 4096, static_cast<std::size_t>(piece)) != 0) std::abort();
  std::memset(memory, 1, static_cast<std::size_t>(piece));
  char* buffer = static_cast<char*>(memory);
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
  if (fd < 0) fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  const double write_s = bench::seconds([&] {
    for (int64_t i = 0; i < pieces; ++i)
      if (::pwrite(fd, buffer, piece, i * piece) != piece) std::abort();
    ::fdatasync(fd);
  });
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  const double read_s = bench::seconds([&] {
    for (int64_t i = 0; i < pieces; ++i)
      if (::pread(fd, buffer, piece, i * piece) != piece) std::abort();
  });
  ::close(fd);
  fs::remove(file);
  std::free(memory);
  const double mb = static_cast<double>(piece * pieces) / 1e6;
  return {mb / write_s, mb / read_s};
}

// Runs `f` while another thread writes to `file` straight to the disk as
// fast as it can (what streaming's writer does), and returns f's seconds.
// On a virtual machine the disk's emulation may take processor time from
// the guest's cores although the writing thread itself uses almost none.
double seconds_while_writing(const fs::path& file, const std::function<void()>& f) {
  std::atomic<bool> done{false};
  std::thread writer([&] {
    const std::size_t piece = std::size_t{32} << 20;
    void* buffer = nullptr;
    if (::posix_memalign(&buffer, 4096, piece) != 0) std::abort();
    std::memset(buffer, 1, piece);
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
    if (fd < 0) fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    for (int64_t offset = 0; !done; offset = (offset + static_cast<int64_t>(piece)) % (int64_t{4} << 30))
      if (::pwrite(fd, buffer, piece, offset) != static_cast<ssize_t>(piece)) std::abort();
    ::close(fd);
    std::free(buffer);
  });
  const double s = bench::seconds(f);
  done = true;
  writer.join();
  fs::remove(file);
  return s;
}

}  // namespace

int main() {
  const int threads = bench::use_bench_threads();
  bridges::keep_freed_memory();  // as the bridges programs do
  const int64_t n = bench::env_int("BRIDGES_BENCH_ROWS", 1'000'000), d = 768, k = 1280;
  const char* names_env = std::getenv("BRIDGES_BENCH_SIMILARITIES");
  const auto names = bridges::split_list(names_env ? names_env : "cosine,l1");
  const fs::path dir = fs::path(std::getenv("BRIDGES_BENCH_DIR") ? std::getenv("BRIDGES_BENCH_DIR") : "/tmp") /
                       fmt::format("bridges-bench-streaming-{}", ::getpid());
  fs::create_directories(dir);
  fmt::print("bridges streaming benchmark: input [{}, {}] float32 ({:.2f} GiB), {} anchors, {} threads, files in {}\n",
             n, d, n * d * 4 / double(1 << 30), k, threads, dir.string());

  const auto [write_mbs, read_mbs] = disk_speed(dir / "disk-speed.bin");
  fmt::print("disk: writes {:.0f} MB/s, reads {:.0f} MB/s (direct, 32 MiB pieces)\n", write_mbs, read_mbs);

  bridges::Registry registry({BRIDGES_BENCH_PLUGIN_DIR});
  at::Generator gen = at::detail::createCPUGenerator(0);
  const Tensor anchors = at::randn({k, d}, gen);
  const double write_seconds = bench::seconds([&] {
    bridges::NpyWriter writer(dir / "x.npy", at::kFloat, {n, d});
    for (int64_t i = 0; i < n; i += 65536) writer.append(at::randn({std::min<int64_t>(65536, n - i), d}, gen));
    writer.commit();
  });
  fmt::print("wrote the input in {:.1f} s; resident now {:.0f} MiB\n\n", write_seconds, bench::current_rss_mib());

  struct Result {
    double streamed = 0, synced = 0, in_memory = 0, in_memory_disk_busy = 0;
    int64_t chunks = 0, chunk_rows = 0;
  };
  std::map<std::string, Result> results;
  for (const auto& name : names) {
    const bridges::RelativeProjector projector(anchors, {registry.make<bridges::Similarity>(name)});
    bridges::StreamingOptions options;
    options.chunk_rows = bench::env_int("BRIDGES_BENCH_CHUNK_ROWS", 0);  // 0: project_npy's default
    const auto report = bridges::project_npy(projector, dir / "x.npy", {dir / "r.npy"}, false, options);
    auto& r = results[name];
    r.streamed = report.project_seconds;
    r.synced = report.project_seconds + report.sync_seconds;
    r.chunks = report.chunks;
    r.chunk_rows = report.chunk_rows;
    fmt::print("streamed {:<10} {} chunks of {} rows: {:.2f} s reading, projecting and writing (of which {:.2f} s "
               "waiting for input, {:.2f} s for the writer), {:.2f} s more until on disk\n",
               name, report.chunks, report.chunk_rows, report.project_seconds, report.read_wait_seconds,
               report.write_wait_seconds, report.sync_seconds);
    fs::remove(dir / "r.npy");
  }
  const double streaming_peak = bench::peak_rss_mib();

  {
    Tensor x;
    const double load = bench::seconds([&] { x = bridges::read_npy(dir / "x.npy"); });
    fmt::print("\nloaded the input into memory in {:.1f} s\n", load);
    for (const auto& name : names) {
      const bridges::RelativeProjector projector(anchors, {registry.make<bridges::Similarity>(name)});
      double best = 1e30;
      for (int run = 0; run < 2; ++run) best = std::min(best, bench::seconds([&] { projector.project(x); }));
      results[name].in_memory = best;
      // The same work in the chunks streaming uses, while the disk is kept busy.
      const int64_t chunk = results[name].chunk_rows;
      results[name].in_memory_disk_busy = seconds_while_writing(dir / "busy.bin", [&] {
        for (int64_t i = 0; i < n; i += chunk) projector.project(x.narrow(0, i, std::min(chunk, n - i)));
      });
      fmt::print("in memory {:<10} {:.2f} s (best of 2); {:.2f} s in chunks while another thread writes to the disk\n",
                 name, best, results[name].in_memory_disk_busy);
    }
  }
  fs::remove_all(dir);

  fmt::print("\nTargets:\n");
  // What the disk allows: every row is read (d floats) and written (k floats)
  // once, and reads and writes share the disk.
  const double row_mb = static_cast<double>((d + k) * 4) / 1e6;
  const double disk_rows = 1.0 / (static_cast<double>(d * 4) / 1e6 / read_mbs + static_cast<double>(k * 4) / 1e6 / write_mbs);
  fmt::print("  the disk moves at most {:.0f} rows/s ({:.3f} MB in and out per row)\n", disk_rows, row_mb);
  for (const auto& name : names) {
    const auto& r = results[name];
    const double memory_rows = n / r.in_memory, streamed_rows = n / r.synced, busy_rows = n / r.in_memory_disk_busy;
    fmt::print("  {}: in memory {:.0f} rows/s, {:.0f} while the disk is busy; streamed, on disk at the end {:.0f} "
               "rows/s ({:.0f} rows/s before the final flush)\n",
               name, memory_rows, busy_rows, streamed_rows, n / r.streamed);
    target(fmt::format("{} streaming / in-memory throughput", name), streamed_rows / memory_rows, "", ">= 0.8",
           streamed_rows / memory_rows >= 0.8);
    const double bound = std::min(busy_rows, disk_rows);
    target(fmt::format("{} streaming / min(in memory with the disk busy, disk)", name), streamed_rows / bound, "",
           "(info)", true);
  }
  target("peak resident memory while streaming", streaming_peak, "MiB", "<= 1024", streaming_peak <= 1024);
  return 0;
}
