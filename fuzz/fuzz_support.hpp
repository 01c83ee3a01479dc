#pragma once
// What the fuzz targets share: the input as a file (most parsers read a
// path), and the rule that a parser may reject input only with a
// bridges::Error (or, for JSON walks, a json exception turned into one).

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace bridges::fuzz {

/// The fuzzer's bytes in a file of this process (on /dev/shm, so no disk).
inline std::filesystem::path input_file(const uint8_t* data, size_t size, const std::string& name) {
  static const std::filesystem::path folder = [] {
    auto f = std::filesystem::path("/dev/shm") / ("bridges-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(f);
    return f;
  }();
  const auto file = folder / name;
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return file;
}

}  // namespace bridges::fuzz
