#pragma once
// Helpers shared by the test suites.

#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "bridges/tensor.hpp"

namespace bridges::testing {

/// A fresh folder, removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// While it lives, files this process writes may not grow past `bytes`
/// (RLIMIT_FSIZE; SIGXFSZ ignored): a write past it fails with EFBIG, as on a
/// full disk.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes);
  ~FileSizeLimit();
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  uint64_t saved_current_ = 0;
  void (*saved_handler_)(int) = nullptr;
};

/// Standard normal tensor of `sizes`, reproducible from `seed`.
Tensor randn(std::vector<int64_t> sizes, uint64_t seed, at::ScalarType dtype = at::kFloat);

/// Writes raw bytes to a file (for hand-made malformed files).
void write_bytes(const std::filesystem::path& file, const std::string& bytes);
/// The raw bytes of a file.
std::string read_file(const std::filesystem::path& file);

/// The names of the entries of a folder (to check that nothing was left behind).
std::vector<std::string> list_folder(const std::filesystem::path& folder);

/// Whether a shared library whose path contains `name` is mapped into this process.
bool library_mapped(const std::string& name);

/// max |a - b| (both converted to float64).
double max_abs_diff(const Tensor& a, const Tensor& b);

/// Like PyTorch's gradcheck: the largest difference between the Jacobian of
/// f with respect to each of `inputs` computed by autograd (one backward per
/// output element) and by central differences of step `eps`. The inputs
/// should be float64; they are copied, never changed.
double gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                 double eps = 1e-6);

/// Checks that `expr` throws an exception of type `E` whose message contains
/// every one of `parts`.
#define CHECK_THROWS_WITH_ALL(expr, E, ...)                                                    \
  do {                                                                                         \
    try {                                                                                      \
      (void)(expr);                                                                            \
      FAIL_CHECK("expected " #E " from " #expr);                                               \
    } catch (const E& error_) {                                                                \
      const std::string message_ = error_.what();                                              \
      for (const std::string part_ : std::vector<std::string>{__VA_ARGS__}) {                  \
        INFO("message: " << message_);                                                         \
        CHECK_MESSAGE(message_.find(part_) != std::string::npos, "missing '" << part_ << "'"); \
      }                                                                                        \
    }                                                                                          \
  } while (false)

}  // namespace bridges::testing
