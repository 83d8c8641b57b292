"""bench.py - timing helper for the peer (numpy) side of `make bench`.

Same policy as bench.lua: `warmup` untimed calls, then at least `min` timed
calls, continuing until `budget` seconds of timed work or `max` calls; each call
timed alone with time.perf_counter(). The previous result is released and the
cyclic GC run between calls, outside the timed region.
Prints one line per case on stdout:
  case=<name> side=peer seconds=<median> n=<calls> min=<s> times=<...> [flops=<n>] [check=<v>]
  case=<name> side=peer status=na reason='<text>'
"""
import gc
import os
import statistics
import sys
import time

import numpy as np

side = "peer"


def _envnum(k, d):
    try:
        return float(os.environ[k])
    except (KeyError, ValueError):
        return d


warmup = int(_envnum("BENCH_WARMUP", 1))
min_repeats = int(_envnum("BENCH_MIN_REPEATS", 7))
max_repeats = int(_envnum("BENCH_MAX_REPEATS", 60))
budget = _envnum("BENCH_BUDGET", 1.0)


def _emit(fields):
    sys.stdout.write(" ".join(fields) + "\n")
    sys.stdout.flush()


def _fmt(x):
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return "%.9g" % float(x)


def na(name, reason="not available"):
    r = str(reason).replace("'", " ").replace("\n", " ")
    _emit(["case=" + name, "side=" + side, "status=na", "reason='%s'" % r])


def run(name, fn, flops=None, check=None, warmup=None, min_repeats=None, max_repeats=None, budget=None,
        bytes_written=None):
    """Time fn() and print one result line. check(result) -> number (checksum).
    bytes_written: bytes the call must write (GB/s and share of measured bandwidth).
    warmup/min_repeats/max_repeats/budget override this case's policy (defaults:
    the module globals, i.e. the BENCH_* environment); multi-second cases use
    e.g. warmup=0, min_repeats=1, budget=0: one timed call per round."""
    g = globals()
    warmup = g["warmup"] if warmup is None else warmup
    min_repeats = g["min_repeats"] if min_repeats is None else min_repeats
    max_repeats = g["max_repeats"] if max_repeats is None else max_repeats
    budget = g["budget"] if budget is None else budget
    try:
        for _ in range(warmup):
            fn()
        times, spent, result = [], 0.0, None
        while len(times) < min_repeats or (len(times) < max_repeats and spent < budget):
            result = None
            gc.collect()
            t0 = time.perf_counter()
            result = fn()
            dt = time.perf_counter() - t0
            times.append(dt)
            spent += dt
        f = ["case=" + name, "side=" + side, "seconds=" + _fmt(statistics.median(times)),
             "n=%d" % len(times), "min=" + _fmt(min(times))]
        if flops is not None:
            f.append("flops=" + _fmt(flops))
        if bytes_written is not None:
            f.append("bytes=" + _fmt(bytes_written))
        if check is not None:
            f.append("check=" + _fmt(check(result)))
        f.append("times=" + ",".join("%.6e" % t for t in times))
        _emit(f)
    except Exception as e:  # report the row as n/a, keep the other rows
        sys.stderr.write("bench: case %s failed: %r\n" % (name, e))
        na(name, "error: %s" % str(e)[:80])


def pattern(*shape):
    """Deterministic float32 data shared with bench.lua: element i (0-based,
    row-major) is ((i * 7919) % 10007) / 10007."""
    n = 1
    for d in shape:
        n *= d
    i = np.arange(n, dtype=np.int64)
    x = ((i * 7919) % 10007).astype(np.float32) / np.float32(10007)
    return x.reshape(shape)


def total(r):
    """Sum of an array (or a number) as a float, for checksums."""
    if isinstance(r, (int, float, np.number)):
        return float(r)
    return float(np.sum(r, dtype=np.float64))
