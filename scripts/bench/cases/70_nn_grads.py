"""Peer side of 70_nn_grads: PyTorch 1.13 per-sample gradients (functorch vmap, the seed's loop)."""
import gzip

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from functorch import grad, make_functional, vmap

import bench

torch.set_num_threads(int(__import__("os").environ.get("BENCH_THREADS", "2")))


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


ROOT = "/usr/share/datasets/fashion-mnist/"
X = idx(ROOT + "train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
Y = idx(ROOT + "train-labels-idx1-ubyte.gz", 8).astype(np.int64)


def set_weights(model):
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            fan = n // p.shape[0] if p.dim() > 1 else n
            p.copy_(torch.from_numpy((bench.pattern(n) - 0.5) * (2 / np.sqrt(fan))).reshape(p.shape))
    return model


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(3136, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def batch(n, flat=True):
    x = torch.from_numpy(X[:n].astype(np.float32) / 255)
    return (x.reshape(n, -1) if flat else x), torch.from_numpy(Y[:n])


def vmap_grads(model, x, y):
    fm, params = make_functional(model)

    def loss1(p, xi, yi):
        return F.cross_entropy(fm(p, xi.unsqueeze(0)), yi.unsqueeze(0))

    gs = vmap(grad(loss1), in_dims=(None, 0, 0))(params, x, y)
    return torch.cat([g.reshape(x.shape[0], -1) for g in gs], 1)


def loop_grads(model, x, y):
    out = []
    for i in range(x.shape[0]):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        out.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    return torch.stack(out)


def sumsq(t):
    return float((t.double() ** 2).sum())


def heavy(name, fn, **kw):
    saved = bench.warmup, bench.min_repeats, bench.budget
    bench.warmup, bench.min_repeats, bench.budget = 0, 1, 0
    bench.run(name, fn, **kw)
    bench.warmup, bench.min_repeats, bench.budget = saved


mlp = set_weights(nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))).eval()
D = sum(p.numel() for p in mlp.parameters())
x, y = batch(2048)
heavy("psg_full_mlp", lambda: vmap_grads(mlp, x, y), check=sumsq, bytes_written=2048 * D * 4)
x256, y256 = batch(256)
heavy("psg_full_mlp_loop", lambda: loop_grads(mlp, x256, y256), check=sumsq)
x512, y512 = batch(512)
P = torch.from_numpy(bench.pattern(256, D) - 0.5)
heavy("psg_proj_mlp", lambda: vmap_grads(mlp, x512, y512) @ P.t(), check=sumsq, flops=2 * 512 * D * 256)
heavy("psg_norms_mlp", lambda: vmap_grads(mlp, x512, y512).norm(dim=1), check=sumsq)

cnn = set_weights(SmallCNN()).eval()
Dc = sum(p.numel() for p in cnn.parameters())
xc, yc = batch(128, flat=False)
Pc = torch.from_numpy(bench.pattern(256, Dc) - 0.5)
heavy("psg_proj_cnn", lambda: vmap_grads(cnn, xc, yc) @ Pc.t(), check=sumsq, flops=2 * 128 * Dc * 256)

xa, ya = batch(60000)
body, head = mlp[:2], mlp[2]


def last_layer():
    with torch.no_grad():
        f = body(xa)
        p = F.softmax(head(f), 1)
        p[torch.arange(p.shape[0]), ya] -= 1
        return torch.cat([(p[:, :, None] * f[:, None, :]).reshape(p.shape[0], -1), p], 1)


heavy("psg_last_layer_60k", last_layer, check=sumsq, bytes_written=60000 * 2570 * 4)


def forward():
    with torch.no_grad():
        return mlp(xa)


heavy("fwd_mlp_60k", forward, check=sumsq)
