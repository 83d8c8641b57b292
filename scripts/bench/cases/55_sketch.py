"""Peer side of 55_sketch: the seed's Frequent Directions (sage_core.gpu_fd_stream) in torch 1.13
on the CPU, float32 B and SVD (scripts/bench/lib/seed_fd.py), on the rows 55_sketch.lua streams.

Protocol (see 55_sketch.lua): ell-1 rows first (no SVD yet), then `warm` untimed and `calls`
timed adds of R rows; each row from the ell-th on runs one torch.linalg.svd of the full ell x D
buffer. Prints seconds per row, once under the fast row's name (no checksum: the fast variant
shrinks differently) and once under the classic row's (check = the sum of the shrinkages).
"""
import gc
import os
import statistics
import sys
import time

import torch

import bench
from seed_fd import SeedFD

torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))

P = 10007


def stream(D):
    """rows(r0, k): rows r0..r0+k-1 (0-based) of pattern(N, D) - 0.5, as a k x D tensor."""
    tape = torch.from_numpy(bench.pattern(P + D) - 0.5)

    def rows(r0, k):
        return torch.stack([tape[(r * D) % P:(r * D) % P + D] for r in range(r0, r0 + k)])
    return rows


def emit(name, times, check=None):
    f = ["case=" + name, "side=peer", "seconds=%.9g" % statistics.median(times), "n=%d" % len(times),
         "min=%.9g" % min(times)]
    if check is not None:
        f.append("check=%.9g" % check)
    f.append("times=" + ",".join("%.6e" % t for t in times))
    sys.stdout.write(" ".join(f) + "\n")
    sys.stdout.flush()


# D, ell, rows per add R, untimed adds, timed adds (the same as 55_sketch.lua's classic rows)
SHAPES = [(2570, 64, 16, 1, 8), (2570, 256, 4, 1, 6), (203530, 64, 1, 0, 3), (203530, 256, 1, 0, 2)]

for D, ell, R, warm, calls in SHAPES:
    tag = "fd_d%d_l%d" % (D, ell)
    try:
        rows = stream(D)
        fd = SeedFD(ell, D).add(rows(0, ell - 1))
        r0, times = ell - 1, []
        for c in range(warm + calls):
            x = rows(r0, R)
            r0 += R
            gc.collect()
            t0 = time.perf_counter()
            fd.add(x)
            dt = time.perf_counter() - t0
            if c >= warm:
                times.append(dt / R)
        emit(tag + "_fast", times)
        emit(tag + "_classic", times, fd.delta)
        per_row = statistics.median(times)
    except Exception as e:  # report the rows as n/a, keep the others
        sys.stderr.write("bench: %s failed: %r\n" % (tag, e))
        bench.na(tag + "_fast", "error: %s" % str(e)[:80])
        bench.na(tag + "_classic", "error: %s" % str(e)[:80])
        per_row = None
    est = " (%.3g s per row here: %.3g h)" % (per_row, per_row * 20000 / 3600) if per_row else ""
    bench.na(tag + "_n20k", "the seed FD runs one SVD per row%s; see the steady-state rows" % est)
