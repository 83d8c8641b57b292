"""Executes examples/sage_feature_space.ipynb with nbclient (Debian python3-nbclient) on the
lunette kernel and checks its outputs: the printed statistics, and for every figure cell at
least one image/png that decodes to a PNG of the figure's size. Prints "RESULT <name> ok|FAIL"
lines for tests/kernel_spec.lua; with an argument, also writes the executed notebook there.

    LUNETTE_KERNEL_BIN=/abs/build/lunette /usr/bin/python3 notebook_test.py [OUT.ipynb]
"""
import base64
import json
import os
import re
import struct
import sys
import tempfile
import time
import traceback

HERE = tempfile.mkdtemp(prefix="lunette-notebook-test-")
SPEC = os.path.join(HERE, "kernels", "lunette")
os.makedirs(SPEC)
with open(os.path.join(SPEC, "kernel.json"), "w") as f:
    json.dump({"argv": [os.environ["LUNETTE_KERNEL_BIN"], "--kernel", "{connection_file}"],
               "display_name": "lunette", "language": "lua"}, f)
os.environ["JUPYTER_PATH"] = HERE
os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(HERE, "runtime")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(HERE, "data")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

NOTEBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                        "sage_feature_space.ipynb")
DPI = 50  # the notebook's figure.dpi
# Figure cells, found by a line of their source, and the inches of their figures.
FIGURES = {
    "plot.subplots(2, 3, { size = { 18, 12 } })": [(18, 12)],
    "Original Dataset Class Distribution": [(15, 10)],
    "plot.montage(": [(12, 8)] * 3,
    "Agreement Score vs Class Label": [(15, 10)],
    "SAGE Subset Selection Analysis Summary": [(16, 10)],
}


def png_size(b64):
    raw = base64.b64decode(b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", raw[16:24])


def text_of(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"
                   and o.name == "stdout")


def check(nb, seconds):
    cells = [c for c in nb.cells if c.cell_type == "code"]
    yield "test_runs_in_a_minute", seconds < 90, "%.1f s" % seconds
    values = [o.data for c in cells for o in c.outputs if o.output_type == "execute_result"]
    # Only the figure cells end in a value (the others end in a statement or a ';').
    yield "test_values_only_figures", len(values) == 4 and all("image/png" in v for v in values), \
        [v.get("text/plain", "")[:200] for v in values]
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    yield "test_no_errors", not errors, errors
    printed = "".join(text_of(c) for c in cells)
    yield "test_loaded", "Loaded 4000 training samples of fashion_mnist (10 classes)" in printed, printed
    stats = re.findall(r"^(Original|SAGE|GradMatch|Random)\s*: Mean=\s*([\d.]+), Std=\s*([\d.]+), "
                       r"CV=([\d.]+)$", printed, re.M)
    means = {m: float(mean) for m, mean, _, _ in stats}
    ok = len(stats) == 4 and means["Original"] == 400.0 and means["SAGE"] == 20.0
    yield "test_class_statistics", ok, stats
    ok = re.search(r"SAGE selected:\s+Mean=-?[\d.]+, Std=[\d.]+", printed) and \
        re.search(r"Selection bias:\s+-?[\d.]+", printed)
    yield "test_agreement_statistics", bool(ok), printed[-600:]
    for key, sizes in FIGURES.items():
        cell = [c for c in cells if key in c.source][0]
        got = [png_size(o.data["image/png"]) for o in cell.outputs
               if o.output_type in ("display_data", "execute_result") and "image/png" in o.data]
        want = [(w * DPI, h * DPI) for w, h in sizes]
        yield "test_png " + key.split("(")[0].strip().replace(" ", "_"), got == want, (got, want)
    stderr = "".join(o.get("text", "") for c in cells for o in c.outputs
                     if o.output_type == "stream" and o.name == "stderr")
    # Bars (training, sketch, features) redraw in place: many carriage returns, one line each.
    yield "test_progress_in_place", stderr.count("\r") > 2 * stderr.count("\n") > 0, \
        repr(stderr[-300:])


def main():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    start = time.time()
    try:
        NotebookClient(nb, kernel_name="lunette", timeout=180,
                       resources={"metadata": {"path": HERE}}).execute()
    except Exception:
        print("RESULT test_execute FAIL")
        traceback.print_exc()
        return
    print("RESULT test_execute ok")
    for name, ok, detail in check(nb, time.time() - start):
        print("RESULT", name.replace(" ", "_"), "ok" if ok else "FAIL")
        if not ok:
            print("  ", detail)
    if len(sys.argv) > 1:
        nbformat.write(nb, sys.argv[1])
    sys.stdout.flush()


if __name__ == "__main__":
    main()
