/* The binary contract between bridges and a plugin library. Plugin authors
 * use <bridges/sdk/plugin.hpp>, which fills it in.
 *
 * A plugin library exports one symbol, bridges_plugin_v1, a function that
 * returns a pointer to a static descriptor. abi_version is the first field and
 * never moves: the loader reads it before trusting anything else.
 *
 * What is C and what is not: the descriptor is plain C, so that the loader
 * can read it from any library, even one built by another compiler. The
 * components it creates are not: create() hands back a C++ object
 * (bridges::Component*), used through C++ virtual calls and exceptions.
 * That is safe only between libraries built the same way, which the
 * descriptor's build identity (bridges version, LibTorch version, compiler
 * and C++ ABI) lets the loader check before it calls create(); a plugin
 * built otherwise is refused with both identities in the message. This is
 * not a stable C ABI for components and does not claim to be one. */
#ifndef BRIDGES_PLUGIN_ABI_H
#define BRIDGES_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRIDGES_PLUGIN_ABI_VERSION 1u
#define BRIDGES_PLUGIN_ENTRY "bridges_plugin_v1"

/* Results of create(). */
enum {
  BRIDGES_CREATE_OK = 0,
  BRIDGES_CREATE_UNKNOWN = 1,     /* no component of that kind and name */
  BRIDGES_CREATE_BAD_CONFIG = 2,  /* the options were rejected (bridges::ConfigError) */
  BRIDGES_CREATE_FAILED = 3       /* any other exception */
};

/* One component the library provides: kind ("similarity", "aggregator",
 * "encoder", "dataset", "translator", "measure") and name ("cosine"). */
typedef struct bridges_component_v1 {
  const char* kind;
  const char* name;
} bridges_component_v1;

typedef struct bridges_plugin_v1_t {
  uint32_t abi_version; /* BRIDGES_PLUGIN_ABI_VERSION; first, never moves */
  uint32_t struct_size; /* sizeof(bridges_plugin_v1_t) as the plugin saw it */
  const char* name;     /* plugin name, equal to the manifest's "plugin" */
  const char* version;  /* plugin version */
  const char* build_id; /* "bridges=0.1;torch=1.13.0;cxx=gcc-12;cxx11abi=1" */
  size_t component_count;
  const bridges_component_v1* components;
  /* Makes kind/name from validated options (a JSON object, UTF-8). On
   * success *out receives a bridges::Component* that only destroy() may free.
   * On failure a message is written to err (at most errlen bytes, NUL
   * terminated). Never throws. */
  int (*create)(const char* kind, const char* name, const char* options_json, void** out, char* err,
                size_t errlen);
  /* Frees an object made by create(). Never throws. */
  void (*destroy)(void* object);
} bridges_plugin_v1_t;

typedef const bridges_plugin_v1_t* (*bridges_plugin_v1_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* BRIDGES_PLUGIN_ABI_H */
