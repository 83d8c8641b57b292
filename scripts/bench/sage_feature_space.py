#!/usr/bin/python3
"""sage_feature_space.py - the Python peer of examples/sage_feature_space.lua: the SAGE
feature-space notebook (seeds/000) cell by cell on the same default data and configuration,
with Debian's stack (torch, scikit-learn, umap-learn, matplotlib).

The seed imports a private `sage` module; its functions are written inline here in plain
torch/numpy: per-sample last-layer gradients, the Frequent Directions sketch, class-balanced
agreement (SAGE), GradMatch (OMP with ridge-regularised non-negative weights, per class) and
the global-centroid agreement scores. Differences from the seed, all shared with the Lua port:
- Fashion-MNIST (built in) with a small CNN trained for one epoch (SGD, lr 0.05, momentum
  0.9, batch 128), instead of an untrained ResNeXt on CIFAR-100;
- the sketch pass uses the closed form of a last-layer per-sample gradient,
  (softmax - onehot) x [h, 1], for a whole batch (the same numbers as the seed's one backward
  per sample) and by default the fast 2*ell-buffer FD (--fd classic: the seed's one SVD per
  row once full, which needs hours at 60,000 rows; --psg loop: the seed's one backward pass
  per sample);
- seaborn is not in the stack: its husl palette is set as its six colours.
The agreement analysis keeps the seed's loop: one backward pass per sample.

    /usr/bin/python3 scripts/bench/sage_feature_space.py [--out DIR] [--n N] [--viz 5000] ...
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from cycler import cycler
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from tqdm import tqdm
import umap

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--n", type=int, default=0, help="first n training images (0: all)")
ap.add_argument("--epochs", type=int, default=1)
ap.add_argument("--fraction", type=float, default=0.05)
ap.add_argument("--ell", type=int, default=256)
ap.add_argument("--viz", type=int, default=5000)
ap.add_argument("--agree", type=int, default=2000)
ap.add_argument("--out", default="out/sage_feature_space_py")
ap.add_argument("--dpi", type=int, default=300)
ap.add_argument("--fd", choices=["fast", "classic"], default="fast")
ap.add_argument("--psg", choices=["batched", "loop"], default="batched",
                help="loop: the seed's per_sample_grads_slow, one backward pass per sample")
ap.add_argument("--seed", type=int, default=42)
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
np.random.seed(args.seed)
torch.manual_seed(0)
t_start = time.perf_counter()

plt.style.use("seaborn-v0_8")
HUSL = [(0.967798, 0.441275, 0.535810), (0.735023, 0.595272, 0.194442), (0.312689, 0.692875, 0.192370),
        (0.210448, 0.677311, 0.643394), (0.232991, 0.639587, 0.926071), (0.908257, 0.401958, 0.957691)]
plt.rcParams["axes.prop_cycle"] = cycler(color=HUSL)  # sns.set_palette("husl")
plt.rcParams["figure.figsize"] = (12, 8)
plt.rcParams["font.size"] = 12
device = torch.device("cpu")
print(f"Using device: {device}")

# ## Load Data and Models
SUBSET_FRACTION, SKETCH_SIZE, BATCH_SIZE = args.fraction, args.ell, 64
MEAN, STD = 0.2860, 0.3530


def idx(path):
    with gzip.open(path) as f:
        d = f.read()
    nd = d[3]
    dims = [int.from_bytes(d[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(d, np.uint8, offset=4 + 4 * nd).reshape(dims)


root = "/usr/share/datasets/fashion-mnist/"
X = (torch.tensor(idx(root + "train-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1) / 255 - MEAN) / STD
Y = torch.tensor(idx(root + "train-labels-idx1-ubyte.gz").astype(np.int64))
if 0 < args.n < len(X):
    X, Y = X[:args.n], Y[:args.n]
train_dataset = torch.utils.data.TensorDataset(X, Y)
N, NUM_CLASSES = len(X), 10
print(f"Loaded {N} training samples")


class SmallCNN(nn.Module):  # lunette's nn.small_cnn{} layer for layer
    def __init__(s):
        super().__init__()
        s.conv1, s.conv2 = nn.Conv2d(1, 32, 3, padding=1), nn.Conv2d(32, 64, 3, padding=1)
        s.fc1, s.fc2 = nn.Linear(64 * 7 * 7, 128), nn.Linear(128, NUM_CLASSES)

    def features(s, x):
        x = F.max_pool2d(F.relu(s.conv1(x)), 2)
        x = F.max_pool2d(F.relu(s.conv2(x)), 2)
        return F.relu(s.fc1(x.flatten(1)))

    def forward(s, x):
        return s.fc2(s.features(x))


model = SmallCNN()
print(f"Training the model for {args.epochs} epoch(s)...")
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
g = torch.Generator().manual_seed(0)
for epoch in range(args.epochs):
    model.train()
    for xb, yb in tqdm(torch.utils.data.DataLoader(train_dataset, batch_size=128, shuffle=True, generator=g),
                       desc=f"epoch {epoch + 1}"):
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
model.eval()
for p in model.parameters():  # the SAGE code scores last-layer gradients
    p.requires_grad_(False)
for p in model.fc2.parameters():
    p.requires_grad_(True)
full_loader = torch.utils.data.DataLoader(train_dataset, batch_size=BATCH_SIZE, shuffle=False)
print("Setup complete!")


# ## Build Sketch and Select Subsets
@torch.no_grad()
def head_grads(h, y):
    """Rows [fc2.weight.grad.flatten(), fc2.bias.grad] of each sample's own cross-entropy."""
    d = F.softmax(model.fc2(h), dim=1) - F.one_hot(y, NUM_CLASSES).float()
    return torch.cat([(d.unsqueeze(2) * h.unsqueeze(1)).flatten(1), d], dim=1)


def per_sample_grads_slow(model, x, y):
    rows = []
    for i in range(x.size(0)):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        rows.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    return torch.stack(rows)


def per_sample_grads_last_layer(model, x, y):
    with torch.no_grad():
        h = model.features(x)
    return (per_sample_grads_slow(model, x, y) if args.psg == "loop" else head_grads(h, y)), h


class FDStreamer:
    """Frequent Directions: 'fast' keeps a 2*ell buffer and shrinks by the ell-th s^2 when
    full; 'classic' is the seed's gpu_fd_stream (one SVD per row once B is full)."""

    def __init__(self, ell, dim, variant):
        self.ell, self.variant = ell, variant
        self.B = torch.zeros((2 * ell if variant == "fast" else ell, dim))
        self.next = 0

    @torch.no_grad()
    def add(self, rows):
        for r in range(rows.shape[0]):
            self.B[self.next] = rows[r]
            self.next += 1
            if self.next == self.B.shape[0]:
                self._shrink()

    def _shrink(self):
        _, s, Vt = torch.linalg.svd(self.B, full_matrices=False)
        delta = s[self.ell - 1] ** 2 if self.variant == "fast" else s[-1] ** 2
        s = torch.sqrt(torch.clamp(s ** 2 - delta, min=0.0))
        self.B.zero_()
        keep = min(self.ell, int((s > 1e-8).sum()))
        self.B[:keep] = s[:keep, None] * Vt[:keep]
        self.next = keep

    def finalize(self):
        if self.next > self.ell:
            self._shrink()
        return self.B[:self.ell].clone()


print("Building FD sketch...")
fd = FDStreamer(SKETCH_SIZE, model.fc2.weight.numel() + model.fc2.bias.numel(), args.fd)
proj_rows, all_h = [], []
for xb, yb in tqdm(full_loader, desc="Building sketch"):
    rows, h = per_sample_grads_last_layer(model, xb, yb)
    fd.add(rows)
    all_h.append(h)
proj_matrix = fd.finalize()
print(f"Built projection matrix: {tuple(proj_matrix.shape)}")
k_per_class = int(SUBSET_FRACTION * N / NUM_CLASSES)
print(f"Selecting {k_per_class} samples per class...")

# the projected gradients B g of every sample (pass 2, from the kept penultimate features)
H = torch.cat(all_h)
proj = torch.cat([head_grads(H[i:i + 256], Y[i:i + 256]) @ proj_matrix.T
                  for i in tqdm(range(0, N, 256), desc="Projecting")])


def class_balanced_agreeing_subset_fast(proj, labels, k):
    sel = []
    for c in range(NUM_CLASSES):
        I = (labels == c).nonzero().flatten()
        g = F.normalize(proj[I], dim=1)
        sel += I[torch.topk(g @ g.mean(0), min(k, len(I))).indices].tolist()
    return sel


def gradmatch_omp(A, k, lam=0.5, tol=1e-4, rng=None):
    """OMP on the class gradient sum b = sum_i A_i with ridge non-negative weights."""
    A = A.double().numpy()
    b = A.sum(0)
    lam = lam * (A * A).sum() / len(A)
    S, w, resid = [], np.zeros(0), b.copy()
    while len(S) < k and np.linalg.norm(resid) > tol * np.linalg.norm(b):
        corr = A @ resid
        corr[S] = -np.inf
        p = int(np.argmax(corr))
        if not corr[p] > 0:
            break
        S.append(p)
        AS = A[S]
        w = np.clip(np.linalg.solve(AS @ AS.T + lam * np.eye(len(S)), AS @ b), 0, None)
        resid = b - AS.T @ w
    rest = np.setdiff1d(np.arange(len(A)), S)
    return S + rng.choice(rest, k - len(S), replace=False).tolist()


def compute_gradient_norms(proj, labels, k):  # the seed's GradMatch entry point, per class
    rng, sel = np.random.default_rng(0), []
    for c in range(NUM_CLASSES):
        I = (labels == c).nonzero().flatten()
        sel += I[gradmatch_omp(proj[I], min(k, len(I)), rng=rng)].tolist()
    return sel


print("Running SAGE selection...")
sage_indices = class_balanced_agreeing_subset_fast(proj, Y, k_per_class)
print("Running GradMatch selection...")
gradmatch_indices = compute_gradient_norms(proj, Y, k_per_class)
print("Creating random subset...")
total_subset_size = len(sage_indices)
random_indices = np.random.choice(N, total_subset_size, replace=False).tolist()
print("Selected subsets:")
print(f"  SAGE: {len(sage_indices)} samples")
print(f"  GradMatch: {len(gradmatch_indices)} samples")
print(f"  Random: {len(random_indices)} samples")

# ## Extract Feature Representations
VIZ_SUBSET_SIZE = min(args.viz, N)
viz_indices = np.random.choice(N, VIZ_SUBSET_SIZE, replace=False)
print(f"Extracting features for {VIZ_SUBSET_SIZE} samples...")
with torch.no_grad():
    features = torch.cat([model.features(X[viz_indices[i:i + 256]]) for i in range(0, VIZ_SUBSET_SIZE, 256)])
labels = Y[viz_indices].numpy()
print(f"Feature shape: {tuple(features.shape)}")
global_to_viz = {global_idx: viz_idx for viz_idx, global_idx in enumerate(viz_indices)}
sage_selected = np.zeros(VIZ_SUBSET_SIZE, dtype=bool)
gradmatch_selected = np.zeros(VIZ_SUBSET_SIZE, dtype=bool)
random_selected = np.zeros(VIZ_SUBSET_SIZE, dtype=bool)
for sel_idx, mask in ((sage_indices, sage_selected), (gradmatch_indices, gradmatch_selected),
                      (random_indices, random_selected)):
    for idx_ in sel_idx:
        if idx_ in global_to_viz:
            mask[global_to_viz[idx_]] = True
print("Visualization subset selection overlap:")
print(f"  SAGE selected: {sage_selected.sum()} / {VIZ_SUBSET_SIZE}")
print(f"  GradMatch selected: {gradmatch_selected.sum()} / {VIZ_SUBSET_SIZE}")
print(f"  Random selected: {random_selected.sum()} / {VIZ_SUBSET_SIZE}")

# ## Dimensionality Reduction for Visualization
print("Applying PCA preprocessing...")
pca = PCA(n_components=min(50, features.shape[1], VIZ_SUBSET_SIZE))
features_pca = pca.fit_transform(features.numpy())
print(f"PCA explained variance ratio: {pca.explained_variance_ratio_.sum():.3f}")
print("Applying t-SNE...")
tsne = TSNE(n_components=2, random_state=42, perplexity=min(30, (VIZ_SUBSET_SIZE - 1) / 3), n_iter=1000)
features_tsne = tsne.fit_transform(features_pca)
print("Applying UMAP...")
umap_reducer = umap.UMAP(n_components=2, random_state=42, n_neighbors=min(15, VIZ_SUBSET_SIZE - 1), min_dist=0.1)
features_umap = umap_reducer.fit_transform(features_pca)
print("Dimensionality reduction complete!")

# ## Visualization 1: Feature Space with Selection Methods
fig, axes = plt.subplots(2, 3, figsize=(18, 12))
methods = ["SAGE", "GradMatch", "Random"]
selections = [sage_selected, gradmatch_selected, random_selected]
colors = ["red", "blue", "green"]
for row, (emb, name) in enumerate(((features_tsne, "t-SNE"), (features_umap, "UMAP"))):
    for i, (method, selected, color) in enumerate(zip(methods, selections, colors)):
        ax = axes[row, i]
        ax.scatter(emb[~selected, 0], emb[~selected, 1], c="lightgray", alpha=0.3, s=1, label="Discarded")
        ax.scatter(emb[selected, 0], emb[selected, 1], c=color, alpha=0.8, s=10, label="Selected")
        ax.set_title(f"{method} Selection ({name})", fontsize=14)
        ax.set_xlabel(f"{name} 1")
        ax.set_ylabel(f"{name} 2")
        ax.legend()
        ax.grid(True, alpha=0.3)
plt.tight_layout()
plt.savefig(f"{args.out}/feature_space_visualization.png", dpi=args.dpi, bbox_inches="tight")
plt.close()
print("Feature space visualization complete!")


# ## Visualization 2: Class Distribution Analysis
def analyze_class_distribution(indices, num_classes):
    return np.bincount(Y[indices].numpy(), minlength=num_classes).astype(float)


sage_dist = analyze_class_distribution(sage_indices, NUM_CLASSES)
gradmatch_dist = analyze_class_distribution(gradmatch_indices, NUM_CLASSES)
random_dist = analyze_class_distribution(random_indices, NUM_CLASSES)
original_dist = np.bincount(Y.numpy(), minlength=NUM_CLASSES).astype(float)
fig, axes = plt.subplots(2, 2, figsize=(15, 10))
axes[0, 0].bar(range(NUM_CLASSES), original_dist, alpha=0.7)
axes[0, 0].set_title("Original Dataset Class Distribution")
axes[0, 0].set_xlabel("Class ID")
axes[0, 0].set_ylabel("Sample Count")
axes[0, 0].set_xlim(0, NUM_CLASSES)
distributions = [sage_dist, gradmatch_dist, random_dist]
for i, (method, dist, color) in enumerate(zip(methods, distributions, colors)):
    ax = axes[(i + 1) // 2, (i + 1) % 2]
    ax.bar(range(NUM_CLASSES), dist, alpha=0.7, color=color)
    ax.set_title(f"{method} Selected Subset Distribution")
    ax.set_xlabel("Class ID")
    ax.set_ylabel("Sample Count")
    ax.set_xlim(0, NUM_CLASSES)
    std_dev, mean_count = np.std(dist), np.mean(dist)
    cv = std_dev / mean_count if mean_count > 0 else 0
    ax.text(0.02, 0.98, f"CV: {cv:.3f}\nStd: {std_dev:.1f}", transform=ax.transAxes, verticalalignment="top",
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.8))
plt.tight_layout()
plt.savefig(f"{args.out}/class_distribution_analysis.png", dpi=args.dpi, bbox_inches="tight")
plt.close()
print("\nClass Distribution Statistics:")
print("=" * 50)
for method, dist in zip(["Original", "SAGE", "GradMatch", "Random"],
                        [original_dist, sage_dist, gradmatch_dist, random_dist]):
    std_dev, mean_count = np.std(dist), np.mean(dist)
    cv = std_dev / mean_count if mean_count > 0 else 0
    print(f"{method:10s}: Mean={mean_count:6.1f}, Std={std_dev:6.1f}, CV={cv:.3f}")


# ## Visualization 3: Sample Montage
def create_sample_montage(indices, title, n_samples=24, figsize=(12, 8)):
    display_indices = np.random.choice(indices, min(n_samples, len(indices)), replace=False)
    n_cols = 6
    n_rows = (n_samples + n_cols - 1) // n_cols
    fig, axes = plt.subplots(n_rows, n_cols, figsize=figsize)
    axes = axes.reshape(n_rows, -1)
    for i, idx_ in enumerate(display_indices):
        image, label = train_dataset[idx_]
        image = np.clip(image.numpy()[0] * STD + MEAN, 0, 1)  # denormalise (one channel)
        axes[i // n_cols, i % n_cols].imshow(image, cmap="gray", vmin=0, vmax=1)
        axes[i // n_cols, i % n_cols].set_title(f"Class {label}", fontsize=8)
        axes[i // n_cols, i % n_cols].axis("off")
    for i in range(len(display_indices), n_rows * n_cols):
        axes[i // n_cols, i % n_cols].axis("off")
    plt.suptitle(title, fontsize=16)
    plt.tight_layout()
    return fig


for method, indices in zip(methods, [sage_indices, gradmatch_indices, random_indices]):
    create_sample_montage(indices, f"{method} Selected Samples ({SUBSET_FRACTION * 100:g}% of dataset)")
    plt.savefig(f"{args.out}/{method.lower()}_sample_montage.png", dpi=args.dpi, bbox_inches="tight")
    plt.close()
print("Sample montages created!")

# ## Visualization 4: Agreement Score Analysis
print("Computing agreement scores for analysis...")
analysis_size = min(args.agree, N)
analysis_indices = np.random.choice(N, analysis_size, replace=False)
analysis_loader = torch.utils.data.DataLoader(torch.utils.data.Subset(train_dataset, analysis_indices),
                                              batch_size=32, shuffle=False)
criterion = nn.CrossEntropyLoss()
all_grads, all_labels, all_indices = [], [], []
for i, (x, y) in enumerate(tqdm(analysis_loader, desc="Computing gradients for analysis")):
    for j in range(x.size(0)):
        model.zero_grad(set_to_none=True)
        loss = criterion(model(x[j:j + 1]), y[j:j + 1])
        loss.backward()
        g_flat = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        all_grads.append(proj_matrix @ g_flat)
        all_labels.append(y[j].item())
        all_indices.append(analysis_indices[i * 32 + j])
all_grads = torch.stack(all_grads)
all_labels = np.array(all_labels)
all_indices = np.array(all_indices)


def compute_agreement_scores(grads):  # one global centroid of the unit projected gradients
    g = F.normalize(grads, dim=1)
    return g @ g.mean(0)


agreement_scores = compute_agreement_scores(all_grads).double()
selected_mask = np.isin(all_indices, sage_indices)
print(f"Computed agreement scores for {len(all_grads)} samples")
print(f"SAGE selected {selected_mask.sum()} of these samples")

fig, axes = plt.subplots(2, 2, figsize=(15, 10))
axes[0, 0].hist(agreement_scores.numpy(), bins=50, alpha=0.7, density=True, label="All samples")
axes[0, 0].hist(agreement_scores[selected_mask].numpy(), bins=50, alpha=0.7, density=True, label="SAGE selected")
axes[0, 0].set_title("Agreement Score Distribution")
axes[0, 0].set_xlabel("Agreement Score")
axes[0, 0].set_ylabel("Density")
axes[0, 0].legend()
axes[0, 0].grid(True, alpha=0.3)
selected_scores = agreement_scores[selected_mask]
selected_labels = all_labels[selected_mask]
unselected_scores = agreement_scores[~selected_mask]
axes[0, 1].boxplot([unselected_scores.numpy(), selected_scores.numpy()], labels=["Unselected", "SAGE Selected"])
axes[0, 1].set_title("Agreement Scores by Selection Status")
axes[0, 1].set_ylabel("Agreement Score")
axes[0, 1].grid(True, alpha=0.3)
axes[1, 0].scatter(all_labels[~selected_mask], agreement_scores[~selected_mask], alpha=0.3, s=1, c="gray",
                   label="Unselected")
axes[1, 0].scatter(selected_labels, selected_scores, alpha=0.8, s=20, c="red", label="SAGE Selected")
axes[1, 0].set_title("Agreement Score vs Class Label")
axes[1, 0].set_xlabel("Class Label")
axes[1, 0].set_ylabel("Agreement Score")
axes[1, 0].legend()
axes[1, 0].grid(True, alpha=0.3)
class_agreement_stats = []
for class_id in range(min(20, NUM_CLASSES)):
    class_mask = all_labels == class_id
    class_selected = selected_mask & class_mask
    if class_mask.sum() > 0:
        avg_agreement = agreement_scores[class_mask].mean()
        selected_agreement = agreement_scores[class_selected].mean() if class_selected.sum() > 0 else 0
        class_agreement_stats.append((class_id, avg_agreement, selected_agreement))
class_ids, avg_agreements, selected_agreements = zip(*class_agreement_stats)
x = np.arange(len(class_ids))
width = 0.35
axes[1, 1].bar(x - width / 2, avg_agreements, width, label="Class Average", alpha=0.7)
axes[1, 1].bar(x + width / 2, selected_agreements, width, label="SAGE Selected", alpha=0.7)
axes[1, 1].set_title(f"Agreement Scores by Class (First {min(20, NUM_CLASSES)} classes)")
axes[1, 1].set_xlabel("Class ID")
axes[1, 1].set_ylabel("Average Agreement Score")
axes[1, 1].set_xticks(x)
axes[1, 1].set_xticklabels(class_ids)
axes[1, 1].legend()
axes[1, 1].grid(True, alpha=0.3)
plt.tight_layout()
plt.savefig(f"{args.out}/agreement_score_analysis.png", dpi=args.dpi, bbox_inches="tight")
plt.close()
print("\nAgreement Score Statistics:")
print("=" * 40)
print(f"All samples:     Mean={agreement_scores.mean():.4f}, Std={agreement_scores.std():.4f}")
print(f"SAGE selected:   Mean={selected_scores.mean():.4f}, Std={selected_scores.std():.4f}")
print(f"Unselected:      Mean={unselected_scores.mean():.4f}, Std={unselected_scores.std():.4f}")
print(f"Selection bias:  {selected_scores.mean() - unselected_scores.mean():.4f}")

# ## Summary and Insights
fig = plt.figure(figsize=(16, 10))
gs = fig.add_gridspec(3, 4, hspace=0.3, wspace=0.3)
ax1 = fig.add_subplot(gs[0, :2])
ax1.scatter(features_tsne[~sage_selected, 0], features_tsne[~sage_selected, 1], c="lightgray", alpha=0.3, s=1,
            label="Discarded")
ax1.scatter(features_tsne[sage_selected, 0], features_tsne[sage_selected, 1], c="red", alpha=0.8, s=10,
            label="SAGE Selected")
ax1.set_title("SAGE Selection in Feature Space (t-SNE)", fontsize=14)
ax1.legend()
ax2 = fig.add_subplot(gs[0, 2:])
cv_values = [np.std(d) / np.mean(d) for d in (sage_dist, gradmatch_dist, random_dist)]
bars = ax2.bar(methods, cv_values, color=["red", "blue", "green"], alpha=0.7)
ax2.set_title("Class Balance (Lower is Better)", fontsize=14)
ax2.set_ylabel("Coefficient of Variation")
for bar, cv in zip(bars, cv_values):
    ax2.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 0.001, f"{cv:.3f}", ha="center", va="bottom")
ax3 = fig.add_subplot(gs[1, :2])
ax3.hist(agreement_scores.numpy(), bins=30, alpha=0.5, density=True, label="All samples")
ax3.hist(agreement_scores[selected_mask].numpy(), bins=30, alpha=0.7, density=True, label="SAGE selected")
ax3.set_title("Agreement Score Distribution", fontsize=14)
ax3.set_xlabel("Agreement Score")
ax3.set_ylabel("Density")
ax3.legend()
ax4 = fig.add_subplot(gs[1, 2:])
display_indices = np.random.choice(sage_indices, min(8, len(sage_indices)), replace=False)
montage_images = [np.clip(train_dataset[i][0].numpy()[0] * STD + MEAN, 0, 1) for i in display_indices]
montage = np.concatenate([np.concatenate(montage_images[:4], axis=1), np.concatenate(montage_images[4:8], axis=1)],
                         axis=0)
ax4.imshow(montage, cmap="gray")
ax4.set_title("SAGE Selected Samples", fontsize=14)
ax4.axis("off")
ax5 = fig.add_subplot(gs[2, :])
ax5.axis("off")
bias = selected_scores.mean() - unselected_scores.mean()
summary_text = f"""
SAGE SELECTION INSIGHTS:

• CLASS BALANCE: SAGE achieves CV={cv_values[0]:.3f} vs GradMatch={cv_values[1]:.3f} vs Random={cv_values[2]:.3f}
  (Lower coefficient of variation = better class balance)

• AGREEMENT BIAS: SAGE selects samples with {bias:.3f} higher agreement scores
  (Selects samples that agree more with gradient centroid)

• FEATURE SPACE: SAGE selection is distributed across feature space but avoids outliers
  (Maintains diversity while selecting informative samples)

• SUBSET SIZE: {len(sage_indices)} samples ({SUBSET_FRACTION * 100:.1f}% of {N} total)
  ({len(sage_indices) // NUM_CLASSES} samples per class on average)
"""
ax5.text(0.05, 0.95, summary_text, transform=ax5.transAxes, fontsize=12, verticalalignment="top",
         bbox=dict(boxstyle="round,pad=0.5", facecolor="lightblue", alpha=0.8))
plt.suptitle("SAGE Subset Selection Analysis Summary", fontsize=18, y=0.98)
plt.savefig(f"{args.out}/sage_analysis_summary.png", dpi=args.dpi, bbox_inches="tight")
plt.close()

print("\n" + "=" * 80)
print("SAGE FEATURE SPACE ANALYSIS COMPLETE")
print("=" * 80)
print("\nKey findings:")
print(f"1. SAGE maintains better class balance (CV={cv_values[0]:.3f}) than baselines")
print(f"2. SAGE selects high-agreement samples (bias: {bias:+.3f})")
print("3. Selection is distributed across feature space, avoiding outliers")
print(f"4. {len(sage_indices)} samples selected ({SUBSET_FRACTION * 100:.1f}% of dataset)")
print(f"\nVisualizations saved to {args.out}/ ({time.perf_counter() - t_start:.1f} s)")
