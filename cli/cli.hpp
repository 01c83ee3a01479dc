#pragma once
// Shared pieces of the engine's commands (those that need LibTorch and the
// plugins); the LibTorch-free ones are in context.hpp.

#include <memory>
#include <string>

#include "bridges/registry/registry.hpp"
#include "bridges/similarity.hpp"
#include "context.hpp"

namespace bridges::cli {

/// A component from a name or a JSON spec, through the registry.
template <class T>
std::shared_ptr<T> make_component(Context& context, const std::string& value, std::string_view option) {
  return context.registry().make_from_json<T>(parse_spec(value, option));
}

/// A similarity from a name ("cosine") or a JSON spec ('{"type": "linf", "p": 20}').
inline std::shared_ptr<Similarity> make_similarity(Context& context, const std::string& spec) {
  return make_component<Similarity>(context, spec, "--similarity");
}

/// `plugins check` for the engine: loads every plugin (exit 1 on a problem).
void check_plugins(Context& context);

void add_project_command(CLI::App& app, Context& context);
void add_invariances_command(CLI::App& app, Context& context);
void add_encode_command(CLI::App& app, Context& context);
void add_run_command(CLI::App& app, Context& context);
void add_compare_command(CLI::App& app, Context& context);
void add_report_command(CLI::App& app, Context& context);
void add_vectors_command(CLI::App& app, Context& context);
void add_translate_command(CLI::App& app, Context& context);

}  // namespace bridges::cli
