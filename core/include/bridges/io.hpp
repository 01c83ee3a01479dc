#pragma once
// File helpers: every file bridges writes appears complete or not at all.

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string_view>

#include "bridges/export.hpp"

namespace bridges {

/// Writes `file` through `write`, into a temporary file in the same folder
/// that is renamed over `file` only once `write` returned and the data was
/// flushed. On any error the temporary file is removed and `file` is left as
/// it was. Creates missing parent folders. Throws IoError naming the file.
BRIDGES_API void write_file_atomically(const std::filesystem::path& file,
                                       const std::function<void(std::ostream&)>& write);

/// Creates the missing folders above `file`; throws IoError naming the file.
BRIDGES_API void create_parent_folders(const std::filesystem::path& file);

/// A fresh name in `file`'s folder for the temporary file that becomes
/// `file` (".name.tmp-PID-N"), for writers that rename it themselves.
BRIDGES_API std::filesystem::path temporary_path_for(const std::filesystem::path& file);

/// The same for a string.
BRIDGES_API void write_text_atomically(const std::filesystem::path& file, std::string_view text);

/// The whole content of a file; throws IoError naming the file and the reason.
BRIDGES_API std::string read_text(const std::filesystem::path& file);

}  // namespace bridges
