#!/usr/bin/env bash
# demo.sh BUILD_DIR - `make demo`: run both seed analyses on the built-in Fashion-MNIST data and
# write every figure under out/. The hypersphere analysis trains its default experts and
# constellation first (examples/train_constellation.lua) when their files are missing.
set -eo pipefail
build=${1:-build}
out=${OUT:-out}
mkdir -p "$out"
start=$(date +%s)
run() { # name script args...
  local name=$1 t0; shift
  t0=$(date +%s)
  echo "== $name" >&2
  "$build/lunette" "$@"
  echo "== $name: $(( $(date +%s) - t0 )) s" >&2
}
run "SAGE feature space (seed 000)" examples/sage_feature_space.lua --out "$out/sage_feature_space"
run "hypersphere (seed 003)" examples/hypersphere.lua --out "$out/hypersphere"
echo "demo: done in $(( $(date +%s) - start )) s; figures:" >&2
find "$out" -name '*.png' | sort
