# parquet peer: Debian 12 ships no Parquet reader for Python (no pyarrow, fastparquet or
# polars), so the Parquet rows time numpy.load of the same N x 256 float32 as .npy (the issue's
# speed reference); io.load's row the same call; the CSV row pandas.read_csv. The files are
# 47_parquet_data's (written by lunette).
import os

import numpy as np

import bench

N = int(os.environ.get("BENCH_PARQUET_ROWS") or 1000000)
NCSV = min(N, int(os.environ.get("BENCH_PARQUET_CSV_ROWS") or 100000))
DIR = "build/bench/parquet"
NPY = "%s/r%d.npy" % (DIR, N)
CSV = "%s/r%d_%d.csv" % (DIR, N, NCSV)
CASES = ["parquet_snappy_emb", "parquet_zstd_emb", "parquet_npy_load", "parquet_csv"]

if not (os.path.exists(NPY) and os.path.exists(CSV)):
    for c in CASES:
        bench.na(c, "no files from 47_parquet_data")
else:
    big = dict(min_repeats=7, max_repeats=15, budget=8)
    bench.run("parquet_snappy_emb", lambda: np.load(NPY), check=bench.total, **big)
    bench.run("parquet_zstd_emb", lambda: np.load(NPY), check=bench.total, **big)
    bench.run("parquet_npy_load", lambda: np.load(NPY), check=bench.total, **big)
    try:
        import pandas as pd
    except ImportError:
        bench.na("parquet_csv", "no pandas (python3-pandas)")
    else:
        bench.run("parquet_csv", lambda: pd.read_csv(CSV), warmup=0, min_repeats=3, max_repeats=3,
                  budget=0, check=lambda df: float(df.to_numpy(dtype=np.float64).sum()))
