#pragma once
// Shared pieces of the `bridges` commands.

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "bridges/registry/registry.hpp"
#include "bridges/similarity.hpp"

namespace bridges::cli {

/// Options every command shares, and the registry built from them.
struct Context {
  int threads = 0;                       ///< --threads; 0 = every core
  std::vector<std::string> plugin_path;  ///< --plugin-path, searched before the default path
  int exit_code = 0;                     ///< set by a command that found problems (1)

  /// The registry, made on first use; its warnings are printed to stderr once.
  Registry& registry();

 private:
  std::unique_ptr<Registry> registry_;
};

/// Prints rows under a header, each column as wide as its widest cell.
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

/// Splits repeated, comma-separated option values ("cosine,l1" "linf");
/// a value that starts with '{' is kept whole (a JSON component spec).
std::vector<std::string> list_values(const std::vector<std::string>& values);

/// A JSON spec from a command-line value: a name ("cosine") or a JSON
/// object ('{"type": "linf", "p": 20}'). `option` names the flag in errors.
nlohmann::json parse_spec(const std::string& value, std::string_view option);

/// A component from a name or a JSON spec, through the registry.
template <class T>
std::shared_ptr<T> make_component(Context& context, const std::string& value, std::string_view option) {
  return context.registry().make_from_json<T>(parse_spec(value, option));
}

/// A similarity from a name ("cosine") or a JSON spec ('{"type": "linf", "p": 20}').
inline std::shared_ptr<Similarity> make_similarity(Context& context, const std::string& spec) {
  return make_component<Similarity>(context, spec, "--similarity");
}

void add_plugins_command(CLI::App& app, Context& context);
void add_project_command(CLI::App& app, Context& context);
void add_invariances_command(CLI::App& app, Context& context);
void add_encode_command(CLI::App& app, Context& context);
void add_run_command(CLI::App& app, Context& context);
void add_compare_command(CLI::App& app, Context& context);
void add_report_command(CLI::App& app, Context& context);
void add_vectors_command(CLI::App& app, Context& context);
void add_translate_command(CLI::App& app, Context& context);

}  // namespace bridges::cli
