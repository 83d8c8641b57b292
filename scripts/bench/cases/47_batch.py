# batch peer: numpy fancy indexing per batch of a permutation, astype + normalise.
import gzip

import numpy as np

import bench

ROOT = "/usr/share/datasets/fashion-mnist/"
with gzip.open(ROOT + "train-images-idx3-ubyte.gz") as f:
    X = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
with gzip.open(ROOT + "train-labels-idx1-ubyte.gz") as f:
    Y = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64)
MEAN, STD = np.float32(0.2860), np.float32(0.3530)
rng = np.random.default_rng(0)


def epoch():
    perm = rng.permutation(len(X))
    n = 0
    for i in range(0, len(X), 256):
        idx = perm[i:i + 256]
        x = (X[idx].astype(np.float32) / np.float32(255) - MEAN) / STD
        y = Y[idx]
        n += len(y)
    return n


bench.run("batch_epoch_fmnist", epoch, check=lambda n: n)
