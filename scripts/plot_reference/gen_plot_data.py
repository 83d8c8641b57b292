#!/usr/bin/python3
"""gen_plot_data.py - writes src/plot/plot_data.c: matplotlib's colormap lookup
tables and named colours, sampled from Debian's python3-matplotlib so lunette
reproduces them exactly. Run from the repository root:
    /usr/bin/python3 scripts/plot_reference/gen_plot_data.py
The output is committed; building lunette never needs Python."""
import matplotlib
matplotlib.use("Agg")
import matplotlib.colors as mcolors
from matplotlib import colormaps
import numpy as np

CMAPS = [
    "viridis", "plasma", "inferno", "magma", "cividis", "twilight", "turbo",
    "hot", "coolwarm", "hsv", "gray", "Greys", "jet", "rainbow", "bwr",
    "seismic", "Blues", "Greens", "Reds", "Oranges", "Purples", "RdBu",
    "RdYlBu", "RdYlGn", "Spectral", "YlOrRd", "YlGnBu", "PuOr", "PiYG",
    "terrain", "spring", "summer", "autumn", "winter", "cool", "bone",
    "copper", "pink", "afmhot", "gist_heat", "binary", "cubehelix",
    "tab10", "tab20", "tab20b", "tab20c", "Set1", "Set2", "Set3",
    "Pastel1", "Pastel2", "Paired", "Dark2", "Accent",
]

def wrap(head, vals, width=100):
    """head = {v, v, ...}; with the values packed into lines of at most `width` columns."""
    lines, cur = [head + " {"], "  "
    for v in vals:
        item = v + ","
        if len(cur) + len(item) + 1 > width:
            lines.append(cur.rstrip())
            cur = "  "
        cur += item + " "
    lines.append(cur.rstrip())
    lines.append("};")
    return "\n".join(lines)

def main():
    out = []
    w = out.append
    w("/* plot_data.c - colormap tables and named colours, generated from matplotlib "
      + matplotlib.__version__ + "\n * by scripts/plot_reference/gen_plot_data.py; do not edit. */")
    w('#include "plot/plot_color.h"')
    w("")
    entries = []
    for name in CMAPS:
        cm = colormaps[name]
        n = cm.N
        lut = cm(np.arange(n))[:, :3]
        listed = isinstance(cm, mcolors.ListedColormap) and n < 256
        ident = "lut_" + name.lower().replace("-", "_") + ("_c" if name[0].isupper() else "")
        vals = ["%.9g" % v for v in lut.ravel()]
        w(wrap("static const double %s[%d] =" % (ident, n * 3), vals))
        entries.append((name, ident, n, listed))
    w("")
    w("const PlotCmapData plot_cmap_table[] = {")
    for name, ident, n, listed in entries:
        w('  {"%s", %s, %d, %d},' % (name, ident, n, 1 if listed else 0))
    w("  {NULL, NULL, 0, 0}")
    w("};")
    w("")
    named = {}
    for k, v in mcolors.CSS4_COLORS.items():
        named[k] = v
    for k, v in mcolors.TABLEAU_COLORS.items():
        named[k] = v
    for k, v in mcolors.BASE_COLORS.items():
        named[k] = mcolors.to_hex(v)
    w("const PlotNamedColor plot_named_colors[] = {")
    for k in sorted(named):
        r, g, b = mcolors.to_rgb(named[k])
        w('  {"%s", %.9g, %.9g, %.9g},' % (k, r, g, b))
    w("  {NULL, 0, 0, 0}")
    w("};")
    with open("src/plot/plot_data.c", "w") as f:
        f.write("\n".join(out) + "\n")

if __name__ == "__main__":
    main()
