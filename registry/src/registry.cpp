#include "bridges/registry/registry.hpp"

#include <boost/dll/shared_library.hpp>
#include <fmt/format.h>

#include <ATen/ops/randn.h>
#include <ATen/CPUGeneratorImpl.h>

#include <elf.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>

#include "bridges/build_info.hpp"
#include "bridges/error.hpp"
#include "bridges/plugin_abi.h"
#include "bridges/similarity.hpp"
#include "bridges/util/messages.hpp"

namespace bridges {

namespace fs = std::filesystem;
using nlohmann::json;

namespace detail {
// What a loaded plugin hands out. Every object made from it holds `library`
// in its deleter, so the code outlives the objects. (Not in the anonymous
// namespace: Registry::Impl, declared in the header, holds one.)
struct Loaded {
  std::shared_ptr<boost::dll::shared_library> library;
  const bridges_plugin_v1_t* descriptor = nullptr;
};
}  // namespace detail

namespace {

using detail::Loaded;

// Why `file` cannot be a whole ELF shared library of this machine, or
// nothing. dlopen maps a truncated library and the process dies of SIGBUS on
// the first page past the end (`plugins check` did): every header, program
// segment and the section table must lie inside the file.
std::optional<std::string> elf_problem(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return "it is not a regular file";
  const auto size = fs::file_size(file, ec);
  if (ec) return fmt::format("its size cannot be read ({})", ec.message());
  std::ifstream in(file, std::ios::binary);
  Elf64_Ehdr h{};
  if (size < sizeof h || !in.read(reinterpret_cast<char*>(&h), sizeof h))
    return fmt::format("it has {} bytes, fewer than an ELF header", size);
  if (std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0) return "it is not an ELF file (no \\x7fELF at its start)";
  if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB || h.e_machine != EM_X86_64 ||
      h.e_type != ET_DYN)
    return "it is not a 64-bit x86-64 shared library";
  const auto inside = [&](uint64_t offset, uint64_t bytes) { return offset <= size && bytes <= size - offset; };
  if (!inside(h.e_phoff, uint64_t{h.e_phnum} * h.e_phentsize) ||
      !inside(h.e_shoff, uint64_t{h.e_shnum} * h.e_shentsize))
    return fmt::format("it is truncated: its headers reach past its {} bytes", size);
  if (h.e_phentsize != sizeof(Elf64_Phdr)) return "its program headers have an unexpected size";
  in.seekg(static_cast<std::streamoff>(h.e_phoff));
  for (int i = 0; i < h.e_phnum; ++i) {
    Elf64_Phdr ph{};
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) return "its program headers cannot be read";
    if (ph.p_type == PT_LOAD && !inside(ph.p_offset, ph.p_filesz))
      return fmt::format("it is truncated: a segment reaches byte {} of a file of {} bytes", ph.p_offset + ph.p_filesz,
                         size);
  }
  return std::nullopt;
}

Loaded open_library(const PluginManifest& m) {
  std::error_code ec;
  if (!fs::exists(m.library, ec))
    throw LoadError(fmt::format("{}: plugin '{}': library {} does not exist. Build the plugin, or correct \"library\" "
                                "in the manifest.",
                                m.file.string(), m.plugin, m.library.string()));
  if (const auto problem = elf_problem(m.library))
    throw LoadError(fmt::format("{}: plugin '{}': cannot load {}: {}. Build the plugin again (an interrupted copy or "
                                "build leaves such a file).",
                                m.file.string(), m.plugin, m.library.string(), *problem));
  Loaded loaded;
  try {
    // rtld_now: an unresolved symbol fails here, with the loader's message,
    // rather than crashing the first call. rtld_local: plugins cannot
    // interpose each other's symbols.
    loaded.library = std::make_shared<boost::dll::shared_library>(
        m.library, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw LoadError(fmt::format("{}: plugin '{}': cannot load {}: {}. Check that it was built against this bridges "
                                "and that the libraries it needs are installed (ldd shows which are missing).",
                                m.file.string(), m.plugin, m.library.string(), e.what()));
  }
  if (!loaded.library->has(BRIDGES_PLUGIN_ENTRY))
    throw LoadError(fmt::format("{}: plugin '{}': {} does not export the entry point {}. A plugin declares itself with "
                                "BRIDGES_PLUGIN(...) from <bridges/sdk/plugin.hpp>; check that the file with it is "
                                "compiled into the library.",
                                m.file.string(), m.plugin, m.library.string(), BRIDGES_PLUGIN_ENTRY));
  const auto entry = loaded.library->get<const bridges_plugin_v1_t*()>(BRIDGES_PLUGIN_ENTRY);
  loaded.descriptor = entry();
  const bridges_plugin_v1_t* d = loaded.descriptor;
  if (d == nullptr)
    throw LoadError(fmt::format("{}: plugin '{}': {} returned no descriptor.", m.file.string(), m.plugin,
                                BRIDGES_PLUGIN_ENTRY));
  // abi_version is the one field whose place is fixed across ABIs: read it
  // before trusting the rest.
  if (d->abi_version != BRIDGES_PLUGIN_ABI_VERSION || d->struct_size < sizeof(bridges_plugin_v1_t))
    throw AbiMismatchError(fmt::format("{}: plugin '{}': {} uses plugin ABI {} (descriptor of {} bytes); this bridges "
                                       "loads ABI {} ({} bytes). Rebuild the plugin against bridges {}.",
                                       m.file.string(), m.plugin, m.library.string(), d->abi_version, d->struct_size,
                                       BRIDGES_PLUGIN_ABI_VERSION, sizeof(bridges_plugin_v1_t), version()));
  const std::string differences = build_id_differences(build_id(), d->build_id ? d->build_id : "");
  if (!differences.empty())
    throw AbiMismatchError(fmt::format("{}: plugin '{}': {} was built for another build of bridges ({}). C++ objects "
                                       "cannot cross between them safely. Rebuild the plugin against this bridges.",
                                       m.file.string(), m.plugin, m.library.string(), differences));
  // The descriptor's name and version come from the manifest the library was
  // built with (bridges_add_plugin): a difference means a stale library or a
  // manifest edited since the build.
  const std::string built_name = d->name ? d->name : "", built_version = d->version ? d->version : "";
  if (m.plugin != built_name || m.version != built_version)
    throw ManifestError(fmt::format("{}: the manifest names plugin '{}' {} but {} calls itself '{}' {}: it was built "
                                    "from another manifest. Rebuild the plugin (bridges_add_plugin reads the name and "
                                    "version from this manifest).",
                                    m.file.string(), m.plugin, m.version, m.library.string(), built_name, built_version));
  std::set<std::string> in_library, in_manifest;
  for (std::size_t i = 0; i < d->component_count; ++i)
    in_library.insert(fmt::format("{}/{}", d->components[i].kind, d->components[i].name));
  for (const auto& c : m.provides) in_manifest.insert(c.qualified_name());
  std::vector<std::string> missing, extra;
  std::set_difference(in_manifest.begin(), in_manifest.end(), in_library.begin(), in_library.end(),
                      std::back_inserter(missing));
  std::set_difference(in_library.begin(), in_library.end(), in_manifest.begin(), in_manifest.end(),
                      std::back_inserter(extra));
  if (!missing.empty() || !extra.empty())
    throw ManifestError(fmt::format("{}: plugin '{}': the manifest and {} disagree. In the manifest only: {}. In the "
                                    "library only: {}. Make \"provides\" list exactly what BRIDGES_PLUGIN declares.",
                                    m.file.string(), m.plugin, m.library.string(), join(missing), join(extra)));
  return loaded;
}

}  // namespace

struct Registry::Impl {
  // What loading plugin i (index.plugins()[i]) gave: its library, or the
  // error to throw again.
  struct Plugin {
    std::optional<detail::Loaded> loaded;
    std::exception_ptr failure;
  };
  PluginIndex index;
  std::vector<Plugin> plugins;
  std::mutex mutex;

  explicit Impl(PluginIndex i) : index(std::move(i)), plugins(index.plugins().size()) {}

  const detail::Loaded& ensure_loaded(std::size_t i) {
    std::lock_guard lock(mutex);
    Plugin& p = plugins[i];
    if (p.failure) std::rethrow_exception(p.failure);
    if (!p.loaded) {
      try {
        p.loaded = open_library(index.plugins()[i]);
      } catch (...) {
        p.failure = std::current_exception();
        throw;
      }
    }
    return *p.loaded;
  }
};

std::vector<fs::path> Registry::default_search_path() { return PluginIndex::default_search_path(); }

Registry::Registry(std::vector<fs::path> search_path)
    : impl_(std::make_unique<Impl>(PluginIndex(std::move(search_path)))) {}

Registry::~Registry() = default;

const PluginIndex& Registry::index() const { return impl_->index; }
const std::vector<fs::path>& Registry::search_path() const { return impl_->index.search_path(); }
const std::vector<PluginManifest>& Registry::plugins() const { return impl_->index.plugins(); }
const std::vector<std::string>& Registry::warnings() const { return impl_->index.warnings(); }
const PluginManifest& Registry::plugin(std::string_view name) const { return impl_->index.plugin(name); }
std::vector<ComponentInfo> Registry::components() const { return impl_->index.components(); }

void Registry::load(std::string_view name) { impl_->ensure_loaded(impl_->index.index_of(name)); }

std::shared_ptr<Component> Registry::create(ComponentKind kind, std::string_view name, const json& options) {
  const std::string qualified = fmt::format("{}/{}", to_string(kind), name);
  const auto provider = impl_->index.provider_of(qualified);
  if (!provider) throw_unknown(kind, name);
  const PluginManifest& manifest = impl_->index.plugins()[*provider];
  const auto info = std::find_if(manifest.provides.begin(), manifest.provides.end(),
                                 [&](const auto& c) { return c.qualified_name() == qualified; });
  const json complete = info->options.apply(options, qualified);
  const detail::Loaded& loaded = impl_->ensure_loaded(*provider);

  void* made = nullptr;
  char message[2048] = {0};
  const std::string kind_text(to_string(kind)), name_text(name), options_text = complete.dump();
  const int rc = loaded.descriptor->create(kind_text.c_str(), name_text.c_str(), options_text.c_str(), &made, message,
                                           sizeof message);
  if (rc == BRIDGES_CREATE_BAD_CONFIG)
    throw ConfigError(fmt::format("{} (plugin '{}'): invalid options {}: {}", qualified, manifest.plugin, options_text,
                                  message));
  if (rc != BRIDGES_CREATE_OK || made == nullptr)
    throw CreateError(fmt::format("{} (plugin '{}', {}): create failed: {}", qualified, manifest.plugin,
                                  manifest.library.string(), message[0] ? message : "no message"));
  const auto destroy = loaded.descriptor->destroy;
  return std::shared_ptr<Component>(static_cast<Component*>(made),
                                    [library = loaded.library, destroy](Component* c) { destroy(c); });
}

std::vector<Registry::Problem> Registry::check() {
  std::vector<Problem> problems;
  for (const auto& [file, reason] : impl_->index.skipped()) problems.push_back({"", file, reason});
  for (const PluginManifest& m : impl_->index.plugins()) {
    const auto report = [&](std::string message) { problems.push_back({m.plugin, m.file, std::move(message)}); };
    try {
      load(m.plugin);
    } catch (const Error& e) {
      report(e.what());
      continue;
    }
    for (const auto& info : m.provides) {
      if (info.options.has_required()) continue;  // cannot be made without user input
      try {
        const auto component = create(info.kind, info.name, json::object());
        if (component->type() != info.name)
          report(fmt::format("{}: type() returns '{}'.", info.qualified_name(), component->type()));
        const json spec = component->to_json();
        json options = spec;
        options.erase("type");
        const auto again = create(info.kind, spec.value("type", ""), options);
        if (again->to_json() != spec)
          report(fmt::format("{}: to_json() is not stable: {} becomes {}.", info.qualified_name(), spec.dump(),
                             again->to_json().dump()));
        if (info.kind != ComponentKind::similarity) continue;
        const auto similarity = std::dynamic_pointer_cast<Similarity>(component);
        if (!similarity) {
          report(fmt::format("{}: the object made is not a Similarity.", info.qualified_name()));
          continue;
        }
        at::Generator gen = at::detail::createCPUGenerator(0);
        const Tensor x = at::randn({3, 5}, gen), anchors = at::randn({4, 5}, gen);
        const Tensor r = similarity->project(x, anchors);
        if (!r.isfinite().all().item<bool>())
          report(fmt::format("{}: projecting random data gave non-finite values.", info.qualified_name()));
        // prepare()'s contract: a prepared similarity has nothing left to
        // prepare (else RelativeProjector would redo the work on every chunk).
        if (const auto prepared = similarity->prepare(anchors); prepared && prepared->prepare(anchors))
          report(fmt::format("{}: prepare() returned a similarity whose own prepare() does not return nullptr; a "
                             "prepared similarity must have nothing left to prepare.",
                             info.qualified_name()));
      } catch (const std::exception& e) {
        report(e.what());
      }
    }
  }
  return problems;
}

}  // namespace bridges
