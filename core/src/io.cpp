#include "bridges/io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bridges/error.hpp"

namespace bridges {

namespace fs = std::filesystem;

namespace {
std::atomic<uint64_t> temp_counter{0};


// Data reaches the disk before the rename makes it visible, so a crash
// leaves the old file or the new one, never a torn one.
void sync_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}
}  // namespace

fs::path temporary_path_for(const fs::path& file) {
  return file.parent_path() /
         fmt::format(".{}.tmp-{}-{}", file.filename().string(), ::getpid(), temp_counter.fetch_add(1));
}

void create_parent_folders(const fs::path& file) {
  if (!file.has_parent_path()) return;
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    throw IoError(fmt::format("{}: cannot create the folder {}: {}.", file.string(), file.parent_path().string(),
                              ec.message()));
}

void write_file_atomically(const fs::path& file, const std::function<void(std::ostream&)>& write) {
  create_parent_folders(file);
  std::error_code ec;
  const fs::path temp = temporary_path_for(file);
  try {
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      if (!out)
        throw IoError(fmt::format("{}: cannot write here: {}. Check that the folder exists and is writable.",
                                  file.string(), std::strerror(errno)));
      write(out);
      out.flush();
      if (!out) throw IoError(fmt::format("{}: writing failed (disk full?): {}.", file.string(), std::strerror(errno)));
    }
    sync_file(temp);
    fs::rename(temp, file, ec);
    if (ec) throw IoError(fmt::format("{}: cannot move the finished file into place: {}.", file.string(), ec.message()));
  } catch (...) {
    fs::remove(temp, ec);
    throw;
  }
}

void write_text_atomically(const fs::path& file, std::string_view text) {
  write_file_atomically(file, [&](std::ostream& out) { out.write(text.data(), static_cast<std::streamsize>(text.size())); });
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open: {}.", file.string(), std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw IoError(fmt::format("{}: reading failed: {}.", file.string(), std::strerror(errno)));
  return buffer.str();
}

}  // namespace bridges
