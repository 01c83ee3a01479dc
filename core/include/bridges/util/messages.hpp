#pragma once
// Small string helpers used to build actionable messages.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bridges/export.hpp"

namespace bridges {

/// Edit distance (insertions, deletions, substitutions, adjacent swaps).
BRIDGES_API std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `name`, if it is close enough to be a plausible
/// slip: edit distance at most 1 for names of up to 3 characters and
/// max(2, |name| / 3) for longer ones, or one name a prefix of
/// the other ("farthest" for "farthest_point").
BRIDGES_API std::optional<std::string> closest_name(std::string_view name,
                                                    const std::vector<std::string>& candidates);

/// " Did you mean 'x'?" when a close candidate exists, else "".
BRIDGES_API std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

/// "a, b, c" (or `empty` when there is nothing).
BRIDGES_API std::string join(const std::vector<std::string>& items, std::string_view separator = ", ",
                             std::string_view empty = "(none)");

/// Splits "a,b, c" on `separator`, trimming blanks and dropping empty items.
BRIDGES_API std::vector<std::string> split_list(std::string_view text, char separator = ',');

/// Throws UnknownNameError: "<what> 'name' does not exist. Did you mean 'x'? Available: a, b."
[[noreturn]] BRIDGES_API void throw_unknown_name(std::string_view what, std::string_view name,
                                                 const std::vector<std::string>& available);

}  // namespace bridges
