#pragma once
// Shared by the vision suite.

#include <string>
#include <vector>

#include "plugin_registry.hpp"
#include "testing.hpp"

namespace vision {

using bridges::testing::registry;

inline std::string ramp(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i % 251);
  return s;
}

/// An uncompressed idx file.
inline void write_idx(const std::filesystem::path& file, unsigned char type, const std::vector<int32_t>& dims,
                      const std::string& data) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (int32_t d : dims)
    for (int shift : {24, 16, 8, 0}) out += static_cast<char>((d >> shift) & 0xff);
  bridges::testing::write_bytes(file, out + data);
}

}  // namespace vision
