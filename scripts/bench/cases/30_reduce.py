# reductions peer: numpy sum/argmax on the same data (axis = lunette dim - 1;
# argmax checksums are shifted to 1-based indices to match lunette).
import bench

R, C = 10000, 1000
a = bench.pattern(R, C)

bench.run("sum_1e7", lambda: a.sum(), check=bench.total)
bench.run("sum_dim1", lambda: a.sum(axis=0), check=bench.total)
bench.run("sum_dim2", lambda: a.sum(axis=1), check=bench.total)
bench.run("argmax_1e7", lambda: a.argmax(), check=lambda r: int(r) + 1)
bench.run("argmax_dim2", lambda: a.argmax(axis=1), check=lambda r: bench.total(r) + r.size)
