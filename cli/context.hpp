#pragma once
// What every `bridges` command shares and needs no LibTorch: the context of
// global options, the plugin index, tables, component specs and the
// top-level application. Compiled into both programs: the front end
// (`bridges`, which answers --help, --version and `plugins list/show`
// itself) and the engine (libexec/bridges/bridges-engine, every command).

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bridges/registry/plugin_index.hpp"

namespace bridges {
class Registry;
}

namespace bridges::cli {

/// Options every command shares, and the plugin index and registry built
/// from them.
struct Context {
  int threads = 0;                       ///< --threads; 0 = every core
  std::vector<std::string> plugin_path;  ///< --plugin-path, searched before the default path
  int exit_code = 0;                     ///< set by a command that found problems (1)
  std::string command_line;              ///< the words the program was run with, quoted as a shell would need

  /// --plugin-path, then the default search path.
  std::vector<std::filesystem::path> search_path() const;
  /// The manifests on the search path, read on first use (no plugin is
  /// loaded); their warnings are printed to stderr once.
  const PluginIndex& plugin_index();
  /// The registry, made on first use (engine only: it loads plugins).
  Registry& registry();

 private:
  std::shared_ptr<PluginIndex> index_;
  std::shared_ptr<Registry> registry_;
};

/// The commands, in the order --help lists them, with their one-line
/// descriptions: one table for both programs, so their help is the same.
const std::vector<std::pair<std::string, std::string>>& commands();
/// The description of command `name` from commands().
std::string description_of(std::string_view name);

/// The top-level application both programs parse with: description,
/// --version, the global options (--threads, --plugin-path).
void configure_app(CLI::App& app, Context& context);

/// Parses and runs the command line with `app`; returns the exit code: 0
/// ok (or the command's own, context.exit_code), 1 error, 2 usage, 130
/// interrupted. Errors are printed to stderr.
int run_app(CLI::App& app, Context& context, int argc, char** argv);

/// `plugins list`, `plugins show NAME` (from the index) and `plugins check`,
/// which runs `check`.
void add_plugins_command(CLI::App& app, Context& context, std::function<void()> check);

/// Prints rows under a header, each column as wide as its widest cell;
/// with a `width`, the last column is wrapped to fit it (0: never wrapped).
void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows, std::size_t width = 0);

/// The terminal's width when stdout is one ($COLUMNS, else the terminal's
/// own), else 0: output to a file or a pipe is never wrapped.
std::size_t terminal_width();

/// Splits repeated, comma-separated option values ("cosine,l1" "linf");
/// a value that starts with '{' is kept whole (a JSON component spec).
std::vector<std::string> list_values(const std::vector<std::string>& values);

/// A JSON spec from a command-line value: a name ("cosine") or a JSON
/// object ('{"type": "linf", "p": 20}'). `option` names the flag in errors.
nlohmann::json parse_spec(const std::string& value, std::string_view option);

}  // namespace bridges::cli
