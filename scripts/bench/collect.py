"""collect.py - join the raw lines of a bench run into BENCHMARKS.md.

usage: collect.py --raw build/bench/raw.txt --cases scripts/bench/cases --out BENCHMARKS.md [--groups "g1 g2"]

Rows come from `@row <name> goal=<min ratio> title="..." [tol=<rel>]` lines in
the case files (in file-name order, then line order), so a row is listed even
when a side could not run it. Measurements are the `case=` lines the case files
print; lines for the same case and side (one per round) are pooled and the
median of all timed calls is reported. ratio = peer median / lunette median
(> 1: lunette is faster); a goal is met when ratio >= goal. The file is written
to a temporary name and renamed, so a failed run never leaves half a report.
"""
import argparse
import datetime
import os
import platform
import re
import shlex
import statistics
import sys
import tempfile


def parse_kv(text):
    out = {}
    for tok in shlex.split(text):
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def read_rows(cases_dir, groups):
    rows, seen = [], set()
    exts = {".lua": 0, ".py": 1, ".sh": 2}
    files = sorted((f for f in os.listdir(cases_dir) if os.path.splitext(f)[1] in exts),
                   key=lambda f: (os.path.splitext(f)[0], exts[os.path.splitext(f)[1]]))
    for f in files:
        group = os.path.splitext(f)[0]
        if groups is not None and group not in groups:
            continue
        with open(os.path.join(cases_dir, f), encoding="utf-8") as fh:
            for line in fh:
                m = re.search(r"@row\s+(\S+)\s*(.*)$", line)
                if not m or m.group(1) in seen:
                    continue
                kv = parse_kv(m.group(2))
                seen.add(m.group(1))
                rows.append({"name": m.group(1), "group": group, "file": f,
                             "goal": float(kv.get("goal", "1")),
                             "title": kv.get("title", m.group(1)),
                             "tol": float(kv.get("tol", "1e-3"))})
    return rows


def read_raw(path):
    info, peak, meas, errors, durations = {}, None, {}, [], {}
    info["durations"] = durations
    info["stream"] = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("info "):
                k, _, v = line[5:].partition("=")
                info[k] = v.strip()
            elif line.startswith("peak "):
                peak = parse_kv(line[5:])
            elif line.startswith("stream "):
                info["stream"] = parse_kv(line[7:])
            elif line.startswith("error "):
                errors.append(parse_kv(line[6:]))
            elif line.startswith("duration "):
                kv = parse_kv(line[9:])
                durations[kv.get("group")] = durations.get(kv.get("group"), 0) + int(kv.get("seconds", 0))
            elif line.startswith("case="):
                kv = parse_kv(line)
                key = (kv.get("case"), kv.get("side"))
                meas.setdefault(key, []).append(kv)
    return info, peak, meas, errors


def pool(lines):
    """Pool the rounds of one (case, side): all timed calls, or the n/a reason."""
    times, flops, check, tools, na, rss, nbytes = [], None, None, set(), None, None, None
    for kv in lines:
        if kv.get("status") == "na":
            na = kv.get("reason", "not available")
            continue
        times += [float(t) for t in kv.get("times", kv.get("seconds", "")).split(",") if t]
        flops = float(kv["flops"]) if "flops" in kv else flops
        nbytes = float(kv["bytes"]) if "bytes" in kv else nbytes
        check = float(kv["check"]) if "check" in kv and check is None else check
        if "tool" in kv:
            tools.add(kv["tool"])
        if "rss_kb" in kv and float(kv["rss_kb"]) > 0:  # a process's peak resident set: keep the largest
            rss = max(rss or 0.0, float(kv["rss_kb"]))
    if not times:
        return {"na": na or "no result"}
    return {"median": statistics.median(times), "min": min(times), "n": len(times),
            "flops": flops, "check": check, "tools": tools, "rss_kb": rss, "bytes": nbytes}


def fmt_time(s):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale or unit == "µs":
            v = s / scale
            return ("%.3g" % v if v < 100 else "%.0f" % v) + " " + unit
    return str(s)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return "%.1f GiB" % (int(line.split()[1]) / 2**20)
    except OSError:
        pass
    return "unknown"


def bandwidth_note(label, p, stream):
    """GB/s a memory-bound row writes at, and its share of the probe's first-touch and warm
    write bandwidth (scripts/bench/lib/stream.c)."""
    gbs = p["bytes"] / p["median"] * 1e-9
    note = "%s writes %.2f GB at %.2f GB/s" % (label, p["bytes"] * 1e-9, gbs)
    if stream:
        ft, wr = float(stream.get("first_touch_gbs", 0)), float(stream.get("write_gbs", 0))
        if ft > 0 and wr > 0:
            note += " (%.0f%% of first-touch write bandwidth, %.0f%% of warm write)" % (
                100 * gbs / ft, 100 * gbs / wr)
    return note


def build(rows, info, peak, meas, errors):
    peak_probe = float(peak["gflops"]) if peak and "gflops" in peak else None
    # Best single-call sgemm rate seen in the cases (either side): the peak can't be lower.
    observed = [(r["name"], side, p["flops"] / p["min"] * 1e-9)
                for r in rows for side in ("lunette", "peer")
                for p in [pool(meas.get((r["name"], side), []))] if "median" in p and p["flops"]]
    best_obs = max(observed, key=lambda x: x[2]) if observed else None
    peak_g, peak_src = peak_probe, "sgemm probe"
    if best_obs and (peak_g is None or best_obs[2] > peak_g):
        peak_g, peak_src = best_obs[2], "best call of %s (%s)" % (best_obs[0], best_obs[1])

    table, details, met_count, goal_count = [], [], 0, 0
    for r in rows:
        lu = pool(meas.get((r["name"], "lunette"), []))
        pe = pool(meas.get((r["name"], "peer"), []))
        notes = []
        if "median" in lu and "median" in pe:
            ratio = pe["median"] / lu["median"]
            ok = ratio >= r["goal"]
            goal_count += 1
            met_count += ok
            ratio_s, met_s = "%.2f×" % ratio, "yes" if ok else "**no**"
            cl, cp = lu["check"], pe["check"]
            if cl is not None and cp is not None:
                if abs(cl - cp) > r["tol"] * max(abs(cl), abs(cp), 1e-12):
                    notes.append("checksums differ: lunette %.7g, peer %.7g" % (cl, cp))
        else:
            ratio_s, met_s = "n/a", "n/a"
        for side, p, label in (("lunette", lu, "lunette"), ("peer", pe, "numpy")):
            if "median" in p and p["flops"]:
                g = p["flops"] / p["median"] * 1e-9
                share = " (%.0f%% of peak)" % (100 * g / peak_g) if peak_g else ""
                notes.append("%s %.1f GFLOP/s%s" % (label, g, share))
            if "median" in p and p.get("bytes"):
                notes.append(bandwidth_note(label if side == "lunette" else "peer", p, info.get("stream")))
            if "median" in p and p.get("rss_kb"):
                notes.append("%s peak RSS %.0f MiB" % (label, p["rss_kb"] / 1024))
        if "median" in lu and "median" in pe:
            notes.append("n=%d/%d" % (lu["n"], pe["n"]))
        tools = (lu.get("tools") or set()) | (pe.get("tools") or set())
        if tools:
            notes.append("timed with " + "/".join(sorted(tools)))
        cell = lambda p: fmt_time(p["median"]) if "median" in p else "n/a (%s)" % p["na"]
        table.append("| %s | %s | %s | %s | ≥ %g× | %s | %s |" % (
            r["title"], cell(lu), cell(pe), ratio_s, r["goal"], met_s, "; ".join(notes)))
    return table, met_count, goal_count, peak_g, peak_src, peak_probe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--groups", default=None)
    a = ap.parse_args()
    groups = set(a.groups.split()) if a.groups else None
    rows = read_rows(a.cases, groups)
    info, peak, meas, errors = read_raw(a.raw)
    table, met, total, peak_g, peak_src, peak_probe = build(rows, info, peak, meas, errors)

    try:
        ncpu = len(os.sched_getaffinity(0))
    except AttributeError:
        ncpu = os.cpu_count()
    threads = info.get("threads", "?")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    L = []
    L.append("# lunette benchmarks")
    L.append("")
    L.append("Generated by `make bench` (scripts/bench/run.sh) on %s — do not edit by hand." % now)
    L.append("Each row is lunette and its peer (Debian's `/usr/bin/python3` + numpy) measured in the same "
             "run, on the same machine, on the same data. **ratio = peer median / lunette median** "
             "(> 1 means lunette is faster); a goal is met when ratio ≥ goal.")
    L.append("")
    L.append("**%d of %d goals met.**" % (met, total) + (
        " %d row(s) could not be measured on both sides (n/a)." % (len(rows) - total) if len(rows) > total else ""))
    L.append("")
    L.append("| case | lunette median | peer median | ratio | goal | met? | detail |")
    L.append("|---|---:|---:|---:|---:|:---:|---|")
    L += table
    L.append("")
    L.append("## How it was measured")
    L.append("")
    L.append("- Threads: `OMP_NUM_THREADS=%s OPENBLAS_NUM_THREADS=%s` for both sides (and the peak probe). "
             "lunette's elementwise ops and reductions may use all %s OpenMP threads; numpy's ufuncs and "
             "reductions are single-threaded by design, and both sides' matmul runs in the same OpenBLAS."
             % (threads, threads, threads))
    warm, rmin, budget, rmax = (info.get("policy", "1 7 1.0 60").split() + ["?"] * 4)[:4]
    L.append("- In-process rows: %s warm-up call(s), then ≥ %s timed calls (until ~%s s of timed work, at most "
             "%s) per round; %s rounds per side (fewer for groups marked `@rounds N`), alternating which side goes first; the median of all pooled "
             "calls is reported (n = calls lunette/peer). The result of a call is released and the garbage "
             "collector run between calls, outside the timed region, on both sides. Timers: `lunette.time()` "
             "(monotonic) and `time.perf_counter()`." % (warm, rmin, budget, rmax, info.get("rounds", "?")))
    L.append("- Data: both sides build the same float32 values, element i = ((i·7919) mod 10007) / 10007, in "
             "the same shapes; a checksum of each result is compared (a mismatch is noted in the row).")
    cw, cmin = (info.get("cmd_policy", "3 20").split() + ["?"] * 2)[:2]
    L.append("- Start-up: the whole process, spawn to exit, median wall time (hyperfine `-N`, %s warm-ups, "
             "≥ %s runs, or the harness's own spawn loop when hyperfine is missing)." % (cw, cmin))
    if peak_g:
        extra = ""
        if peak_src != "sgemm probe":
            extra = " (higher than the probe's %.1f GFLOP/s, so that is used)" % peak_probe if peak_probe else ""
        L.append("- Peak: %.1f GFLOP/s float32, from the %s%s. The probe (scripts/bench/lib/peak.c, compiled "
                 "against `-lopenblas`) times `cblas_sgemm` on square sizes %s with %s threads and keeps the "
                 "best single call; share of peak = GFLOP/s at the median time / peak."
                 % (peak_g, peak_src, extra, ", ".join(info.get("peak_sizes", "?").split()), threads))
        if peak:
            L.append("  OpenBLAS: `%s`, kernel `%s`." % (peak.get("config", "?"), peak.get("core", "?")))
    stream = info.get("stream")
    if stream:
        L.append("- Memory bandwidth (scripts/bench/lib/stream.c, %s threads, %s MiB buffers, best of %s): "
                 "copy %s GB/s (read + write bytes), warm write %s GB/s, first-touch write %s GB/s (a fresh "
                 "allocation written once, the kernel's page faults and zeroing included: what producing a "
                 "new tensor costs). Rows that write gigabytes give their GB/s and share of these."
                 % (stream.get("threads", "?"), stream.get("mib", "?"), stream.get("reps", "?"),
                    stream.get("copy_gbs", "?"), stream.get("write_gbs", "?"), stream.get("first_touch_gbs", "?")))
    L.append("- BLAS: lunette runs OpenBLAS `%s`; numpy runs `%s`; torch's intra-op threads: %s. "
             "OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE found in the environment: `%s`; %s."
             % (info.get("lunette_blas_core", "?"), info.get("peer_blas_core", "?"),
                info.get("torch_threads", "?"), info.get("blas_env_found", "?"),
                info.get("blas_env_policy", "?")))
    L.append("")
    L.append("## Machine and versions")
    L.append("")
    L.append("- Processor: %s; %s physical cores, %s logical CPUs (%d available to this run); "
             "ISA extensions: %s; memory %s; %s" % (
                 info.get("cpu_model") or cpu_model(), info.get("cpu_physical", "?"),
                 info.get("cpu_logical", "?"), ncpu, info.get("cpu_flags", "?").strip() or "none of avx2/avx512",
                 mem_total(), info.get("kernel", platform.platform())))
    L.append("- Threads: lunette OMP_NUM_THREADS=%s and OpenBLAS %s; numpy OpenBLAS as above; lunette's own "
             "kernels pick their ISA clone (x86-64-v4 / v3 / baseline) at start-up (src/hot.h)."
             % (info.get("lunette_omp_threads", "?"), info.get("lunette_blas_core", "?")))
    if info.get("load_start"):
        L.append("- Load average (1/5/15 min) at start: %s; at end: %s (other work on this machine adds noise)"
                 % (info.get("load_start"), info.get("load_end", "?")))
    for k, label in (("lunette_version", "lunette"), ("git", "commit"), ("lua_runner", "Lua cases run by"),
                     ("lua_version", "Lua"), ("cc", "C compiler"), ("python", "peer Python"),
                     ("numpy", "numpy"), ("numpy_blas", "numpy BLAS (libblas.so.3 → OpenBLAS)"),
                     ("lunette_blas", "lunette BLAS (lunette.so links)"), ("hyperfine", "hyperfine")):
        v = info.get(k, "")
        L.append("- %s: %s" % (label, ("`%s`" % v) if v else "none"))
    durations = info.get("durations") or {}
    if durations:
        L.append("- Run time: %d s of cases (%s)." % (sum(durations.values()), ", ".join(
            "%s %d s" % (g, t) for g, t in sorted(durations.items()))))
    if errors:
        L.append("")
        L.append("## Errors")
        L.append("")
        for e in errors:
            L.append("- `%s` (%s side) exited with status %s; its log is in build/bench/."
                     % (e.get("file"), e.get("side"), e.get("rc")))
    L.append("")
    L.append("## Reproduce")
    L.append("")
    L.append("```sh")
    L.append("make bench                         # all rows, writes BENCHMARKS.md")
    L.append("scripts/bench/run.sh reduce        # one group, writes build/bench/BENCHMARKS.partial.md")
    L.append("```")
    L.append("")
    L.append("Raw measurements (every timed call) are in `build/bench/raw.txt`; adding a row is described "
             "in scripts/bench/README.md.")
    text = "\n".join(L) + "\n"

    out_dir = os.path.dirname(os.path.abspath(a.out))
    fd, tmp = tempfile.mkstemp(prefix=".bench-", suffix=".md", dir=out_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, a.out)
    except BaseException:
        os.unlink(tmp)
        raise
    # the table on the terminal too
    sys.stdout.write("\n".join(L[L.index("| case | lunette median | peer median | ratio | goal | met? | detail |"):
                                L.index("## How it was measured")]).rstrip("\n") + "\n")
    sys.stdout.write("**%d of %d goals met.**\n" % (met, total))


if __name__ == "__main__":
    main()
