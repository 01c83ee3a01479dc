// The bridges engine (libexec/bridges/bridges-engine): every command. The
// `bridges` front end (front.cpp) runs it for all but --help, --version and
// `plugins list/show`. Exit codes: 0 ok, 1 error (or problems found), 2 usage.
#include <fmt/format.h>

#include <unistd.h>

#include <csignal>
#include <iostream>

#include "bridges/build_info.hpp"
#include "bridges/error.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/tensor.hpp"
#include "bridges/util/runtime.hpp"
#include "cli.hpp"

namespace {

// The first SIGINT or SIGTERM asks the command to stop at its next check:
// writers then remove their temporary files and every output stays whole
// (or absent). A second one ends the program at once.
void on_interrupt(int signal) {
  bridges::request_interrupt();
  std::signal(signal, SIG_DFL);
}

// Inputs that bridges maps into memory (compare, project) raise SIGBUS when
// another program truncates the file while it is read: say so instead of
// dying without a word. Outputs are written to temporary files and renamed
// when whole, so none is replaced by a partial one.
void on_bus_error(int) {
  static constexpr char message[] =
      "error: an input file shrank while bridges was reading it (another program truncated or rewrote it). No "
      "output was replaced. Run the command again once the file is complete.\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message, sizeof message - 1);
  ::_exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace bridges;
  keep_freed_memory();
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  // Past `ulimit -f` a write fails with EFBIG and becomes the same IoError as
  // a full disk, instead of SIGXFSZ killing the process mid-file.
  std::signal(SIGXFSZ, SIG_IGN);
  std::signal(SIGBUS, on_bus_error);
  cli::Context context;
  CLI::App app;
  cli::configure_app(app, context);
  app.parse_complete_callback([&] { set_threads(context.threads); });

  cli::add_plugins_command(app, context, [&context] { cli::check_plugins(context); });
  cli::add_project_command(app, context);
  cli::add_invariances_command(app, context);
  cli::add_encode_command(app, context);
  cli::add_compare_command(app, context);
  cli::add_translate_command(app, context);
  cli::add_run_command(app, context);
  cli::add_report_command(app, context);
  cli::add_vectors_command(app, context);

  return cli::run_app(app, context, argc, argv);
}
