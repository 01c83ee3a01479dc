#include "bridges/util/io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

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

std::size_t remove_stale_temporaries(const fs::path& folder) {
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder.empty() ? fs::path(".") : folder, ec)) {
    // ".NAME.tmp-PID-N", as temporary_path_for names them.
    const std::string name = entry.path().filename().string();
    const std::size_t tag = name.rfind(".tmp-");
    if (name.empty() || name[0] != '.' || tag == std::string::npos) continue;
    const std::size_t dash = name.find('-', tag + 5);
    if (dash == std::string::npos || dash == tag + 5 || dash + 1 == name.size()) continue;
    const std::string pid_text = name.substr(tag + 5, dash - tag - 5), counter = name.substr(dash + 1);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos ||
        counter.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    // Only the files of processes that no longer exist: a live one may be
    // writing its file right now.
    if (pid == ::getpid() || pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code remove_ec;
    if (fs::remove(entry.path(), remove_ec)) ++removed;
  }
  return removed;
}

fs::path temporary_path_for(const fs::path& file) {
  // The first write into a folder sweeps what killed writers left there.
  static std::mutex mutex;
  static std::set<fs::path> swept;
  {
    std::lock_guard lock(mutex);
    if (swept.insert(file.parent_path()).second) remove_stale_temporaries(file.parent_path());
  }
  return file.parent_path() /
         fmt::format(".{}.tmp-{}-{}", file.filename().string(), ::getpid(), temp_counter.fetch_add(1));
}

void require_file_path(const fs::path& file) {
  std::error_code ec;
  if (file.empty()) throw IoError("an output path is empty; give a file name, e.g. out.npy.");
  if (fs::is_directory(file, ec))
    throw IoError(fmt::format("{}: is a folder, expected a file to write. Give a file name, e.g. {}.", file.string(),
                              (file / "out.npy").string()));
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
  require_file_path(file);
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

std::ifstream open_for_reading(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec))
    throw IoError(fmt::format("{}: is a folder, expected a file. Give the path of the file inside it.", file.string()));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open: {}.", file.string(), std::strerror(errno)));
  return in;
}

std::string read_text(const fs::path& file) {
  std::ifstream in = open_for_reading(file);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw IoError(fmt::format("{}: reading failed: {}.", file.string(), std::strerror(errno)));
  return buffer.str();
}

nlohmann::json parse_json(std::string_view text, std::string_view where, std::string_view fix) {
  try {
    // The callback sees the depth of every value as it is parsed.
    return nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > kMaxJsonDepth)
        throw FormatError(fmt::format("{}: JSON nested deeper than {} levels; bridges' documents need fewer than 10. "
                                      "Check that the file is the one meant.",
                                      where, kMaxJsonDepth));
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(fmt::format("{}: not valid JSON: {}. {}", where, e.what(), fix));
  }
}

FolderLock::FolderLock(const fs::path& folder, std::string_view fix) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw IoError(fmt::format("{}: cannot create the folder: {}.", folder.string(), ec.message()));
  const fs::path file = folder / ".lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(fmt::format("{}: cannot create the lock file: {}.", file.string(), std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char holder[32] = {};
    const ssize_t got = ::pread(fd_, holder, sizeof holder - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK)
      throw IoError(fmt::format("{}: another process (pid {}) is writing into this folder. {}", folder.string(),
                                got > 0 ? std::string(holder, std::strcspn(holder, "\n")) : "?", fix));
    throw IoError(fmt::format("{}: cannot lock: {}.", file.string(), std::strerror(error)));
  }
  // The pid is for the message of a second run only: the lock holds whether
  // or not writing it succeeds, so its result is not checked.
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, pid.data(), pid.size(), 0);
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // closing drops the lock
}

}  // namespace bridges
