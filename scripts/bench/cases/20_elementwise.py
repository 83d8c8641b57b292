# elementwise peer: numpy ufuncs (single-threaded, SIMD) on the same data.
import numpy as np

import bench

R, C = 10000, 1000
a = bench.pattern(R, C)
b = bench.pattern(R, C)
row = bench.pattern(C)
col = bench.pattern(R, 1)

bench.run("add_1e7", lambda: a + b, check=bench.total)
bench.run("add_bcast_row", lambda: a + row, check=bench.total)
bench.run("add_bcast_col", lambda: a + col, check=bench.total)
bench.run("exp_1e7", lambda: np.exp(a), check=bench.total)
