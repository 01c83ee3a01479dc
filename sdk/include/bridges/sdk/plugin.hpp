#pragma once
// Everything a plugin author needs to declare a bridges plugin.
//
// Example (a complete plugin with one similarity):
//
//   #include <bridges/sdk/plugin.hpp>
//
//   struct AngularOptions {  // named like the manifest's options
//     double eps;
//   };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AngularOptions, eps)
//
//   class Angular final : public bridges::sdk::WithOptions<bridges::Similarity, AngularOptions> {
//    public:
//     using WithOptions::WithOptions;
//     std::string type() const override { return "angular"; }
//     // invariances: declared in the manifest ("invariances"), not in code
//    protected:
//     bridges::Tensor compute(const bridges::Tensor& x, const bridges::Tensor& a) const override;  // options_.eps
//   };
//
//   BRIDGES_PLUGIN(bridges::sdk::component<Angular>("angular"))
//
// The registry validates options against the manifest and fills in defaults
// before the constructor runs, so every declared option is there to parse. A constructor throws bridges::ConfigError for options
// that are well-typed but unusable; any exception becomes an error message
// for the caller, never a crash across the library boundary.

#include <ATen/TensorOperators.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "bridges/build_info.hpp"
#include "bridges/component.hpp"
#include "bridges/dataset.hpp"
#include "bridges/encoder.hpp"
#include "bridges/error.hpp"
#include "bridges/measure.hpp"
#include "bridges/plugin_abi.h"
#include "bridges/similarity.hpp"
#include "bridges/translator.hpp"

// std::optional<T> as null or a T (nlohmann/json 3.11 has no conversion of
// its own): the type of a nullable option in a typed options struct.
namespace nlohmann {
template <class T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& value) {
    if (value)
      j = *value;
    else
      j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& value) {
    if (j.is_null())
      value.reset();
    else
      value = j.get<T>();
  }
};
}  // namespace nlohmann

/// Typed options that extend another typed options struct, as a plugin's
/// components extend the options they share (the manifest's shared_options):
/// the fields of Base, then Type's own, each named like its JSON key.
///
///   struct Training { int64_t epochs; double lr; };
///   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Training, epochs, lr)
///   struct CnnOptions : Training { int64_t latent_dim; };
///   BRIDGES_DERIVED_OPTIONS(CnnOptions, Training, latent_dim)
///
/// (nlohmann/json 3.11.2, Debian's, has no macro for derived types.)
#define BRIDGES_DERIVED_OPTIONS(Type, Base, ...)                                       \
  inline void to_json(nlohmann::json& nlohmann_json_j, const Type& nlohmann_json_t) {   \
    to_json(nlohmann_json_j, static_cast<const Base&>(nlohmann_json_t));               \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_TO, __VA_ARGS__))           \
  }                                                                                    \
  inline void from_json(const nlohmann::json& nlohmann_json_j, Type& nlohmann_json_t) { \
    from_json(nlohmann_json_j, static_cast<Base&>(nlohmann_json_t));                   \
    NLOHMANN_JSON_EXPAND(NLOHMANN_JSON_PASTE(NLOHMANN_JSON_FROM, __VA_ARGS__))         \
  }

namespace bridges::sdk {

/// One row of a plugin's component table.
struct Entry {
  const char* kind;
  const char* name;
  Component* (*make)(const nlohmann::json& options);
};

/// A component that keeps the options it was made with (the registry has
/// checked them against the manifest and filled in every default), parsed
/// once, and gives them back from to_json() with the type.
///
/// Typed options, in the style of LibTorch's XOptions: a struct whose fields
/// are named exactly like the manifest's options, made convertible by one
/// line of nlohmann/json (a nullable option is a std::optional):
///
///   struct ShiftOptions {
///     double shift;
///     std::optional<std::string> path;
///   };
///   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ShiftOptions, shift, path)
///
///   class Shifted final : public bridges::sdk::WithOptions<bridges::Encoder, ShiftOptions> {
///    public:
///     using WithOptions::WithOptions;
///     std::string type() const override { return "shifted"; }
///     ...  // options_.shift, options_.path
///   };
///
/// With no Options type, options_ is the JSON object itself and option(name)
/// reads one that may be null.
template <class Base, class Options = nlohmann::json>
class WithOptions : public Base {
 public:
  explicit WithOptions(const nlohmann::json& options) : options_(options.template get<Options>()) {}
  nlohmann::json to_json() const override {
    nlohmann::json out = options_;
    out["type"] = this->type();
    return out;
  }

 protected:
  /// The option `name` when it is set (not null); for JSON options only.
  std::optional<nlohmann::json> option(const std::string& name) const {
    // (A member of a class template is compiled only when called: with typed
    // options, read the struct's field instead.)
    static_assert(std::is_same_v<Options, nlohmann::json>, "option(name) reads JSON options; use options_.name");
    const auto it = options_.find(name);
    if (it == options_.end() || it->is_null()) return std::nullopt;
    return std::optional<nlohmann::json>(std::in_place, *it);
  }
  Options options_;
};

/// The base of a family of components that share some options (a plugin's
/// shared_options): the family's code reads them through shared_options(),
/// and each member's typed options extend Shared (BRIDGES_DERIVED_OPTIONS).
///
///   class ImageDataset : public bridges::sdk::Family<bridges::Dataset, Sampling> { ... shared_options().seed ... };
///   class Mnist final : public bridges::sdk::Member<ImageDataset, MnistOptions> { ... options_.test_size ... };
template <class Base, class Shared>
class Family : public Base {
 public:
  using SharedOptions = Shared;

 protected:
  virtual const Shared& shared_options() const = 0;
};

/// A member of `FamilyBase` (a Family) with its typed Options, which extend
/// the family's shared options.
template <class FamilyBase, class Options>
class Member : public WithOptions<FamilyBase, Options> {
 public:
  using WithOptions<FamilyBase, Options>::WithOptions;

 protected:
  const typename FamilyBase::SharedOptions& shared_options() const override { return this->options_; }
};

/// The table row for class T (a Similarity, Aggregator, Encoder, Dataset, Translator or Measure
/// constructible from const nlohmann::json&), under `name`.
template <class T>
Entry component(const char* name) {
  return {to_string(T::kind).data(), name, [](const nlohmann::json& options) -> Component* { return new T(options); }};
}

inline void write_error(char* err, std::size_t errlen, std::string_view message) noexcept {
  if (err == nullptr || errlen == 0) return;
  const std::size_t n = std::min(message.size(), errlen - 1);
  std::memcpy(err, message.data(), n);
  err[n] = '\0';
}

/// The create() of the C descriptor: finds kind/name in the table and makes
/// it, turning every exception into an error code and a message.
inline int create(const Entry* entries, std::size_t count, const char* kind, const char* name,
                  const char* options_json, void** out, char* err, std::size_t errlen) noexcept {
  try {
    for (std::size_t i = 0; i < count; ++i) {
      if (std::strcmp(entries[i].kind, kind) != 0 || std::strcmp(entries[i].name, name) != 0) continue;
      const auto options = nlohmann::json::parse(options_json != nullptr ? options_json : "{}");
      *out = static_cast<void*>(entries[i].make(options));
      return BRIDGES_CREATE_OK;
    }
    write_error(err, errlen, std::string("this plugin has no ") + kind + "/" + name);
    return BRIDGES_CREATE_UNKNOWN;
  } catch (const ConfigError& e) {
    write_error(err, errlen, e.what());
    return BRIDGES_CREATE_BAD_CONFIG;
  } catch (const nlohmann::json::exception& e) {
    // An option read with the wrong type: the options are at fault.
    write_error(err, errlen, e.what());
    return BRIDGES_CREATE_BAD_CONFIG;
  } catch (const std::exception& e) {
    write_error(err, errlen, e.what());
    return BRIDGES_CREATE_FAILED;
  } catch (...) {
    write_error(err, errlen, "an exception that is not a std::exception");
    return BRIDGES_CREATE_FAILED;
  }
}

/// The destroy() of the C descriptor.
inline void destroy(void* object) noexcept { delete static_cast<Component*>(object); }

/// Owns the descriptor and the component list it points to.
class Descriptor {
 public:
  using Table = const Entry* (*)(std::size_t* count);
  using Create = int (*)(const char*, const char*, const char*, void**, char*, std::size_t);

  Descriptor(const char* name, const char* version, Table table, Create create_fn) {
    std::size_t count = 0;
    const Entry* entries = table(&count);
    for (std::size_t i = 0; i < count; ++i) components_.push_back({entries[i].kind, entries[i].name});
    descriptor_.abi_version = BRIDGES_PLUGIN_ABI_VERSION;
    descriptor_.struct_size = sizeof(bridges_plugin_v1_t);
    descriptor_.name = name;
    descriptor_.version = version;
    descriptor_.build_id = BRIDGES_BUILD_ID;
    descriptor_.component_count = components_.size();
    descriptor_.components = components_.data();
    descriptor_.create = create_fn;
    descriptor_.destroy = &sdk::destroy;
  }
  const bridges_plugin_v1_t* get() const { return &descriptor_; }

 private:
  std::vector<bridges_component_v1> components_;
  bridges_plugin_v1_t descriptor_{};
};

}  // namespace bridges::sdk

/// Declares the plugin's components as bridges::sdk::component<T>("name")
/// rows. Use once per plugin library, at namespace scope in one .cpp file.
/// The plugin's name and version are its manifest's: bridges_add_plugin()
/// reads them from the manifest and passes them as BRIDGES_PLUGIN_NAME and
/// BRIDGES_PLUGIN_VERSION, and the registry checks both against the
/// manifest when it loads the library.
#if !defined(BRIDGES_PLUGIN_NAME) || !defined(BRIDGES_PLUGIN_VERSION)
#define BRIDGES_PLUGIN(...)                                                                         \
  static_assert(false, "BRIDGES_PLUGIN_NAME and BRIDGES_PLUGIN_VERSION are not defined: build the " \
                       "plugin with bridges_add_plugin(NAME ... MANIFEST ...), which reads them from the manifest.");
#else
#define BRIDGES_PLUGIN(...)                                                                                \
  namespace {                                                                                               \
  const ::bridges::sdk::Entry* bridges_plugin_table_(std::size_t* count) {                                  \
    static const ::bridges::sdk::Entry entries[] = {__VA_ARGS__};                                           \
    *count = sizeof(entries) / sizeof(entries[0]);                                                          \
    return entries;                                                                                         \
  }                                                                                                         \
  int bridges_plugin_create_(const char* kind, const char* name, const char* options, void** out, char* err, \
                             std::size_t errlen) {                                                          \
    std::size_t count = 0;                                                                                  \
    const ::bridges::sdk::Entry* entries = bridges_plugin_table_(&count);                                   \
    return ::bridges::sdk::create(entries, count, kind, name, options, out, err, errlen);                   \
  }                                                                                                         \
  }                                                                                                         \
  extern "C" __attribute__((visibility("default"))) const bridges_plugin_v1_t* bridges_plugin_v1() {        \
    static const ::bridges::sdk::Descriptor descriptor(BRIDGES_PLUGIN_NAME, BRIDGES_PLUGIN_VERSION,          \
                                                       &bridges_plugin_table_, &bridges_plugin_create_);    \
    return descriptor.get();                                                                                \
  }
#endif
