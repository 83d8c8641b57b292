"""Peer side of 75_nn_train: the small CNN trained and evaluated by PyTorch 1.13 on CPU."""
import gzip
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import bench

torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


ROOT = "/usr/share/datasets/fashion-mnist/"
X = idx(ROOT + "train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
Y = idx(ROOT + "train-labels-idx1-ubyte.gz", 8).astype(np.int64)
XT = idx(ROOT + "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)


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


model = SmallCNN()
with torch.no_grad():
    for p in model.parameters():
        n = p.numel()
        fan = n // p.shape[0] if p.dim() > 1 else n
        p.copy_(torch.from_numpy((bench.pattern(n) - 0.5) * (2 / np.sqrt(fan))).reshape(p.shape))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x = torch.from_numpy(X[:2048].astype(np.float32) / 255)
y = torch.from_numpy(Y[:2048])
xt = torch.from_numpy(XT.astype(np.float32) / 255)


def epoch():
    model.train()
    for b in range(0, 2048, 128):
        opt.zero_grad()
        F.cross_entropy(model(x[b:b + 128]), y[b:b + 128]).backward()
        opt.step()


def heavy(name, fn):
    saved = bench.warmup, bench.min_repeats, bench.budget
    bench.warmup, bench.min_repeats, bench.budget = 0, 1, 0
    bench.run(name, fn)
    bench.warmup, bench.min_repeats, bench.budget = saved


heavy("train_cnn", epoch)
model.eval()


def evaluate():
    with torch.no_grad():
        return torch.cat([model(xt[b:b + 1000]) for b in range(0, 10000, 1000)])


heavy("eval_cnn_10k", evaluate)
