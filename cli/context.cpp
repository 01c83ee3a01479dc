#include "context.hpp"

#include <fmt/format.h>

#include <algorithm>
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

int run_app(CLI::App& app, Context& context, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
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

void print_table(std::ostream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c)
      text += c + 1 == cells.size() ? cells[c] : fmt::format("{:<{}}  ", cells[c], width[c]);
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << '\n';
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
