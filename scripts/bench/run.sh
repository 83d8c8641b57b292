#!/bin/sh
# run.sh - `make bench`: lunette vs its Python peer, side by side, into BENCHMARKS.md.
#
# usage: scripts/bench/run.sh [group-pattern]      (e.g. `run.sh matmul`)
# Environment knobs (defaults in brackets):
#   BUILD [build]              where lunette was built (`make all`)
#   BENCH_THREADS [2]          OMP_NUM_THREADS / OPENBLAS_NUM_THREADS for both sides
#   BENCH_ROUNDS [2]           times each group runs per side (sides alternate order)
#   BENCH_MIN_REPEATS [7] BENCH_MAX_REPEATS [60] BENCH_BUDGET [1.0 s] BENCH_WARMUP [1]
#   BENCH_OUT [BENCHMARKS.md]  the report (written atomically)
#   PEER_PYTHON [/usr/bin/python3]   Debian's Python with numpy (not the PATH python)
#   BENCH_KEEP_BLAS_ENV [0]    1 keeps OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE from the environment
#   BENCH_STREAM_MIB [512]     buffer size of the memory-bandwidth probe
# See scripts/bench/README.md for the case-file protocol.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
BENCH=scripts/bench
BUILD=${BUILD:-build}
case $BUILD in /*) BUILD_ABS=$BUILD ;; *) BUILD_ABS=$ROOT/$BUILD ;; esac
FILTER=${1:-}
WORK=$BUILD/bench
# a partial run (group pattern given) must not replace the full report
if [ -n "$FILTER" ]; then OUT=${BENCH_OUT:-$WORK/BENCHMARKS.partial.md}; else OUT=${BENCH_OUT:-BENCHMARKS.md}; fi
ROUNDS=${BENCH_ROUNDS:-2}
PEER_PYTHON=${PEER_PYTHON:-/usr/bin/python3}
BENCH_PY=$PEER_PYTHON            # the collector and helpers need only the stdlib
THREADS=${BENCH_THREADS:-2}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export PEER_PYTHON BENCH_PY PYTHONDONTWRITEBYTECODE=1
export BENCH_LIB="$ROOT/$BENCH/lib"
mkdir -p "$WORK" || exit 2
RAW=$WORK/raw.txt
say() { echo "bench: $*" >&2; }

# --- one run per build folder --------------------------------------------------
# Two runs in one build folder would write interleaved lines into the same raw file (and time
# each other): the second refuses. flock drops the lock when this shell exits, however it exits.
LOCK=$WORK/.lock
if command -v flock >/dev/null 2>&1; then
  exec 9>>"$LOCK"
  if ! flock -n 9; then
    say "another bench run holds $LOCK ($(cat "$LOCK.pid" 2>/dev/null || echo 'pid unknown')); not starting"
    exit 2
  fi
  echo "pid $$ since $(date -u '+%Y-%m-%d %H:%M:%S UTC')" > "$LOCK.pid"
elif ! mkdir "$LOCK.d" 2>/dev/null; then
  say "another bench run holds $LOCK.d (remove it if no run is going on); not starting"
  exit 2
else
  trap 'rmdir "$LOCK.d" 2>/dev/null' EXIT INT TERM
fi
: > "$RAW"

# --- the BLAS kernel both sides run ----------------------------------------------
# Some machines set OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE), which makes OpenBLAS run an older
# kernel set on both sides. The bench unsets them for its own processes only (never in tests or
# CI) unless BENCH_KEEP_BLAS_ENV=1; the report states the setting either way.
BLAS_ENV_FOUND="OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
if [ "${BENCH_KEEP_BLAS_ENV:-0}" = 1 ]; then
  BLAS_ENV_POLICY="kept from the environment"
else
  unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
  BLAS_ENV_POLICY="unset for the bench (both sides)"
fi

# --- prerequisites -----------------------------------------------------------
if ! "$PEER_PYTHON" -c 'import numpy' 2>/dev/null; then
  say "$PEER_PYTHON cannot import numpy (install python3-numpy)"; exit 2
fi
LUNETTE_HOST=""
if [ -x "$BUILD/lunette" ] && "$BUILD/lunette" -e '' >/dev/null 2>&1; then
  LUNETTE_HOST=$BUILD/lunette
  RUN_LUA="$BUILD/lunette"
  LUA_RUNNER="$BUILD/lunette"
elif [ -f "$BUILD/lunette.so" ] && command -v lua5.4 >/dev/null &&
     LUA_CPATH="$BUILD_ABS/?.so;;" lua5.4 -e 'require "lunette"' >/dev/null 2>&1; then
  say "host $BUILD/lunette not usable; running Lua cases with lua5.4 + $BUILD/lunette.so"
  export LUA_CPATH="$BUILD_ABS/?.so;;"
  RUN_LUA=lua5.4
  LUA_RUNNER="lua5.4 + $BUILD/lunette.so"
else
  say "neither $BUILD/lunette nor $BUILD/lunette.so (under lua5.4) can run: run 'make all' first"; exit 2
fi
export LUNETTE_HOST
export LUA_PATH="$ROOT/$BENCH/lib/?.lua;;"
export PYTHONPATH="$ROOT/$BENCH/lib${PYTHONPATH:+:$PYTHONPATH}"
HYPERFINE=${HYPERFINE-$(command -v hyperfine || true)}   # HYPERFINE= forces the spawn loop
[ -n "$HYPERFINE" ] || say "no hyperfine (Debian package 'hyperfine'); timing whole-process rows with a spawn loop"
export HYPERFINE

# --- versions and machine, passed to the collector as key=value lines ----------
{
  echo "info lunette_version=$($RUN_LUA -e 'io.write(require("lunette")._VERSION)' 2>/dev/null || echo unknown)"
  echo "info lua_version=$($RUN_LUA -e 'io.write(_VERSION)' 2>/dev/null)"
  echo "info lua_runner=$LUA_RUNNER"
  echo "info python=$("$PEER_PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  echo "info numpy=$("$PEER_PYTHON" -c 'import numpy; print(numpy.__version__)')"
  echo "info numpy_blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null) -> $(readlink -f /usr/lib/x86_64-linux-gnu/libopenblas.so.0 2>/dev/null)"
  lb=$(ldd "$BUILD/lunette.so" 2>/dev/null | awk '/openblas/ {print $3; exit}')
  echo "info lunette_blas=${lb:+$(readlink -f "$lb")}"
  echo "info hyperfine=${HYPERFINE:+$($HYPERFINE --version)}"
  echo "info cc=$(${CC:-cc} --version 2>/dev/null | head -n1)"
  echo "info blas_env_found=$BLAS_ENV_FOUND"
  echo "info blas_env_policy=$BLAS_ENV_POLICY"
  # Each side's BLAS kernel set and thread count, asked of each side's own process.
  echo "info lunette_blas_core=$($RUN_LUA -e 'local i = require("lunette").linalg.blas_info()
    io.write(i.core, " (", i.threads, " threads; ", i.config, ")")' 2>/dev/null || echo unknown)"
  echo "info lunette_omp_threads=$($RUN_LUA -e 'io.write(os.getenv("OMP_NUM_THREADS") or "default")' 2>/dev/null)"
  echo "info peer_blas_core=$("$PEER_PYTHON" "$BENCH/lib/blas_info.py" 2>/dev/null || echo unknown)"
  echo "info torch_threads=$("$PEER_PYTHON" -c 'import torch; print(torch.get_num_threads())' 2>/dev/null || echo 'no torch')"
  # Processor: model, logical CPUs, physical cores (distinct core/socket pairs).
  echo "info cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)"
  echo "info cpu_logical=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
  echo "info cpu_physical=$(lscpu -p=CORE,SOCKET 2>/dev/null | grep -v '^#' | sort -u | wc -l)"
  flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' |
    grep -E '^(avx2|fma|avx512f|avx512_bf16|amx_tile)$' | tr '\n' ' ')
  echo "info cpu_flags=$flags"
  # BENCH_GIT_DESC: describe the measured build when it was not made from this work tree
  echo "info git=${BENCH_GIT_DESC:-$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')}"
  echo "info kernel=$(uname -sr)"
  echo "info load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
  echo "info threads=$THREADS"
  echo "info rounds=$ROUNDS"
  echo "info policy=${BENCH_WARMUP:-1} ${BENCH_MIN_REPEATS:-7} ${BENCH_BUDGET:-1.0} ${BENCH_MAX_REPEATS:-60}"
  echo "info cmd_policy=${BENCH_CMD_WARMUP:-3} ${BENCH_CMD_MIN_RUNS:-20}"
  echo "info peak_sizes=${BENCH_PEAK_SIZES:-1024 2048 3072 4096}"
} >> "$RAW"

# --- the machine's sgemm peak ----------------------------------------------------
PEAK=$WORK/peak
if [ ! -x "$PEAK" ] || [ "$BENCH/lib/peak.c" -nt "$PEAK" ]; then
  ${CC:-cc} -O2 -I/usr/include/x86_64-linux-gnu/openblas-pthread "$BENCH/lib/peak.c" -o "$PEAK" -lopenblas \
    || say "could not build the sgemm peak probe"
fi
if [ -x "$PEAK" ]; then
  say "measuring sgemm peak ($THREADS threads)"
  "$PEAK" ${BENCH_PEAK_REPS:-3} ${BENCH_PEAK_SIZES:-1024 2048 3072 4096} > "$WORK/peak.txt" 2>&1
  grep '^peak ' "$WORK/peak.txt" >> "$RAW"
fi

# --- the machine's memory bandwidth ------------------------------------------------
STREAM=$WORK/stream
if [ ! -x "$STREAM" ] || [ "$BENCH/lib/stream.c" -nt "$STREAM" ]; then
  ${CC:-cc} -O2 -fopenmp "$BENCH/lib/stream.c" -o "$STREAM" || say "could not build the bandwidth probe"
fi
if [ -x "$STREAM" ]; then
  say "measuring memory bandwidth ($THREADS threads)"
  "$STREAM" 5 "${BENCH_STREAM_MIB:-512}" > "$WORK/stream.txt" 2>&1
  grep '^stream ' "$WORK/stream.txt" >> "$RAW"
fi

# --- the cases -----------------------------------------------------------------
# A group is every file cases/<group>.{lua,py,sh}: .lua runs under lunette,
# .py under $PEER_PYTHON, .sh (self-contained, prints both sides) under sh.
failed=0
run_one() {  # run_one <file> <side-label>
  f=$1; side=$2; log=$WORK/$(basename "$f").log
  case $f in
    *.lua) set -- $RUN_LUA "$f" ;;
    *.py)  set -- "$PEER_PYTHON" "$f" ;;
    *.sh)  set -- sh "$f" ;;
  esac
  t0=$(date +%s)
  "$@" > "$WORK/out.txt" 2> "$log"
  rc=$?
  grep '^case=' "$WORK/out.txt" >> "$RAW"
  cat "$WORK/out.txt" >> "$log"
  if [ $rc -ne 0 ]; then
    failed=1
    say "$f ($side) exited with status $rc; see $log"
    echo "error file=$f side=$side rc=$rc" >> "$RAW"
  else
    say "$f ($side) done in $(( $(date +%s) - t0 ))s"
  fi
}

groups=$(ls $BENCH/cases/ | sed -n 's/\.\(lua\|py\|sh\)$//p' | sort -u)
[ -n "$FILTER" ] && groups=$(echo "$groups" | grep -- "$FILTER")
[ -n "$groups" ] || { say "no case group matches '$FILTER'"; exit 2; }
r=1
while [ $r -le "$ROUNDS" ]; do
  for g in $groups; do
    base=$BENCH/cases/$g
    # a group may cap its rounds (slow groups): a line containing `@rounds N`
    cap=$(cat "$base".lua "$base".py "$base".sh 2>/dev/null | sed -n 's/.*@rounds[[:space:]]\{1,\}\([0-9]\{1,\}\).*/\1/p' | head -n1)
    if [ -n "$cap" ] && [ "$r" -gt "$cap" ]; then continue; fi
    g0=$(date +%s)
    # alternate which side goes first, so drift in machine load hits both
    if [ $((r % 2)) -eq 1 ]; then order="lua py"; else order="py lua"; fi
    for ext in $order; do
      [ -f "$base.$ext" ] || continue
      if [ $ext = lua ]; then run_one "$base.$ext" lunette; else run_one "$base.$ext" peer; fi
    done
    if [ -f "$base.sh" ]; then run_one "$base.sh" both; fi
    echo "duration group=$g round=$r seconds=$(( $(date +%s) - g0 ))" >> "$RAW"
  done
  r=$((r + 1))
done

# --- the report ------------------------------------------------------------------
echo "info load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >> "$RAW"
"$BENCH_PY" "$BENCH/collect.py" --raw "$RAW" --cases "$BENCH/cases" --out "$OUT" \
  ${FILTER:+--groups "$(echo $groups)"} || exit 2
say "wrote $OUT (raw measurements: $RAW)"
exit $failed
