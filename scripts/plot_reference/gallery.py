#!/usr/bin/python3
"""gallery.py [outdir] [dpi-scale] [names...] - the matplotlib side of
examples/gallery.lua: the same figures from the same data (see
gallery_data.py), written as <name>_mpl.png for side-by-side comparison.
Run with Debian's /usr/bin/python3 (python3-matplotlib)."""
import math
import os
import sys
import time

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gallery_data as D  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "gallery"
SCALE = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
os.makedirs(OUT, exist_ok=True)
G = {}


def figure(fn):
    G[fn.__name__] = fn
    return fn


def save(fig, name, dpi=100, **kw):
    t0 = time.perf_counter()
    fig.savefig(os.path.join(OUT, name + "_mpl.png"), dpi=dpi * SCALE, **kw)
    plt.close(fig)
    print("%-22s %6.3f s" % (name, time.perf_counter() - t0))


@figure
def feature_space():
    x, y, lab, score = D.clusters(5000, 1)
    masks = D.masks(score, 7)
    with plt.style.context("seaborn-v0_8"), plt.rc_context({"font.size": 12}):
        fig, axes = plt.subplots(2, 3, figsize=(18, 12))
        for row, view in enumerate(["t-SNE", "UMAP"]):
            vx, vy = x, y
            if view == "UMAP":
                vx, vy = y * 0.7 + x * 0.2, x * 0.7 - y * 0.3
            for i, (m, c) in enumerate(zip(["SAGE", "GradMatch", "Random"], ["red", "blue", "green"])):
                ax = axes[row, i]
                sel = masks[m]
                ax.scatter(vx[~sel], vy[~sel], c="lightgray", alpha=0.3, s=1, label="Discarded")
                ax.scatter(vx[sel], vy[sel], c=c, alpha=0.8, s=10, label="Selected")
                ax.set_title(f"{m} Selection ({view})", fontsize=14)
                ax.set_xlabel(f"{view} 1")
                ax.set_ylabel(f"{view} 2")
                ax.legend()
                ax.grid(True, alpha=0.3)
        plt.tight_layout()
        save(fig, "feature_space", dpi=100, bbox_inches="tight")


@figure
def class_bars():
    with plt.style.context("seaborn-v0_8"), plt.rc_context({"font.size": 12}):
        fig, axes = plt.subplots(2, 2, figsize=(15, 10))
        orig = [6000] * 10
        dists = {"SAGE": [300] * 10, "GradMatch": [512, 80, 415, 120, 388, 210, 455, 99, 640, 181],
                 "Random": [289, 310, 305, 296, 281, 322, 300, 291, 310, 296]}
        axes[0, 0].bar(range(10), orig, alpha=0.7)
        axes[0, 0].set_title("Original Dataset Class Distribution")
        axes[0, 0].set_xlabel("Class ID")
        axes[0, 0].set_ylabel("Sample Count")
        axes[0, 0].set_xlim(0, 10)
        for i, (m, c) in enumerate(zip(["SAGE", "GradMatch", "Random"], ["red", "blue", "green"])):
            ax = axes[(i + 1) // 2, (i + 1) % 2]
            d = np.array(dists[m], dtype=float)
            ax.bar(range(10), d, alpha=0.7, color=c)
            ax.set_title(f"{m} Selected Subset Distribution")
            ax.set_xlabel("Class ID")
            ax.set_ylabel("Sample Count")
            ax.set_xlim(0, 10)
            std, mean = np.std(d), np.mean(d)
            ax.text(0.02, 0.98, f"CV: {std / mean:.3f}\nStd: {std:.1f}", transform=ax.transAxes,
                    verticalalignment="top", bbox=dict(boxstyle="round", facecolor="white", alpha=0.8))
        plt.tight_layout()
        save(fig, "class_bars", dpi=100, bbox_inches="tight")


@figure
def montage():
    imgs = D.images(24)
    with plt.style.context("seaborn-v0_8"):
        fig, axes = plt.subplots(4, 6, figsize=(12, 8))
        for i in range(24):
            ax = axes[i // 6, i % 6]
            ax.imshow(np.clip(imgs[i].transpose(1, 2, 0), 0, 1))
            ax.set_title(f"Class {((i + 1) * 7) % 10}", fontsize=8)
            ax.axis("off")
        plt.suptitle("SAGE Selected Samples (5% of dataset)", fontsize=16)
        plt.tight_layout()
        save(fig, "montage", dpi=100, bbox_inches="tight")


def husl_style():
    import colorsys  # noqa: F401
    import matplotlib as mpl
    # seaborn.husl_palette(6) as seaborn computes it
    cyc = ["#f77189", "#bb9832", "#50b131", "#36ada4", "#3ba3ec", "#e866f4"]
    return mpl.cycler(color=cyc)


@figure
def agreement():
    x, y, lab, score = D.clusters(5000, 1)
    sel = D.masks(score, 7)["SAGE"]
    with plt.style.context("seaborn-v0_8"), plt.rc_context({"font.size": 12, "axes.prop_cycle": husl_style()}):
        fig, axes = plt.subplots(2, 2, figsize=(15, 10))
        ax = axes[0, 0]
        ax.hist(score, bins=50, alpha=0.7, density=True, label="All samples")
        ax.hist(score[sel], bins=50, alpha=0.7, density=True, label="SAGE selected")
        ax.set_title("Agreement Score Distribution")
        ax.set_xlabel("Agreement Score")
        ax.set_ylabel("Density")
        ax.legend()
        ax.grid(True, alpha=0.3)
        ax = axes[0, 1]
        ax.boxplot([score[~sel], score[sel]], labels=["Unselected", "SAGE Selected"])
        ax.set_title("Agreement Scores by Selection Status")
        ax.set_ylabel("Agreement Score")
        ax.grid(True, alpha=0.3)
        ax = axes[1, 0]
        ax.scatter(lab[~sel], score[~sel], alpha=0.3, s=1, c="gray", label="Unselected")
        ax.scatter(lab[sel], score[sel], alpha=0.8, s=20, c="red", label="SAGE Selected")
        ax.set_title("Agreement Score vs Class Label")
        ax.set_xlabel("Class Label")
        ax.set_ylabel("Agreement Score")
        ax.legend()
        ax.grid(True, alpha=0.3)
        ax = axes[1, 1]
        avg = [score[lab == c].mean() for c in range(10)]
        savg = [score[(lab == c) & sel].mean() if ((lab == c) & sel).sum() else 0 for c in range(10)]
        xs, w = np.arange(10), 0.35
        ax.bar(xs - w / 2, avg, w, label="Class Average", alpha=0.7)
        ax.bar(xs + w / 2, savg, w, label="SAGE Selected", alpha=0.7)
        ax.set_title("Agreement Scores by Class (First 20 classes)")
        ax.set_xlabel("Class ID")
        ax.set_ylabel("Average Agreement Score")
        ax.set_xticks(xs)
        ax.set_xticklabels(range(10))
        ax.legend()
        ax.grid(True, alpha=0.3)
        plt.tight_layout()
        save(fig, "agreement", dpi=100, bbox_inches="tight")


@figure
def summary():
    x, y, lab, score = D.clusters(5000, 1)
    sel = D.masks(score, 7)["SAGE"]
    with plt.style.context("seaborn-v0_8"), plt.rc_context({"font.size": 12, "axes.prop_cycle": husl_style()}):
        fig = plt.figure(figsize=(16, 10))
        gs = fig.add_gridspec(3, 4, hspace=0.3, wspace=0.3)
        ax1 = fig.add_subplot(gs[0, :2])
        ax1.scatter(x[~sel], y[~sel], c="lightgray", alpha=0.3, s=1, label="Discarded")
        ax1.scatter(x[sel], y[sel], c="red", alpha=0.8, s=10, label="SAGE Selected")
        ax1.set_title("SAGE Selection in Feature Space (t-SNE)", fontsize=14)
        ax1.legend()
        ax2 = fig.add_subplot(gs[0, 2:])
        cv = [0.012, 0.584, 0.043]
        bars = ax2.bar(["SAGE", "GradMatch", "Random"], cv, color=["red", "blue", "green"], alpha=0.7)
        ax2.set_title("Class Balance (Lower is Better)", fontsize=14)
        ax2.set_ylabel("Coefficient of Variation")
        for bar, v in zip(bars, cv):
            ax2.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 0.001, f"{v:.3f}", ha="center", va="bottom")
        ax3 = fig.add_subplot(gs[1, :2])
        ax3.hist(score, bins=30, alpha=0.5, density=True, label="All samples")
        ax3.hist(score[sel], bins=30, alpha=0.7, density=True, label="SAGE selected")
        ax3.set_title("Agreement Score Distribution", fontsize=14)
        ax3.set_xlabel("Agreement Score")
        ax3.set_ylabel("Density")
        ax3.legend()
        ax4 = fig.add_subplot(gs[1, 2:])
        imgs = D.images(8).transpose(0, 2, 3, 1)
        montage = np.concatenate([np.concatenate(list(imgs[:4]), axis=1), np.concatenate(list(imgs[4:8]), axis=1)], axis=0)
        ax4.imshow(montage)
        ax4.set_title("SAGE Selected Samples", fontsize=14)
        ax4.axis("off")
        ax5 = fig.add_subplot(gs[2, :])
        ax5.axis("off")
        text = "\n".join(["", "SAGE SELECTION INSIGHTS:", "",
                          "• CLASS BALANCE: SAGE achieves CV=0.012 vs GradMatch=0.584 vs Random=0.043",
                          "  (Lower coefficient of variation = better class balance)", "",
                          "• AGREEMENT BIAS: SAGE selects samples with 0.214 higher agreement scores",
                          "  (Selects samples that agree more with gradient centroid)", "",
                          "• SUBSET SIZE: 3000 samples (5.0% of 60000 total)", ""])
        ax5.text(0.05, 0.95, text, transform=ax5.transAxes, fontsize=12, verticalalignment="top",
                 bbox=dict(boxstyle="round,pad=0.5", facecolor="lightblue", alpha=0.8))
        plt.suptitle("SAGE Subset Selection Analysis Summary", fontsize=18, y=0.98)
        save(fig, "summary", dpi=100, bbox_inches="tight")


@figure
def sphere_panels():
    x, y, z = D.sphere_points(5000, 3)
    ax_, ay_, az_ = D.sphere_points(512, 5)
    cls = np.array([(i * 7) % 20 for i in range(1, 5001)])
    class_colors = plt.cm.tab20(np.linspace(0, 1, 20))[cls]
    phi = np.linspace(0, 2 * np.pi, 60)
    theta = np.linspace(0, np.pi, 30)
    xs = np.outer(np.cos(phi), np.sin(theta))
    ys = np.outer(np.sin(phi), np.sin(theta))
    zs = np.outer(np.ones_like(phi), np.cos(theta))
    fig = plt.figure(figsize=(24, 16), facecolor="black")
    fig.suptitle("GeoLIP Hypersphere Manifold — S²⁵⁵ projected to S²\n512 anchors × 256-d × 3 experts | mAP=0.612 | eff_dim=76.9",
                 color="white", fontsize=16, y=0.98)

    def setup(i, title):
        ax = fig.add_subplot(2, 3, i, projection="3d")
        ax.set_facecolor("black")
        ax.xaxis.pane.fill = False; ax.yaxis.pane.fill = False; ax.zaxis.pane.fill = False
        ax.xaxis.pane.set_edgecolor("gray"); ax.yaxis.pane.set_edgecolor("gray"); ax.zaxis.pane.set_edgecolor("gray")
        ax.set_xlabel("PC1", color="gray", fontsize=8)
        ax.set_ylabel("PC2", color="gray", fontsize=8)
        ax.set_zlabel("PC3", color="gray", fontsize=8)
        ax.tick_params(colors="gray", labelsize=6)
        ax.set_title(title, color="white", fontsize=11, pad=10)
        ax.plot_wireframe(xs * 0.98, ys * 0.98, zs * 0.98, alpha=0.03, color="white", linewidth=0.3)
        ax.set_xlim(-1.3, 1.3); ax.set_ylim(-1.3, 1.3); ax.set_zlim(-1.3, 1.3)
        return ax

    ax1 = setup(1, "Full Manifold — 5000 embeddings + 512 anchors")
    ax1.scatter(x, y, z, c=class_colors, s=1, alpha=0.3)
    ax1.scatter(ax_, ay_, az_, c="red", s=8, alpha=0.6, marker="^")
    ax2 = setup(2, "80 COCO Class Centroids")
    cx, cy, cz = x[:80], y[:80], z[:80]
    ax2.scatter(cx, cy, cz, c=plt.cm.hsv(np.linspace(0, 0.95, 80)), s=np.linspace(20, 220, 80), alpha=0.8,
                edgecolors="white", linewidth=0.3)
    for c in [1, 3, 15, 16, 17]:
        ax2.text(cx[c - 1] * 1.15, cy[c - 1] * 1.15, cz[c - 1] * 1.15, f"class {c}", color="white", fontsize=7, ha="center")
    ax3 = setup(3, "50 Random — nearest anchor connections")
    ax3.scatter(ax_, ay_, az_, c="red", s=4, alpha=0.2, marker="^")
    px, py, pz = x[100:150], y[100:150], z[100:150]
    ax3.scatter(px, py, pz, c=class_colors[100:150], s=40, alpha=0.9, edgecolors="white", linewidth=0.5)
    for i in range(1, 51):
        a = (i * 37) % 512
        ax3.plot([px[i - 1], ax_[a]], [py[i - 1], ay_[a]], [pz[i - 1], az_[a]], color="yellow", alpha=0.3, linewidth=0.5)
    ax4 = setup(4, "10 Random — anchor affinity heatmap")
    ax4.scatter(ax_, ay_, az_, c=plt.cm.hot((ax_ + 1) / 2), s=10, alpha=0.6)
    ax4.scatter(x[:10], y[:10], z[:10], c="cyan", s=80, alpha=1.0, edgecolors="white", linewidth=1, zorder=10)
    ax5 = setup(5, 'Single Encoding: "dog" — top 5 anchors')
    h5 = (az_ + 1) / 2
    ax5.scatter(ax_, ay_, az_, c=plt.cm.plasma(h5), s=2 + 50 * h5 ** 3, alpha=0.7)
    ax5.scatter([x[42]], [y[42]], [z[42]], c="lime", s=150, alpha=1.0, edgecolors="white", linewidth=2, zorder=10, marker="*")
    for k in range(1, 6):
        a = k * 60 - 1
        ax5.plot([x[42], ax_[a]], [y[42], ay_[a]], [z[42], az_[a]], color="lime", alpha=0.6, linewidth=1.5)
    ax6 = setup(6, "PCA Projection Radii — mean=0.9800 std=0.0100")
    ax6.scatter(x * 0.95, y * 0.95, z * 0.95, c=plt.cm.coolwarm((z + 1) / 2), s=2, alpha=0.4)
    plt.tight_layout(rect=[0, 0, 1, 0.95])
    save(fig, "sphere_panels", dpi=200, facecolor="black", bbox_inches="tight", pad_inches=0.3)


def dark_setup(fig, pos, title):
    phi = np.linspace(0, 2 * np.pi, 60)
    theta = np.linspace(0, np.pi, 30)
    xs = np.outer(np.cos(phi), np.sin(theta))
    ys = np.outer(np.sin(phi), np.sin(theta))
    zs = np.outer(np.ones_like(phi), np.cos(theta))
    ax = fig.add_subplot(*pos, projection="3d")
    ax.set_facecolor("black")
    ax.xaxis.pane.fill = False; ax.yaxis.pane.fill = False; ax.zaxis.pane.fill = False
    ax.xaxis.pane.set_edgecolor("gray"); ax.yaxis.pane.set_edgecolor("gray"); ax.zaxis.pane.set_edgecolor("gray")
    ax.set_xlabel("PC1", color="gray", fontsize=8)
    ax.set_ylabel("PC2", color="gray", fontsize=8)
    ax.set_zlabel("PC3", color="gray", fontsize=8)
    ax.tick_params(colors="gray", labelsize=6)
    ax.set_title(title, color="white", fontsize=11, pad=10)
    ax.plot_wireframe(xs * 0.98, ys * 0.98, zs * 0.98, alpha=0.03, color="white", linewidth=0.3)
    ax.set_xlim(-1.3, 1.3); ax.set_ylim(-1.3, 1.3); ax.set_zlim(-1.3, 1.3)
    return ax


@figure
def anchors():
    ax_, ay_, az_ = D.sphere_points(512, 5)
    fig = plt.figure(figsize=(24, 8), facecolor="black")
    fig.suptitle("Constellation — 512 anchors × 256-d on S²", color="white", fontsize=14, y=1.02)
    dead = ay_ > 0.6
    live = ~dead
    heat = (ax_[live] + 1) / 2
    a1 = dark_setup(fig, (1, 3, 1), "Anchor Utilization — 470/512 active")
    a1.scatter(ax_[dead], ay_[dead], az_[dead], c="dodgerblue", s=8, alpha=0.4, marker="x", label="dead")
    a1.scatter(ax_[live], ay_[live], az_[live], c=plt.cm.inferno(heat), s=5 + 60 * heat, alpha=0.8)
    a2 = dark_setup(fig, (1, 3, 2), "Anchor Isolation — nearest neighbor cosine\nmean=0.912 max=0.987")
    a2.scatter(ax_, ay_, az_, c=plt.cm.viridis((az_ + 1) / 2), s=15, alpha=0.8)
    a3 = dark_setup(fig, (1, 3, 3), "Expert Divergence per Anchor\nmean=0.0123 range=[0.0100, 0.0150]")
    a3.scatter(ax_, ay_, az_, c=plt.cm.coolwarm((ay_ + 1) / 2), s=15, alpha=0.8)
    for a in (a1, a2):
        for k in range(1, 21):
            i, j = k * 11 % 512, k * 13 % 512
            a.plot([ax_[i], ax_[j]], [ay_[i], ay_[j]], [az_[i], az_[j]], color="white", alpha=0.15, linewidth=0.5)
    plt.tight_layout()
    save(fig, "anchors", dpi=100, facecolor="black", bbox_inches="tight", pad_inches=0.3)


@figure
def pairwise():
    x, y, z = D.sphere_points(5000, 3)
    ax_, ay_, az_ = D.sphere_points(512, 5)
    fig = plt.figure(figsize=(28, 14), facecolor="black")
    fig.suptitle("Expert Pairwise Differences — Where the discriminative signal lives\nDiff eff_dim=41.2 | Abs eff_dim=63.0",
                 color="white", fontsize=14, y=0.98)
    names = ["CLIP − DINOv2", "CLIP − SigLIP", "DINOv2 − SigLIP"]
    for i, name in enumerate(names, start=1):
        ax = dark_setup(fig, (2, 4, i), f"{name}\nstd=0.0123{i}")
        heat = ((x * i + y) / (i + 1) + 1) / 2
        ax.scatter(x, y, z, c=plt.cm.magma(heat), s=2, alpha=0.5)
    cls = np.array([(i * 7) % 20 for i in range(1, 5001)])
    class_colors = plt.cm.tab20(np.linspace(0, 1, 20))[cls]
    dark_setup(fig, (2, 4, 4), "Diff Space PCA\neff_dim=41.2 var=12.5%").scatter(y, z, x, c=class_colors, s=2, alpha=0.4)
    heat = (ax_ + 1) / 2
    dark_setup(fig, (2, 4, 5), "Anchor Divergence (all pairs)\nrange=[0.01234, 0.05678]").scatter(
        ax_, ay_, az_, c=plt.cm.hot(heat), s=5 + 40 * heat, alpha=0.8)
    dark_setup(fig, (2, 4, 6), "Absolute Tri PCA\neff_dim=63.0 var=20.1%").scatter(z, x, y, c=class_colors, s=2, alpha=0.4)
    dark_setup(fig, (2, 4, 7), "Combined (abs+diffs) PCA\neff_dim=70.3 var=18.0%").scatter(x, z, y, c=class_colors, s=2, alpha=0.4)
    ax = fig.add_subplot(248)
    ax.set_facecolor("black")
    for i, col in enumerate(["#ff6b6b", "#4ecdc4", "#ffe66d"], start=1):
        ax.hist(x * (0.1 * i) + y * 0.05 + 0.3 * i, bins=50, alpha=0.6, color=col, label=names[i - 1], density=True)
    ax.set_xlabel("Diff magnitude (L2)", color="white", fontsize=9)
    ax.set_ylabel("Density", color="white", fontsize=9)
    ax.set_title("Per-image diff magnitudes", color="white", fontsize=11)
    ax.legend(fontsize=8, facecolor="black", edgecolor="gray", labelcolor="white")
    ax.tick_params(colors="gray", labelsize=7)
    ax.spines["bottom"].set_color("gray"); ax.spines["left"].set_color("gray")
    ax.spines["top"].set_visible(False); ax.spines["right"].set_visible(False)
    plt.tight_layout(rect=[0, 0, 1, 0.95])
    save(fig, "pairwise", dpi=100, facecolor="black", bbox_inches="tight", pad_inches=0.3)


@figure
def artists():
    fig, axes = plt.subplots(3, 3, figsize=(15, 13))
    t = np.linspace(0, 10, 200)
    ax = axes[0, 0]
    ax.plot(t, np.sin(t), label="solid")
    ax.plot(t, np.cos(t), "--", label="dashed")
    ax.plot(t, np.sin(t * 0.5) * 0.5, ":", label="dotted", linewidth=2)
    ax.plot(t, np.cos(t * 0.3) * 0.8, "-.", label="dashdot")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(5, color="gray", linestyle="--")
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("Line styles, axhline/axvline")
    ax = axes[0, 1]
    for i, m in enumerate(["o", ".", "^", "v", "s", "x", "+", "*", "d"], start=1):
        ax.scatter([i], [1], marker=m, s=120, label=m)
        ax.text(i, 1.3, m, ha="center", va="bottom", fontsize=12)
    ax.set_ylim(0.5, 1.8)
    ax.set_title("Markers o . ^ v s x + * d")
    ax = axes[0, 2]
    xs = np.exp(np.linspace(0, 4, 30) * np.log(10))
    ax.plot(xs, xs ** 1.5, "o-", markersize=4)
    ax.set_xscale("log"); ax.set_yscale("log")
    ax.grid(True, alpha=0.5)
    ax.set_title("Log scales")
    ax = axes[1, 0]
    i, j = np.meshgrid(np.arange(1, 41), np.arange(1, 61), indexing="ij")
    im = ax.imshow(np.sin(i / 6) * np.cos(j / 9), cmap="coolwarm", vmin=-1, vmax=1)
    fig.colorbar(im, ax=ax, label="value")
    ax.set_title("imshow + colorbar")
    ax = axes[1, 1]
    ax.fill_between(t, np.sin(t) - 0.3, np.sin(t) + 0.3, alpha=0.3, label="band")
    ax.plot(t, np.sin(t), color="C0", label="mean")
    ax.legend(loc="upper right")
    ax.set_title("fill_between")
    ax = axes[1, 2]
    a, b = [3, 5, 2, 6], [2, 1, 4, 2]
    ax.bar(["w", "x", "y", "z"], a, label="first")
    ax.bar(["w", "x", "y", "z"], b, bottom=a, label="second", edgecolor="black")
    ax.legend(loc="upper left")
    ax.set_title("Stacked bars")
    ax = axes[2, 0]
    ax.barh(["alpha", "beta", "gamma"], [5, 3, 7], color=["tab:blue", "tab:orange", "tab:green"])
    ax.set_title("Horizontal bars")
    ax = axes[2, 1]
    x = D.clusters(2000, 2)[0]
    ax.hist(x, bins=30, histtype="step", linewidth=1.5, label="step")
    ax.hist(x * 0.5 + 10, bins=30, histtype="stepfilled", alpha=0.4, label="stepfilled")
    ax.legend()
    ax.set_title("Step histograms")
    ax = axes[2, 2]
    ax.scatter(t, np.sin(t), c=t, cmap="plasma", s=15)
    ax.text(0.5, 0.5, "centre\n(axes coords)", transform=ax.transAxes, ha="center", va="center", fontsize=12,
            bbox=dict(boxstyle="round", facecolor="wheat", alpha=0.7))
    ax.text(9.5, -0.9, "right/bottom", ha="right", va="bottom", color="darkred")
    ax.set_title("Colormapped scatter, text boxes")
    fig.suptitle("lunette.plot artists", fontsize=16)
    plt.tight_layout()
    save(fig, "artists", dpi=100)


@figure
def colormaps():
    names = ["viridis", "plasma", "inferno", "magma", "cividis", "hot", "coolwarm", "hsv", "gray", "tab10", "tab20"]
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 0.4 * len(names) + 0.6))
    grad = np.linspace(0, 1, 256).reshape(1, 256)
    for ax, n in zip(axes, names):
        ax.imshow(grad, cmap=n, aspect="auto")
        ax.axis("off")
        ax.text(-0.01, 0.5, n, transform=ax.transAxes, ha="right", va="center", fontsize=10)
    fig.subplots_adjust(left=0.15, right=0.98, top=0.95, bottom=0.02, hspace=0.4)
    save(fig, "colormaps", dpi=100)


@figure
def lines_and_errors():
    fig, axes = plt.subplots(3, 4, figsize=(18, 12))
    x = [1, 2, 3, 4, 5, 6]
    y = [2.1, 3.0, 2.6, 3.9, 3.4, 4.4]
    ax = axes[0, 0]
    ax.errorbar(x, y, yerr=0.3, capsize=3, label="yerr=0.3, capsize=3")
    ax.errorbar(x, [1.0, 1.4, 1.1, 2.0, 1.7, 2.2],
                yerr=[[0.1, 0.2, 0.1, 0.3, 0.2, 0.1], [0.4, 0.3, 0.2, 0.1, 0.5, 0.3]],
                xerr=0.2, fmt="s",
                ecolor="gray", elinewidth=1, label="asymmetric, xerr")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("errorbar")
    ax = axes[0, 1]
    ax.bar(["A", "B", "C", "D"], [3.1, 4.8, 4.0, 2.2], yerr=[0.4, 0.7, 0.3, 0.5], capsize=4,
           color="C2", alpha=0.8)
    ax.set_title("bar(yerr=, capsize=4)")
    ax = axes[0, 2]
    ax.barh(["p", "q", "r"], [5, 3, 6], xerr=[0.5, 0.4, 0.8], capsize=3, ecolor="darkred")
    ax.set_title("barh(xerr=, ecolor=)")
    ax = axes[0, 3]
    ep = np.arange(1, 51, dtype=float)
    loss = np.exp(ep * -0.08) * 2 + 0.3
    sdv = np.exp(ep * -0.05) * 0.3 + 0.05
    ax.plot(ep, loss, label="mean loss")
    ax.fill_between(ep, loss - sdv, loss + sdv, alpha=0.3, label="\u00b11 sd")
    ax.fill_between(ep, 0, 0.4, where=ep > 35, color="C2", alpha=0.2, label="where=")
    ax.legend(fontsize=8)
    ax.set_title("fill_between (band, where=)")
    ax = axes[1, 0]
    t = np.linspace(0, 10, 200)
    ax.plot(t, np.sin(t))
    ax.annotate("max", (np.pi / 2, 1), xytext=(3.5, 1.6), arrowprops=dict(arrowstyle="->"))
    ax.annotate("-|> red", (5 * np.pi / 2, 1), xytext=(5.2, 1.6),
                arrowprops=dict(arrowstyle="-|>", color="red"),
                color="red")
    ax.annotate("min", (3 * np.pi / 2, -1), xytext=(30, -25), textcoords="offset points",
                arrowprops=dict(facecolor="black", shrink=0.05))
    ax.annotate("axes fraction", (0.03, 0.04), xycoords="axes fraction", fontsize=9)
    ax.set_ylim(-2, 2)
    ax.set_title("annotate")
    ax = axes[1, 1]
    ax.plot(ep, loss, label="loss")
    ax.set_ylabel("loss")
    ax.set_xlabel("epoch")
    ax2 = ax.twinx()
    ax2.plot(ep, 1 - loss / 3, color="C1", label="accuracy")
    ax2.set_ylabel("accuracy")
    ax.legend(loc="center left")
    ax2.legend(loc="center right")
    ax.set_title("twinx")
    ax = axes[1, 2]
    ax.plot(t, np.cos(t * 0.5))
    ax.set_xlabel("seconds")
    ax3 = ax.twiny()
    ax3.plot(t * 1000, np.cos(t * 0.5), alpha=0)
    ax3.set_xlabel("milliseconds")
    ax.set_title("twiny")
    ax = axes[1, 3]
    sx = np.array([1, 2, 3, 4, 5, 6.0])
    sy = np.array([1, 3, 2, 4, 3, 5.0])
    ax.step(sx, sy, where="pre", label="pre")
    ax.step(sx, sy + 2, where="post", label="post")
    ax.step(sx, sy + 4, where="mid", label="mid")
    ax.plot(sx, sy + 6, "o--", drawstyle="steps-post", color="gray", label="plot(drawstyle=)")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("step / drawstyle")
    ax = axes[2, 0]
    lx = np.exp(np.linspace(0, 3, 20) * np.log(10))
    ax.semilogy(ep, loss - 0.29, label="semilogy")
    ax.set_title("semilogy")
    ax = axes[2, 1]
    ax.loglog(lx, lx ** 2, "o-", markersize=4, label="x^2")
    ax.errorbar(lx, lx * 10, yerr=lx * 5, fmt="none", ecolor="C1", capsize=2)
    ax.grid(True, alpha=0.4)
    ax.set_title("loglog + errorbar")
    ax = axes[2, 2]
    ax.plot(t, np.sin(t) * 2, color="k", linewidth=1)
    ax.axhspan(-0.5, 0.5, color="green", alpha=0.2, label="axhspan")
    ax.axvspan(3, 4.5, facecolor="C3", alpha=0.3, label="axvspan")
    ax.axhline(1.5, color="gray", linestyle="--")
    ax.axvline(8, color="purple", ymin=0.2, ymax=0.8)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("axhspan / axvspan / axhline / axvline")
    ax = axes[2, 3]
    v = D.clusters(2000, 2)[0]
    ax.hist(v, bins=30, log=True, alpha=0.7, label="hist(log=true)")
    ax.bar([-30, 0, 30], [10, 100, 1000], width=8, color="C1", alpha=0.6, label="bar on log y")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("hist(log=true), bar on log y")
    fig.suptitle("lunette.plot: errors, bands, annotations, twins, steps, spans", fontsize=16)
    plt.tight_layout()
    save(fig, "lines_and_errors", dpi=100)

def heatmap(ax, m, labels=None, fmt="%d", cmap="viridis", vmin=None, vmax=None, fontsize=None):
    """imshow + a label per cell, black on light cells, white on dark ones (seaborn's rule)."""
    m = np.asarray(m, float)
    im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax)
    n, k = m.shape
    ax.set_xticks(range(k), labels=labels if labels else [str(j) for j in range(k)])
    ax.set_yticks(range(n), labels=labels if labels else [str(i) for i in range(n)])
    cols = im.cmap(im.norm(m))
    for i in range(n):
        for j in range(k):
            lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                   for c in cols[i, j, :3]]
            lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
            s = fmt % (round(m[i, j]) if fmt.endswith("d") else m[i, j])
            ax.text(j, i, s, ha="center", va="center", color="black" if lum > 0.408 else "white",
                    fontsize=fontsize)
    return im


@figure
def density_and_fields():
    fig, axes = plt.subplots(3, 3, figsize=(15, 13))
    g = D.Rng(11)
    sets = []
    for k in range(1, 5):
        v = []
        for i in range(100 * k):
            if k % 2 == 0:
                a = g.normal() * 0.6
                v.append(a + (-1.5 if g.uniform() < 0.4 else 1) + k)
            else:
                v.append(g.normal() * k * 0.5 + k)
        sets.append(np.array(v))
    ax = axes[0, 0]
    ax.violinplot(sets, showmedians=True)
    ax.set_title("violinplot (showmedians)")
    x = np.arange(-3.0, 3.0, 0.025)
    y = np.arange(-2.0, 2.0, 0.025)
    X, Y = np.meshgrid(x, y)
    Z = (np.exp(-X ** 2 - Y ** 2) - np.exp(-(X - 1) ** 2 - (Y - 1) ** 2)) * 2
    ax = axes[0, 1]
    cs = ax.contour(x, y, Z, colors="k")
    ax.clabel(cs, fontsize=9)
    ax.set_title("contour + clabel")
    ax = axes[0, 2]
    cf = ax.contourf(x, y, Z, levels=10)
    fig.colorbar(cf, ax=ax)
    ax.set_title("contourf + colorbar")
    ax = axes[1, 0]
    R = np.sqrt(X * X + Y * Y)
    W = np.sin(R * 3) / (R + 0.5)
    W[R < 0.4] = np.nan
    cf2 = ax.contourf(x, y, W, levels=12, cmap="coolwarm")
    ax.contour(x, y, W, levels=12, colors="k", linewidths=0.5)
    fig.colorbar(cf2, ax=ax)
    ax.set_title("contourf + contour, NaN hole")
    ax = axes[1, 1]
    cl = ax.contour(x, y, Z, levels=8, cmap="plasma", linewidths=2)
    fig.colorbar(cl, ax=ax)
    ax.set_title("contour (cmap) + colorbar")
    px, py, _, score = D.clusters(50000, 5)
    ax = axes[1, 2]
    hb = ax.hexbin(px, py, gridsize=40, bins="log", cmap="inferno")
    fig.colorbar(hb, ax=ax, label="count")
    ax.set_title("hexbin, bins = 'log'")
    ax = axes[2, 0]
    hc = ax.hexbin(px, py, C=score, gridsize=25, reduce_C_function=np.mean, mincnt=2)
    fig.colorbar(hc, ax=ax, label="mean score")
    ax.set_title("hexbin, C reduced by mean")
    ax = axes[2, 1]
    cm = [[80 + 7 * i if i == j else (i * 7 + j * 3) % 11 for j in range(1, 6)]
          for i in range(1, 6)]
    names = ["cat", "dog", "fox", "owl", "yak"]
    hm = heatmap(ax, cm, names, "%d", "Blues")
    fig.colorbar(hm, ax=ax)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("heatmap (confusion matrix)")
    ax = axes[2, 2]
    corr = [[1 if i == j else math.cos(i * j * 0.7) * 0.8 for j in range(1, 7)]
            for i in range(1, 7)]
    hm2 = heatmap(ax, corr, None, "%.2f", "coolwarm", -1, 1, fontsize=8)
    fig.colorbar(hm2, ax=ax)
    ax.set_title("heatmap, fmt = '%.2f'")
    plt.tight_layout()
    save(fig, "density_and_fields", dpi=100)


def binned_density(x, y, gridsize=256):
    """lunette's scatter {density = true} estimator written with numpy and scipy: linear binning
    on a grid spanning the data plus 4 kernel widths, a product Gaussian of Scott's width
    (n^(-1/6) times each axis's standard deviation), bilinear interpolation back."""
    from scipy.ndimage import gaussian_filter
    from scipy.interpolate import RegularGridInterpolator
    n = len(x)
    f = n ** (-1 / 6)
    hx, hy = f * x.std(ddof=1), f * y.std(ddof=1)
    x0, x1 = x.min() - 4 * hx, x.max() + 4 * hx
    y0, y1 = y.min() - 4 * hy, y.max() + 4 * hy
    dx, dy = (x1 - x0) / (gridsize - 1), (y1 - y0) / (gridsize - 1)
    fx = np.clip((x - x0) / dx, 0, gridsize - 1)
    fy = np.clip((y - y0) / dy, 0, gridsize - 1)
    ix = np.minimum(fx.astype(int), gridsize - 2)
    iy = np.minimum(fy.astype(int), gridsize - 2)
    wx, wy = fx - ix, fy - iy
    grid = np.zeros((gridsize, gridsize))
    for ox, oy, w in ((0, 0, (1 - wx) * (1 - wy)), (1, 0, wx * (1 - wy)),
                      (0, 1, (1 - wx) * wy), (1, 1, wx * wy)):
        np.add.at(grid, (iy + oy, ix + ox), w)
    grid = gaussian_filter(grid, (hy / dy, hx / dx), mode="constant", truncate=4.0)
    nodes_y = y0 + dy * np.arange(gridsize)
    nodes_x = x0 + dx * np.arange(gridsize)
    interp = RegularGridInterpolator((nodes_y, nodes_x), grid)
    return interp(np.column_stack([y, x])) / (n * dx * dy)


@figure
def million():
    px, py, _, _ = D.clusters(1000000, 5)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    hb = axes[0].hexbin(px, py, gridsize=80, bins="log")
    fig.colorbar(hb, ax=axes[0], label="count")
    axes[0].set_title("hexbin, 10^6 points, bins = 'log'")
    z = binned_density(px, py)
    idx = np.argsort(z, kind="stable")
    sc = axes[1].scatter(px[idx], py[idx], c=z[idx], s=1)
    fig.colorbar(sc, ax=axes[1], label="density")
    axes[1].set_title("scatter, density = true")
    plt.tight_layout()
    save(fig, "million", dpi=200)


if __name__ == "__main__":
    names = sys.argv[3:] or list(G)
    for n in names:
        G[n]()
