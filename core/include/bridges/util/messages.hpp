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

/// Up to `count` distinct candidates near `name` (a looser bound than
/// closest_name: edit distance at most 1 up to 3 characters, else max(2,
/// |name| / 2), or one a prefix
/// or part of the other), nearest first; ties in name order.
BRIDGES_API std::vector<std::string> close_names(std::string_view name, const std::vector<std::string>& candidates,
                                                 std::size_t count = 6);

/// " Did you mean 'x'?" when a close candidate exists, else "".
BRIDGES_API std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

/// "a, b, c" (or `empty` when there is nothing).
BRIDGES_API std::string join(const std::vector<std::string>& items, std::string_view separator = ", ",
                             std::string_view empty = "(none)");

/// "1 seed", "3 seeds": a count and its noun, plural unless the count is one
/// (nouns whose plural adds an "s").
BRIDGES_API std::string counted(std::size_t n, std::string_view noun);

/// Splits "a,b, c" on `separator`, trimming blanks and dropping empty items.
BRIDGES_API std::vector<std::string> split_list(std::string_view text, char separator = ',');

/// Throws UnknownNameError: "<what> 'name' does not exist. Did you mean 'x'? Available: a, b."
/// (each name once; beyond 20 names, the close ones and how many there are).
[[noreturn]] BRIDGES_API void throw_unknown_name(std::string_view what, std::string_view name,
                                                 const std::vector<std::string>& available);

}  // namespace bridges
