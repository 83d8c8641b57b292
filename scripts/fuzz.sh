#!/bin/sh
# fuzz.sh [run|replay] - the libFuzzer harnesses of tests/fuzz (one per file
# reader: npy, zip/npz, safetensors, pickle, pt, idx/gzip/CIFAR, png, csv;
# parquet, arrow (IPC files and streams); sketch: bytes as a saved Frequent Directions state; kernel: Jupyter wire
# messages).
#
#   run (default)  builds each harness with clang -fsanitize=fuzzer,address,
#                  undefined and fuzzes it for FUZZ_SECONDS (60) seconds,
#                  FUZZ_JOBS (= cores) harnesses at a time, starting from its
#                  committed seed corpus tests/fuzz/corpus/<h> (new inputs go
#                  to build/fuzz/corpus-<h>, never into the repository). An
#                  input that crashes, leaks, times out or allocates past the
#                  limit is copied to tests/fuzz/crashes/<h>/ (replayed by
#                  tests/fuzz/replay_spec.lua from then on) and fails the run.
#   replay         builds the harnesses with a plain main() (tests/fuzz/
#                  replay_main.c, ASan+UBSan, no libFuzzer needed) and runs
#                  every corpus and crash input once.
#
# FUZZ_ONLY="npy pt" limits the harnesses; FUZZ_CC picks the compiler.
set -u
cd "$(dirname "$0")/.." || exit 2
MODE=${1:-run}
SECS=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
CC=${FUZZ_CC:-clang}
OUT=build/fuzz
HARNESSES=${FUZZ_ONLY:-"npy zip safetensors pickle pt idx png csv parquet arrow sketch kernel"}
CORE="io/io io/io_src io/io_npy io/io_zip io/io_safetensors io/io_pickle io/io_pt io/io_idx io/io_png
      io/io_csv io/io_thrift io/io_parquet io/io_parquet_dense io/io_parquet_meta io/io_arrow
      io/io_arrow_meta tensor/tensor
      interrupt io/atomic"
# What a harness needs beyond CORE: the sketch links its core and OpenBLAS/LAPACKE
# directly (the fuzz build does not use lunette's dlopen wrappers, src/lazy.h).
SKETCH_CORE="sketch/sketch tensor/random"
SKETCH_LIBS="-lopenblas -llapacke"
# The kernel's message parser links cJSON and libcrypto directly, likewise.
KERNEL_CORE="kernel/kernel_msg"
KERNEL_LIBS="-lcjson -lcrypto"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
BLAS_INC=/usr/include/x86_64-linux-gnu/openblas-pthread
CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer -Isrc -Itests/fuzz -I$BLAS_INC -w"

mkdir -p "$OUT/obj-$MODE"
if [ "$MODE" = run ]; then
  command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (make deps installs clang)"; exit 2; }
  OBJFLAGS="$SAN -fsanitize=fuzzer-no-link"
  LINKFLAGS="$SAN -fsanitize=fuzzer"
elif [ "$MODE" = replay ]; then
  command -v "$CC" >/dev/null || CC=cc
  OBJFLAGS="$SAN"
  LINKFLAGS="$SAN"
else
  echo "usage: scripts/fuzz.sh [run|replay]" >&2
  exit 2
fi

# The core sources, compiled once per mode; the sketch's only when fuzzed.
objs=""
for c in $CORE; do
  o="$OUT/obj-$MODE/$(basename "$c").o"
  $CC $CFLAGS $OBJFLAGS -c "src/$c.c" -o "$o" || exit 1
  objs="$objs $o"
done
for h in $HARNESSES; do
  extra="" hobjs="" hlibs=""
  [ "$MODE" = replay ] && extra=tests/fuzz/replay_main.c
  if [ "$h" = sketch ]; then
    for c in $SKETCH_CORE; do
      o="$OUT/obj-$MODE/$(basename "$c").o"
      $CC $CFLAGS $OBJFLAGS -c "src/$c.c" -o "$o" || exit 1
      hobjs="$hobjs $o"
    done
    hlibs=$SKETCH_LIBS
  fi
  if [ "$h" = kernel ]; then
    for c in $KERNEL_CORE; do
      o="$OUT/obj-$MODE/$(basename "$c").o"
      $CC $CFLAGS $OBJFLAGS -c "src/$c.c" -o "$o" || exit 1
      hobjs="$hobjs $o"
    done
    hlibs=$KERNEL_LIBS
  fi
  $CC $CFLAGS $LINKFLAGS "tests/fuzz/fuzz_$h.c" $extra $objs $hobjs -ldeflate -lz -lm $hlibs \
    -o "$OUT/$MODE-$h" || exit 1
done

if [ "$MODE" = replay ]; then
  status=0
  for h in $HARNESSES; do
    printf '%-12s ' "$h"
    dirs="tests/fuzz/corpus/$h"
    [ -d "tests/fuzz/crashes/$h" ] && dirs="$dirs tests/fuzz/crashes/$h"
    "$OUT/$MODE-$h" $dirs || status=1
  done
  exit $status
fi

# One fuzzing job; prints one summary line and returns non-zero on a finding.
fuzz_one() {
  h=$1
  work="$OUT/corpus-$h"
  art="$OUT/artifacts-$h/"
  rm -rf "$art"
  mkdir -p "$work" "$art"
  dict=""
  [ -f "tests/fuzz/$h.dict" ] && dict="-dict=tests/fuzz/$h.dict"
  "$OUT/run-$h" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -max_len=65536 -print_final_stats=1 $dict -artifact_prefix="$art" "$work" "tests/fuzz/corpus/$h" \
    > "$OUT/$h.log" 2>&1
  rc=$?
  found=$(ls "$art" 2>/dev/null | wc -l)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/$h.log" | grep -o '[0-9]*$' | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$OUT/$h.log" | tail -n 1)
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    mkdir -p "tests/fuzz/crashes/$h"
    cp "$art"* "tests/fuzz/crashes/$h/" 2>/dev/null
    echo "fuzz $h: FINDING after ${execs:-?} runs ($cov) - see $OUT/$h.log; input saved in tests/fuzz/crashes/$h/"
    return 1
  fi
  echo "fuzz $h: ${execs:-?} runs in ${SECS}s, no finding ($cov)"
}

status=0
running=0
pids=""
for h in $HARNESSES; do
  fuzz_one "$h" &
  pids="$pids $!"
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    for p in $pids; do wait "$p" || status=1; done
    pids=""
    running=0
  fi
done
for p in $pids; do wait "$p" || status=1; done
[ "$status" -eq 0 ] && echo "fuzz: every harness ran ${SECS}s with no finding"
exit $status
