#pragma once
// One error hierarchy, rooted at bridges::Error. Every message is meant for a
// person: it names the file or component, what was expected, what was found,
// and how to fix it.

#include <stdexcept>
#include <string>

#include "bridges/export.hpp"

namespace bridges {

/// Root of every error bridges throws.
class BRIDGES_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  ~Error() override;
};

/// An optional capability a component does not have ("similarity/l1: grad").
class BRIDGES_API NotImplemented : public Error {
 public:
  using Error::Error;
};

/// A file could not be opened, read or written (names the file and the OS reason).
class BRIDGES_API IoError : public Error {
 public:
  using Error::Error;
};

/// A file was readable but its content is not what the format requires
/// (a bad .npy header, truncated data, ...).
class BRIDGES_API FormatError : public Error {
 public:
  using Error::Error;
};

/// A tensor argument has the wrong shape or dtype.
class BRIDGES_API ShapeError : public Error {
 public:
  using Error::Error;
};

/// A measure that is not defined for these inputs: a space whose samples are
/// all the same point (CKA would be 0/0, kNN all ties), fewer samples than
/// the measure needs (debiased CKA: 4; kNN: k + 1). Never a plausible
/// number in its place; callers that compare many pairs record the reason
/// and go on.
class BRIDGES_API UndefinedMeasureError : public ShapeError {
 public:
  using ShapeError::ShapeError;
};

/// Numbers from outside (a file, an encoder, a plugin) are NaN or infinite,
/// or a result overflowed: the message names the source, the first bad row
/// and column, and how to fix it.
class BRIDGES_API NonFiniteError : public Error {
 public:
  using Error::Error;
};

/// Options given to a component, a command or a pipeline are invalid.
class BRIDGES_API ConfigError : public Error {
 public:
  using Error::Error;
};

/// A name (component, strategy, normalisation, ...) that does not exist. The
/// message lists the names that exist and the closest one.
class BRIDGES_API UnknownNameError : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

/// A plugin manifest is malformed, or disagrees with its library.
class BRIDGES_API ManifestError : public Error {
 public:
  using Error::Error;
};

/// A plugin library could not be loaded, or lacks the entry point.
class BRIDGES_API LoadError : public Error {
 public:
  using Error::Error;
};

/// A plugin library was built for another ABI version or another build
/// (bridges, LibTorch, compiler or C++ ABI).
class BRIDGES_API AbiMismatchError : public Error {
 public:
  using Error::Error;
};

/// A component's factory failed (the plugin's own message is included).
class BRIDGES_API CreateError : public Error {
 public:
  using Error::Error;
};

}  // namespace bridges
