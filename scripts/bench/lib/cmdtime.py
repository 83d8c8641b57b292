"""cmdtime.py - time a whole command (process start to exit), for start-up rows.

usage: cmdtime.py <case> <side> <command> [args...]

Uses hyperfine (-N: no intermediate shell, warm-up runs, JSON export) when
$HYPERFINE names it; otherwise spawns the command in a loop itself
(posix_spawn + waitpid, time.perf_counter around each run). Either way it
prints the same line as bench.lua/bench.py, with the median wall time:
  case=<case> side=<side> seconds=<median> n=<runs> min=<s> tool=<hyperfine|loop> times=<...>
"""
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

WARMUP = int(os.environ.get("BENCH_CMD_WARMUP", "3"))
MIN_RUNS = int(os.environ.get("BENCH_CMD_MIN_RUNS", "20"))
MAX_RUNS = int(os.environ.get("BENCH_CMD_MAX_RUNS", "200"))
BUDGET = float(os.environ.get("BENCH_CMD_BUDGET", "3"))


def emit(case, side, times, tool):
    print("case=%s side=%s seconds=%.9g n=%d min=%.9g tool=%s times=%s" % (
        case, side, statistics.median(times), len(times), min(times), tool,
        ",".join("%.6e" % t for t in times)), flush=True)


def with_hyperfine(hf, argv):
    with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
        cmd = [hf, "-N", "--style", "none", "--warmup", str(WARMUP),
               "--min-runs", str(MIN_RUNS), "--max-runs", str(MAX_RUNS),
               "--export-json", tmp.name, shlex.join(argv)]
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        with open(tmp.name) as f:
            return json.load(f)["results"][0]["times"]


def with_loop(argv):
    devnull = os.open(os.devnull, os.O_RDWR)
    fa = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)]
    times, spent, i = [], 0.0, 0
    while True:
        t0 = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=fa)
        _, status = os.waitpid(pid, 0)
        dt = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit("cmdtime: %s exited with status %d" % (shlex.join(argv), status))
        i += 1
        if i <= WARMUP:
            continue
        times.append(dt)
        spent += dt
        if len(times) >= MAX_RUNS or (len(times) >= MIN_RUNS and spent >= BUDGET):
            return times


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    case, side, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    hf = os.environ.get("HYPERFINE", "")
    if hf:
        emit(case, side, with_hyperfine(hf, argv), "hyperfine")
    else:
        emit(case, side, with_loop(argv), "loop")


if __name__ == "__main__":
    main()
