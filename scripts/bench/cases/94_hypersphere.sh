#!/bin/sh
# The hypersphere analysis (seed 003) end to end on the default data: examples/hypersphere.lua
# against scripts/bench/hypersphere.py (the seed adapted minimally: same checkpoint, features
# and figures), each a fresh process from start to the four 200-dpi PNGs, stdout discarded.
# The default data (examples/train_constellation.lua: three Fashion-MNIST experts, a
# constellation of 128 anchors x 64-d, 10,000 test rows) is trained once into
# <build>/bench/hypersphere_data before the timing and is not timed.
# Each run's wall time and the peak resident set of the process (rss_kb=, from getrusage of
# the child) are in build/bench/raw.txt; check= is the PCA 3-D variance both print (%).
# @row hypersphere goal=5 title="hypersphere analysis end to end (4 figures, 200 dpi, N=10,000, 128 anchors)"
# @rounds 1
host=${LUNETTE_HOST:-}
py=${PEER_PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/../../.." && pwd)
if [ -z "$host" ]; then
  echo "case=hypersphere side=lunette status=na reason='no lunette host'"
  exit 0
fi
cd "$here" || exit 1
work=$(dirname "$host")/bench
data=$work/hypersphere_data
if [ ! -f "$data/constellation.pt" ]; then
  LUNETTE_PROGRESS=0 "$host" examples/train_constellation.lua --out "$data" >&2 ||
    { echo "case=hypersphere side=lunette status=na reason='train_constellation failed'"; exit 0; }
fi

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
m = re.search(r"PCA 3D variance: ([0-9.]+)%", p.stdout)
if p.returncode != 0 or not m:
    sys.stderr.write(p.stdout + p.stderr)
    print("case=hypersphere side=%s status=na reason='run failed (exit %d)'" % (side, p.returncode))
else:
    print("case=hypersphere side=%s seconds=%.6f n=1 min=%.6f check=%s rss_kb=%d times=%.6e"
          % (side, dt, dt, m.group(1), rss, dt))
PY
}

timed lunette env LUNETTE_PROGRESS=0 "$host" examples/hypersphere.lua "$data/constellation.pt" --out "$work/hypersphere_lunette"
timed peer env MPLBACKEND=Agg "$py" scripts/bench/hypersphere.py "$data/constellation.pt" --out "$work/hypersphere_mpl"
