// bridges: the command-line front end. It links no LibTorch, so it answers
// --help, --version and `plugins list/show/new` in milliseconds (LibTorch's own
// initialisation takes 0.5 s before main() runs); every other command, and
// `plugins check`, is handed whole to the engine
// (<prefix>/libexec/bridges/bridges-engine), which replaces this process.
// Exit codes: 0 ok, 1 error (or problems found), 2 usage.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "bridges/error.hpp"
#include "bridges/util/thread_count.hpp"
#include "context.hpp"

namespace {

namespace fs = std::filesystem;

// Runs the engine with our own arguments; returns only when it cannot.
int run_engine(char** argv) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const fs::path engine = (self.parent_path() / ".." / "libexec" / "bridges" / "bridges-engine").lexically_normal();
  if (ec || !fs::exists(engine, ec)) {
    std::cerr << fmt::format("error: the bridges engine is missing: expected {} beside this program ({}). Reinstall "
                             "bridges (cmake --install), or build the target bridges_engine.\n",
                             engine.string(), self.string());
    return 1;
  }
  ::execv(engine.c_str(), argv);
  std::cerr << fmt::format("error: cannot run {}: {}.\n", engine.string(), std::strerror(errno));
  return 1;
}

// The command a command line names: its first word that is neither an
// option nor the value of a global option.
std::string_view command_of(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--threads" || word == "--plugin-path") {
      ++i;
      continue;
    }
    if (!word.starts_with('-')) return word;
  }
  return {};
}

// Whether the engine runs this command line: every command but `plugins
// list` and `plugins show` (and --help, --version, and usage errors, which
// the front end answers with the same text).
bool for_the_engine(int argc, char** argv) {
  const std::string_view command = command_of(argc, argv);
  if (command == "plugins") {
    for (int i = 1; i < argc; ++i)
      if (std::string_view(argv[i]) == "check") return true;
    return false;
  }
  for (const auto& [name, description] : bridges::cli::commands())
    if (name == command) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bridges;
  if (for_the_engine(argc, argv)) return run_engine(argv);
  cli::Context context;
  CLI::App app;
  cli::configure_app(app, context);
  // The engine's bound on --threads, with its message, for every command.
  app.parse_complete_callback([&] { checked_thread_count(context.threads); });
  cli::add_plugins_command(app, context, [argv] { std::exit(run_engine(argv)); });
  // The other commands, for --help's list (a command line that names one
  // went to the engine above).
  for (const auto& [name, description] : cli::commands())
    if (name != "plugins") app.add_subcommand(name, description);
  return cli::run_app(app, context, argc, argv);
}
