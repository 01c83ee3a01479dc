#!/usr/bin/env bash
# `bridges compare -m cka_linear` on two .npy files of [100000, 768] float32,
# beside the NumPy formula a user would write (np.load, centre, three
# products), files read included. Each program runs ROUNDS times, alternating;
# medians are printed. bridges' time is its command's wall time minus the
# same command on two 100-row files (its start-up, mostly LibTorch's own
# initialisation); NumPy's is measured inside the script, from before np.load
# to the result (the interpreter's start excluded).
#
# NumPy runs twice: with the OpenBLAS kernels it picks itself, and with the
# ones bridges picks (OPENBLAS_CORETYPE set to bridges' choice; on a CPU
# model OpenBLAS 0.3.21 does not know, NumPy otherwise runs its SSE3 kernels).
#
#   bench/compare_vs_numpy.sh [BUILD_DIR] [ROUNDS]      # needs python3-numpy
set -euo pipefail
build=${1:-build/release}
rounds=${2:-5}
bridges=$build/bin/bridges
python=/usr/bin/python3   # Debian's interpreter and its python3-numpy
$python -c 'import numpy' 2>/dev/null || {
  echo "compare_vs_numpy: needs Debian's python3-numpy (apt-get install python3-numpy)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

$python - "$dir" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
n, k = 100000, 768
a = rng.standard_normal((n, k), dtype=np.float32) + 3.0          # an offset, as real latents have
m = rng.standard_normal((k, k), dtype=np.float32) / np.sqrt(k)
b = np.tanh(a @ m) + 0.5 * rng.standard_normal((n, k), dtype=np.float32)
np.save(f"{d}/a.npy", a); np.save(f"{d}/b.npy", b.astype(np.float32))
np.save(f"{d}/a_small.npy", a[:100]); np.save(f"{d}/b_small.npy", b[:100].astype(np.float32))
# The float64 reference value.
a64 = a.astype(np.float64); a64 -= a64.mean(0)
b64 = b.astype(np.float64); b64 -= b64.mean(0)
ref = np.linalg.norm(a64.T @ b64) ** 2 / (np.linalg.norm(a64.T @ a64) * np.linalg.norm(b64.T @ b64))
open(f"{d}/reference", "w").write(repr(ref))
PY
cat > "$dir/cka.py" <<'PY'
import sys, time, numpy as np
t0 = time.perf_counter()
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
a = a - a.mean(0); b = b - b.mean(0)
value = np.linalg.norm(a.T @ b) ** 2 / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b))
print(f"{time.perf_counter() - t0:.4f} {value!r}")
PY
kernels=$("$bridges" --version >/dev/null; OPENBLAS_VERBOSE=2 "$bridges" --version 2>&1 | sed -n "s/^Core: //p" | tail -1)
cat "$dir"/a.npy "$dir"/b.npy > /dev/null   # both in the page cache for every program

seconds() { date +%s.%N; }
declare -a t_bridges t_start t_np t_np_same
for ((r = 0; r < rounds; ++r)); do
  s=$(seconds); out=$("$bridges" compare -m cka_linear --json "$dir/a.npy" "$dir/b.npy"); e=$(seconds)
  t_bridges+=("$(echo "$e - $s" | bc -l)")
  s=$(seconds); "$bridges" compare -m cka_linear --json "$dir/a_small.npy" "$dir/b_small.npy" >/dev/null; e=$(seconds)
  t_start+=("$(echo "$e - $s" | bc -l)")
  read -r t v_np < <($python "$dir/cka.py" "$dir/a.npy" "$dir/b.npy"); t_np+=("$t")
  read -r t v_same < <(OPENBLAS_CORETYPE=$kernels $python "$dir/cka.py" "$dir/a.npy" "$dir/b.npy"); t_np_same+=("$t")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
v_bridges=$(echo "$out" | $python -c 'import json, sys; j = json.load(sys.stdin); print(repr(j["measures"]["absolute"]["cka_linear"]))')
ref=$(cat "$dir/reference")
mb=$(median "${t_bridges[@]}"); ms=$(median "${t_start[@]}"); mn=$(median "${t_np[@]}"); mm=$(median "${t_np_same[@]}")
after=$(echo "$mb - $ms" | bc -l)
printf 'linear CKA, n = 100000, d = 768, float32 .npy files (%d rounds, medians; OpenBLAS kernels chosen by bridges: %s)\n' "$rounds" "$kernels"
printf '  %-44s %8.3f s   value %s (|error| %.1e)\n' "bridges compare, after start-up" "$after" "$v_bridges" "$($python -c "print(abs($v_bridges - $ref))")"
printf '  %-44s %8.3f s\n' "  (start-up: compare on 100-row files)" "$ms"
printf '  %-44s %8.3f s   value %s (|error| %.1e)\n' "NumPy, its own kernels" "$mn" "$v_np" "$($python -c "print(abs($v_np - $ref))")"
printf '  %-44s %8.3f s   value %s (|error| %.1e)\n' "NumPy, OPENBLAS_CORETYPE=$kernels" "$mm" "$v_same" "$($python -c "print(abs($v_same - $ref))")"
printf '  speed-up over NumPy: %.2fx (its own kernels), %.2fx (the same kernels); float64 reference %s\n' \
  "$(echo "$mn / $after" | bc -l)" "$(echo "$mm / $after" | bc -l)" "$ref"
