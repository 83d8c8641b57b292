# idx peer: the obvious numpy code (gzip module, frombuffer, astype, divide).
import gzip

import numpy as np

import bench

PATH = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def load():
    with gzip.open(PATH, "rb") as f:
        raw = f.read()
    x = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    return x.astype(np.float32) / np.float32(255)


bench.run("fmnist_idx_gz_f32", load, check=bench.total)
