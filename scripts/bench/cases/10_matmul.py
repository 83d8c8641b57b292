# matmul peer: numpy float32 a @ b (OpenBLAS sgemm via libblas.so.3).
import bench

for name, m, k, n in (("matmul_1024", 1024, 1024, 1024), ("matmul_4096x256", 4096, 256, 4096)):
    a, b = bench.pattern(m, k), bench.pattern(k, n)
    bench.run(name, lambda: a @ b, flops=2 * m * n * k, check=bench.total)
