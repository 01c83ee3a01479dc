#pragma once
// Where components come from: the plugin registry, or a host program that
// registers its own classes in-process.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "bridges/component.hpp"
#include "bridges/error.hpp"
#include "bridges/invariance.hpp"
#include "bridges/options.hpp"

namespace bridges {

/// What a source knows about a component without making it.
struct BRIDGES_API ComponentInfo {
  ComponentKind kind = ComponentKind::similarity;
  std::string name;
  std::string description;
  std::string provider;           ///< plugin name, or "in-process"
  OptionSchema options;
  /// Declared invariances, possibly depending on options (similarities and
  /// measures); `invariances.holds(options)` for one made component.
  InvarianceDeclaration invariances;
  /// The transformation classes a translator recovers exactly from paired
  /// anchors, as declared (translators only).
  InvarianceSet represents;
  /// Measures only: whether the measure pairs entry (i, c) of one
  /// representation with entry (i, c) of the other (correlations), and so
  /// needs both of the same width.
  bool same_width = false;
  /// Whether a larger value means closer ("similarity": cosine, CKA) or
  /// farther ("distance": L1, Euclidean, the Procrustes distance);
  /// similarities and measures, "" when not declared (a measure: similarity).
  std::string direction;
  /// Aggregators only: the merge treats every subspace alike (permuting the
  /// subspaces changes nothing: sum, self-attention with weights shared by
  /// the subspace tokens), so it cannot undo one subspace's sign. Merging a
  /// similarity with distances as they are makes their rows cancel; a
  /// pipeline doing so is warned (Pipeline::warnings).
  bool symmetric = false;

  /// "similarity/cosine"
  std::string qualified_name() const;
};

/// "Make me component KIND/NAME with these JSON options." The pipeline runner
/// and the CLI ask only this interface; the plugin registry implements it, and
/// so can a host program or a test, with no shared library at all.
class BRIDGES_API ComponentSource {
 public:
  virtual ~ComponentSource();

  /// Every component this source can make.
  virtual std::vector<ComponentInfo> components() const = 0;

  /// Makes KIND/NAME. `options` is validated against the declared schema and
  /// completed with defaults before the component sees it. Throws
  /// UnknownNameError (listing the names that exist and the closest),
  /// ConfigError or CreateError.
  virtual std::shared_ptr<Component> create(ComponentKind kind, std::string_view name,
                                            const nlohmann::json& options) = 0;

  /// The typed form: make<Similarity>("cosine", {{"eps", 1e-6}}).
  template <class T>
  std::shared_ptr<T> make(std::string_view name, const nlohmann::json& options = nlohmann::json::object()) {
    return cast<T>(create(T::kind, name, options), name);
  }

  /// From a spec {"type": "cosine", ...options}, as pipelines and to_json() write them.
  template <class T>
  std::shared_ptr<T> make_from_json(const nlohmann::json& spec) {
    auto [name, options] = split_spec(T::kind, spec);
    return make<T>(name, options);
  }

  /// The info of KIND/NAME; throws UnknownNameError like create().
  ComponentInfo info(ComponentKind kind, std::string_view name) const;

 protected:
  /// The error for a name this source does not have (lists the names of that kind).
  [[noreturn]] void throw_unknown(ComponentKind kind, std::string_view name) const;

 private:
  static std::pair<std::string, nlohmann::json> split_spec(ComponentKind kind, const nlohmann::json& spec);

  template <class T>
  static std::shared_ptr<T> cast(std::shared_ptr<Component> made, std::string_view name) {
    auto typed = std::dynamic_pointer_cast<T>(std::move(made));
    if (!typed) throw_wrong_type(T::kind, name);
    return typed;
  }
  [[noreturn]] static void throw_wrong_type(ComponentKind kind, std::string_view name);
};

/// A ComponentSource for components compiled into the host program.
///
/// Example:
///   bridges::InProcessSource source;
///   source.add<MySimilarity>("mine", {{"options", {{"alpha", {{"type", "number"}, {"default", 1.0}}}}},
///                                     {"direction", "distance"},
///                                     {"invariances", nlohmann::json::array({"translation", "permutation"})}});
///   auto sim = source.make<bridges::Similarity>("mine", {{"alpha", 2.0}});
class BRIDGES_API InProcessSource : public ComponentSource {
 public:
  using Factory = std::function<std::shared_ptr<Component>(const nlohmann::json& options)>;

  /// Registers KIND/NAME. `declaration` is what a manifest's "provides"
  /// entry says about it (docs/plugins.md): "options" (an OptionSchema
  /// spec), "description", "direction" and "invariances" (similarities and
  /// measures); every key optional. Options are validated against the
  /// schema before `factory` runs. Throws ConfigError when the name is taken
  /// or the declaration is malformed (an unknown key, a bad schema,
  /// direction or invariance).
  void add(ComponentKind kind, std::string name, Factory factory,
           const nlohmann::json& declaration = nlohmann::json::object());

  /// Registers class T, made with T(const nlohmann::json& options).
  template <class T>
  void add(std::string name, const nlohmann::json& declaration = nlohmann::json::object()) {
    add(T::kind, std::move(name),
        [](const nlohmann::json& options) -> std::shared_ptr<Component> { return std::make_shared<T>(options); },
        declaration);
  }

  std::vector<ComponentInfo> components() const override;
  std::shared_ptr<Component> create(ComponentKind kind, std::string_view name,
                                    const nlohmann::json& options) override;

 private:
  struct Entry {
    ComponentInfo info;
    Factory factory;
  };
  std::map<std::string, Entry, std::less<>> entries_;  // by qualified name
};

}  // namespace bridges
