#!/bin/sh
# Streaming a Parquet embedding file a row group at a time (io.open_parquet, f:read_row_group)
# and summing it, in a fresh process: wall time and the process's peak resident set (rss_kb=,
# getrusage of the child), against numpy loading the same floats from .npy whole and summing
# them. The files are 47_parquet_data's (N = BENCH_PARQUET_ROWS, default 1,000,000 x 256
# float32, 8,128 rows per row group, SNAPPY); the goal is on time, the detail column gives both
# peaks (lunette's should be about one row group, 8 MiB, of buffers beyond the row groups it
# returns, above the interpreter's own: `lunette -e ''` for comparison).
# @row parquet_stream_rss goal=0.67 title="stream Parquet SNAPPY row groups (peak RSS) vs np.load .npy"
# @rounds 1
host=${LUNETTE_HOST:-}
py=${PEER_PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$here" || exit 1
n=${BENCH_PARQUET_ROWS:-1000000}
pq=build/bench/parquet/r${n}_snappy.parquet
npy=build/bench/parquet/r${n}.npy
if [ -z "$host" ] || [ ! -f "$pq" ] || [ ! -f "$npy" ]; then
  echo "case=parquet_stream_rss side=lunette status=na" \
    "reason='no lunette host or no 47_parquet_data files'"
  exit 0
fi
script=build/bench/parquet/stream.lua
cat > "$script" <<'LUA'
local lt = require "lunette"
local f = assert(lt.io.open_parquet(arg[1]))
local s = 0
for g = 1, f.num_row_groups do
  local t = assert(f:read_row_group(g, { columns = { "emb" } }))
  s = s + t.emb:sum()
end
print(("sum=%.6f"):format(s))
LUA

# timed SIDE CMD...: runs CMD once, prints the case line (wall seconds, child peak RSS, check).
timed() {
  side=$1; shift
  "$py" - "$side" "$@" <<'PY'
import resource, subprocess, sys, time, re
side, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
m = re.search(r"sum=(-?[0-9.]+)", p.stdout)
if p.returncode != 0 or not m:
    sys.stderr.write(p.stdout + p.stderr)
    print("case=parquet_stream_rss side=%s status=na reason='run failed (exit %d)'" % (side, p.returncode))
else:
    print("case=parquet_stream_rss side=%s seconds=%.6f n=1 min=%.6f check=%s rss_kb=%d times=%.6e"
          % (side, dt, dt, m.group(1), rss, dt))
PY
}

timed lunette "$host" "$script" "$pq"
timed peer "$py" -c "import sys, numpy as np; x = np.load(sys.argv[1]); print('sum=%.6f' % x.sum(dtype=np.float64))" "$npy"
