# parquet peer: Debian 12 ships no Parquet reader for Python (no pyarrow, fastparquet or
# polars), so both rows time numpy.load of the same N x 256 float32 as .npy (the speed
# reference). The .npy is written by whichever side runs first (same bytes).
import os

import numpy as np

import bench

N = int(os.environ.get("BENCH_PARQUET_ROWS") or 1000000)
D = 256
DIR = "build/bench/parquet"
os.makedirs(DIR, exist_ok=True)
NPY = "%s/emb%d.npy" % (DIR, N)

if not os.path.exists(NPY):
    x = np.empty((N, D), dtype=np.float32)
    for r0 in range(0, N, 65536):
        n = min(65536, N - r0)
        i = np.arange(r0 * D, (r0 + n) * D, dtype=np.int64)
        x[r0:r0 + n] = (((i * 7919) % 10007).astype(np.float32) / np.float32(10007)).reshape(n, D)
    np.save(NPY, x)
    del x

bench.run("parquet_snappy_emb", lambda: np.load(NPY), check=bench.total)
bench.run("parquet_zstd_emb", lambda: np.load(NPY), check=bench.total)
