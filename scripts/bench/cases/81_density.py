# plot density peer: matplotlib's hexbin, and the usual density-scatter recipe (a 256 x 256
# np.histogram2d density, scipy's interpn at every point, points sorted so the densest are drawn
# last, scatter with c = density), each with a colorbar, at 300 dpi.
import os
import tempfile

import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy.interpolate import interpn  # noqa: E402

import bench  # noqa: E402

out = os.path.join(tempfile.mkdtemp(), "fig.png")

# Same data as 81_density.lua.
M = 1000000
i = np.arange(1, M + 1, dtype=np.int64).astype(np.float64)


def frac(t):
    return t - np.floor(t)


u1 = frac(i * 0.7548776662466927)
u2 = frac(i * 0.5698402909980532)
r = np.sqrt(np.log(u1 * (1 - 1e-12) + 1e-12) * -2)
t = u2 * (2 * np.pi)
g1, g2 = r * np.cos(t), r * np.sin(t)
x = g1
y = g1 * 0.5 + g2 * 0.8


def hexbin():
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    hb = ax.hexbin(x, y, gridsize=100, bins="log")
    fig.colorbar(hb)
    fig.savefig(out, dpi=300)
    plt.close(fig)


def density():
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    h, xe, ye = np.histogram2d(x, y, bins=256, density=True)
    z = interpn((0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])), h, np.vstack([x, y]).T,
                method="linear", bounds_error=False, fill_value=None)
    idx = z.argsort()
    sc = ax.scatter(x[idx], y[idx], c=z[idx], s=1)
    fig.colorbar(sc, label="density")
    fig.savefig(out, dpi=300)
    plt.close(fig)


bench.run("plot_hexbin_1e6", hexbin, warmup=1, min_repeats=3, budget=0)
bench.run("plot_density_scatter_1e6", density, warmup=0, min_repeats=1, budget=0)
if os.path.exists(out):
    os.remove(out)
