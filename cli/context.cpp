#include "context.hpp"

#include <fmt/format.h>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <iostream>

#include "bridges/build_info.hpp"
#include "bridges/error.hpp"
#include "bridges/util/interrupt.hpp"
#include "bridges/util/io.hpp"
#include "bridges/util/messages.hpp"

namespace bridges::cli {

std::vector<std::filesystem::path> Context::search_path() const {
  std::vector<std::filesystem::path> path(plugin_path.begin(), plugin_path.end());
  for (auto& p : PluginIndex::default_search_path()) path.push_back(std::move(p));
  return path;
}

const PluginIndex& Context::plugin_index() {
  if (!index_) {
    index_ = std::make_shared<PluginIndex>(search_path());
    for (const auto& warning : index_->warnings()) std::cerr << "warning: " << warning << '\n';
  }
  return *index_;
}

const std::vector<std::pair<std::string, std::string>>& commands() {
  static const std::vector<std::pair<std::string, std::string>> table{
      {"plugins", "List, inspect and check plugins"},
      {"project", "Relative representations of latents (.npy) against anchors"},
      {"invariances", "Measure each similarity's and measure's invariances, and what each translator recovers, "
                      "beside what they declare"},
      {"encode", "Train an encoder (or load it from the cache) and encode a split"},
      {"compare", "How similar two latent spaces of the same samples are"},
      {"translate", "Carry latents into another model's latent space (latent-space translation)"},
      {"run", "Run an experiment pipeline (JSON) into a run folder"},
      {"report", "Write a run's reports again, or compare the latent similarity of several runs"},
      {"vectors", "Word vectors files: convert, show, and write a corpus to train them on"},
  };
  return table;
}

std::string description_of(std::string_view name) {
  for (const auto& [command, description] : commands())
    if (command == name) return description;
  throw std::logic_error(fmt::format("bridges: command '{}' is missing from the commands() table", name));
}

void configure_app(CLI::App& app, Context& context) {
  app.description(
      "bridges: latent-space communication between neural networks.\n"
      "Represents samples relative to anchors, compares latent spaces and stitches models.");
  app.name("bridges");
  app.set_version_flag("--version", fmt::format("bridges {} ({})", version(), build_id()));
  app.option_defaults()->always_capture_default();
  app.add_option("--threads", context.threads, "LibTorch intra-op threads (0 = every core)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--plugin-path", context.plugin_path,
                 "folder or manifest searched for plugins before BRIDGES_PLUGIN_PATH and the installed plugins")
      ->delimiter(':')
      // No default shown: CLI11 prints an empty list as "[]" or "" depending
      // on which operator<< a program's other files make visible.
      ->default_str("");
  app.require_subcommand(1);
  // Global options may also follow the command: `bridges run P.json --threads 2`.
  app.fallthrough();
}

namespace {

// "bridges run" for the subcommand chain that ends at `app`.
std::string command_path(const CLI::App* app) {
  std::string path = app->get_name();
  for (const CLI::App* a = app->get_parent(); a != nullptr; a = a->get_parent()) path = a->get_name() + " " + path;
  return path;
}

// The option named `word` ("--out", "-o") of `app` or of a command above it
// (global options fall through), or null.
const CLI::Option* option_named(const CLI::App* app, const std::string& word) {
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent())
    for (const CLI::Option* o : a->get_options())
      if (!o->get_positional() && o->check_name(word)) return o;
  return nullptr;
}

// Every option name usable at `app`, with its dashes.
std::vector<std::string> option_names(const CLI::App* app) {
  std::vector<std::string> names;
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent())
    for (const CLI::Option* o : a->get_options()) {
      for (const auto& l : o->get_lnames()) names.push_back("--" + l);
      for (const auto& s : o->get_snames()) names.push_back("-" + s);
    }
  return names;
}

// The first word of a command line that names no command or option where
// it stands, as a message with the closest name; empty when every word is
// known. Asked only once a parse failed: CLI11 reports "bridges rn" as "A
// subcommand is required" and "run --outt x" as whichever check failed
// first, never naming the slip.
std::string unknown_word(const CLI::App& app, int argc, char** argv) {
  const CLI::App* current = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") break;
    if (word.size() > 1 && word[0] == '-' && !std::isdigit(static_cast<unsigned char>(word[1]))) {
      const std::string name = word.substr(0, word.find('='));
      const CLI::Option* option = option_named(current, name);
      if (option == nullptr)
        return fmt::format("{}: unknown option '{}'.{} See '{} --help'.", command_path(current), name,
                           did_you_mean(name, option_names(current)), command_path(current));
      if (word.find('=') == std::string::npos) i += std::max(0, option->get_items_expected_min());  // its values
      continue;
    }
    const auto subcommands = current->get_subcommands([](const CLI::App*) { return true; });
    const auto named = std::find_if(subcommands.begin(), subcommands.end(),
                                    [&](const CLI::App* s) { return s->check_name(word); });
    if (named != subcommands.end()) {
      current = *named;
      continue;
    }
    const bool takes_words = !current->get_options([](const CLI::Option* o) { return o->get_positional(); }).empty();
    if (!subcommands.empty() && !takes_words) {
      std::vector<std::string> names;
      for (const CLI::App* s : subcommands) names.push_back(s->get_name());
      return fmt::format("{}: unknown command '{}'.{} Commands: {}. See '{} --help'.", command_path(current), word,
                         did_you_mean(word, names), join(names), command_path(current));
    }
  }
  return {};
}

}  // namespace

namespace {

// A word as a POSIX shell reads it back: bare when it holds only safe
// characters, else in single quotes.
std::string shell_word(std::string_view word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
  });
  if (safe) return std::string(word);
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

int run_app(CLI::App& app, Context& context, int argc, char** argv) {
  context.command_line = "bridges";  // the engine runs as libexec/bridges/bridges-engine: name what the user typed
  for (int i = 1; i < argc; ++i) context.command_line += " " + shell_word(argv[i]);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0)  // not --help or --version
      if (const std::string slip = unknown_word(app, argc, argv); !slip.empty()) {
        std::cerr << "error: " << slip << '\n';
        return 2;
      }
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const Interrupted& e) {
    std::cerr << e.what() << '\n';
    return 130;
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return context.exit_code;
}

namespace {

// `text` cut at spaces into lines of at most `width` characters (a longer
// word stands alone on its line).
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
  std::vector<std::string> lines;
  std::string line;
  for (const auto& word : split_list(text, ' ')) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(std::move(line));
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

}  // namespace

std::size_t terminal_width() {
  if (!::isatty(STDOUT_FILENO)) return 0;
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr && std::atoi(columns) > 0)
    return static_cast<std::size_t>(std::atoi(columns));
  winsize size{};
  return ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 0;
}

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows, std::size_t width) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = header[c].size();
    for (const auto& row : rows) widths[c] = std::max(widths[c], row[c].size());
  }
  // The last column starts after the others. In a terminal it is wrapped to
  // what is left of the width; with less than 40 characters left, it goes
  // under its row instead, indented, across the whole width.
  std::size_t column = 0;
  for (std::size_t c = 0; c + 1 < widths.size(); ++c) column += widths[c] + 2;
  constexpr std::size_t narrowest = 40, under = 4;
  const bool below = width != 0 && width < column + narrowest;
  const std::size_t room = width == 0 ? SIZE_MAX : below ? std::max(narrowest, width - under) : width - column;
  const auto trimmed = [](std::string row) {
    while (!row.empty() && row.back() == ' ') row.pop_back();
    return row;
  };
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c + 1 < cells.size(); ++c) text += fmt::format("{:<{}}  ", cells[c], widths[c]);
    if (below) {
      out << trimmed(text) << '\n';
      for (const auto& part : wrap(cells.back(), room)) out << std::string(under, ' ') << part << '\n';
      return;
    }
    const std::vector<std::string> last = room == SIZE_MAX ? std::vector<std::string>{cells.back()} : wrap(cells.back(), room);
    for (std::size_t l = 0; l < last.size(); ++l) out << trimmed((l == 0 ? text : std::string(column, ' ')) + last[l]) << '\n';
  };
  line(header);
  for (const auto& row : rows) line(row);
}

std::vector<std::string> list_values(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    if (!value.empty() && value.front() == '{') {
      out.push_back(value);
      continue;
    }
    for (auto& item : split_list(value)) out.push_back(std::move(item));
  }
  return out;
}

nlohmann::json parse_spec(const std::string& value, std::string_view option) {
  if (value.empty() || value.front() != '{') return {{"type", value}};
  return parse_json(value, fmt::format("{} {}", option, value));
}

}  // namespace bridges::cli
