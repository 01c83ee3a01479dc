#pragma once
// File helpers: every file bridges writes appears complete or not at all.

#include <filesystem>
#include <fstream>
#include <functional>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "bridges/export.hpp"

namespace bridges {

/// Writes `file` through `write`, into a temporary file in the same folder
/// that is renamed over `file` only once `write` returned and the data was
/// flushed. On any error the temporary file is removed and `file` is left as
/// it was. Creates missing parent folders. Throws IoError naming the file.
BRIDGES_API void write_file_atomically(const std::filesystem::path& file,
                                       const std::function<void(std::ostream&)>& write);

/// Throws IoError when `file`, a path to write, is a folder or empty (a
/// rename over a folder fails late, with no useful reason).
BRIDGES_API void require_file_path(const std::filesystem::path& file);

/// Creates the missing folders above `file`; throws IoError naming the file.
BRIDGES_API void create_parent_folders(const std::filesystem::path& file);

/// A fresh name in `file`'s folder for the temporary file that becomes
/// `file` (".name.tmp-PID-N"), for writers that rename it themselves. The
/// first call for a folder removes the temporaries that killed processes
/// left there (remove_stale_temporaries).
BRIDGES_API std::filesystem::path temporary_path_for(const std::filesystem::path& file);

/// Removes the ".name.tmp-PID-N" files in `folder` whose process no longer
/// exists (SIGKILL, a power cut); returns how many. Files of live processes
/// are left alone.
BRIDGES_API std::size_t remove_stale_temporaries(const std::filesystem::path& folder);


/// The same for a string.
BRIDGES_API void write_text_atomically(const std::filesystem::path& file, std::string_view text);

/// `file` opened for binary reading. Throws IoError naming the file when it
/// is a folder (an ifstream opens one, then fails on the first read with
/// "basic_filebuf::underflow ... Is a directory") or cannot be opened.
BRIDGES_API std::ifstream open_for_reading(const std::filesystem::path& file);

/// The whole content of a file; throws IoError naming the file and the reason.
/// A folder is refused by name ("is a folder, expected a file").
BRIDGES_API std::string read_text(const std::filesystem::path& file);

/// An exclusive lock on a folder for one process (flock on FOLDER/.lock,
/// which holds the holder's pid). The kernel drops it when the process ends,
/// however it ends, so no stale lock survives a crash. Two runs into one run
/// folder interleaved their files (results.json of one, pipeline.json of the
/// other): the second now stops at once.
class BRIDGES_API FolderLock {
 public:
  /// Creates `folder` if needed and locks it. Throws IoError naming the
  /// folder and the holder's pid when another process holds it; `fix` ends
  /// the message (what to do instead).
  explicit FolderLock(const std::filesystem::path& folder,
                      std::string_view fix = "Wait for it to finish, or give another output folder (--out).");
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

/// The deepest nesting of arrays and objects parse_json accepts. bridges'
/// own documents nest fewer than 10 levels; every walk over a document
/// (copying, printing, ${ENV} expansion) recurses once per level, and
/// 100000 nested arrays overflowed the stack.
inline constexpr int kMaxJsonDepth = 128;

/// nlohmann::json::parse for text from outside (pipelines, manifests,
/// results, options on the command line). Every failure is a FormatError
/// naming `where`: "{where}: not valid JSON: {reason}. {fix}" (a syntax
/// error, or a number out of range such as 1e999, which nlohmann reports as
/// out_of_range rather than parse_error), or "{where}: JSON nested deeper
/// than 128 levels" as soon as the parser reaches that depth, before the
/// deep document exists.
BRIDGES_API nlohmann::json parse_json(std::string_view text, std::string_view where,
                                      std::string_view fix = "Fix the syntax (a JSON linter shows where).");

}  // namespace bridges
