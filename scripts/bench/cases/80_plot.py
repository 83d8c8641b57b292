# plot peer: the same figures with matplotlib (Agg), from import-free timing:
# each call builds the figure, draws it and writes the PNG, then closes it.
import os
import tempfile

import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import bench  # noqa: E402

# matplotlib needs seconds per figure: one round per side (@rounds 1 in
# 80_plot.lua), one warm-up and three timed calls per figure; the 10^6-point
# scatter, tens of seconds in matplotlib, is timed once.
SEED = dict(warmup=1, min_repeats=3, budget=0)

out = os.path.join(tempfile.mkdtemp(), "fig.png")



def scramble(n, shift=0):
    """The quadratic index scramble of 80_plot.lua (a linear one puts points on lines)."""
    i = np.arange(shift, shift + n, dtype=np.int64)
    return ((i * i * 7919 + i * 104729) % 10007).astype(np.float64) / 10007


N = 5000
px, py = bench.pattern(N).astype(np.float64) * 80 - 40, scramble(N) * 80 - 40
keep = (np.arange(N) % 20) == 0


def seed1():
    with plt.style.context("seaborn-v0_8"), plt.rc_context({"font.size": 12}):
        fig, axes = plt.subplots(2, 3, figsize=(18, 12))
        for r in range(2):
            for c in range(3):
                ax = axes[r, c]
                ax.scatter(px[~keep], py[~keep], c="lightgray", alpha=0.3, s=1, label="Discarded")
                ax.scatter(px[keep], py[keep], c=["red", "blue", "green"][c], alpha=0.8, s=10, label="Selected")
                ax.set_title(f"Selection {r + 1}{c + 1}", fontsize=14)
                ax.set_xlabel("t-SNE 1")
                ax.set_ylabel("t-SNE 2")
                ax.legend()
                ax.grid(True, alpha=0.3)
        plt.tight_layout()
        fig.savefig(out, dpi=300, bbox_inches="tight")
        plt.close(fig)


u, sz = bench.pattern(N).astype(np.float64) * 2 * np.pi, scramble(N) * 2 - 1
rr = np.sqrt(1 - sz * sz)
sx, sy = np.cos(u) * rr, np.sin(u) * rr
au, az_ = bench.pattern(512).astype(np.float64) * 2 * np.pi, scramble(512, N) * 2 - 1
ar = np.sqrt(1 - az_ * az_)
ax_, ay_ = np.cos(au) * ar, np.sin(au) * ar
colors = plt.cm.tab20((np.arange(N) % 20) / 19)
phi, theta = np.linspace(0, 2 * np.pi, 60), np.linspace(0, np.pi, 30)
X = 0.98 * np.outer(np.cos(phi), np.sin(theta))
Y = 0.98 * np.outer(np.sin(phi), np.sin(theta))
Z = 0.98 * np.outer(np.ones_like(phi), np.cos(theta))


def seed2():
    fig = plt.figure(figsize=(24, 16), facecolor="black")
    fig.suptitle("Hypersphere panels", color="white", fontsize=16, y=0.98)
    for i in range(1, 7):
        ax = fig.add_subplot(2, 3, i, projection="3d")
        ax.set_facecolor("black")
        ax.xaxis.pane.fill = False; ax.yaxis.pane.fill = False; ax.zaxis.pane.fill = False
        ax.xaxis.pane.set_edgecolor("gray"); ax.yaxis.pane.set_edgecolor("gray"); ax.zaxis.pane.set_edgecolor("gray")
        ax.set_xlabel("PC1", color="gray", fontsize=8)
        ax.set_ylabel("PC2", color="gray", fontsize=8)
        ax.set_zlabel("PC3", color="gray", fontsize=8)
        ax.tick_params(colors="gray", labelsize=6)
        ax.set_title(f"Panel {i}", color="white", fontsize=11, pad=10)
        ax.plot_wireframe(X, Y, Z, alpha=0.03, color="white", linewidth=0.3)
        ax.set_xlim(-1.3, 1.3); ax.set_ylim(-1.3, 1.3); ax.set_zlim(-1.3, 1.3)
        ax.scatter(sx, sy, sz, c=colors, s=1, alpha=0.3)
        ax.scatter(ax_, ay_, az_, c="red", s=8, alpha=0.6, marker="^")
        for k in range(1, 51):
            a = (k * 7) % 512
            ax.plot([sx[k - 1], ax_[a]], [sy[k - 1], ay_[a]], [sz[k - 1], az_[a]], color="yellow", alpha=0.3, linewidth=0.5)
    plt.tight_layout(rect=[0, 0, 1, 0.95])
    fig.savefig(out, dpi=200, facecolor="black", bbox_inches="tight", pad_inches=0.3)
    plt.close(fig)


M = 1000000
bx, by = bench.pattern(M).astype(np.float64), scramble(M)
bc = plt.cm.viridis(bench.pattern(M, 3)[:, 2])


def big():
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ax.scatter(bx, by, c=bc, s=1)
    fig.savefig(out, dpi=100)
    plt.close(fig)


bench.run("plot_seed1_grid", seed1, **SEED)
bench.run("plot_seed2_3d", seed2, **SEED)
bench.run("plot_scatter_1e6", big, warmup=0, min_repeats=1, budget=0)
os.remove(out) if os.path.exists(out) else None
