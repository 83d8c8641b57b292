#!/usr/bin/env bash
# gpu_check.sh - the one prepared check for a session that is lent a GPU machine for ~10
# minutes: prints the device, builds with CUDA, runs the CUDA specs (tests/cuda_spec.lua and
# tests/cuda_gpu_spec.lua, which compares every GPU op with the CPU) and the GPU bench rows
# (scripts/bench/cuda_bench.lua). Budget: under 8 minutes (timeouts: build 200 s, specs 120 s,
# bench 120 s).
# Put the device name and the bench rows it prints into BENCHMARKS.md, and the spec line into
# README.md's GPU section, once they have passed there.
# usage: scripts/gpu_check.sh [--quick] [--no-build]
#   --quick     smaller bench sizes (about a minute less)
#   --no-build  use the build in $BUILD as it is: for a GPU machine without lunette's build
#               dependencies, build here with CUDA and carry the build folder there (the
#               device tool's carry: ["build"]); it still needs the CUDA runtime libraries.
# Needs nvcc (unless --no-build) and busted for the specs (skipped with a line if absent).
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
quick=
build=1
for a in "$@"; do
  case $a in
    --quick) quick=--quick ;;
    --no-build) build=0 ;;
    *) echo "gpu_check: unknown argument $a"; exit 2 ;;
  esac
done
t0=$(date +%s)
step() { echo; echo "== $* ($(( $(date +%s) - t0 )) s)"; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader \
  || echo "nvidia-smi not found"

if [ "$build" = 1 ]; then
  step "build (make CUDA=1)"
  mkdir -p "$BUILD"
  if ! timeout 200 make -j"$(nproc)" CUDA=1 BUILD="$BUILD" all >"$BUILD/gpu_check.log" 2>&1; then
    tail -30 "$BUILD/gpu_check.log"
    echo "gpu_check: build failed"
    exit 1
  fi
  tail -3 "$BUILD/gpu_check.log"
fi
ls -l "$BUILD/lunette_cuda.so" || { echo "gpu_check: no $BUILD/lunette_cuda.so"; exit 1; }
"$BUILD/lunette" -e 'local c = require("lunette").cuda
  local ok, why = c.is_available()
  print("lunette.cuda: " .. (ok and (c.device_count() .. " device(s), cuda:0 = " ..
        c.device_name(0)) or ("NOT AVAILABLE: " .. tostring(why))))'

step "specs"
if command -v busted >/dev/null 2>&1 || [ -x /usr/bin/busted ]; then
  LUNETTE_BUILD="$BUILD" timeout 120 "$BUILD/lunette" /usr/bin/busted --cpath="$BUILD/?.so" \
    -o utfTerminal tests/cuda_spec.lua tests/cuda_gpu_spec.lua 2>&1 | tail -40
else
  echo "busted not installed: specs not run"
fi

step "bench rows"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)} timeout 120 "$BUILD/lunette" \
  scripts/bench/cuda_bench.lua $quick

step "done"
