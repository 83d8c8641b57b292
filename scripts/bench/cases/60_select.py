"""Selection at 5% on Fashion-MNIST-sized inputs: the numpy peer.

The same synthetic data as 60_select.lua (see there): N = 60,000 rows of
ell = 256 "projected gradients", 10 classes, 300 picks per class. Each method
is written the way the reference Python code runs it (the SAGE seed's
agreement scoring, DeepCore-style k-center / herding / GLISTER loops, CRAIG's
lazy greedy on a per-class similarity matrix with heapq, CORDS's OMP with
scipy's NNLS), vectorised with numpy wherever the algorithm allows.
Multi-second rows run one timed call (see heavy).
Checksums: sum of the selected (1-based) indices, except where ties make equally good
selections differ (EL2N, entropy, k-center, herding, CRAIG: see 60_select.lua), whose
checksum is the quantity the method optimises, recomputed in float64 from the picks.
"""
import heapq

import numpy as np

import bench

N, D, C, K = 60000, 256, 10, 300


def data():
    x = bench.pattern(N, D)
    centres = bench.pattern(C, D)
    y = np.arange(N) % C
    g = (x + centres[y] * np.float32(0.5)).astype(np.float32)
    logits = bench.pattern(N, C) * np.float32(4)
    e = np.exp(logits - logits.max(1, keepdims=True))
    p = (e / e.sum(1, keepdims=True)).astype(np.float32)
    return g, y, p


G, Y, P = data()
CLASSES = [np.nonzero(Y == c)[0] for c in range(C)]


def heavy(name, fn, check=None):
    """One timed call, no warm-up, for the multi-second rows."""
    saved = bench.warmup, bench.min_repeats, bench.budget
    bench.warmup, bench.min_repeats, bench.budget = 0, 1, 0.0
    try:
        bench.run(name, fn, check=check or checksum)
    finally:
        bench.warmup, bench.min_repeats, bench.budget = saved


def checksum(sel):
    return float(np.sum(np.asarray(sel, dtype=np.float64) + 1))


# The tie-robust checksums (60_select.lua explains them), in float64. Picks of a class
# keep their pick order.
GD, PD = G.astype(np.float64), P.astype(np.float64)


def class_picks(sel, c):
    sel = np.asarray(sel, dtype=np.int64)
    return sel[Y[sel] == c]


def nearest(sel, c):
    """Distance of every row of class c to its nearest pick."""
    x, q = GD[CLASSES[c]], GD[class_picks(sel, c)]
    sq = (x ** 2).sum(1)[:, None] + (q ** 2).sum(1)[None, :] - 2 * x @ q.T
    return np.sqrt(np.maximum(sq, 0).min(1))


def covering_radius(sel):
    return float(sum(nearest(sel, c).max() for c in range(C)))


def medoid_cost(sel):
    return float(sum(nearest(sel, c).sum() for c in range(C)))


def herding_trace(sel):
    total = 0.0
    for c in range(C):
        mu = GD[CLASSES[c]].mean(0)
        q = GD[class_picks(sel, c)]
        means = np.cumsum(q, 0) / np.arange(1, len(q) + 1)[:, None]
        total += np.linalg.norm(means - mu, axis=1).sum()
    return total


def el2n_sum(sel):
    onehot = np.eye(C)[Y]
    return float(np.linalg.norm(PD - onehot, axis=1)[np.asarray(sel)].sum())


def entropy_sum(sel):
    return float(-(PD * np.log(PD)).sum(1)[np.asarray(sel)].sum())


def per_class(score_fn, k=K):
    out = []
    for idx in CLASSES:
        s = score_fn(idx)
        out.extend(idx[np.argsort(-s, kind="stable")[:k]])
    return out


def unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def agreement():
    # the seed's class_balanced_agreeing_subset_fast scoring
    def score(idx):
        g = unit(G[idx])
        return g @ g.mean(0)
    return per_class(score)


def diversity(lam=0.2):
    # the seed's select_agreeing_subset_with_diversity per class, max kept incrementally
    out = []
    for idx in CLASSES:
        g = unit(G[idx])
        s = g @ g.mean(0)
        chosen = [int(np.argmax(s))]
        maxsim = g @ g[chosen[0]]
        taken = np.zeros(len(idx), bool)
        taken[chosen[0]] = True
        for _ in range(K - 1):
            adj = s - lam * maxsim
            adj[taken] = -np.inf
            p = int(np.argmax(adj))
            chosen.append(p)
            taken[p] = True
            np.maximum(maxsim, g @ g[p], out=maxsim)
        out.extend(idx[chosen])
    return out


def kcenter():
    out = []
    for idx in CLASSES:
        g = G[idx]
        p, chosen = 0, []
        mind = np.full(len(idx), np.inf, np.float32)
        for _ in range(K):
            chosen.append(p)
            np.minimum(mind, ((g - g[p]) ** 2).sum(1), out=mind)
            mind[chosen] = -1
            p = int(np.argmax(mind))
        out.extend(idx[chosen])
    return out


def herding():
    out = []
    for idx in CLASSES:
        g = G[idx]
        mu, total = g.mean(0, dtype=np.float64), np.zeros(D)
        sq = (g.astype(np.float64) ** 2).sum(1)
        taken, chosen = np.zeros(len(idx), bool), []
        for t in range(K):
            gain = 2 * (g @ ((t + 1) * mu - total).astype(np.float32)) - sq
            gain[taken] = -np.inf
            p = int(np.argmax(gain))
            chosen.append(p)
            taken[p] = True
            total += g[p]
        out.extend(idx[chosen])
    return out


def glister(eta=0.1):
    v = G.mean(0)
    out = []
    for idx in CLASSES:
        g = G[idx]
        base, acc = g @ v, np.zeros(len(idx), np.float64)
        taken, chosen = np.zeros(len(idx), bool), []
        for t in range(K):
            gain = base - (eta * acc / t if t else 0)
            gain[taken] = -np.inf
            p = int(np.argmax(gain))
            chosen.append(p)
            taken[p] = True
            acc += g @ g[p]
        out.extend(idx[chosen])
    return out


F, DL, NV = 128, C * 128 + C, 1000
# GLISTER's inputs, built once outside the timed call (as 60_select.lua does): last-layer
# gradients of the same rows, validation features, logits and labels
GL = (bench.pattern(N, DL) + bench.pattern(C, DL)[Y] * np.float32(0.5)).astype(np.float32)
HV, ZV = bench.pattern(NV, F).astype(np.float64), bench.pattern(NV, C).astype(np.float64) * 4
YV = np.arange(NV) % C


def glister_val(eta=0.05):
    # CORDS's GLISTERStrategy on the last layer: after every pick the validation rows' logits
    # move by -eta * (W_S h + b_S) (S = sum of the picks), and the validation gradient is
    # recomputed there; gains are the training gradients' dots with it
    gl, hv, zv, yv = GL, HV, ZV, YV
    out = []
    for c, idx in enumerate(CLASSES):
        g, rows = gl[idx], np.nonzero(yv == c)[0]
        h, z, onehot = hv[rows], zv[rows], np.eye(C)[yv[rows]]
        s, taken = np.zeros(DL), np.zeros(len(idx), bool)
        for t in range(K):
            zt = z - eta * (h @ s[:C * F].reshape(C, F).T + s[C * F:])
            e = np.exp(zt - zt.max(1, keepdims=True))
            err = e / e.sum(1, keepdims=True) - onehot
            v = np.concatenate([(err.T @ h).ravel(), err.sum(0)]) / len(rows)
            gain = g @ v.astype(np.float32)
            gain[taken] = -np.inf
            p = int(np.argmax(gain))
            out.append(idx[p])
            taken[p] = True
            s += g[p]
    return out


def glister_val_loss(sel, eta=0.05):
    # the validation loss at the final update, summed over classes (see 60_select.lua)
    hv, zv, yv, total = HV, ZV, YV, 0.0
    for c in range(C):
        s = GL[class_picks(sel, c)].astype(np.float64).sum(0)
        rows = np.nonzero(yv == c)[0]
        zt = zv[rows] - eta * (hv[rows] @ s[:C * F].reshape(C, F).T + s[C * F:])
        m = zt.max(1, keepdims=True)
        total += float((np.log(np.exp(zt - m).sum(1, keepdims=True)) + m - zt[:, c:c + 1]).mean())
    return total


def craig():
    # CRAIG's lazy greedy (heapq) on the per-class similarity dmax - ||g_i - g_j||
    out = []
    for idx in CLASSES:
        g = G[idx]
        sq = (g ** 2).sum(1)
        dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * (g @ g.T), 0))
        sim = dist.max() - dist
        cur = np.zeros(len(idx), np.float32)
        heap = [(-float(s), j) for j, s in enumerate(sim.sum(1))]
        heapq.heapify(heap)
        chosen = []
        while len(chosen) < K:
            _, j = heapq.heappop(heap)
            gain = float(np.maximum(sim[j] - cur, 0).sum())
            if not heap or gain >= -heap[0][0]:
                chosen.append(j)
                np.maximum(cur, sim[j], out=cur)
            else:
                heapq.heappush(heap, (-gain, j))
        out.extend(idx[chosen])
    return out


def gradmatch_one_class():
    # CORDS's OrthogonalMP_REG with positive weights: scipy NNLS on [A_S; sqrt(lam) I]
    from scipy.optimize import nnls
    a = G[CLASSES[0]]
    b = a.sum(0).astype(np.float64)
    lam = 0.5 * (a.astype(np.float64) ** 2).sum(1).mean()
    taken, chosen = np.zeros(len(a), bool), []
    resid, nb = b.copy(), np.linalg.norm(b)
    while len(chosen) < K and np.linalg.norm(resid) > 1e-4 * nb:
        corr = a @ resid.astype(np.float32)
        corr[taken] = -np.inf
        p = int(np.argmax(corr))
        if corr[p] <= 0:
            break
        chosen.append(p)
        taken[p] = True
        ai = a[chosen].T.astype(np.float64)
        s = len(chosen)
        x, _ = nnls(np.vstack([ai, np.sqrt(lam) * np.eye(s)]), np.concatenate([b, np.zeros(s)]))
        resid = b - ai @ x
    return CLASSES[0][chosen]


R = bench.pattern(N, 20) > 0.5


def forgetting():
    # Toneva et al.: correct -> wrong transitions; never learned counts as forgotten most
    r = R.astype(np.int8)
    events = ((r[:, :-1] == 1) & (r[:, 1:] == 0)).sum(1)
    s = np.where(r.any(1), events, r.shape[1]).astype(np.float32)
    return per_class(lambda idx: s[idx])


def uncertainty():
    return per_class(lambda idx: -(P[idx] * np.log(P[idx])).sum(1))


def el2n():
    def score(idx):
        onehot = np.zeros((len(idx), C), np.float32)
        onehot[np.arange(len(idx)), Y[idx]] = 1
        return np.linalg.norm(P[idx] - onehot, axis=1)
    return per_class(score)


bench.run("sel_agreement", agreement, check=checksum)
bench.run("sel_grand", lambda: per_class(lambda idx: np.linalg.norm(G[idx], axis=1)), check=checksum)
bench.run("sel_el2n", el2n, check=el2n_sum)
bench.run("sel_uncertainty", uncertainty, check=entropy_sum)
bench.run("sel_random", lambda: [int(j) for idx in CLASSES
                                 for j in np.random.default_rng(0).choice(idx, K, replace=False)])
bench.run("sel_forgetting", forgetting, check=checksum)
for name, fn, check in (("sel_diversity", diversity, None), ("sel_kcenter", kcenter, covering_radius),
                        ("sel_herding", herding, herding_trace), ("sel_glister", glister, None),
                        ("sel_glister_val", glister_val, glister_val_loss),
                        ("sel_craig", craig, medoid_cost), ("sel_gradmatch_1class", gradmatch_one_class, None)):
    heavy(name, fn, check)
bench.na("sel_gradmatch", "CORDS-style OMP with scipy NNLS takes ~80 s per call at this size; see the one-class row")
