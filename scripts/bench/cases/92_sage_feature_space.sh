#!/bin/sh
# The whole SAGE feature-space analysis (seeds/000) end to end on the default data and
# configuration: Fashion-MNIST train (60,000), the small CNN trained for one epoch, the FD
# sketch of last-layer per-sample gradients (ell = 256), SAGE / GradMatch / random at 5%,
# features of 5,000 points, PCA-50, t-SNE and UMAP, 2,000 agreement scores and the seven
# figures at 300 dpi. lunette runs examples/sage_feature_space.lua; the peer runs its Python
# port, scripts/bench/sage_feature_space.py (torch, scikit-learn, umap-learn, matplotlib;
# the same algorithms: closed-form last-layer gradients, the fast FD, per-class OMP).
# One process per side, timed from spawn to exit; the detail column gives each side's peak
# resident set and CPU seconds (getrusage of the child: ru_maxrss, user + system), the
# steadier number on a shared machine. Progress bars off.
# Where the time goes: training the CNN for one epoch and its forward pass over the 60,000
# images (the sketch pass) are most of lunette's run, and there lunette and torch are at
# parity (same CPU seconds per batch); t-SNE, UMAP, the agreement analysis (the seed's
# per-sample backward loop against lunette's projections from the sketch pass) and the
# figures are where lunette is many times faster.
# @row sage_feature_space goal=5 title="SAGE feature-space analysis end to end (seed 000, FMNIST 60k, 7 figures at 300 dpi)"
# @rounds 1
host=${LUNETTE_HOST:-}
py=${PEER_PYTHON:-/usr/bin/python3}
out=$(mktemp -d /tmp/lunette_sage_fs.XXXXXX)
trap 'rm -rf "$out"' EXIT
# run <side> <command...>: one timed run; prints the case line (or n/a on failure)
run() {
  side=$1; shift
  "$py" - "$side" "$@" <<'PY'
import os, sys, time
side, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, dict(os.environ, LUNETTE_PROGRESS="0", TQDM_DISABLE="1"),
                     file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
_, status, ru = os.wait4(pid, 0)
dt = time.perf_counter() - t0
if os.waitstatus_to_exitcode(status) != 0:
    print("case=sage_feature_space side=%s status=na reason='run failed (exit %d)'" % (side, os.waitstatus_to_exitcode(status)))
else:
    print("case=sage_feature_space side=%s seconds=%.6f n=1 min=%.6f tool=%s_peak_rss_%dMB_cpu_%ds times=%.6e"
          % (side, dt, dt, side, ru.ru_maxrss // 1024, ru.ru_utime + ru.ru_stime, dt))
PY
}
if [ -n "$host" ]; then
  run lunette "$host" examples/sage_feature_space.lua --out "$out/lunette"
else
  echo "case=sage_feature_space side=lunette status=na reason='no lunette host'"
fi
run peer "$py" scripts/bench/sage_feature_space.py --out "$out/peer"
