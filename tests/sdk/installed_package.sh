#!/usr/bin/env bash
# Installs bridges into a fresh prefix and uses it as third parties do (and
# the build tree as a package, with no install):
# builds examples/custom-similarity and examples/custom-measure against the
# installed SDK (out of tree, no rebuild of bridges) and uses the plugins through the *installed* bridges
# program; builds and runs examples/host-app, a program embedding the library.
#   installed_package.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset BRIDGES_PLUGIN_PATH

fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # expect TEXT FILE
  grep -qF -- "$1" "$2" || { cat "$2" >&2; fail "expected '$1' in the output above"; }
}

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
# The examples are built with the compiler flags of the build under test, so
# that under the asan preset they carry the sanitizer runtime too.
cxx_flags=$(sed -n 's/^CMAKE_CXX_FLAGS:STRING=//p' "$build_dir/CMakeCache.txt")
link_flags=$(sed -n 's/^CMAKE_EXE_LINKER_FLAGS:STRING=//p' "$build_dir/CMakeCache.txt")
example_flags=(-G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$link_flags" -DCMAKE_SHARED_LINKER_FLAGS="$link_flags"
  -DCMAKE_MODULE_LINKER_FLAGS="$link_flags")
bridges="$work/prefix/bin/bridges"
[ -x "$bridges" ] || fail "the install has no bin/bridges"

# The installed program finds the installed plugins, not the build tree's.
"$bridges" plugins list --json > "$work/list.json"
expect "$work/prefix/lib/bridges/plugins/distances.plugin.json" "$work/list.json"

cmake -S "$source_dir/examples/custom-similarity" -B "$work/angular" "${example_flags[@]}" >/dev/null
cmake --build "$work/angular" >/dev/null
plugins="$work/angular/lib/bridges/plugins"
[ -f "$plugins/libbridges_angular.so" ] || fail "the plugin was not staged in $plugins"
[ -f "$plugins/angular.plugin.json" ] || fail "the manifest was not staged in $plugins"

# Only the entry point is exported.
exported=$(nm -D --defined-only "$plugins/libbridges_angular.so" | awk '{print $3}' | grep -v '^_' || true)
[ "$exported" = "bridges_plugin_v1" ] || fail "exported symbols: $exported"

export BRIDGES_PLUGIN_PATH="$plugins"
"$bridges" plugins list > "$work/list.txt"
expect "angular" "$work/list.txt"
expect "cosine" "$work/list.txt"
"$bridges" plugins check > "$work/check.txt" || { cat "$work/check.txt" >&2; fail "plugins check failed"; }
expect "ok   angular 1.0.0 (1 component)" "$work/check.txt"
"$bridges" invariances -s angular --json > "$work/inv.json" || { cat "$work/inv.json" >&2; fail "invariances disagree"; }
expect '"agrees": true' "$work/inv.json"

# A third-party measure, built the same way, is a measure like the built-in ones.
cmake -S "$source_dir/examples/custom-measure" -B "$work/dcor" "${example_flags[@]}" >/dev/null
cmake --build "$work/dcor" >/dev/null
BRIDGES_PLUGIN_PATH="$work/dcor/lib/bridges/plugins" "$bridges" invariances -m dcor --json > "$work/dcor.json" ||
  { cat "$work/dcor.json" >&2; fail "dcor's invariances disagree"; }
expect '"agrees": true' "$work/dcor.json"
BRIDGES_PLUGIN_PATH="$work/dcor/lib/bridges/plugins" "$bridges" plugins show dcor > "$work/dcor-show.txt"
expect "measure/dcor" "$work/dcor-show.txt"

# The Python package, installed with the rest and used from a virtual
# environment as the README says (release builds; asan builds no module).
site="$work/prefix/lib/python3/dist-packages"
if [ -f "$build_dir/python/bridges/__init__.py" ]; then
  [ -f "$site/bridges/__init__.py" ] || fail "the build has the Python module but the install has no $site/bridges"
  /usr/bin/python3 -m venv --system-site-packages --without-pip "$work/venv"
  venv_site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  echo "$site" > "$venv_site/bridges.pth"
  PYTHONNOUSERSITE=1 "$work/venv/bin/python" - "$work/prefix" > "$work/python.txt" 2>&1 <<'PY' ||
import sys, torch, bridges
prefix = sys.argv[1]
assert bridges.__file__.startswith(prefix), bridges.__file__
names = {p["name"]: p for p in bridges.plugins()}
assert "angular" in names and "cosine" in names, sorted(names)   # BRIDGES_PLUGIN_PATH and the installed ones
x = torch.randn(20, 6)
r = bridges.similarity("angular").project(x, x[:4])
assert r.shape == (20, 4)
print("python ok", bridges.__version__)
PY
    { cat "$work/python.txt" >&2; fail "the installed Python package does not work from a venv"; }
  expect "python ok" "$work/python.txt"
fi

# The build tree is a package too: the same plugin built against it, with
# no install, is used by the build tree's own program.
cmake -S "$source_dir/examples/custom-similarity" -B "$work/angular-build-tree" "${example_flags[@]}" \
  -DCMAKE_PREFIX_PATH= -Dbridges_DIR="$build_dir" > "$work/build-tree.txt" 2>&1 ||
  { cat "$work/build-tree.txt" >&2; fail "configuring against the build tree failed"; }
cmake --build "$work/angular-build-tree" > "$work/build-tree.txt" 2>&1 ||
  { cat "$work/build-tree.txt" >&2; fail "building against the build tree failed"; }
grep -q "$build_dir" "$work/angular-build-tree/CMakeCache.txt" || fail "the example did not use the build tree's package"
BRIDGES_PLUGIN_PATH="$work/angular-build-tree/lib/bridges/plugins" "$build_dir/bin/bridges" plugins check \
  > "$work/build-tree-check.txt" || { cat "$work/build-tree-check.txt" >&2; fail "plugins check (build tree) failed"; }
expect "ok   angular 1.0.0 (1 component)" "$work/build-tree-check.txt"

# `bridges plugins new KIND NAME`: each kind's skeleton builds against the
# build tree, passes its own test and loads in bridges as written.
for kind in similarity aggregator encoder dataset; do
  (cd "$work" && "$build_dir/bin/bridges" plugins new "$kind" "new_$kind" > "$work/new-$kind.txt") ||
    { cat "$work/new-$kind.txt" >&2; fail "plugins new $kind failed"; }
  expect "wrote new_$kind/new_$kind.plugin.json" "$work/new-$kind.txt"
  cmake -S "$work/new_$kind" -B "$work/new_$kind/build" "${example_flags[@]}" -DCMAKE_PREFIX_PATH= \
    -Dbridges_DIR="$build_dir" > "$work/new-$kind-build.txt" 2>&1 &&
    cmake --build "$work/new_$kind/build" >> "$work/new-$kind-build.txt" 2>&1 ||
    { cat "$work/new-$kind-build.txt" >&2; fail "the $kind skeleton does not build"; }
  ctest --test-dir "$work/new_$kind/build" --output-on-failure > "$work/new-$kind-test.txt" 2>&1 ||
    { cat "$work/new-$kind-test.txt" >&2; fail "the $kind skeleton's own test fails"; }
  BRIDGES_PLUGIN_PATH="$work/new_$kind/build/lib/bridges/plugins" "$build_dir/bin/bridges" plugins check \
    > "$work/new-$kind-check.txt" || { cat "$work/new-$kind-check.txt" >&2; fail "plugins check of the $kind skeleton"; }
  expect "ok   new_$kind 0.1.0 (1 component)" "$work/new-$kind-check.txt"
done
BRIDGES_PLUGIN_PATH="$work/new_similarity/build/lib/bridges/plugins" "$build_dir/bin/bridges" invariances \
  -s new_similarity > "$work/new-invariances.txt" || { cat "$work/new-invariances.txt" >&2; fail "the skeleton's invariances"; }
expect "Every measurement agrees with the declarations." "$work/new-invariances.txt"
(cd "$work" && "$build_dir/bin/bridges" plugins new similarity new_similarity > "$work/again.txt" 2>&1) &&
  fail "plugins new wrote over a folder in use"
expect "exists and is not empty; nothing was written" "$work/again.txt"

# Installing the plugin into the prefix makes it available with no search path.
cmake --install "$work/angular" --prefix "$work/prefix" >/dev/null
unset BRIDGES_PLUGIN_PATH
"$bridges" plugins show angular > "$work/show.txt"
expect "$work/prefix/lib/bridges/plugins/angular.plugin.json" "$work/show.txt"
# A host program embedding the installed library.
cmake -S "$source_dir/examples/host-app" -B "$work/host" "${example_flags[@]}" >/dev/null
cmake --build "$work/host" >/dev/null
"$work/host/host_app" > "$work/host.txt" || { cat "$work/host.txt" >&2; fail "host_app failed"; }
expect "cosine relative" "$work/host.txt"
expect "zero-shot stitching (cosine)" "$work/host.txt"
expect "latent-space translation (orthogonal)" "$work/host.txt"
cat "$work/host.txt"

# Components: a library that exists is found; a misspelt one is an error
# that names it.
mkdir -p "$work/components"
cat > "$work/components/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(components LANGUAGES CXX)
find_package(bridges 0.2 CONFIG REQUIRED COMPONENTS ${WANTED})
foreach(target core formats relative text graph experiments registry sdk)
  if(NOT TARGET bridges::${target})
    message(FATAL_ERROR "bridges::${target} is missing")
  endif()
endforeach()
CMAKE
cmake -S "$work/components" -B "$work/components/ok" -DCMAKE_PREFIX_PATH="$work/prefix" \
  "-DWANTED=relative;experiments;text;graph" > "$work/components.txt" 2>&1 ||
  { cat "$work/components.txt" >&2; fail "find_package(bridges COMPONENTS relative experiments text graph) failed"; }
if cmake -S "$work/components" -B "$work/components/bad" -DCMAKE_PREFIX_PATH="$work/prefix" -DWANTED=relatve \
  > "$work/components-bad.txt" 2>&1; then
  fail "find_package(bridges COMPONENTS relatve) succeeded"
fi
expect "relatve" "$work/components-bad.txt"
echo "installed package: ok"
